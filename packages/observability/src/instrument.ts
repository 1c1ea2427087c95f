import { channel, type TracingChannel, tracingChannel } from 'node:diagnostics_channel'
import { performance } from 'node:perf_hooks'
import { type Attributes, context, INVALID_SPAN_CONTEXT, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import {
  addTraceScope,
  type BatchMessage,
  type BreakerStateMessage,
  type CacheDeleteMessage,
  type CacheGetMessage,
  type CacheSetMessage,
  CHANNELS,
  type ChannelName,
  type ClusterFailoverMessage,
  type ClusterNodeMessage,
  type ClusterRouteMessage,
  type ConnectMessage,
  type DynamoCommandMessage,
  type Hooks,
  type PoolAcquireMessage,
  type PoolCreateMessage,
  type PoolDestroyMessage,
  type PoolReleaseMessage,
  type PoolTimeoutMessage,
  type QueryMessage,
  type StreamMessage,
  type TransactionMessage,
} from '@tessera/core'
import { type LiveSnapshot, LiveStats, type PoolState } from './live-stats'
import { type Operation, OperationContext } from './operation-context'
import { type InstrumentOptions, type ResolvedInstrumentOptions, resolveInstrumentOptions, type SlowQueryReport } from './options'
import { RepeatedStatementDetector } from './repeated-statements'
import { commentMark, createSqlCommenterHooks } from './sql-commenter'
import { type AttributeSet, type StatementInfo, StatementInfoCache } from './statement-info'
import { Telemetry } from './telemetry'

/** What {@link instrument} returns. */
export interface Instrumentation {
  /**
   * Unsubscribes from every channel: operations started from now on are not recorded. Operations still in flight end
   * their spans and record their metrics with their real outcome when they settle, and the last of them to settle
   * removes the subscriptions they needed. Calling it again does nothing.
   */
  uninstrument(): void
  /**
   * Hooks to pass to a provider (`createPgProvider({ hooks: [instrumentation.hooks] })`) for what the channels cannot
   * do: the SQL commenter. Empty (and free) without `sqlCommenter`.
   */
  readonly hooks: Hooks
  /** What the dashboard shows: pools, query rate and latency, slow queries, caches, breakers, the cluster. */
  snapshot(): LiveSnapshot
  /** `{ trace_id, span_id }` of the operation or span in effect, for log lines (a pino `mixin`); `{}` without one. */
  traceFields(): { trace_id?: string | undefined; span_id?: string | undefined }
}

/** The span of an operation while no SDK records any: no-op methods, an invalid span context. */
const NON_RECORDING_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT)

/** A pool acquire in flight. */
interface PendingAcquire {
  startedAt: number
  owner: Operation | undefined
  pool: PoolState
}

const BREAKER_VALUES = { closed: 0, 'half-open': 1, open: 2 } as const

interface TracedHandlers<M> {
  start(message: M): void
  end(message: M): void
  asyncStart(message: M): void
  asyncEnd(message: M): void
  error(message: M): void
}

/** The class name of a thrown error, which is what `error.type` holds (`UniqueViolationError`, `TimeoutError`). */
function errorType(error: unknown): string {
  if (error instanceof Error) return error.name === 'Error' ? error.constructor.name : error.name
  return '_OTHER'
}

function sqlStateOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const state = (error as { sqlState?: unknown }).sqlState
  return typeof state === 'string' ? state : undefined
}

function failSpan(span: Span, error: unknown): void {
  span.setAttribute('error.type', errorType(error))
  if (error instanceof Error) span.recordException(error)
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) })
}

/**
 * Turns every Tessera diagnostics channel into OpenTelemetry spans and metrics named by the semantic conventions for
 * databases, plus slow-query and repeated-statement (N+1) reports. Patches nothing: it only subscribes. Never throws
 * into the code it watches.
 *
 * @throws ConfigError for bad options, before subscribing to anything.
 * @example
 * const { uninstrument } = instrument({ captureQueryText: 'sanitized', slowQueryMs: 200 })
 */
export function instrument(options?: InstrumentOptions): Instrumentation {
  const resolved = resolveInstrumentOptions(options)
  return new Instrumenter(resolved).start()
}

