import { tracingChannel } from 'node:diagnostics_channel'
import { createColumnRenamer } from './column-names'
import type { Logger, QueryOptions, QueryResult, SqlInput } from './contracts'
import { CHANNELS, type QueryMessage, traced } from './diagnostics'
import type { Driver, DriverConnection, SerializedParams } from './driver'
import { AbortError, isTesseraError, type TesseraError } from './errors'
import type { ComposedHooks, HookOperation, QueryContext, QueryOperation } from './hooks'
import { isConnectionLoss, mapPgError, TransactionResolutionUnknownError } from './pg-errors'
import { ProviderClosedError } from './provider-errors'
import { type RetryPolicy, retry } from './retry'
import { toQueryConfig } from './sql'
import { isReadStatement, isRetryableRead } from './statement'
import { checkStatement } from './statement-check'

const EMPTY_PARAMS: readonly unknown[] = Object.freeze([])
const EMPTY_OPTIONS: QueryOptions = Object.freeze({})

// Held here so that "is anyone listening?" is one property read on the hot path.
const queryChannel = tracingChannel(CHANNELS.query)

/** A statement's text and parameters. */
export interface Statement {
  text: string
  values: readonly unknown[]
}

/** What the runtime needs of the resolved provider options. */
export interface RuntimeOptions {
  /** The pool's name in diagnostics. */
  name: string
  hooks: ComposedHooks
  logger: Logger | undefined
  retryPolicy: RetryPolicy | false
  diagnosticsIncludeParams: boolean
  host: string | undefined
  port: number | undefined
  database: string | undefined
  /** The `columnNames` option. */
  columnNames?: ((column: string) => string) | undefined
}

/**
 * Everything a provider's operations share, built once over a {@link Driver}: the hooks, error normalisation and
 * reporting, diagnostics, lending connections with `onAcquire`/`onRelease`, the single-statement path with read
 * retries, and the count of operations in flight that `close()` drains. The transaction, batch, stream and listen
 * runners use it; the driver below it only opens, runs and closes.
 */
export class ProviderRuntime<Connection extends DriverConnection = DriverConnection> {
  readonly name: string
  readonly hooks: ComposedHooks
  /** Set by `close()`: new work is rejected with {@link ProviderClosedError}. */
  closed = false
  /** Errors reported to callers (`stats().errors`). */
  errorCount = 0
  /** Errors already given to `onError`, so one error passing through several layers is reported once. */
  private readonly reported = new WeakSet<object>()
  /** Operations started and not yet settled: `close()` waits for them. */
  private inFlight = 0
  private idleWaiters: Array<() => void> = []
  /** The `columnNames` option applied to a result, or `undefined` without one. */
  readonly renameColumns: ((result: QueryResult) => QueryResult) | undefined

  constructor(
    readonly driver: Driver<Connection>,
    readonly options: RuntimeOptions,
  ) {
    this.name = driver.name
    this.hooks = options.hooks
    this.renameColumns = options.columnNames === undefined ? undefined : createColumnRenamer(options.columnNames)
  }

  // ---- lifecycle ------------------------------------------------------------------------------------

  /** Operations started and not settled. */
  get pendingOperations(): number {
    return this.inFlight
  }

  /**
   * Counts `work` as in flight until it settles, so `close()` drains it. A plain `then` rather than `finally`, which
   * makes two more promises per call.
   */
  track<T>(work: Promise<T>): Promise<T> {
    this.inFlight++
    return work.then(this.fulfilledOne, this.rejectedOne) as Promise<T>
  }

  private readonly fulfilledOne = <T>(value: T): T => {
    this.settledOne()
    return value
  }

  private readonly rejectedOne = (error: unknown): never => {
    this.settledOne()
    throw error
  }

  private readonly settledOne = (): void => {
    this.inFlight--
    if (this.inFlight === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters
      this.idleWaiters = []
      for (const wake of waiters) wake()
    }
  }

  /** Resolves when no operation is in flight. */
  whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  // ---- errors ---------------------------------------------------------------------------------------

  closedError(operation: string): TesseraError {
    return new ProviderClosedError(operation, this.name)
  }

