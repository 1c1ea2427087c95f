import type { IncomingMessage, ServerResponse } from 'node:http'
import { performance } from 'node:perf_hooks'
import { ConfigError, type HealthReport, type HealthStatus } from '@tessera/core'
import { DASHBOARD_HTML } from './dashboard-page'
import type { Instrumentation } from './instrument'

/** A provider (or a cluster, which is one): what the handler reads of it. */
export interface HealthCheckedProvider {
  health(): Promise<HealthReport>
  stats?(): { inUse: number; idle: number; pending: number; max: number; size: number; waitMs?: { p99: number } | undefined }
}

/** A cache: `health()` when it has one; its `stats()` for the dashboard. */
export interface HealthCheckedCache {
  health?(): Promise<HealthReport>
  stats?(): { hits: number; misses: number; hitRatio: number; staleServed?: number | undefined }
}

/** Anything else to check: resolves when the dependency answers (`() => redis.ping()`), or returns a report. */
export type DependencyCheck = (() => Promise<unknown>) | { health(): Promise<HealthReport> }

/** Something that serves Prometheus text: `new PrometheusExporter({ preventServerStart: true })` is one. */
export interface PrometheusHandler {
  getMetricsRequestHandler(request: IncomingMessage, response: ServerResponse): void
}

/** Options of {@link createHealthHandler}. Every dependency map is name → dependency; all default to none. */
export interface HealthHandlerOptions {
  /** Providers (`/ready` runs their `health()`; the dashboard shows their pools). */
  providers?: Readonly<Record<string, HealthCheckedProvider>> | undefined
  /** Caches (`/ready` runs `health()` when they have one; the dashboard shows their hit ratio). */
  caches?: Readonly<Record<string, HealthCheckedCache>> | undefined
  /**
   * Clusters: providers whose `health()` has one check per node (`checks`), each with `details.role` and
   * `details.lagMs` when known; the dashboard lists the nodes.
   */
  clusters?: Readonly<Record<string, HealthCheckedProvider>> | undefined
  /** DynamoDB clients or checks (anything with `health()`, or a function that resolves when DynamoDB answers). */
  dynamo?: Readonly<Record<string, DependencyCheck>> | undefined
  /** Other checks for `/ready`. */
  checks?: Readonly<Record<string, DependencyCheck>> | undefined
  /** The {@link instrument} result: query rate and latency, slow queries, breakers on the dashboard. */
  instrumentation?: Instrumentation | undefined
  /** Serves `/metrics`. Without it `/metrics` answers 404 saying so. */
  prometheus?: PrometheusHandler | undefined
  /** Each dependency must answer `/ready` within this many ms. Default: `2_000`. */
  readyTimeoutMs?: number | undefined
  /** A prefix for every path (`'/_internal'`). Default: `''`. */
  basePath?: string | undefined
}

/** One dependency in `/ready`. */
export interface DependencyReport {
  kind: 'provider' | 'cache' | 'cluster' | 'dynamo' | 'check'
  status: HealthStatus
  latencyMs: number
  error?: string | undefined
  details?: Record<string, unknown> | undefined
  checks?: Record<string, HealthReport> | undefined
}

/** A plain Node `(req, res, next?)` handler: mounts in `http.createServer`, Express, Fastify (`middie`) and Koa (`koa-connect`). */
export type HealthHandler = (request: IncomingMessage, response: ServerResponse, next?: (error?: unknown) => void) => void

interface Dependency {
  name: string
  kind: DependencyReport['kind']
  check: () => Promise<HealthReport | undefined>
}

function checkOf(dependency: DependencyCheck | HealthCheckedCache): () => Promise<HealthReport | undefined> {
  if (typeof dependency === 'function') {
    return async () => {
      await dependency()
      return undefined
    }
  }
  if (typeof dependency.health === 'function') return () => dependency.health!()
  return async () => undefined
}

