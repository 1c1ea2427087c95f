import { tracingChannel } from 'node:diagnostics_channel'
import { performance } from 'node:perf_hooks'
import { serializeParams, TYPE_LOOKUP_SQL, type TypeLookupRow } from '@tessera/converter'
import {
  AbortError,
  CHANNELS,
  type ConnectionInfo,
  type ErrorContext,
  type HookOperation,
  isConnectionLoss,
  isTesseraError,
  mapPgError,
  type PoolStats,
  PoolTimeoutError,
  ProviderClosedError,
  type ProviderEngine,
  publish,
  type QueryContext,
  type QueryMessage,
  type QueryOperation,
  type QueryOptions,
  type QueryResult,
  runQuery,
  type SqlInput,
  type Statement,
  type TesseraError,
  TimeoutError,
  toQueryConfig,
  traced,
} from '@tessera/core'
import type { ResolvedPostgresJsOptions } from './options'
import type {
  PostgresJsBackend,
  PostgresJsQuery,
  PostgresJsReserved,
  PostgresJsResult,
  PostgresJsSql,
  PostgresJsUnsafeOptions,
} from './postgres-js-client'
import { SocketTracker } from './sockets'
import { toQueryResult } from './to-query-result'
import { installResolvedTypes } from './types-option'

const EMPTY_PARAMS: readonly unknown[] = Object.freeze([])
const NO_VALUES: readonly (string | null)[] = Object.freeze([])
const EMPTY_OPTIONS: QueryOptions = Object.freeze({})
const PREPARED = Object.freeze({ prepare: true })
const UNPREPARED = Object.freeze({ prepare: false })

const queryChannel = tracingChannel(CHANNELS.query)
const connectChannel = tracingChannel(CHANNELS.connect)
const acquireChannel = tracingChannel(CHANNELS.poolAcquire)

/** ReadyForQuery's transaction status outside a transaction ('I'). */
const IDLE = 73

const ABORTED = 1
const TIMED_OUT = 2
const POOL_TIMED_OUT = 3

/**
 * A connection checked out of postgres.js with `sql.reserve()`: what transactions, streams and batches run on (and
 * every statement, when connection hooks are registered). Statements on it run alone and in order.
 */
export interface Checkout {
  readonly sql: PostgresJsReserved
  info: ConnectionInfo
  /** The postgres.js connection slot, known after the first statement. */
  backend: PostgresJsBackend | null
  /** The session died (or was told to): postgres.js has already taken the slot back; never release or use it. */
  broken: boolean
  /** A cancel request may still be in flight for it: the session is ended instead of reused. */
  tainted: boolean
  released: boolean
  /** Statements sent on it and not settled, for a batch's cancellation. */
  readonly active: Set<PostgresJsQuery>
  readonly acquiredAt: number
  leakTimer: ReturnType<typeof setTimeout> | undefined
  /** Transaction status of the ReadyForQuery ending the last multi-statement text run on it (`I`, `T` or `E`). */
  readyStatus: number | undefined
}

interface Session {
  pid: number | null
  info: ConnectionInfo
}

/**
 * Everything the provider's methods share: the postgres.js instance, hooks, counters, error reporting and the
 * single-statement path. Core's transaction, batch and stream runners use it as their `ProviderEngine`; it mirrors
 * provider-pg's `PgEngine`.
 */
export class PostgresJsEngine implements ProviderEngine<Checkout> {
  readonly driver = 'postgres.js'
  readonly sql: PostgresJsSql
  readonly hooks: ResolvedPostgresJsOptions['hooks']
  readonly sockets: SocketTracker
  /** Connection hooks need a real checkout per operation: with them, every statement runs on a reserved connection. */
  readonly usesCheckouts: boolean
  closed = false
  /** Checkouts held. */
  reservedCount = 0
  /** Callers waiting for a checkout, or statements waiting because every connection is reserved. */
  pendingCount = 0
  timeouts = 0
  errors = 0
  /** Statements running on the shared pool, for `close({ timeoutMs })` to cancel. */
  readonly inflight = new Set<PostgresJsQuery>()
  private readonly reported = new WeakSet<object>()
  private readonly sessions = new WeakMap<PostgresJsBackend, Session>()
  private typesReady: Promise<void> | undefined
  private readonly waitMs: number[] = []
  /** Sessions being ended (tainted checkouts): `close()` waits for them. */
  readonly endingSessions = new Set<Promise<void>>()