  /** Any error an operation met, as the Tessera error the caller receives. */
  normalize(error: unknown, sql?: string): TesseraError {
    if (isTesseraError(error)) {
      // The pool wraps the connect error; callers branch on the database error (refused, bad password…).
      if (error.code === 'POOL_CREATE_FAILED' && isTesseraError(error.cause)) return error.cause
      if (error.code === 'POOL_CLOSED') return this.closedError('an operation')
      return error
    }
    const own = this.driver.mapError?.(error)
    if (own !== undefined) return own
    return mapPgError(error, sql === undefined ? undefined : { sql })
  }

  /** Tells `onError` (once per error) and returns the error, for `throw runtime.report(…)`. */
  report(error: TesseraError, operation: HookOperation, sql?: string, params?: readonly unknown[]): TesseraError {
    if (this.reported.has(error)) return error
    this.reported.add(error)
    this.errorCount++
    if (!this.hooks.hasErrorHooks) return error
    const context: { operation: HookOperation; driver: string; sql?: string | undefined; params?: readonly unknown[] | undefined } = {
      operation,
      driver: this.name,
    }
    if (sql !== undefined) context.sql = sql
    if (params !== undefined) context.params = params
    this.hooks.error(error, context)
    return error
  }

  // ---- statements -----------------------------------------------------------------------------------

  /** The text and parameters of a `SqlInput`; throws `SqlError` for bad input. */
  compile(sql: SqlInput, params: readonly unknown[] | undefined): Statement {
    if (typeof sql === 'string' && (params === undefined || Array.isArray(params))) return { text: sql, values: params ?? EMPTY_PARAMS }
    return toQueryConfig(sql, params)
  }

  /**
   * Parameters as the driver sends them, after checking the statement can be sent at all (too many parameters for the
   * driver, a placeholder count that does not match, NUL characters): bad input fails here with a `SqlError` or
   * `DataError`, never as a connection error from the driver. Throws (normalised).
   */
  serialize(text: string, values: readonly unknown[]): SerializedParams {
    try {
      checkStatement(text, values, this.driver.properties.maxParameters)
      return this.driver.serialize(values)
    } catch (error) {
      throw this.normalize(error, text)
    }
  }

  /** A `tessera:query` message. */
  queryMessage(text: string, values: readonly unknown[], operation: QueryOperation, transaction: boolean): QueryMessage {
    const options = this.options
    const message: QueryMessage = {
      sql: text,
      driver: this.name,
      operation,
      database: options.database,
      host: options.host,
      port: options.port,
      pool: options.name,
      transaction,
    }
    if (options.diagnosticsIncludeParams) message.params = values
    return message
  }

  /** Whether anyone subscribed to `tessera:query`. */
  get isQueryTraced(): boolean {
    return queryChannel.hasSubscribers
  }

  // ---- connections ----------------------------------------------------------------------------------

  /** Lends a connection (runs `onAcquire`). A connection that broke while idle is destroyed and the next one taken. */
  async acquire(signal?: AbortSignal, timeoutMs?: number): Promise<Connection> {
    const options = signal === undefined && timeoutMs === undefined ? undefined : { signal, timeoutMs }
    const pool = this.driver.pool
    for (;;) {
      const connection = await pool.acquire(options)
      if (!isReusable(connection)) {
        pool.release(connection, true)
        continue
      }
      if (this.hooks.hasAcquireHooks) {
        try {
          await this.hooks.acquire(connection.info)
        } catch (error) {
          pool.release(connection, false)
          throw error
        }
      }
      return connection
    }
  }

  /** Gives a connection back (runs `onRelease`); one that broke, was tainted or is left inside a transaction is closed. */
  release(connection: Connection): void {
    if (this.hooks.hasReleaseHooks) {
      void this.releaseAfterHooks(connection)
      return
    }
    this.driver.pool.release(connection, !isReusable(connection))
  }

  private async releaseAfterHooks(connection: Connection): Promise<void> {
    try {
      await this.hooks.release(connection.info)
    } catch (error) {
      // The caller's operation already succeeded or failed on its own; a failing release hook must not change that.
      // Its state is unknown though, so the connection is not reused.
      this.options.logger?.warn({ err: error }, 'onRelease hook failed; the connection is closed')
      connection.tainted = true
    }
    this.driver.pool.release(connection, !isReusable(connection))
  }