/** Runs `check` within `budgetMs`: a dependency that does not answer in time is down. The timer never outlives it. */
async function runWithin(dependency: Dependency, budgetMs: number): Promise<DependencyReport> {
  const started = performance.now()
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${budgetMs} ms`)), budgetMs)
    timer.unref()
  })
  try {
    const report = await Promise.race([dependency.check(), late])
    const latencyMs = Math.round((performance.now() - started) * 10) / 10
    const result: DependencyReport = { kind: dependency.kind, status: report?.status ?? 'up', latencyMs }
    if (report?.error !== undefined) result.error = report.error
    if (report?.details !== undefined) result.details = report.details
    if (report?.checks !== undefined) result.checks = report.checks
    return result
  } catch (error) {
    return {
      kind: dependency.kind,
      status: 'down',
      latencyMs: Math.round((performance.now() - started) * 10) / 10,
      error: error instanceof Error ? error.message : String(error),
    }
  } finally {
    clearTimeout(timer)
  }
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
  response.end(text)
}

/**
 * Serves `/health` (liveness: the process answers), `/ready` (every dependency answers within its budget: 200, or
 * 503 with each dependency's status, latency and error), `/metrics` (Prometheus text, through `prometheus`),
 * `/dashboard` (one HTML page, no build step) and `/dashboard.json` (what the page polls). Other paths go to `next`
 * when given, else 404.
 *
 * @throws ConfigError for bad options.
 * @example
 * http.createServer(createHealthHandler({ providers: { db }, instrumentation })).listen(9464)
 */
export function createHealthHandler(options: HealthHandlerOptions = {}): HealthHandler {
  const problems: string[] = []
  const readyTimeoutMs = options.readyTimeoutMs ?? 2_000
  if (!Number.isInteger(readyTimeoutMs) || readyTimeoutMs <= 0)
    problems.push(`readyTimeoutMs must be a whole number of ms > 0, got ${String(readyTimeoutMs)}`)
  const basePath = options.basePath ?? ''
  if (typeof basePath !== 'string' || (basePath !== '' && (!basePath.startsWith('/') || basePath.endsWith('/')))) {
    problems.push(`basePath must be '' or start with / and not end with one ('/_internal'), got ${JSON.stringify(basePath)}`)
  }
  const dependencies: Dependency[] = []
  const add = (kind: DependencyReport['kind'], map: Readonly<Record<string, DependencyCheck | HealthCheckedCache>> | undefined) => {
    for (const [name, dependency] of Object.entries(map ?? {})) {
      const usable = typeof dependency === 'function' || (typeof dependency === 'object' && dependency !== null)
      if (!usable || (kind !== 'cache' && typeof dependency !== 'function' && typeof dependency.health !== 'function')) {
        problems.push(
          `${kind} ${JSON.stringify(name)} must have health()${kind === 'dynamo' || kind === 'check' ? ' or be a function' : ''}`,
        )
        continue
      }
      dependencies.push({ name, kind, check: checkOf(dependency) })
    }
  }
  add('provider', options.providers as Record<string, DependencyCheck> | undefined)
  add('cache', options.caches)
  add('cluster', options.clusters as Record<string, DependencyCheck> | undefined)
  add('dynamo', options.dynamo)
  add('check', options.checks)
  if (problems.length > 0) throw new ConfigError(problems, { subject: 'health handler options' })
  const startedAt = Date.now()

  const ready = async (): Promise<{ ready: boolean; dependencies: Record<string, DependencyReport> }> => {
    const reports = await Promise.all(dependencies.map((dependency) => runWithin(dependency, readyTimeoutMs)))
    const byName: Record<string, DependencyReport> = {}
    dependencies.forEach((dependency, i) => {
      byName[dependency.name] = reports[i]!
    })
    return { ready: reports.every((report) => report.status !== 'down'), dependencies: byName }
  }

  const dashboard = async () => {
    const pools = Object.entries(options.providers ?? {}).map(([name, provider]) => {
      const stats = provider.stats?.()
      return {
        name,
        inUse: stats?.inUse ?? 0,
        idle: stats?.idle ?? 0,
        waiting: stats?.pending ?? 0,
        max: stats?.max ?? 0,
        waitP99Ms: stats?.waitMs?.p99 ?? 0,
      }
    })
    const caches = Object.entries(options.caches ?? {}).map(([name, cache]) => {
      const stats = cache.stats?.()
      return {
        name,
        hits: stats?.hits ?? 0,
        misses: stats?.misses ?? 0,
        hitRatio: stats?.hitRatio ?? 0,
        staleServed: stats?.staleServed ?? 0,
      }
    })
    const clusters = await Promise.all(
      Object.entries(options.clusters ?? {}).map(async ([name, cluster]) => {
        const report = await runWithin({ name, kind: 'cluster', check: () => cluster.health() }, readyTimeoutMs)
        const nodes = Object.entries(report.checks ?? {}).map(([node, check]) => ({
          name: node,
          status: check.status,
          role: typeof check.details?.role === 'string' ? check.details.role : undefined,
          lagMs: typeof check.details?.lagMs === 'number' ? check.details.lagMs : undefined,
          latencyMs: check.latencyMs,
        }))
        return { name, status: report.status, nodes }
      }),
    )
    return {
      at: Date.now(),
      uptimeS: Math.round((Date.now() - startedAt) / 1_000),
      pools,
      caches,
      clusters,
      live: options.instrumentation?.snapshot(),
    }
  }

  return (request, response, next) => {
    const path = (request.url ?? '/').split('?')[0]!
    const route = basePath !== '' && path.startsWith(basePath) ? path.slice(basePath.length) || '/' : basePath === '' ? path : undefined
    const fail = (error: unknown) => {
      if (!response.headersSent) send(response, 500, { error: error instanceof Error ? error.message : String(error) })
      else response.destroy()
    }
    switch (route) {
      case '/health':
        send(response, 200, { status: 'ok', uptimeS: Math.round((Date.now() - startedAt) / 1_000) })
        return
      case '/ready':
        ready().then(
          (result) =>
            send(response, result.ready ? 200 : 503, { status: result.ready ? 'ready' : 'not ready', dependencies: result.dependencies }),
          fail,
        )
        return
      case '/metrics':
        if (options.prometheus === undefined) {
          send(response, 404, { error: 'no Prometheus exporter: pass createHealthHandler({ prometheus }) (see the README)' })
          return
        }
        options.prometheus.getMetricsRequestHandler(request, response)
        return
      case '/dashboard':
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
        response.end(DASHBOARD_HTML)
        return
      case '/dashboard.json':
        dashboard().then((body) => send(response, 200, body), fail)
        return
      default:
        if (next !== undefined) next()
        else send(response, 404, { error: `no route ${path}; served: /health, /ready, /metrics, /dashboard, /dashboard.json` })
    }
  }
}
