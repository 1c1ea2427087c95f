import { channel, tracingChannel } from 'node:diagnostics_channel'
import { context, SpanStatusCode, TraceFlags, trace } from '@opentelemetry/api'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { createCache } from '@tessera/cache'
import { CHANNELS, ConfigError, type Provider, publish, traced } from '@tessera/core'
import { createPgProvider } from '@tessera/provider-pg'
import { createPostgresJsProvider } from '@tessera/provider-postgresjs'
import { Redis } from 'ioredis'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { instrument, type RepeatedStatementReport, type SlowQueryReport } from '../src/index'
import { createSdk, PG_URL, REDIS_URL, uniqueName, waitFor } from './support'

const sdk = createSdk()
const providers: Provider[] = []
const cleanups: Array<() => unknown> = []
const url = new URL(PG_URL)
const server = { host: url.hostname, port: Number(url.port || 5432), database: url.pathname.slice(1) }

function open(driver: 'pg' | 'postgres.js', options: { name?: string; max?: number } = {}): Provider {
  const common = {
    connectionString: PG_URL,
    pool: { max: options.max ?? 2 },
    ...(options.name === undefined ? {} : { name: options.name }),
  }
  const provider = driver === 'pg' ? createPgProvider(common) : createPostgresJsProvider(common)
  providers.push(provider)
  return provider
}

function instrumented(options: Parameters<typeof instrument>[0] = {}) {
  const instrumentation = instrument({ tracerProvider: sdk.tracerProvider, meterProvider: sdk.meterProvider, ...options })
  cleanups.push(() => instrumentation.uninstrument())
  return instrumentation
}

function describeSpan(span: ReadableSpan) {
  const { 'db.client.connection.pool.name': _pool, 'tessera.db.client.connection.wait_ms': _wait, ...attributes } = span.attributes
  return { name: span.name, kind: span.kind, status: span.status.code, attributes }
}

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
  sdk.reset()
})

afterAll(async () => {
  await Promise.all(providers.map((provider) => provider.close({ timeoutMs: 5_000 })))
  await sdk.shutdown()
})