class Instrumenter {
  private readonly operations = new OperationContext()
  private readonly live = new LiveStats()
  private readonly statements: StatementInfoCache
  private readonly telemetry: Telemetry
  private readonly repeated: RepeatedStatementDetector
  /** Where an operation is kept on its message (a symbol of this instance: other subscribers never see it). */
  private readonly operationKey = Symbol('@tessera/observability operation')
  /** Where a pool acquire in flight is kept on its message (no WeakMap: its entries cost the collector on every event). */
  private readonly acquireKey = Symbol('@tessera/observability acquire')
  private readonly stops: Array<() => void> = []
  private lastExplainAt = Number.NEGATIVE_INFINITY
  /** A route decision waiting for the statement it routes (published just before it, in the same tick). */
  private pendingRoute: ClusterRouteMessage | undefined
  private active = true
  /** The operation whose synchronous part runs now without a context of its own (see the scope in `traced`). */
  private running: Operation | undefined
  /** Each replica's lag from the cluster's last health check, by cluster and node (what the lag gauges report). */
  private readonly replicationLag = new Map<string, { attributes: Attributes; lagMs: number | undefined; lagBytes: number | undefined }>()

  constructor(private readonly options: ResolvedInstrumentOptions) {
    this.statements = new StatementInfoCache(commentMark(options.sqlCommenter))
    this.telemetry = new Telemetry(options.tracerProvider, options.meterProvider, {
      observePools: (report) => {
        for (const pool of this.live.pools.values()) {
          const name = pool.attributes
          report('count', { ...name, 'db.client.connection.state': 'idle' }, Math.max(0, pool.size - pool.used))
          report('count', { ...name, 'db.client.connection.state': 'used' }, pool.used)
          report('max', name, pool.max)
          report('idle.max', name, pool.max)
          report('idle.min', name, pool.min)
          report('pending_requests', name, pool.pending)
        }
      },
      observeBreakers: (report) => {
        for (const [breaker, { state }] of this.live.breakers) report({ 'tessera.breaker.name': breaker }, BREAKER_VALUES[state])
      },
      observeReplicationLag: (report) => {
        for (const { attributes, lagMs, lagBytes } of this.replicationLag.values()) {
          report(attributes, lagMs === undefined ? undefined : lagMs / 1_000, lagBytes)
        }
      },
    })
    this.repeated = new RepeatedStatementDetector(options.repeatedStatementThreshold, (report) => {
      this.options.logger?.warn(
        { trace_id: report.traceId, sql: report.sql, count: report.count },
        'the same statement ran repeatedly in one trace (N+1?)',
      )
      this.safely(() => this.options.onRepeatedStatement?.(report))
    })
  }

  start(): Instrumentation {
    const watch = this.options.watch
    if (watch.has('provider')) {
      this.traced<QueryMessage>(
        CHANNELS.query,
        (m) => this.beginQuery(m),
        (m, op) => this.endQuery(m, op),
      )
      this.traced<TransactionMessage>(
        CHANNELS.transaction,
        (m) => this.beginTransaction(m),
        (m, op) => this.endTransaction(m, op),
      )
      this.traced<BatchMessage>(
        CHANNELS.batch,
        (m) => this.beginBatch(m),
        (m, op) => this.endBatch(m, op),
      )
      this.traced<StreamMessage>(
        CHANNELS.stream,
        (m) => this.beginStream(m),
        (m, op) => this.endStream(m, op),
      )
      this.traced<ConnectMessage>(
        CHANNELS.connect,
        (m) => this.beginConnect(m),
        (m, op) => this.endPlain(m, op),
      )
    }
    if (watch.has('pool')) this.watchPools()
    if (watch.has('cache')) {
      this.traced<CacheGetMessage>(
        CHANNELS.cacheGet,
        (m) => this.beginCache('get', m),
        (m, op) => this.endCacheGet(m, op),
      )
      this.traced<CacheSetMessage>(
        CHANNELS.cacheSet,
        (m) => this.beginCache('set', m),
        (m, op) => this.endPlain(m, op),
      )
      this.traced<CacheDeleteMessage>(
        CHANNELS.cacheDelete,
        (m) => this.beginCache('delete', m),
        (m, op) => this.endPlain(m, op),
      )
    }
    if (watch.has('cluster')) {
      this.plain<ClusterRouteMessage>(CHANNELS.clusterRoute, (m) => this.onRoute(m))
      this.plain<ClusterFailoverMessage>(CHANNELS.clusterFailover, (m) => this.onFailover(m))
      this.plain<ClusterNodeMessage>(CHANNELS.clusterNode, (m) => this.onClusterNode(m))
    }
    if (watch.has('dynamo'))
      this.traced<DynamoCommandMessage>(
        CHANNELS.dynamoCommand,
        (m) => this.beginDynamo(m),
        (m, op) => this.endDynamo(m, op),
      )
    if (watch.has('breaker')) this.plain<BreakerStateMessage>(CHANNELS.breakerState, (m) => this.onBreaker(m))
    return {
      uninstrument: () => this.stop(),
      hooks: this.options.sqlCommenter === undefined ? {} : createSqlCommenterHooks(this.options.sqlCommenter),
      snapshot: () => this.live.snapshot(),
      traceFields: () => this.operations.traceFields() ?? {},
    }
  }