  constructor(readonly o: ResolvedPostgresJsOptions) {
    this.hooks = o.hooks
    this.usesCheckouts = o.hooks.hasConnectHooks || o.hooks.hasAcquireHooks || o.hooks.hasReleaseHooks
    const host = o.host ?? process.env.PGHOST ?? 'localhost'
    const port = o.port ?? (process.env.PGPORT === undefined ? 5432 : Number(process.env.PGPORT))
    this.sockets = new SocketTracker(o.name, host, port, host.startsWith('/') ? `${host}/.s.PGSQL.${port}` : undefined)
    this.sql = o.factory(o.url, {
      ...o.driverOptions,
      socket: this.sockets.create,
      onnotice: o.handleNotice,
    })
    if (o.registry.pendingNames().length > 0) this.typesReady = this.resolveTypeNames()
  }

  /** Installs codecs for types known by name only (citext, vector, user enums) before the first statement runs. */
  private async resolveTypeNames(): Promise<void> {
    const registry = this.o.registry
    try {
      const result = await registry.resolveNames(async (names) => {
        const raw = await this.sql.unsafe(TYPE_LOOKUP_SQL, serializeParams([names]), UNPREPARED)
        return toQueryResult(raw as PostgresJsResult).rows as unknown as TypeLookupRow[]
      })
      installResolvedTypes(registry, this.sql.options, registry.oids())
      if (result.resolved.length > 0) this.o.logger?.debug({ types: result.resolved }, 'postgres.js provider resolved type names')
    } catch (error) {
      this.o.logger?.warn({ err: error }, 'resolving type names failed; they read as text')
    } finally {
      this.typesReady = undefined
    }
  }

  // ---- errors ---------------------------------------------------------------------------------------

  /** Any error a provider operation met, as the Tessera error the caller receives. */
  normalize(error: unknown, sql?: string): TesseraError {
    if (isTesseraError(error)) return error
    return mapPgError(error, sql === undefined ? undefined : { sql })
  }

  /** Tells `onError` (once per error) and returns the error, for `throw engine.report(…)`. */
  report(error: TesseraError, operation: HookOperation, sql?: string, params?: readonly unknown[]): TesseraError {
    if (this.reported.has(error)) return error
    this.reported.add(error)
    this.errors++
    if (!this.hooks.hasErrorHooks) return error
    const context: ErrorContext = { operation, driver: this.driver }
    if (sql !== undefined) context.sql = sql
    if (params !== undefined) context.params = params
    this.hooks.error(error, context)
    return error
  }

  closedError(operation: string): TesseraError {
    return new ProviderClosedError(operation, this.driver)
  }

  // ---- checkouts ------------------------------------------------------------------------------------

  /**
   * Reserves a connection (`sql.reserve()`), waiting at most `timeoutMs` (default `pool.acquireTimeoutMs`). With
   * connection hooks, identifies the session first (`onConnect` for a new one), then runs `onAcquire`.
   */
  acquire(signal?: AbortSignal, timeoutMs?: number): Promise<Checkout> {
    if (!acquireChannel.hasSubscribers) return this.checkOut(signal, timeoutMs)
    const message = { pool: this.o.name, size: this.sockets.size, inUse: this.inUse(), pending: this.pendingCount, max: this.o.pool.max }
    return traced(CHANNELS.poolAcquire, message, () => this.checkOut(signal, timeoutMs))
  }