  /** Runs one statement on a held connection. Errors are normalised; a lost session marks the connection broken. */
  runOn(connection: Connection, text: string, values: readonly unknown[], options: QueryOptions | undefined): Promise<QueryResult> {
    let params: SerializedParams
    try {
      params = this.serialize(text, values)
    } catch (error) {
      return Promise.reject(error)
    }
    return this.runSerializedOn(connection, text, params, options)
  }

  /** {@link runOn} with parameters from {@link serialize}. */
  async runSerializedOn(
    connection: Connection,
    text: string,
    params: SerializedParams,
    options: QueryOptions | undefined,
  ): Promise<QueryResult> {
    try {
      const result = await connection.run(text, params, options)
      return this.renameColumns === undefined ? result : this.renameColumns(result)
    } catch (error) {
      throw this.connectionFailure(connection, error, text)
    }
  }

  /** The normalised error of a statement that failed on `connection`, which is marked broken when its session died. */
  connectionFailure(connection: Connection, error: unknown, text: string): TesseraError {
    const mapped = this.normalize(error, text)
    if (isConnectionLoss(mapped)) connection.broken = true
    return mapped
  }

  /** One statement on a held connection, published on `tessera:query` when someone listens. */
  runTracedOn(
    connection: Connection,
    text: string,
    values: readonly unknown[],
    options: QueryOptions | undefined,
    operation: QueryOperation,
    transaction: boolean,
  ): Promise<QueryResult> {
    if (!queryChannel.hasSubscribers) return this.runOn(connection, text, values, options)
    return this.traceStatement(text, values, operation, transaction, (params) => this.runSerializedOn(connection, text, params, options))
  }

  /** Serialises (a failure rejects with no span), then runs `run` inside a `tessera:query` span. */
  traceStatement<T>(
    text: string,
    values: readonly unknown[],
    operation: QueryOperation,
    transaction: boolean,
    run: (params: SerializedParams) => Promise<T>,
  ): Promise<T> {
    let params: SerializedParams
    try {
      params = this.serialize(text, values)
    } catch (error) {
      return Promise.reject(error)
    }
    return traced(CHANNELS.query, this.queryMessage(text, values, operation, transaction), () => run(params))
  }

  /**
   * Runs one statement on a pooled connection in its own implicit transaction: serialise, acquire, run, release.
   * `timeoutMs` bounds the whole call, waiting for a connection included. A write whose session is lost after it
   * was sent has an unknown outcome ({@link TransactionResolutionUnknownError}, never retryable).
   */
  async execute(
    text: string,
    params: SerializedParams,
    options: QueryOptions | undefined,
    acquireTimeoutMs?: number,
  ): Promise<QueryResult> {
    let connection: Connection | undefined
    try {
      let signal: AbortSignal | undefined
      let timeoutMs: number | undefined
      let deadline = 0
      if (options !== undefined) {
        signal = options.signal
        timeoutMs = options.timeoutMs
        if (timeoutMs !== undefined) {
          deadline = Date.now() + timeoutMs
          acquireTimeoutMs = acquireTimeoutMs === undefined ? timeoutMs : Math.min(acquireTimeoutMs, timeoutMs)
        }
      }
      connection = await this.acquire(signal, acquireTimeoutMs)
      const runOptions = timeoutMs === undefined ? options : { ...options, timeoutMs: Math.max(1, deadline - Date.now()) }
      const result = await connection.run(text, params, runOptions)
      return this.renameColumns === undefined ? result : this.renameColumns(result)
    } catch (error) {
      if (connection === undefined) throw this.normalize(error, text)
      const mapped = this.connectionFailure(connection, error, text)
      if (!isConnectionLoss(mapped)) throw mapped
      if (!isReadStatement(text)) throw outcomeUnknown(mapped, text)
      // A read cut by close()'s deadline: there is nothing to retry on.
      throw this.closed
        ? new ProviderClosedError('a statement still running at the close() deadline', this.name, { cause: mapped })
        : mapped
    } finally {
      if (connection !== undefined) this.release(connection)
    }
  }

  /** {@link execute} from values, published on `tessera:query` when someone listens. */
  tracedExecute(
    text: string,
    values: readonly unknown[],
    options: QueryOptions | undefined,
    operation: QueryOperation,
    acquireTimeoutMs?: number,
  ): Promise<QueryResult> {
    if (queryChannel.hasSubscribers) {
      return this.traceStatement(text, values, operation, false, (params) => this.execute(text, params, options, acquireTimeoutMs))
    }
    let params: SerializedParams
    try {
      params = this.serialize(text, values)
    } catch (error) {
      return Promise.reject(error)
    }
    return this.execute(text, params, options, acquireTimeoutMs)
  }