  private stop(): void {
    if (!this.active) return
    this.active = false
    for (const stop of this.stops.splice(0)) stop()
    this.telemetry.close()
  }

  /** Instrumentation never throws into the caller: a failure here is logged and dropped. */
  private safely(fn: () => void): void {
    try {
      fn()
    } catch (error) {
      this.failed(error)
    }
  }

  private failed(error: unknown): void {
    this.options.logger?.error?.({ err: error }, '@tessera/observability failed to record an event')
  }

  // ---- subscriptions ---------------------------------------------------------------------------------

  private traced<M extends object>(name: string, begin: (message: M) => Operation, finish: (message: M, op: Operation) => void): void {
    const tracing = tracingChannel(name) as unknown as TracingChannel<unknown, M>
    // Operations opened and not yet settled: after uninstrument() the handlers stay until they have all ended.
    let inFlight = 0
    const open = (message: M): Operation | undefined => {
      if (!this.active || this.operations.isSuppressed()) return undefined
      try {
        const op = begin(message)
        ;(message as Record<symbol, Operation | undefined>)[this.operationKey] = op
        inFlight++
        return op
      } catch (error) {
        this.failed(error)
        return undefined
      }
    }
    // Core runs each operation inside this scope, in the caller's context, before `start`: the span starts there, and
    // `context.with` (OpenTelemetry's public API, whatever context manager is registered) makes it the active context
    // of everything the operation runs, across awaits. Without a context manager OpenTelemetry propagates nothing, and
    // then the span is still made. A publisher on an older core without scopes gets its span from `start`.
    const removeScope = addTraceScope(name as ChannelName, (message, run) => {
      const op = open(message as M)
      if (op === undefined) return run()
      if (op.span === NON_RECORDING_SPAN) {
        // No SDK and no parent span: a context would carry nothing a child or another instrumentation could use (a
        // child of this stand-in is a root as well), so none is made. Only its pool wait needs the operation, and the
        // pool is asked synchronously, inside `run`.
        const outer = this.running
        this.running = op
        try {
          return run()
        } finally {
          this.running = outer
        }
      }
      return context.with(this.operations.contextOf(op.parent, op), run)
    })
    const settle = (message: M) => {
      const slot = message as Record<symbol, Operation | undefined>
      const op = slot[this.operationKey]
      if (op === undefined) return
      slot[this.operationKey] = undefined
      inFlight--
      try {
        finish(message, op)
      } catch (error) {
        this.failed(error)
      }
      if (!this.active) unsubscribeWhenSettled()
    }
    const handlers: TracedHandlers<M> = {
      start: (message) => {
        if ((message as Record<symbol, Operation | undefined>)[this.operationKey] !== undefined) return
        open(message)
      },
      // A synchronous throw gives `error` then `end` and no `asyncEnd`: settle at `end` then.
      end: (message) => {
        if ((message as { error?: unknown }).error !== undefined) settle(message)
      },
      asyncStart() {},
      asyncEnd: settle,
      error() {},
    }
    tracing.subscribe(handlers)
    let subscribed = true
    const unsubscribeWhenSettled = () => {
      if (!subscribed || inFlight > 0) return
      subscribed = false
      tracing.unsubscribe(handlers)
    }
    this.stops.push(() => {
      // New operations get no span from now on (and not our context); those in flight end with their outcome, then the
      // last one to settle unsubscribes.
      removeScope()
      unsubscribeWhenSettled()
    })
  }