  private async checkOut(signal: AbortSignal | undefined, timeoutMs: number | undefined): Promise<Checkout> {
    if (this.closed) throw this.closedError('an operation')
    if (signal?.aborted) throw new AbortError('acquire', { cause: signal.reason })
    if (this.typesReady !== undefined) await this.typesReady
    const started = performance.now()
    this.pendingCount++
    let reserved: PostgresJsReserved
    try {
      reserved = await this.reserveWithin(timeoutMs ?? this.o.pool.acquireTimeoutMs, signal, started)
    } finally {
      this.pendingCount--
    }
    this.recordWait(performance.now() - started)
    this.reservedCount++
    const checkout: Checkout = {
      sql: reserved,
      info: { driver: this.driver, host: this.o.host, database: this.o.database, meta: {} },
      backend: null,
      broken: false,
      tainted: false,
      released: false,
      active: new Set(),
      acquiredAt: performance.now(),
      leakTimer: undefined,
      readyStatus: undefined,
    }
    if (this.o.pool.leakDetectionMs > 0) {
      const stack = new Error('checked out here').stack
      checkout.leakTimer = setTimeout(() => {
        const heldMs = Math.round(performance.now() - checkout.acquiredAt)
        this.o.logger?.warn({ heldMs, stack, pool: this.o.name }, `a postgres.js connection has been held for ${heldMs} ms`)
        publish(CHANNELS.poolLeak, { pool: this.o.name, heldMs, stack })
      }, this.o.pool.leakDetectionMs)
      checkout.leakTimer.unref()
    }
    if (!this.usesCheckouts) return checkout
    try {
      await this.identify(checkout)
      if (this.hooks.hasAcquireHooks) await this.hooks.acquire(checkout.info)
    } catch (error) {
      this.finishRelease(checkout)
      throw error
    }
    return checkout
  }

  private reserveWithin(limitMs: number, signal: AbortSignal | undefined, started: number): Promise<PostgresJsReserved> {
    return new Promise((resolve, reject) => {
      let settled = false
      const finish = (error: TesseraError) => {
        if (settled) return
        settled = true
        cleanup()
        reject(error)
      }
      const timer =
        limitMs > 0
          ? setTimeout(() => {
              this.timeouts++
              const waitedMs = Math.max(limitMs, Math.round(performance.now() - started))
              const details = { waitedMs, inUse: this.inUse(), max: this.o.pool.max, pending: this.pendingCount - 1 }
              publish(CHANNELS.poolTimeout, { pool: this.o.name, ...details })
              finish(new PoolTimeoutError(details))
            }, limitMs)
          : undefined
      const onAbort = () => finish(new AbortError('acquire', { cause: signal?.reason }))
      const cleanup = () => {
        if (timer !== undefined) clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
      }
      signal?.addEventListener('abort', onAbort)
      this.sql.reserve().then(
        (reserved) => {
          // Given up on meanwhile: hand it straight back.
          if (settled) return reserved.release()
          settled = true
          cleanup()
          resolve(reserved)
        },
        (error: unknown) => finish(this.normalize(error)),
      )
    })
  }

  /**
   * Learns which session a checkout holds with an empty statement (one round trip, only for providers with connection
   * hooks): postgres.js exposes no connect event, so a session is new when its backend PID was not seen before.
   * `onConnect` runs then, before the session's first use by the provider; if it throws, the session is ended.
   */
  private async identify(checkout: Checkout): Promise<void> {
    const probe = checkout.sql.unsafe('')
    await probe
    const backend = probe.state
    if (backend === null) return
    checkout.backend = backend
    const known = this.sessions.get(backend)
    if (known !== undefined && known.pid === backend.pid) {
      checkout.info = known.info
      return
    }
    const info: ConnectionInfo = {
      driver: this.driver,
      processId: backend.pid ?? undefined,
      host: this.o.host,
      database: this.o.database,
      meta: {},
    }
    checkout.info = info
    if (this.hooks.hasConnectHooks) {
      const run = () => this.hooks.connect(info)
      try {
        if (connectChannel.hasSubscribers) {
          await traced(
            CHANNELS.connect,
            { driver: this.driver, host: this.o.host, port: this.o.port, database: this.o.database, processId: info.processId },
            run,
          )
        } else await run()
      } catch (error) {
        await this.endSession(checkout)
        throw error
      }
    }
    this.sessions.set(backend, { pid: backend.pid, info })
  }

