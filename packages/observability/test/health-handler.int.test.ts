import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus'
import { MeterProvider } from '@opentelemetry/sdk-metrics'
import { createCache } from '@tessera/cache'
import { ConfigError, type HealthReport, type Provider } from '@tessera/core'
import { createPgProvider } from '@tessera/provider-pg'
import { createPostgresJsProvider } from '@tessera/provider-postgresjs'
import { Redis } from 'ioredis'
import { type BrowserContext, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { endpointOf, startTcpProxy, type TcpProxy } from '../../../tooling/test-services'
import { createHealthHandler, type HealthHandlerOptions, instrument } from '../src/index'
import { createSdk, PG_URL, REDIS_URL, uniqueName, waitFor } from './support'

const CHROMIUM = '/usr/bin/chromium'
const sdk = createSdk()
const exporter = new PrometheusExporter({ preventServerStart: true })
const meterProvider = new MeterProvider({ readers: [exporter] })
const instrumentation = instrument({ tracerProvider: sdk.tracerProvider, meterProvider, slowQueryMs: 30 })
const providers: Provider[] = []
const servers: Server[] = []
let proxy: TcpProxy
let primary: Provider
let replica: Provider
let orders: Provider
let redis: Redis

function provider(make: () => Provider): Provider {
  const made = make()
  providers.push(made)
  return made
}

async function serve(options: HealthHandlerOptions): Promise<string> {
  const server = createServer(createHealthHandler(options))
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** A cluster as the dashboard duck-types it: health() with one check per node, each with its role. */
function clusterOf(nodes: Record<string, { provider: Provider; role: string }>) {
  return {
    async health(): Promise<HealthReport> {
      const checks: Record<string, HealthReport> = {}
      await Promise.all(
        Object.entries(nodes).map(async ([name, node]) => {
          const report = await node.provider.health()
          checks[name] = { ...report, details: { ...report.details, role: node.role, lagMs: node.role === 'replica' ? 0 : undefined } }
        }),
      )
      const statuses = Object.values(checks).map((check) => check.status)
      return { status: statuses.every((status) => status === 'up') ? 'up' : 'degraded', checks }
    },
  }
}

beforeAll(async () => {
  proxy = await startTcpProxy({ target: endpointOf(PG_URL) })
  primary = provider(() => createPgProvider({ connectionString: PG_URL, name: 'primary', pool: { max: 2 } }))
  replica = provider(() =>
    createPostgresJsProvider({ connectionString: proxy.url(PG_URL), name: 'replica', pool: { max: 2 }, connectTimeoutMs: 1_000 }),
  )
  orders = provider(() => createPgProvider({ connectionString: PG_URL, name: 'orders', pool: { max: 4 } }))
  redis = new Redis(REDIS_URL)
})

afterAll(async () => {
  instrumentation.uninstrument()
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))))
  await Promise.all(providers.map((p) => p.close({ timeoutMs: 5_000 })))
  redis.disconnect()
  await proxy.close()
  await meterProvider.shutdown()
  await sdk.shutdown()
})