  private plain<M>(name: string, handle: (message: M) => void): void {
    const target = channel(name)
    // No closure per message: the handler itself catches.
    const handler = (message: unknown) => {
      try {
        handle(message as M)
      } catch (error) {
        this.failed(error)
      }
    }
    target.subscribe(handler)
    this.stops.push(() => target.unsubscribe(handler))
  }

  private startSpan(
    name: string,
    attributes: Attributes,
    info?: StatementInfo,
    metricAttributes?: Record<string, string | number>,
  ): Operation {
    const parent = context.active()
    const parentSpan = trace.getSpan(parent)
    const isRoot = parentSpan === undefined
    // No SDK and no parent span: the API's no-op tracer would make a span that records nothing and carries no context,
    // so one shared span of that kind stands in for it (no allocation, no attribute copy).
    const span =
      (isRoot || parentSpan === NON_RECORDING_SPAN) && !this.telemetry.tracing
        ? NON_RECORDING_SPAN
        : this.telemetry.tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes }, parent)
    return { span, parent, isRoot, startedAt: performance.now(), waitMs: 0, info, metricAttributes }
  }

  private endPlain(message: { error?: unknown }, op: Operation): void {
    if (message.error !== undefined) failSpan(op.span, message.error)
    op.span.end()
  }

  // ---- statements and transactions -------------------------------------------------------------------

  private databaseAttributes(
    message: QueryMessage | TransactionMessage | ConnectMessage | BatchMessage | StreamMessage,
  ): Record<string, string | number> {
    const attributes: Record<string, string | number> = { 'db.system.name': 'postgresql' }
    if (message.database !== undefined) attributes['db.namespace'] = message.database
    if (message.host !== undefined) attributes['server.address'] = message.host
    if (message.port !== undefined) attributes['server.port'] = message.port
    if (message.pool !== undefined) attributes['db.client.connection.pool.name'] = message.pool
    return attributes
  }

  private beginQuery(message: QueryMessage): Operation {
    const info = this.statements.get(message.sql)
    const capture = this.options.captureQueryText
    // One set per statement, pool and call kind, reused by every run of it (raw text is per run: never cached). The set
    // used last is compared field by field first: a statement usually runs on one pool, and then no key is built.
    const last = info.lastSet
    let set: AttributeSet | undefined
    if (
      last !== undefined &&
      last.pool === message.pool &&
      last.database === message.database &&
      last.host === message.host &&
      last.port === message.port &&
      last.operation === message.operation
    ) {
      set = last
    } else {
      const setKey = `${message.pool}\u0000${message.database}\u0000${message.host}\u0000${message.port}\u0000${message.operation}`
      set = info.attributeSets.get(setKey)
      if (set === undefined) {
        set = this.attributeSet(message, info)
        if (info.attributeSets.size < 64) info.attributeSets.set(setKey, set)
      }
      info.lastSet = set
    }
    let attributes: Attributes = set.span
    if (capture === 'raw') attributes = { ...attributes, 'db.query.text': message.sql }
    const route = this.pendingRoute
    if (route !== undefined) {
      this.pendingRoute = undefined
      attributes = {
        ...attributes,
        'tessera.cluster.node': route.target,
        'tessera.cluster.role': route.role,
        'tessera.cluster.reason': route.reason,
      }
    }
    return this.startSpan(info.summary, attributes, info, set.metric)
  }

  private attributeSet(message: QueryMessage, info: StatementInfo): AttributeSet {
    const metric = this.databaseAttributes(message)
    if (info.operation !== '') metric['db.operation.name'] = info.operation
    if (info.collection !== undefined) metric['db.collection.name'] = info.collection
    const span: Record<string, string | number> = { ...metric, 'db.query.summary': info.summary }
    if (this.options.captureQueryText === 'sanitized') span['db.query.text'] = info.sanitized
    if (message.operation !== 'query') span['tessera.db.call'] = message.operation
    const { pool, database, host, port, operation } = message
    return { pool, database, host, port, operation, span, metric }
  }

  private endQuery(message: QueryMessage, op: Operation): void {
    const durationMs = performance.now() - op.startedAt
    const info = op.info!
    const error = message.error
    const instruments = this.telemetry.instruments
    let metricAttributes = op.metricAttributes!
    if (error !== undefined) {
      failSpan(op.span, error)
      metricAttributes = { ...metricAttributes, 'error.type': errorType(error) }
      const state = sqlStateOf(error)
      if (state !== undefined) {
        op.span.setAttribute('db.response.status_code', state)
        metricAttributes['db.response.status_code'] = state
      }
      instruments.errors.add(1, metricAttributes)
    } else if (message.result !== undefined) {
      op.span.setAttribute('db.response.returned_rows', message.result.rowCount)
    }
    if (op.waitMs > 0) op.span.setAttribute('tessera.db.client.connection.wait_ms', op.waitMs)
    op.span.end()
    instruments.operationDuration.record(durationMs / 1_000, metricAttributes)
    this.live.recordQuery(durationMs, error !== undefined)
    const slow = durationMs >= this.options.slowQueryMs
    // A statement that starts its own trace cannot repeat inside one; its trace id is only read when needed (the check
    // of a valid span context runs two regular expressions).
    if (op.isRoot && !slow) return
    const spanContext = op.span.spanContext()
    const traceId = trace.isSpanContextValid(spanContext) ? spanContext.traceId : undefined
    if (traceId !== undefined && !op.isRoot) this.repeated.seen(traceId, info.sanitized)
    if (slow) {
      this.reportSlow(
        message,
        {
          durationMs,
          sql: info.sanitized,
          paramsCount: info.paramsCount,
          poolWaitMs: op.waitMs,
          pool: message.pool,
          traceId,
          spanId: traceId === undefined ? undefined : spanContext.spanId,
          error: error === undefined ? undefined : errorType(error),
          at: Date.now(),
        },
        info,
      )
    }
  }

  private reportSlow(message: QueryMessage, report: SlowQueryReport, info: StatementInfo): void {
    // A plan of a plan is never useful (and the plan's own statement is traced when no context manager can suppress it).
    const isExplain = info.operation === 'EXPLAIN'
    const explain = this.options.explain
    const now = performance.now()
    if (
      explain === undefined ||
      isExplain ||
      now - this.lastExplainAt < explain.minIntervalMs ||
      (report.paramsCount > 0 && message.params === undefined)
    ) {
      this.publishSlow(report)
      return
    }
    this.lastExplainAt = now
    // The plan runs on the explain provider as the instrumentation's own work: its statement is not traced or reported.
    this.operations.suppressed(() => {
      explain.provider
        .query(`EXPLAIN (FORMAT JSON) ${message.sql}`, message.params ?? [])
        .then(
          (result) => {
            const row = result.rows[0] as Record<string, unknown> | undefined
            report.plan = row === undefined ? undefined : row['QUERY PLAN']
          },
          (error: unknown) => {
            report.plan = { error: error instanceof Error ? error.message : String(error) }
          },
        )
        .finally(() => this.publishSlow(report))
    })
  }

  private publishSlow(report: SlowQueryReport): void {
    this.live.recordSlow(report)
    const { traceId, spanId, ...fields } = report
    this.options.logger?.warn({ ...fields, trace_id: traceId, span_id: spanId }, `slow query: ${Math.round(report.durationMs)} ms`)
    this.safely(() => this.options.onSlowQuery?.(report))
  }

  private beginTransaction(message: TransactionMessage): Operation {
    const attributes: Attributes = this.databaseAttributes(message)
    attributes['db.operation.name'] = 'TRANSACTION'
    attributes['tessera.db.transaction.attempt'] = message.attempt
    if (message.isolation !== undefined) attributes['tessera.db.transaction.isolation'] = message.isolation
    if (message.readOnly !== undefined) attributes['tessera.db.transaction.read_only'] = message.readOnly
    return this.startSpan('TRANSACTION', attributes)
  }

  private endTransaction(message: TransactionMessage, op: Operation): void {
    const attributes = this.databaseAttributes(message)
    if (message.error !== undefined) {
      failSpan(op.span, message.error)
      attributes['error.type'] = errorType(message.error)
      this.telemetry.instruments.errors.add(1, { ...attributes, 'db.operation.name': 'TRANSACTION' })
    }
    op.span.end()
    const instruments = this.telemetry.instruments
    instruments.transactionDuration.record((performance.now() - op.startedAt) / 1_000, attributes)
    if (message.attempt > 1) instruments.transactionRetries.add(1, attributes)
  }

  /**
   * One span for a batch, its statements its children. By the conventions: `db.operation.name` is `BATCH <operation>`
   * when every statement has the same operation, else `BATCH`; the span is named `BATCH <summary>` when every statement
   * has the same summary (`BATCH INSERT orders`), else `BATCH`; `db.operation.batch.size` only for two or more.
   */
  private beginBatch(message: BatchMessage): Operation {
    const attributes: Attributes = this.databaseAttributes(message)
    const texts = message.statements
    const first = this.statements.get(texts[0] ?? '')
    let sameOperation = true
    let sameCollection = true
    let sameSummary = true
    for (let i = 1; i < texts.length; i++) {
      const info = this.statements.get(texts[i]!)
      if (info.operation !== first.operation) sameOperation = false
      if (info.collection !== first.collection) sameCollection = false
      if (info.summary !== first.summary) sameSummary = false
    }
    attributes['db.operation.name'] = sameOperation && first.operation !== '' ? `BATCH ${first.operation}` : 'BATCH'
    if (sameCollection && first.collection !== undefined) attributes['db.collection.name'] = first.collection
    const name = sameSummary && first.summary !== '' ? `BATCH ${first.summary}` : 'BATCH'
    attributes['db.query.summary'] = name
    if (texts.length >= 2) attributes['db.operation.batch.size'] = texts.length
    attributes['tessera.db.call'] = 'batch'
    attributes['tessera.db.batch.atomic'] = message.atomic
    return this.startSpan(name, attributes)
  }

  private endBatch(message: BatchMessage, op: Operation): void {
    if (message.error !== undefined) this.failDatabaseSpan(op.span, message.error)
    if (op.waitMs > 0) op.span.setAttribute('tessera.db.client.connection.wait_ms', op.waitMs)
    op.span.end()
  }

  /** One span for a stream from its opening (its child) to its end, with the rows handed to the consumer. */
  private beginStream(message: StreamMessage): Operation {
    const info = this.statements.get(message.sql)
    const attributes: Attributes = this.databaseAttributes(message)
    if (info.operation !== '') attributes['db.operation.name'] = info.operation
    if (info.collection !== undefined) attributes['db.collection.name'] = info.collection
    attributes['db.query.summary'] = info.summary
    const capture = this.options.captureQueryText
    if (capture === 'sanitized') attributes['db.query.text'] = info.sanitized
    else if (capture === 'raw') attributes['db.query.text'] = message.sql
    attributes['tessera.db.call'] = 'stream'
    return this.startSpan(`STREAM ${info.summary}`, attributes, info)
  }

  private endStream(message: StreamMessage, op: Operation): void {
    if (message.error !== undefined) this.failDatabaseSpan(op.span, message.error)
    op.span.setAttribute('db.response.returned_rows', message.rows)
    op.span.setAttribute('tessera.db.stream.completed', message.completed === true)
    op.span.end()
  }

  private failDatabaseSpan(span: Span, error: unknown): void {
    failSpan(span, error)
    const state = sqlStateOf(error)
    if (state !== undefined) span.setAttribute('db.response.status_code', state)
  }

  private beginConnect(message: ConnectMessage): Operation {
    const attributes = this.databaseAttributes(message)
    if (message.processId !== undefined) attributes['tessera.db.backend_pid'] = message.processId
    return this.startSpan('connect', attributes)
  }

  // ---- pools ------------------------------------------------------------------------------------------

  private poolState(name: string): PoolState {
    return this.live.pools.get(name) ?? this.live.pool(name, () => ({ 'db.client.connection.pool.name': name }))
  }

  private watchPools(): void {
    const tracing = tracingChannel(CHANNELS.poolAcquire) as unknown as TracingChannel<unknown, PoolAcquireMessage>
    const key = this.acquireKey
    // As for operations: after uninstrument() the handlers stay until the acquires in flight have settled.
    let inFlight = 0
    let subscribed = true
    const unsubscribeWhenSettled = () => {
      if (!subscribed || inFlight > 0) return
      subscribed = false
      tracing.unsubscribe(handlers)
    }
    const finish = (message: PoolAcquireMessage) => {
      const slot = message as unknown as Record<symbol, PendingAcquire | undefined>
      const acquire = slot[key]
      if (acquire === undefined) return
      slot[key] = undefined
      inFlight--
      const { pool } = acquire
      const waitMs = performance.now() - acquire.startedAt
      pool.pending = Math.max(0, pool.pending - 1)
      if (message.error !== undefined) return
      pool.used++
      if (pool.used > pool.size) pool.size = pool.used
      if (acquire.owner !== undefined) acquire.owner.waitMs += waitMs
      this.live.recordWait(pool, waitMs)
      this.telemetry.instruments.connectionWaitTime.record(waitMs / 1_000, pool.attributes)
    }
    const settle = (message: PoolAcquireMessage) => {
      try {
        finish(message)
      } catch (error) {
        this.failed(error)
      }
      if (!this.active) unsubscribeWhenSettled()
    }
    const handlers: TracedHandlers<PoolAcquireMessage> = {
      start: (message) => {
        if (!this.active) return
        try {
          const pool = this.poolState(message.pool)
          pool.size = message.size
          pool.used = message.inUse
          pool.max = message.max
          if (message.min !== undefined) pool.min = message.min
          pool.pending++
          const acquire: PendingAcquire = { startedAt: performance.now(), owner: this.operations.current() ?? this.running, pool }
          ;(message as unknown as Record<symbol, PendingAcquire | undefined>)[key] = acquire
          inFlight++
        } catch (error) {
          this.failed(error)
        }
      },
      end: (message) => {
        if (message.error !== undefined) settle(message)
      },
      asyncStart() {},
      asyncEnd: (message) => settle(message),
      error() {},
    }
    tracing.subscribe(handlers)
    this.stops.push(unsubscribeWhenSettled)
    this.plain<PoolReleaseMessage>(CHANNELS.poolRelease, (message) => {
      const pool = this.poolState(message.pool)
      pool.used = Math.max(0, pool.used - 1)
      this.telemetry.instruments.connectionUseTime.record(message.heldMs / 1_000, pool.attributes)
    })
    this.plain<PoolCreateMessage>(CHANNELS.poolCreate, (message) => {
      const pool = this.poolState(message.pool)
      pool.size = message.size
      if (message.error === undefined && message.durationMs !== undefined) {
        this.telemetry.instruments.connectionCreateTime.record(message.durationMs / 1_000, pool.attributes)
      }
    })
    this.plain<PoolDestroyMessage>(CHANNELS.poolDestroy, (message) => {
      // A pool drained to nothing was closed: its series end with it.
      if (message.reason === 'drain' && message.size === 0) this.live.pools.delete(message.pool)
      else this.poolState(message.pool).size = message.size
    })
    this.plain<PoolTimeoutMessage>(CHANNELS.poolTimeout, (message) => {
      this.telemetry.instruments.connectionTimeouts.add(1, this.poolState(message.pool).attributes)
    })
  }

  // ---- cache ------------------------------------------------------------------------------------------

  private beginCache(kind: 'get' | 'set' | 'delete', message: CacheGetMessage | CacheSetMessage | CacheDeleteMessage): Operation {
    const attributes: Attributes = { 'tessera.cache.name': message.cache, 'tessera.cache.operation': kind }
    if (message.namespace !== undefined) attributes['tessera.cache.namespace'] = message.namespace
    const keys = 'keys' in message ? message.keys : undefined
    if (keys !== undefined) attributes['tessera.cache.key_count'] = keys.length
    return this.startSpan(`cache.${kind} ${message.cache}`, attributes)
  }

  private endCacheGet(message: CacheGetMessage, op: Operation): void {
    if (message.error !== undefined) failSpan(op.span, message.error)
    const result = message.stale === true ? 'stale' : message.hit === true ? 'hit' : 'miss'
    op.span.setAttribute('tessera.cache.result', result)
    if (message.tier !== undefined) op.span.setAttribute('tessera.cache.tier', message.tier)
    op.span.end()
    const attributes: Attributes = { 'tessera.cache.name': message.cache, 'tessera.cache.result': result }
    if (message.tier !== undefined) attributes['tessera.cache.tier'] = message.tier
    this.telemetry.instruments.cacheRequests.add(1, attributes)
    this.live.recordCache(message.cache, result, message.tier)
  }

  // ---- cluster, DynamoDB, breakers --------------------------------------------------------------------

  private onRoute(message: ClusterRouteMessage): void {
    // The cluster publishes its decision just before it runs the statement on the chosen node: the statement's span
    // takes it as attributes if it starts in this tick.
    this.pendingRoute = message
    queueMicrotask(() => {
      if (this.pendingRoute === message) this.pendingRoute = undefined
    })
    const attributes: Attributes = {
      'tessera.cluster.node': message.target,
      'tessera.cluster.role': message.role,
      'tessera.cluster.reason': message.reason,
    }
    this.telemetry.instruments.clusterRoutes.add(1, attributes)
    this.live.cluster.routes[message.target] = (this.live.cluster.routes[message.target] ?? 0) + 1
  }

  private onFailover(message: ClusterFailoverMessage): void {
    const attributes: Attributes = { 'tessera.cluster.reason': message.reason }
    if (message.from !== undefined) attributes['tessera.cluster.from'] = message.from
    if (message.to !== undefined) attributes['tessera.cluster.to'] = message.to
    this.telemetry.instruments.clusterFailovers.add(1, attributes)
    this.live.cluster.failovers++
    this.live.cluster.lastFailover = `${message.from ?? '?'} → ${message.to ?? '?'} (${message.reason})`
    this.options.logger?.warn({ ...attributes, ...this.operations.traceFields() }, 'cluster failover')
  }

  /**
   * Keeps each replica's lag from the cluster's per-check `'lag'` messages for the lag gauges. A node that went down,
   * was ejected or fenced, or became the primary stops being reported until it is measured as a replica again.
   */
  private onClusterNode(message: ClusterNodeMessage): void {
    const key = `${message.cluster ?? ''}\u0000${message.node}`
    if (message.event === 'lag') {
      const known = this.replicationLag.get(key)
      if (known !== undefined) {
        known.lagMs = message.lagMs
        known.lagBytes = message.lagBytes
        return
      }
      const attributes: Attributes = { 'tessera.cluster.node': message.node }
      if (message.cluster !== undefined) attributes['tessera.cluster.name'] = message.cluster
      this.replicationLag.set(key, { attributes, lagMs: message.lagMs, lagBytes: message.lagBytes })
      return
    }
    if (message.event === 'down' || message.event === 'ejected' || message.event === 'fenced' || message.event === 'role-changed') {
      this.replicationLag.delete(key)
    }
  }

  private beginDynamo(message: DynamoCommandMessage): Operation {
    const attributes: Attributes = {
      'db.system.name': 'aws.dynamodb',
      'db.operation.name': message.command,
      'rpc.system': 'aws-api',
      'rpc.service': 'DynamoDB',
      'rpc.method': message.command,
    }
    if (message.table !== undefined) {
      attributes['aws.dynamodb.table_names'] = [message.table]
      attributes['db.collection.name'] = message.table
    }
    if (message.index !== undefined) attributes['aws.dynamodb.index_name'] = message.index
    return this.startSpan(`DynamoDB.${message.command}`, attributes)
  }

  private endDynamo(message: DynamoCommandMessage, op: Operation): void {
    const attributes: Attributes = { 'db.system.name': 'aws.dynamodb', 'db.operation.name': message.command }
    if (message.table !== undefined) attributes['db.collection.name'] = message.table
    if (message.consumedCapacity !== undefined) {
      op.span.setAttribute('aws.dynamodb.consumed_capacity', [
        JSON.stringify({ TableName: message.table, CapacityUnits: message.consumedCapacity }),
      ])
      this.telemetry.instruments.dynamoCapacity.add(message.consumedCapacity, attributes)
    }
    if (message.error !== undefined) {
      failSpan(op.span, message.error)
      attributes['error.type'] = errorType(message.error)
    }
    op.span.end()
    this.telemetry.instruments.dynamoDuration.record((performance.now() - op.startedAt) / 1_000, attributes)
  }

  private onBreaker(message: BreakerStateMessage): void {
    this.live.recordBreaker(message.breaker, message.to)
    this.telemetry.instruments.breakerTransitions.add(1, { 'tessera.breaker.name': message.breaker, 'tessera.breaker.state': message.to })
    this.options.logger?.warn(
      { breaker: message.breaker, from: message.from, to: message.to, failures: message.failures },
      `circuit breaker ${message.to}`,
    )
  }
}