  /**
   * Ends a checkout's session on the server, from another connection: postgres.js sees the idle connection close and
   * takes the slot back. (Ending it from itself would leave postgres.js believing a statement still runs on it, and
   * `sql.end()` would then wait for its timeout.) A checkout that never ran a statement is simply released.
   */
  private async endSession(checkout: Checkout): Promise<void> {
    const pid = checkout.backend?.pid
    if (checkout.broken) return
    if (pid === null || pid === undefined) {
      checkout.sql.release()
      return
    }
    checkout.broken = true
    try {
      await this.sql.unsafe('SELECT pg_terminate_backend($1)', [String(pid)], UNPREPARED)
      // Until postgres.js has seen the close, `sql.end()` would wait for the reserved connection forever.
      await this.sockets.waitClosed(pid, 1_000)
    } catch (error) {
      this.o.logger?.warn({ err: error, processId: pid }, 'ending a postgres.js session failed')
    }
  }

  /** Returns a checkout: `onRelease` first, then back to postgres.js (or ended, when it may be unsafe to reuse). */
  release(checkout: Checkout): void {
    if (checkout.released) return
    if (this.hooks.hasReleaseHooks) {
      void this.releaseAfterHooks(checkout)
      return
    }
    this.finishRelease(checkout)
  }

  private async releaseAfterHooks(checkout: Checkout): Promise<void> {
    try {
      await this.hooks.release(checkout.info)
    } catch (error) {
      this.o.logger?.warn({ err: error }, 'onRelease hook failed; the connection is closed')
      checkout.tainted = true
    }
    this.finishRelease(checkout)
  }

  private finishRelease(checkout: Checkout): void {
    if (checkout.released) return
    checkout.released = true
    this.reservedCount--
    if (checkout.leakTimer !== undefined) clearTimeout(checkout.leakTimer)
    const dead = checkout.broken || this.isSessionClosed(checkout)
    publish(CHANNELS.poolRelease, {
      pool: this.o.name,
      heldMs: performance.now() - checkout.acquiredAt,
      destroyed: dead || checkout.tainted,
    })
    // A connection that closed is already back in postgres.js' "closed" queue: releasing it would hand a dead
    // socket to the next caller.
    if (dead) return
    if (checkout.tainted) {
      const ending = this.endSession(checkout)
      this.endingSessions.add(ending)
      void ending.finally(() => this.endingSessions.delete(ending))
      return
    }
    checkout.sql.release()
  }

  private isSessionClosed(checkout: Checkout): boolean {
    return this.sockets.isClosed(checkout.backend?.pid)
  }

  // ---- statements -----------------------------------------------------------------------------------

  /** The text and parameters of a `SqlInput`; throws `SqlError` for bad input. */
  compile(sql: SqlInput, params: readonly unknown[] | undefined): Statement {
    if (typeof sql === 'string' && (params === undefined || Array.isArray(params))) return { text: sql, values: params ?? EMPTY_PARAMS }
    return toQueryConfig(sql, params)
  }

  /** Runs one statement on a checkout. Errors are normalised; a lost connection marks the checkout broken. */
  async runOn(checkout: Checkout, text: string, values: readonly unknown[], options: QueryOptions | undefined): Promise<QueryResult> {
    try {
      const serialized = values.length === 0 ? NO_VALUES : serializeParams(values)
      if (checkout.broken || this.isSessionClosed(checkout)) {
        checkout.broken = true
        throw connectionClosed()
      }
      const query = this.unsafeOn(checkout, text, serialized, options?.prepare === false ? UNPREPARED : PREPARED)
      checkout.active.add(query)
      const signal = options?.signal
      const timeoutMs = options?.timeoutMs
      try {
        const raw =
          signal === undefined && timeoutMs === undefined ? await query : await this.cancellable(query, text, signal, timeoutMs, checkout)
        return toQueryResult(raw)
      } finally {
        checkout.active.delete(query)
        if (query.state !== null) checkout.backend = query.state
      }
    } catch (error) {
      const mapped = this.normalize(error, text)
      if (isConnectionLoss(mapped)) checkout.broken = true
      throw mapped
    }
  }