describe('createHealthHandler', () => {
  it('answers /health, and /ready with every dependency, its status and latency', async () => {
    const base = await serve({ providers: { orders }, checks: { redis: () => redis.ping() } })
    const health = await fetch(`${base}/health`)
    expect(health.status).toBe(200)
    expect(await health.json()).toMatchObject({ status: 'ok' })
    const ready = await fetch(`${base}/ready`)
    expect(ready.status).toBe(200)
    const body = (await ready.json()) as {
      status: string
      dependencies: Record<string, { status: string; latencyMs: number; kind: string }>
    }
    expect(body.status).toBe('ready')
    expect(body.dependencies.orders).toMatchObject({ kind: 'provider', status: 'up' })
    expect(body.dependencies.redis).toMatchObject({ kind: 'check', status: 'up' })
    expect(body.dependencies.orders!.latencyMs).toBeGreaterThanOrEqual(0)
    expect((await fetch(`${base}/nope`)).status).toBe(404)
  })

  it('answers /ready with 503 naming the dependency that did not answer within its budget', async () => {
    const stalled = await startTcpProxy({ target: endpointOf(PG_URL) })
    const slow = provider(() => createPgProvider({ connectionString: stalled.url(PG_URL), pool: { max: 1 }, connectTimeoutMs: 10_000 }))
    stalled.setMode('stall')
    try {
      const base = await serve({ providers: { orders, slow }, readyTimeoutMs: 300 })
      const ready = await fetch(`${base}/ready`)
      expect(ready.status).toBe(503)
      const body = (await ready.json()) as { status: string; dependencies: Record<string, { status: string; error?: string }> }
      expect(body.status).toBe('not ready')
      expect(body.dependencies.orders?.status).toBe('up')
      expect(body.dependencies.slow).toMatchObject({ status: 'down', error: 'no answer within 300 ms' })
    } finally {
      await stalled.close()
    }
  })

  it('rejects bad options with a ConfigError before serving', () => {
    expect(() => createHealthHandler({ providers: { db: {} as never }, readyTimeoutMs: 0 })).toThrow(ConfigError)
    expect(() => createHealthHandler({ basePath: 'x/' })).toThrow(/basePath must be/)
  })

  it('serves /metrics as Prometheus text that promtool accepts, one series per pool', async () => {
    await Promise.all([orders.query('SELECT 1'), primary.query('SELECT 2')])
    const base = await serve({ providers: { orders }, prometheus: exporter, basePath: '/_internal' })
    const response = await fetch(`${base}/_internal/metrics`)
    expect(response.status).toBe(200)
    const text = await response.text()
    expect(text).toMatch(/db_client_operation_duration_bucket\{[^}]*db_client_connection_pool_name="orders"/)
    expect(text).toMatch(/db_client_operation_duration_bucket\{[^}]*db_client_connection_pool_name="primary"/)
    expect(text).toMatch(/db_client_connection_count\{[^}]*db_client_connection_state="idle"/)
    const checked = await new Promise<{ code: number; output: string }>((resolve) => {
      const child = execFile('promtool', ['check', 'metrics'], (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? 1), output: stdout + stderr }),
      )
      child.stdin!.end(text)
    })
    // promtool parses the text (a parse error exits 1) and lints it (remarks exit 3). The one remark is the semantic
    // conventions' own name db.client.connection.count, kept as OpenTelemetry names it (see the README).
    expect(checked).toEqual({
      code: 3,
      output: 'db_client_connection_count non-histogram and non-summary metrics should not have "_count" suffix\n',
    })
  })

  it('shows live numbers on the dashboard in a real Chromium, and a replica as down when it stops', async () => {
    const cache = createCache({ namespace: uniqueName('dash'), l2: { redis }, bus: false })
    const base = await serve({
      providers: { orders, primary },
      caches: { products: cache },
      clusters: {
        main: clusterOf({ 'pg-primary': { provider: primary, role: 'primary' }, 'pg-replica': { provider: replica, role: 'replica' } }),
      },
      instrumentation,
    })
    const userDataDir = await mkdtemp(join(tmpdir(), 'tessera-chromium-'))
    let context: BrowserContext | undefined
    let running = true
    const load = (async () => {
      let i = 0
      while (running) {
        i++
        await Promise.all([
          orders.query('SELECT pg_sleep(0.005), $1::int AS i', [i]),
          orders.transaction((tx) => tx.query('SELECT 1')),
          cache.getOrSet(`product:${i % 5}`, async () => ({ id: i })),
          i % 20 === 0 ? orders.query('SELECT pg_sleep(0.05)') : undefined,
        ])
      }
    })()
    try {
      context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: CHROMIUM,
        headless: true,
        viewport: { width: 1280, height: 860 },
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--no-first-run',
        ],
      })
      const page = await context.newPage()
      await page.goto(`${base}/dashboard`)
      const count = async () => Number(await page.textContent('#query-count'))
      await waitFor(async () => (await count()) > 0, 'a query count on the page', 30_000)
      const first = await count()
      await waitFor(async () => (await count()) > first + 20, 'the query count to grow under load', 30_000)
      await waitFor(async () => Number(await page.textContent('#query-rate')) > 0, 'a query rate', 30_000)
      expect(await page.textContent('#pools tr[data-name="orders"] td:nth-child(5)')).toBe('4')
      await waitFor(
        async () => (await page.textContent('#caches tr[data-name="products"]'))?.includes('%') === true,
        'the cache hit ratio',
        30_000,
      )
      await waitFor(async () => (await page.locator('#slow tr').count()) > 0, 'a slow query listed', 30_000)
      await waitFor(
        async () => (await page.textContent('#nodes tr[data-name="pg-replica"] td:nth-child(4)')) === 'up',
        'the replica up',
        30_000,
      )
      // The README's screenshot is refreshed with TESSERA_UPDATE_SCREENSHOT=1; otherwise it goes to the temporary directory.
      const screenshot =
        process.env.TESSERA_UPDATE_SCREENSHOT === '1'
          ? new URL('../docs/dashboard.png', import.meta.url).pathname
          : join(userDataDir, 'dashboard.png')
      await mkdir(dirname(screenshot), { recursive: true })
      expect((await page.screenshot({ path: screenshot, fullPage: true })).length).toBeGreaterThan(10_000)
      proxy.setMode('reset')
      await waitFor(
        async () => (await page.textContent('#nodes tr[data-name="pg-replica"] td:nth-child(4)')) === 'down',
        'the replica down',
        30_000,
      )
      expect(await page.textContent('#nodes tr[data-name="pg-primary"] td:nth-child(4)')).toBe('up')
    } finally {
      running = false
      await load.catch(() => undefined)
      proxy.setMode('pass')
      await context?.close()
      await rm(userDataDir, { recursive: true, force: true })
      await cache.close()
    }
  }, 120_000)
})