describe('instrument()', () => {
  it('gives the same span names and attributes for the same statements on pg and postgres.js', async () => {
    const table = uniqueName('obs_parity')
    const setup = open('pg')
    await setup.query(`CREATE TABLE ${table} (id int PRIMARY KEY, name text)`)
    cleanups.push(() => setup.query(`DROP TABLE IF EXISTS ${table}`))
    instrumented()
    const byDriver: unknown[] = []
    for (const driver of ['pg', 'postgres.js'] as const) {
      sdk.reset()
      const provider = open(driver)
      await provider.query(`INSERT INTO ${table} (id, name) VALUES ($1, 'secret name')`, [driver === 'pg' ? 1 : 2])
      await provider.query(`SELECT name FROM ${table} WHERE id = 1 AND name <> 'x'`)
      await provider.transaction((tx) => tx.query(`UPDATE ${table} SET name = $1 WHERE id = 1`, ['n']))
      await provider.query(`SELECT * FROM ${table}_missing`).catch(() => undefined)
      byDriver.push(
        sdk
          .spans()
          .filter((span) => span.name !== 'connect')
          .map(describeSpan),
      )
    }
    expect(byDriver[1]).toEqual(byDriver[0])
    const spans = byDriver[0] as Array<ReturnType<typeof describeSpan>>
    expect(spans.map((span) => span.name)).toEqual([
      `INSERT ${table}`,
      `SELECT ${table}`,
      `UPDATE ${table}`,
      'TRANSACTION',
      `SELECT ${table}_missing`,
    ])
    expect(spans[1]!.attributes).toEqual({
      'db.system.name': 'postgresql',
      'db.namespace': server.database,
      'server.address': server.host,
      'server.port': server.port,
      'db.operation.name': 'SELECT',
      'db.collection.name': table,
      'db.query.summary': `SELECT ${table}`,
      'db.query.text': `SELECT name FROM ${table} WHERE id = ? AND name <> ?`,
      'db.response.returned_rows': 1,
    })
    // Sanitized by default: the literal never reaches the span.
    expect(JSON.stringify(spans)).not.toContain('secret name')
  })

  it('records an error with error.type, the SQLSTATE and an error status', async () => {
    instrumented()
    const provider = open('postgres.js')
    const failure = await provider.query('SELECT * FROM no_such_table_obs').catch((error: unknown) => error)
    const span = sdk.spans().find((s) => s.name === 'SELECT no_such_table_obs')!
    expect(span.status.code).toBe(SpanStatusCode.ERROR)
    expect(span.attributes['error.type']).toBe((failure as Error).name)
    expect(span.attributes['db.response.status_code']).toBe('42P01')
    expect(span.events.some((event) => event.name === 'exception')).toBe(true)
    const errors = await sdk.points('tessera.db.client.errors')
    expect(errors.some((point) => point.attributes['db.response.status_code'] === '42P01' && point.value === 1)).toBe(true)
  })

  it('keeps two pools apart: each has its own metric streams', async () => {
    instrumented()
    const orders = open('pg', { name: uniqueName('orders') })
    const billing = open('postgres.js', { name: uniqueName('billing') })
    await Promise.all([orders.query('SELECT 1'), orders.query('SELECT 2'), billing.query('SELECT 3')])
    const names = [orders, billing].map((provider) => (provider === orders ? 'orders' : 'billing'))
    expect(names).toHaveLength(2)
    const durations = await sdk.points('db.client.operation.duration')
    const countOf = (pool: string) =>
      durations
        .filter((point) => String(point.attributes['db.client.connection.pool.name']).startsWith(pool))
        .reduce((sum, point) => sum + (point.value as { count: number }).count, 0)
    expect(countOf('orders')).toBe(2)
    expect(countOf('billing')).toBe(1)
    const counts = await sdk.points('db.client.connection.count')
    const pools = new Set(counts.map((point) => String(point.attributes['db.client.connection.pool.name'])))
    expect([...pools].some((pool) => pool.startsWith('orders'))).toBe(true)
    expect([...pools].some((pool) => pool.startsWith('billing'))).toBe(true)
    const ordersIdle = counts.find(
      (point) =>
        String(point.attributes['db.client.connection.pool.name']).startsWith('orders') &&
        point.attributes['db.client.connection.state'] === 'idle',
    )
    expect(ordersIdle?.value).toBeGreaterThanOrEqual(1)
    const max = await sdk.points('db.client.connection.max')
    expect(max.find((point) => String(point.attributes['db.client.connection.pool.name']).startsWith('billing'))?.value).toBe(2)
    const waits = await sdk.points('db.client.connection.wait_time')
    expect(waits.filter((point) => String(point.attributes['db.client.connection.pool.name']).startsWith('orders'))).toHaveLength(1)
    const durationPoint = durations[0]!.value as { buckets: { boundaries: number[] } }
    expect(durationPoint.buckets.boundaries).toEqual([0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10])
  })

  it('counts a caller waiting for a busy pool, and the acquire that timed out', async () => {
    const instrumentation = instrumented()
    const name = uniqueName('busy')
    const provider = createPgProvider({ connectionString: PG_URL, name, pool: { max: 1, acquireTimeoutMs: 300 } })
    providers.push(provider)
    const ofPool = (points: Array<{ attributes: Record<string, unknown>; value: unknown }>) =>
      points.filter((point) => point.attributes['db.client.connection.pool.name'] === name)
    let release!: () => void
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    const holding = provider.transaction(async (tx) => {
      await tx.query('SELECT 1')
      await held
    })
    await waitFor(
      async () =>
        ofPool(await sdk.points('db.client.connection.count')).some(
          (p) => p.attributes['db.client.connection.state'] === 'used' && p.value === 1,
        ),
      'the held connection counted as used',
    )
    const waiting = provider.query('SELECT 2')
    await waitFor(
      async () => ofPool(await sdk.points('db.client.connection.pending_requests'))[0]?.value === 1,
      'the waiting caller counted',
    )
    await expect(waiting).rejects.toMatchObject({ code: 'POOL_TIMEOUT' })
    release()
    await holding
    expect(ofPool(await sdk.points('db.client.connection.timeouts'))[0]?.value).toBe(1)
    expect(ofPool(await sdk.points('db.client.connection.pending_requests'))[0]?.value).toBe(0)
    const counts = ofPool(await sdk.points('db.client.connection.count'))
    expect(counts.find((p) => p.attributes['db.client.connection.state'] === 'used')?.value).toBe(0)
    expect(counts.find((p) => p.attributes['db.client.connection.state'] === 'idle')?.value).toBe(1)
    // Closed, the pool is no longer observed (the dashboard drops it; what an SDK keeps of past series is its own).
    expect(instrumentation.snapshot().pools.map((pool) => pool.name)).toContain(name)
    await provider.close()
    expect(instrumentation.snapshot().pools.map((pool) => pool.name)).not.toContain(name)
  })

  it("puts one request's transaction, statements and cache lookups in one trace, each under its parent", async () => {
    const redis = new Redis(REDIS_URL)
    const cache = createCache({ namespace: uniqueName('obs'), l2: { redis }, bus: false })
    cleanups.push(async () => {
      await cache.close()
      redis.disconnect()
    })
    instrumented()
    const provider = open('pg')
    const tracer = sdk.tracerProvider.getTracer('test')
    await tracer.startActiveSpan('GET /orders/1', async (request) => {
      const load = () => provider.transaction(async (tx) => (await tx.query('SELECT 1 AS id')).rows[0])
      await cache.getOrSet('order:1', load)
      await cache.getOrSet('order:1', load)
      await provider.query('SELECT 2')
      request.end()
    })
    const spans = sdk.spans()
    const request = spans.find((span) => span.name === 'GET /orders/1')!
    const traceId = request.spanContext().traceId
    const byName = (name: string) => spans.filter((span) => span.name === name)
    const gets = spans.filter((span) => span.name.startsWith('cache.get'))
    expect(gets).toHaveLength(2)
    expect(gets.map((span) => span.attributes['tessera.cache.result'])).toEqual(['miss', 'hit'])
    const [transaction] = byName('TRANSACTION')
    const [select1] = byName('SELECT')
    expect(transaction?.parentSpanContext?.spanId).toBe(gets[0]!.spanContext().spanId)
    expect(select1?.parentSpanContext?.spanId).toBe(transaction!.spanContext().spanId)
    for (const span of [...gets, transaction!, ...byName('SELECT')]) expect(span.spanContext().traceId).toBe(traceId)
    expect(gets[1]!.parentSpanContext?.spanId).toBe(request.spanContext().spanId)
    const select2 = byName('SELECT').find((span) => span !== select1)!
    expect(select2.parentSpanContext?.spanId).toBe(request.spanContext().spanId)
    const requests = await sdk.points('tessera.cache.requests')
    expect(requests.map((point) => point.attributes['tessera.cache.result']).sort()).toEqual(['hit', 'miss'])
  })

  it('keeps concurrent requests in their own traces', async () => {
    instrumented()
    const provider = open('postgres.js', { max: 4 })
    const tracer = sdk.tracerProvider.getTracer('test')
    const run = (n: number) =>
      tracer.startActiveSpan(`request ${n}`, async (span) => {
        await provider.transaction(async (tx) => {
          await tx.query('SELECT pg_sleep(0.01)')
          await tx.query(`SELECT ${n}`)
        })
        span.end()
      })
    await Promise.all([1, 2, 3, 4].map(run))
    const spans = sdk.spans()
    for (const n of [1, 2, 3, 4]) {
      const request = spans.find((span) => span.name === `request ${n}`)!
      // A connection opened for the request is part of its trace too.
      const inTrace = spans.filter((span) => span.spanContext().traceId === request.spanContext().traceId && span.name !== 'connect')
      expect(inTrace.map((span) => span.name).sort()).toEqual(['SELECT', 'SELECT', 'TRANSACTION', `request ${n}`].sort())
    }
  })

  it('leaves no subscriber behind after uninstrument()', async () => {
    const names = Object.values(CHANNELS)
    const before = names.filter((name) => tracingChannel(name).hasSubscribers || channel(name).hasSubscribers)
    const instrumentation = instrument({ tracerProvider: sdk.tracerProvider, meterProvider: sdk.meterProvider })
    expect(tracingChannel(CHANNELS.query).hasSubscribers).toBe(true)
    expect(channel(CHANNELS.poolRelease).hasSubscribers).toBe(true)
    instrumentation.uninstrument()
    instrumentation.uninstrument()
    const after = names.filter((name) => tracingChannel(name).hasSubscribers || channel(name).hasSubscribers)
    expect(before).toEqual([])
    expect(after).toEqual([])
    expect(channel(`tracing:${CHANNELS.query}:start`).hasSubscribers).toBe(false)
    await open('pg').query('SELECT 1')
    expect(sdk.spans()).toEqual([])
  })

  it('ends the spans of operations in flight at uninstrument() with their outcome, then leaves no subscriber', async () => {
    const names = Object.values(CHANNELS)
    const instrumentation = instrument({ tracerProvider: sdk.tracerProvider, meterProvider: sdk.meterProvider })
    const pool = uniqueName('inflight')
    const provider = open('pg', { name: pool, max: 3 })
    const tracer = sdk.tracerProvider.getTracer('test')
    const request = tracer.startActiveSpan('request', async (span) => {
      try {
        return await Promise.allSettled([
          provider.query('SELECT pg_sleep(0.3) AS slept'),
          provider.query("SELECT (pg_sleep(0.3)::text || 'x')::int AS bad"),
          provider.transaction(async (tx) => {
            await tx.query('SELECT pg_sleep(0.3)')
            return tx.query('SELECT 2 AS two')
          }),
        ])
      } finally {
        span.end()
      }
    })
    const watcher = open('pg', { max: 1 })
    await waitFor(async () => {
      const { rows } = await watcher.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'SELECT%pg_sleep(0.3)%' AND state = 'active' AND pid <> pg_backend_pid()",
      )
      return rows[0]!.n === 3
    }, 'the three statements running')
    instrumentation.uninstrument()
    // Started after uninstrument(): not recorded.
    await provider.query('SELECT 3 AS after')
    const [slept, bad, transaction] = await request
    expect([slept.status, bad.status, transaction.status]).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    const spans = sdk.spans().filter((span) => span.attributes['db.client.connection.pool.name'] === pool)
    const byText = (text: string) => spans.find((span) => String(span.attributes['db.query.text']).startsWith(text))
    expect(byText('SELECT pg_sleep(?) AS slept')).toMatchObject({ status: { code: SpanStatusCode.UNSET } })
    expect(byText('SELECT (pg_sleep(?)::text')).toMatchObject({
      status: { code: SpanStatusCode.ERROR },
      attributes: expect.objectContaining({ 'db.response.status_code': '22P02' }),
    })
    // The transaction's statement that started after uninstrument() has no span; the transaction itself ends.
    expect(spans.filter((span) => span.name === 'TRANSACTION')).toHaveLength(1)
    expect(byText('SELECT ? AS two')).toBeUndefined()
    expect(byText('SELECT ? AS after')).toBeUndefined()
    const durations = (await sdk.points('db.client.operation.duration')).filter(
      (point) => point.attributes['db.client.connection.pool.name'] === pool,
    )
    expect(durations.reduce((sum, point) => sum + (point.value as { count: number }).count, 0)).toBe(3)
    expect(names.filter((name) => tracingChannel(name).hasSubscribers || channel(name).hasSubscribers)).toEqual([])
    expect(channel(`tracing:${CHANNELS.query}:start`).hasSubscribers).toBe(false)
  })

  it('turns cluster routes, failovers, DynamoDB commands and breaker changes into spans and metrics', async () => {
    instrumented()
    // The cluster and dynamo packages publish these messages; the channel and its message shape are the contract.
    publish(CHANNELS.clusterRoute, { target: 'replica-1', role: 'replica', reason: 'read' })
    await traced(
      CHANNELS.dynamoCommand,
      { command: 'Query', table: 'orders', index: 'by-customer', consumedCapacity: 2.5 },
      async () => 'ok',
    )
    publish(CHANNELS.clusterFailover, { from: 'primary-a', to: 'primary-b', reason: 'primary lost' })
    publish(CHANNELS.breakerState, { breaker: 'redis', from: 'closed', to: 'open', failures: 5 })
    const dynamo = sdk.spans().find((span) => span.name === 'DynamoDB.Query')!
    expect(dynamo.attributes).toMatchObject({
      'db.system.name': 'aws.dynamodb',
      'rpc.method': 'Query',
      'aws.dynamodb.table_names': ['orders'],
      'aws.dynamodb.index_name': 'by-customer',
      'aws.dynamodb.consumed_capacity': [JSON.stringify({ TableName: 'orders', CapacityUnits: 2.5 })],
    })
    expect((await sdk.points('tessera.dynamodb.consumed_capacity'))[0]?.value).toBe(2.5)
    expect((await sdk.points('tessera.cluster.routes'))[0]?.attributes).toEqual({
      'tessera.cluster.node': 'replica-1',
      'tessera.cluster.role': 'replica',
      'tessera.cluster.reason': 'read',
    })
    expect((await sdk.points('tessera.cluster.failovers'))[0]?.value).toBe(1)
    expect((await sdk.points('tessera.breaker.state')).find((point) => point.attributes['tessera.breaker.name'] === 'redis')?.value).toBe(2)
  })

  it('puts a route decision on the statement it routed', async () => {
    instrumented()
    const provider = open('pg')
    await provider.query('SELECT 1') // connected, so the next statement starts in the same tick as its route
    sdk.reset()
    publish(CHANNELS.clusterRoute, { target: 'replica-2', role: 'replica', reason: 'lag' })
    await provider.query('SELECT 2')
    const span = sdk.spans().find((s) => s.name === 'SELECT')!
    expect(span.attributes).toMatchObject({
      'tessera.cluster.node': 'replica-2',
      'tessera.cluster.role': 'replica',
      'tessera.cluster.reason': 'lag',
    })
  })

  it('reports slow statements with the trace id, and the N+1 pattern once per trace', async () => {
    const slow: SlowQueryReport[] = []
    const repeated: RepeatedStatementReport[] = []
    const logged: Array<[object, string]> = []
    const logger = { info() {}, warn: (fields: object, message: string) => void logged.push([fields, message]) }
    const explainer = open('pg', { max: 1 })
    instrumented({
      slowQueryMs: 50,
      onSlowQuery: (report) => void slow.push(report),
      repeatedStatementThreshold: 3,
      onRepeatedStatement: (report) => void repeated.push(report),
      logger,
      explain: { provider: explainer, minIntervalMs: 0 },
    })
    const provider = open('postgres.js')
    const tracer = sdk.tracerProvider.getTracer('test')
    const traceId = await tracer.startActiveSpan('request', async (span) => {
      await provider.query("SELECT pg_sleep(0.1), 'hidden' AS v")
      for (let id = 1; id <= 5; id++) await provider.query(`SELECT ${id} AS id`)
      span.end()
      return span.spanContext().traceId
    })
    await waitFor(() => slow.length === 1, 'the slow-query report (with its plan)')
    expect(slow[0]).toMatchObject({ sql: 'SELECT pg_sleep(?), ? AS v', paramsCount: 0, traceId, error: undefined })
    expect(slow[0]!.durationMs).toBeGreaterThanOrEqual(50)
    expect(JSON.stringify(slow[0]!.plan)).toContain('"Node Type"')
    expect(repeated).toEqual([{ sql: 'SELECT ? AS id', count: 4, traceId }])
    expect(logged.map(([, message]) => message)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^slow query: \d+ ms$/), expect.stringContaining('N+1')]),
    )
    expect(logged.find(([, message]) => message.startsWith('slow query'))![0]).toMatchObject({ trace_id: traceId })
    // The plan's own statement is not traced.
    expect(sdk.spans().some((span) => span.name.startsWith('EXPLAIN'))).toBe(false)
  })

  it('appends the traceparent with sqlCommenter, unprepared, so the prepared-statement cache does not grow', async () => {
    const instrumentation = instrumented({ sqlCommenter: true })
    const provider = createPgProvider({ connectionString: PG_URL, pool: { max: 1 }, hooks: [instrumentation.hooks] })
    providers.push(provider)
    const tracer = sdk.tracerProvider.getTracer('test')
    const texts: string[] = []
    for (let i = 0; i < 3; i++) {
      await tracer.startActiveSpan('request', async (span) => {
        const { rows } = await provider.query<{ q: string }>('SELECT current_query() AS q')
        texts.push(rows[0]!.q)
        expect(rows[0]!.q).toBe(
          `SELECT current_query() AS q /*traceparent='00-${span.spanContext().traceId}-${span.spanContext().spanId}-01'*/`,
        )
        span.end()
      })
    }
    expect(new Set(texts).size).toBe(3)
    const { rows } = await provider.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement LIKE '%traceparent%'",
    )
    expect(rows[0]!.n).toBe(0)
    // Spans and shapes see the statement without the comment.
    expect(
      sdk
        .spans()
        .filter((span) => span.name === 'SELECT')
        .map((span) => span.attributes['db.query.text']),
    ).toContain('SELECT current_query() AS q')
    // A statement asking to be prepared keeps its plan and gets no comment.
    await tracer.startActiveSpan('request', async (span) => {
      const { rows: prepared } = await provider.query<{ q: string }>('SELECT current_query() AS q, 1 AS p', [], { prepare: true })
      expect(prepared[0]!.q).toBe('SELECT current_query() AS q, 1 AS p')
      span.end()
    })
  })

  it('keeps a statement prepared with tags only, and comments only sampled spans with the traceparent', async () => {
    const instrumentation = instrumented({ sqlCommenter: { traceparent: false, tags: { route: '/orders/:id', application: "o'shop" } } })
    const provider = createPgProvider({ connectionString: PG_URL, pool: { max: 1 }, hooks: [instrumentation.hooks] })
    providers.push(provider)
    const tracer = sdk.tracerProvider.getTracer('test')
    for (let i = 0; i < 3; i++) {
      await tracer.startActiveSpan('request', async (span) => {
        const { rows } = await provider.query<{ q: string }>('SELECT current_query() AS q, $1::int AS i', [i])
        expect(rows[0]!.q).toBe("SELECT current_query() AS q, $1::int AS i /*application='o\\'shop',route='%2Forders%2F%3Aid'*/")
        span.end()
      })
    }
    // One text for every call: prepared once and reused.
    const { rows } = await provider.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement LIKE '%application=%' AND statement LIKE '%$1::int AS i%'",
    )
    expect(rows[0]!.n).toBe(1)
    expect(
      sdk
        .spans()
        .filter((span) => span.name === 'SELECT')
        .map((span) => span.attributes['db.query.text']),
    ).toContain('SELECT current_query() AS q, $1::int AS i')

    // With the traceparent too: a sampled span gets it (unprepared); an unsampled one gets the tags only.
    const both = createPgProvider({
      connectionString: PG_URL,
      pool: { max: 1 },
      hooks: [instrumented({ sqlCommenter: { tags: { application: 'shop' } } }).hooks],
    })
    providers.push(both)
    await tracer.startActiveSpan('request', async (span) => {
      const { rows: sampled } = await both.query<{ q: string }>('SELECT current_query() AS q')
      const { traceId, spanId } = span.spanContext()
      expect(sampled[0]!.q).toBe(`SELECT current_query() AS q /*application='shop',traceparent='00-${traceId}-${spanId}-01'*/`)
      span.end()
    })
    const unsampled = trace.wrapSpanContext({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: TraceFlags.NONE })
    await context.with(trace.setSpan(context.active(), unsampled), async () => {
      const { rows: plain } = await both.query<{ q: string }>('SELECT current_query() AS q')
      expect(plain[0]!.q).toBe("SELECT current_query() AS q /*application='shop'*/")
    })
  })

  it('rejects bad sqlCommenter options, naming each', () => {
    expect(() => instrument({ sqlCommenter: { tags: { a: 1 as never, traceparent: 'x' }, traceparent: 'yes' as never } })).toThrow(
      expect.objectContaining({
        problems: [
          'sqlCommenter.traceparent must be true or false, got "yes"',
          'sqlCommenter.tags.a must be a string, got 1',
          'sqlCommenter.tags cannot have the key "traceparent"',
        ],
      }),
    )
    expect(() => instrument({ sqlCommenter: 'on' as never })).toThrow(
      /sqlCommenter must be true, false or \{ traceparent\?, tags\? \}, got "on"/,
    )
  })

  it('carries the trace id into log lines through traceFields()', async () => {
    const instrumentation = instrumented()
    const tracer = sdk.tracerProvider.getTracer('test')
    expect(instrumentation.traceFields()).toEqual({})
    tracer.startActiveSpan('request', (span) => {
      expect(instrumentation.traceFields()).toEqual({ trace_id: span.spanContext().traceId, span_id: span.spanContext().spanId })
      span.end()
    })
    expect(trace.getActiveSpan()).toBeUndefined()
  })

  it('never throws into the caller: a failing report callback is logged, the statement still answers', async () => {
    const errors: unknown[] = []
    instrumented({
      slowQueryMs: 0,
      onSlowQuery: () => {
        throw new Error('report sink down')
      },
      logger: { info() {}, warn() {}, error: (fields: object) => void errors.push(fields) },
    })
    const provider = open('pg')
    expect((await provider.query('SELECT 7 AS n')).rows).toEqual([{ n: 7 }])
    expect(errors).toEqual([{ err: expect.objectContaining({ message: 'report sink down' }) }])
  })

  it('rejects bad options with one ConfigError naming each', () => {
    const error = (() => {
      try {
        instrument({ captureQueryText: 'all' as never, slowQueryMs: -1, watch: ['nope' as never], colour: 1 } as never)
      } catch (caught) {
        return caught
      }
    })()
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).problems).toEqual([
      expect.stringContaining('unknown option "colour"'),
      "captureQueryText must be 'sanitized', 'raw' or false, got \"all\"",
      'slowQueryMs must be a whole number of ms >= 0, got -1',
      'watch has "nope"; accepted: provider, pool, cache, cluster, dynamo, breaker',
    ])
    expect(tracingChannel(CHANNELS.query).hasSubscribers).toBe(false)
  })
})