  /** The values unchanged: postgres.js parameters are serialised when the statement is sent (`runOn`). */
  serialize(values: readonly unknown[]): readonly unknown[] {
    return values
  }

  /** `runOn`: parameters are serialised there. */
  runSerializedOn(checkout: Checkout, text: string, values: readonly unknown[], options: QueryOptions | undefined): Promise<QueryResult> {
    return this.runOn(checkout, text, values, options)
  }

  /**
   * Sends one statement on a checkout without waiting for earlier ones: postgres.js queues it behind them on the same
   * connection (pipelining). Errors are not normalised here.
   */
  issue(checkout: Checkout, text: string, serialized: readonly (string | null)[] | undefined): Promise<QueryResult> {
    if (checkout.broken || this.isSessionClosed(checkout)) {
      checkout.broken = true
      return Promise.reject(connectionClosed())
    }
    const query = this.unsafeOn(checkout, text, serialized ?? NO_VALUES, PREPARED)
    checkout.active.add(query)
    return query.then(
      (raw) => {
        checkout.active.delete(query)
        if (query.state !== null) checkout.backend = query.state
        return toQueryResult(raw)
      },
      (error: unknown) => {
        checkout.active.delete(query)
        if (isConnectionLoss(error)) checkout.broken = true
        throw error
      },
    )
  }

  /**
   * `sql.unsafe` on a checkout. A text that may hold several statements (no parameters, a `;` before its end) sent
   * while nothing else is outstanding on the checkout has its reply read through the socket's ResponseScanner, armed
   * when postgres.js hands the statement to the connection (before writing it), so each row-less statement gets a
   * result of its own; every other statement is read by postgres.js alone.
   */
  private unsafeOn(
    checkout: Checkout,
    text: string,
    serialized: readonly (string | null)[],
    options: PostgresJsUnsafeOptions,
  ): PostgresJsQuery {
    if (serialized.length > 0 || checkout.active.size > 0 || !maySeparateStatements(text))
      return checkout.sql.unsafe(text, serialized, options)
    checkout.readyStatus = undefined
    const onReady = (status: number) => {
      checkout.readyStatus = status
    }
    const query = checkout.sql.unsafe(text, serialized, {
      ...options,
      // Called by postgres.js once the statement is on the connection (`query.state` set), before it is written.
      onexecute: () => {
        this.sockets.arm(query.state?.pid, onReady)
        return true
      },
    })
    return query
  }

  /** Cancels every statement of a checkout still running or queued (a batch's signal or timeout). */
  cancelAll(checkout: Checkout): void {
    for (const query of checkout.active) query.cancel()
  }

  /** Runs one statement on the shared pool (pipelined by postgres.js), or on a checkout when connection hooks need one. */
  async execute(
    text: string,
    values: readonly unknown[],
    options: QueryOptions | undefined,
    acquireTimeoutMs?: number,
  ): Promise<QueryResult> {
    if (this.usesCheckouts || this.typesReady !== undefined || (values.length === 0 && maySeparateStatements(text)))
      return this.executeOnCheckout(text, values, options, acquireTimeoutMs)
    let query: PostgresJsQuery | undefined
    try {
      const serialized = values.length === 0 ? NO_VALUES : serializeParams(values)
      query = this.sql.unsafe(text, serialized, options?.prepare === false ? UNPREPARED : PREPARED)
      this.inflight.add(query)
      const guarded = options !== undefined && (options.signal !== undefined || options.timeoutMs !== undefined)
      const raw =
        guarded || this.reservedCount >= this.o.pool.max
          ? await this.cancellable(
              query,
              text,
              options?.signal,
              options?.timeoutMs,
              undefined,
              acquireTimeoutMs ?? this.o.pool.acquireTimeoutMs,
            )
          : await query
      return toQueryResult(raw)
    } catch (error) {
      throw this.normalize(error, text)
    } finally {
      if (query !== undefined) this.inflight.delete(query)
    }
  }