  private readonly finalQuery = (ctx: QueryContext): Promise<QueryResult> =>
    this.tracedExecute(ctx.sql, ctx.params, ctx.options, ctx.operation)

  /** One attempt of `provider.query`, through the `onQuery` hooks when there are any. */
  attemptQuery(text: string, values: readonly unknown[], options: QueryOptions | undefined, attempt: number): Promise<QueryResult> {
    if (!this.hooks.hasQueryHooks) return this.tracedExecute(text, values, options, 'query')
    const ctx: QueryContext = {
      sql: text,
      params: values,
      options: options ?? EMPTY_OPTIONS,
      driver: this.name,
      operation: 'query',
      transaction: false,
      attempt,
      meta: {},
    }
    return this.hooks.query(ctx, this.finalQuery)
  }

  /**
   * `provider.query`: compiles the input, runs one attempt, and retries a read ({@link isReadStatement}) that failed
   * with a retryable connection-class error, per the call's or the provider's retry policy. Every failure is reported
   * to `onError` once; an error thrown by a hook passes unchanged.
   */
  async query(sql: SqlInput, params: readonly unknown[] | undefined, options: QueryOptions | undefined): Promise<QueryResult> {
    if (this.closed) throw this.report(this.closedError('query'), 'query')
    let statement: Statement
    try {
      statement = this.compile(sql, params)
    } catch (error) {
      throw this.report(this.normalize(error), 'query')
    }
    const { text, values } = statement
    if (options?.signal?.aborted) {
      throw this.report(new AbortError('query', { cause: options.signal.reason }), 'query', text, values)
    }
    try {
      return await this.attemptQuery(text, values, options, 1)
    } catch (error) {
      // Driver errors are normalised below the hooks; anything else was thrown by a hook and reaches the caller as it is.
      if (!isTesseraError(error)) throw error
      return this.retryRead(error, text, values, options)
    }
  }

  /** After a failed first attempt: retries a read that lost its connection, per the call's or the provider's policy. */
  private async retryRead(
    error: TesseraError,
    text: string,
    values: readonly unknown[],
    options: QueryOptions | undefined,
  ): Promise<QueryResult> {
    const policy: RetryPolicy | false = options?.retry === undefined ? this.options.retryPolicy : options.retry
    const retryOn = policy === false ? undefined : (policy.retryOn ?? isRetryableRead)
    if (policy === false || this.closed || !retryOn!(error, 1) || !isReadStatement(text)) {
      throw this.report(error, 'query', text, values)
    }
    let firstFailure: TesseraError | undefined = error
    try {
      return await retry(
        (attempt) => {
          // retry() starts by running its function: hand it the failure we already have as attempt 1.
          if (firstFailure !== undefined) {
            const failure = firstFailure
            firstFailure = undefined
            throw failure
          }
          if (this.closed) throw this.closedError('query')
          return this.attemptQuery(text, values, options, attempt)
        },
        { ...policy, retryOn, signal: options?.signal ?? policy.signal },
      )
    } catch (failure) {
      if (!isTesseraError(failure)) throw failure
      throw this.report(failure, 'query', text, values)
    }
  }
}

/** Whether a connection may be lent again: not broken, not tainted, and not left inside a transaction block. */
export function isReusable(connection: DriverConnection): boolean {
  if (connection.broken || connection.tainted) return false
  const status = connection.transactionStatus
  return status === 'idle' || status === 'unknown'
}

/**
 * The error for a statement whose session was lost after it was sent: a write (or a COMMIT) may have been applied.
 * Its cause is the connection error; it is never retryable.
 */
export function outcomeUnknown(cause: TesseraError, text: string): TransactionResolutionUnknownError {
  return new TransactionResolutionUnknownError(
    {
      code: '08007',
      message: `the connection was lost before the reply to ${describeStatement(text)} came: it may or may not have been applied; check before running it again`,
    },
    { cause },
  )
}

function describeStatement(text: string): string {
  const trimmed = text.trim()
  return trimmed.length > 60 ? `"${trimmed.slice(0, 57)}…"` : `"${trimmed}"`
}