  private async executeOnCheckout(
    text: string,
    values: readonly unknown[],
    options: QueryOptions | undefined,
    acquireTimeoutMs?: number,
  ): Promise<QueryResult> {
    if (this.typesReady !== undefined) await this.typesReady
    // A text that may hold several statements runs on a checkout of its own, whose reply the socket can scan (`unsafeOn`).
    const several = values.length === 0 && maySeparateStatements(text)
    if (!this.usesCheckouts && !several) return this.execute(text, values, options, acquireTimeoutMs)
    let checkout: Checkout | undefined
    try {
      if (values.length > 0) serializeParams(values) // bad input fails before touching the pool
      const deadline = options?.timeoutMs === undefined ? undefined : performance.now() + options.timeoutMs
      checkout = await this.acquire(
        options?.signal,
        options?.timeoutMs === undefined ? acquireTimeoutMs : Math.min(acquireTimeoutMs ?? this.o.pool.acquireTimeoutMs, options.timeoutMs),
      )
      const remaining = deadline === undefined ? options : { ...options, timeoutMs: Math.max(1, deadline - performance.now()) }
      return await this.runOn(checkout, text, values, remaining)
    } catch (error) {
      throw this.normalize(error, text)
    } finally {
      // A text that left a transaction open (`BEGIN; …`) must not hand its session to the next caller: it is ended.
      if (several && checkout !== undefined && checkout.readyStatus !== undefined && checkout.readyStatus !== IDLE) checkout.tainted = true
      if (checkout !== undefined) this.release(checkout)
    }
  }

  /**
   * Awaits a statement that may be cancelled: on `signal`'s abort or after `timeoutMs` postgres.js sends a
   * CancelRequest (or drops the statement if it was not sent yet); the caller gets an `AbortError` or `TimeoutError`
   * whose cause is the server's `QueryCanceledError`. With `poolWaitMs`, a statement still queued because every
   * connection is reserved gives up with `PoolTimeoutError`, as a pooled acquire would.
   */
  async cancellable(
    query: PostgresJsQuery,
    text: string,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    checkout?: Checkout,
    poolWaitMs?: number,
  ): Promise<PostgresJsResult | PostgresJsResult[]> {
    if (signal?.aborted) throw new AbortError('query', { cause: signal.reason })
    let reason = 0
    const started = performance.now()
    const cancel = (why: number) => {
      if (reason !== 0) return
      if (why === POOL_TIMED_OUT && query.state !== null) return
      reason = why
      query.cancel()
    }
    const onAbort = () => cancel(ABORTED)
    signal?.addEventListener('abort', onAbort)
    const timer = timeoutMs === undefined ? undefined : setTimeout(cancel, Math.max(0, timeoutMs), TIMED_OUT)
    const waiting = poolWaitMs !== undefined && poolWaitMs > 0 && this.reservedCount >= this.o.pool.max
    if (waiting) this.pendingCount++
    const poolTimer = waiting ? setTimeout(cancel, poolWaitMs, POOL_TIMED_OUT) : undefined
    try {
      const result = await query
      // Finished before the cancel landed: the request may still interrupt the session's next statement.
      if (reason !== 0 && checkout !== undefined) checkout.tainted = true
      return result
    } catch (error) {
      if (reason === 0) throw error
      if (reason === POOL_TIMED_OUT) {
        this.timeouts++
        const details = {
          waitedMs: Math.max(poolWaitMs ?? 0, Math.round(performance.now() - started)),
          inUse: this.inUse(),
          max: this.o.pool.max,
          pending: this.pendingCount - 1,
        }
        publish(CHANNELS.poolTimeout, { pool: this.o.name, ...details })
        throw new PoolTimeoutError(details)
      }
      const cause = mapPgError(error, { sql: text })
      if (cause.code !== '57014' && checkout !== undefined) checkout.tainted = true
      if (reason === ABORTED) throw new AbortError('query', { cause })
      throw new TimeoutError({ operation: 'query', timeoutMs: timeoutMs ?? 0 }, { cause })
    } finally {
      if (timer !== undefined) clearTimeout(timer)
      if (poolTimer !== undefined) clearTimeout(poolTimer)
      if (waiting) this.pendingCount--
      signal?.removeEventListener('abort', onAbort)
    }
  }

  /** `execute`, published on `tessera:query` when someone listens. */
  tracedExecute(
    text: string,
    values: readonly unknown[],
    options: QueryOptions | undefined,
    operation: QueryOperation,
  ): Promise<QueryResult> {
    if (!queryChannel.hasSubscribers) return this.execute(text, values, options)
    return traced(CHANNELS.query, this.queryMessage(text, values, operation, false), () => this.execute(text, values, options))
  }

  queryMessage(text: string, values: readonly unknown[], operation: QueryOperation, transaction: boolean): QueryMessage {
    const message: QueryMessage = { sql: text, driver: this.driver, operation, database: this.o.database, transaction }
    if (this.o.diagnosticsIncludeParams) message.params = values
    return message
  }

  get isQueryTraced(): boolean {
    return queryChannel.hasSubscribers
  }

  private readonly finalQuery = (ctx: QueryContext): Promise<QueryResult> =>
    this.tracedExecute(ctx.sql, ctx.params, ctx.options, ctx.operation)

  attemptQuery(text: string, values: readonly unknown[], options: QueryOptions | undefined, attempt: number): Promise<QueryResult> {
    if (!this.hooks.hasQueryHooks) return this.tracedExecute(text, values, options, 'query')
    const ctx: QueryContext = {
      sql: text,
      params: values,
      options: options ?? EMPTY_OPTIONS,
      driver: this.driver,
      operation: 'query',
      transaction: false,
      attempt,
      meta: {},
    }
    return this.hooks.query(ctx, this.finalQuery)
  }

  /** `provider.query`: one attempt, and retries for a read that lost its connection (core's `runQuery`). */
  query(sql: SqlInput, params: readonly unknown[] | undefined, options: QueryOptions | undefined): Promise<QueryResult> {
    return runQuery(this, sql, params, options)
  }

  // ---- stats ----------------------------------------------------------------------------------------

  /** Connections busy: the reserved ones plus, at most, one per statement running on the shared pool. */
  inUse(): number {
    return Math.min(Math.max(this.sockets.size, this.reservedCount), this.reservedCount + this.inflight.size)
  }

  private recordWait(ms: number): void {
    if (this.waitMs.length >= 1_000) this.waitMs.shift()
    this.waitMs.push(ms)
  }

  stats(): PoolStats {
    const size = Math.max(this.sockets.size, this.reservedCount)
    const inUse = this.inUse()
    const stats: PoolStats = {
      size,
      idle: size - inUse,
      inUse,
      pending: this.pendingCount,
      max: this.o.pool.max,
      created: this.sockets.created,
      destroyed: this.sockets.destroyed,
      timeouts: this.timeouts,
      inFlight: this.inflight.size,
      reserved: this.reservedCount,
      errors: this.errors,
    }
    if (this.waitMs.length > 0) {
      const sorted = [...this.waitMs].sort((a, b) => a - b)
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
      stats.waitMs = { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1]! }
    }
    return stats
  }
}

/** What postgres.js would raise for a statement on a closed connection, raised before sending anything on it. */
function connectionClosed(): Error {
  return Object.assign(new Error('the connection of this checkout was closed'), { code: 'CONNECTION_CLOSED' })
}

/**
 * Whether a text without parameters may hold several statements: it has a `;` with something other than `;` and
 * whitespace after it. (A `;` in a literal or comment also counts: such a text merely takes the scanned path.)
 */
export function maySeparateStatements(text: string): boolean {
  let at = text.indexOf(';')
  if (at < 0) return false
  while (++at < text.length) {
    const code = text.charCodeAt(at)
    if (code !== 59 && code !== 32 && code !== 10 && code !== 13 && code !== 9) return true
  }
  return false
}
