import { runBatch } from './batch-runner'
import type {
  BatchOptions,
  BatchQuery,
  MultiQueryOptions,
  QueryOptions,
  QueryResult,
  ReservedConnection,
  ReserveOptions,
  Row,
  SqlInput,
  StreamOptions,
  Transaction,
  TransactionOptions,
} from './contracts'
import { createCursorStream } from './cursor-stream'
import type { DriverConnection } from './driver'
import { AbortError, ConfigError, describeValue, isTesseraError } from './errors'
import { type HeldSession, queryOnHeldSession, withSignal } from './held-session-query'
import type { QueryContext } from './hooks'
import { runQueryMulti } from './multi-statement-query'
import { ConnectionError, isConnectionLoss } from './pg-errors'
import { ConnectionBusyError, ConnectionReleasedError } from './provider-errors'
import { outcomeUnknown, type ProviderRuntime } from './provider-runtime'
import { rowSchemaOf, validatedQuery } from './row-schema'
import { isReadStatement } from './statement'
import { runTransaction } from './transaction-runner'

/**
 * What runs on a reserved connection when its function settled, so the next borrower finds a fresh session:
 * `DISCARD ALL` without `DEALLOCATE ALL`, because the drivers keep the statements they prepared (both would fail on
 * a statement the server forgot). The last statement says whether the session is still dirty: a `PREPARE` made
 * with SQL (which only `DEALLOCATE` removes), or a transaction block that was open before the reset (`now()` is the
 * start of the transaction, `statement_timestamp()` of this text): such a session is closed instead.
 */
export const RESET_SESSION_SQL = [
  'CLOSE ALL',
  'SET SESSION AUTHORIZATION DEFAULT',
  'RESET ALL',
  'UNLISTEN *',
  'SELECT pg_advisory_unlock_all()',
  'DISCARD TEMP',
  'DISCARD SEQUENCES',
  'SELECT (EXISTS (SELECT FROM pg_prepared_statements WHERE from_sql) OR now() <> statement_timestamp()) AS dirty',
].join('; ')

/** The reset gets this long; past it the session is closed instead. */
const RESET_TIMEOUT_MS = 5_000

/**
 * For provider authors: `provider.connection(fn, options)`. Lends one connection (`onAcquire`), runs `fn` with it,
 * waits for whatever `fn` started on it and did not await, resets the session ({@link RESET_SESSION_SQL}) and gives
 * it back (`onRelease`). A session that cannot be reset (left inside a transaction, lost, a reset that failed or
 * timed out) is closed instead of lent again. Resolves to what `fn` resolved to; rejects with what it threw.
 */
export async function runReserved<T>(
  runtime: ProviderRuntime,
  fn: (connection: ReservedConnection) => Promise<T>,
  options: ReserveOptions = {},
): Promise<T> {
  let connection: DriverConnection
  try {
    if (runtime.closed) throw runtime.closedError('connection')
    if (typeof fn !== 'function')
      throw new ConfigError(`connection needs a function, got ${describeValue(fn)}`, { subject: 'connection call' })
    validateOptions(options)
    if (options.signal?.aborted) throw new AbortError('connection', { cause: options.signal.reason })
    connection = await runtime.acquire(options.signal, options.timeoutMs)
  } catch (error) {
    if (!isTesseraError(error)) throw error
    throw runtime.report(runtime.normalize(error), 'connection')
  }
  const reserved = new ProviderReservedConnection(runtime, connection, options.signal)
  try {
    return await fn(reserved)
  } finally {
    await reserved.end()
    await resetSession(runtime, connection)
    runtime.release(connection)
  }
}

function validateOptions(options: ReserveOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(`expected an options object, got ${describeValue(options)}`, { subject: 'connection options' })
  }
  const problems: string[] = []
  const { signal, timeoutMs } = options
  if (signal !== undefined && !(signal instanceof AbortSignal)) problems.push(`signal must be an AbortSignal, got ${describeValue(signal)}`)
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs >= 0)) {
    problems.push(`timeoutMs must be a number of ms ≥ 0, got ${describeValue(timeoutMs)}`)
  }
  if (problems.length > 0) throw new ConfigError(problems, { subject: 'connection options' })
}

/** Leaves the session as a new one would be, or marks it for closing. Never throws. */
async function resetSession(runtime: ProviderRuntime, connection: DriverConnection): Promise<void> {
  if (connection.broken || connection.tainted) return
  const status = connection.transactionStatus
  if (status === 'in-transaction' || status === 'failed') {
    runtime.options.logger?.warn({ status }, 'connection() ended inside a transaction block; the connection is closed')
    connection.tainted = true
    return
  }
  try {
    const result = await runtime.runOn(connection, RESET_SESSION_SQL, [], { timeoutMs: RESET_TIMEOUT_MS, prepare: false })
    // Read by position: the `columnNames` option may have renamed the column.
    const row = result.rows[0]
    if (row === undefined || Object.values(row)[0] !== false) connection.tainted = true
  } catch (error) {
    connection.tainted = true
    runtime.options.logger?.warn({ err: error }, 'resetting a reserved connection failed; the connection is closed')
  }
}

type Holder = 'transaction' | 'batch' | 'stream'

/** The connection `fn` receives: statements on one session, usable only while `fn` runs. */
class ProviderReservedConnection implements ReservedConnection {
  private ended = false
  /** The transaction, batch or stream that holds the session now: plain statements would run inside it. */
  private holder: Holder | undefined
  /** Calls started and not settled: {@link end} waits for them before the session is reset. */
  private readonly pending = new Set<Promise<unknown>>()
  /** The runtime the transaction, batch and stream runners see: it lends this session and nothing else. */
  private readonly pinned: Record<Holder, ProviderRuntime>

  get maxParameters(): number {
    return this.runtime.driver.properties.maxParameters
  }

  constructor(
    private readonly runtime: ProviderRuntime,
    private readonly connection: DriverConnection,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.pinned = { transaction: this.pin('transaction'), batch: this.pin('batch'), stream: this.pin('stream') }
  }

  /** Called when `fn` settled: refuses new calls and waits for the ones still running. */
  async end(): Promise<void> {
    this.ended = true
    while (this.pending.size > 0) await Promise.allSettled([...this.pending])
    // A stream left half-read still holds its cursor's transaction: the session cannot be handed on.
    if (this.holder !== undefined) this.connection.tainted = true
  }

  query<R = Row>(sql: SqlInput<R>, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<R>> {
    const run = this.runQuery(sql, params, options)
    const schema = rowSchemaOf(sql, options)
    if (schema === undefined) return this.watch(run) as Promise<QueryResult<R>>
    return this.watch(validatedQuery<R>(run, schema, sql, (error, text) => this.runtime.report(error, 'query', text)))
  }

  queryMulti(sql: SqlInput, options?: MultiQueryOptions): Promise<QueryResult[]> {
    const held = { connection: this.connection, inTransaction: false, signal: this.signal, check: () => this.check('queryMulti') }
    return this.watch(runQueryMulti(this.runtime, sql, options, held))
  }

  transaction<T>(fn: (tx: Transaction) => Promise<T>, options?: TransactionOptions): Promise<T> {
    return this.watch(runTransaction(this.pinned.transaction, fn, withSignal(this.signal, options)))
  }

  batch(queries: readonly BatchQuery[], options?: BatchOptions): Promise<QueryResult[]> {
    return this.watch(runBatch(this.pinned.batch, queries, withSignal(this.signal, options)))
  }

  stream<R = Row>(sql: SqlInput, params?: readonly unknown[], options?: StreamOptions): AsyncIterable<R> {
    return createCursorStream<R>(this.pinned.stream, sql, params, withSignal(this.signal, options))
  }

  private watch<T>(work: Promise<T>): Promise<T> {
    const pending = this.pending
    pending.add(work)
    const done = () => pending.delete(work)
    work.then(done, done)
    return work
  }

  /** Refuses use after `fn` settled, while another operation holds the session, and on a lost session. */
  private check(operation: string): void {
    if (this.ended) throw new ConnectionReleasedError(operation)
    if (this.holder !== undefined) throw new ConnectionBusyError(operation, this.holder)
    if (this.connection.broken) {
      throw new ConnectionError({
        code: '08003',
        message: `${operation} cannot run: the session of this reserved connection was lost, and its state (settings, temporary tables, locks) with it`,
        retryable: false,
      })
    }
  }

  private session: HeldSession | undefined

  private runQuery(sql: SqlInput, params: readonly unknown[] | undefined, options: QueryOptions | undefined): Promise<QueryResult> {
    this.session ??= {
      runtime: this.runtime,
      inTransaction: false,
      signal: this.signal,
      check: () => this.check('query'),
      run: (text, values, merged) => this.run(text, values, merged),
      final: this.final,
    }
    return queryOnHeldSession(this.session, sql, params, options)
  }

  private readonly final = (ctx: QueryContext): Promise<QueryResult> => {
    try {
      this.check('query')
    } catch (error) {
      return Promise.reject(error)
    }
    return this.run(ctx.sql, ctx.params, ctx.options)
  }

  private async run(text: string, values: readonly unknown[], options: QueryOptions | undefined): Promise<QueryResult> {
    try {
      return await this.runtime.runTracedOn(this.connection, text, values, options, 'query', false)
    } catch (error) {
      // Outside a transaction a write commits on its own: one whose reply was lost may have been applied.
      if (isTesseraError(error) && isConnectionLoss(error) && !isReadStatement(text)) throw outcomeUnknown(error, text)
      throw error
    }
  }

  /**
   * The runtime a transaction, batch or stream of this connection runs on: the provider's, except that it lends this
   * session (marking it held until given back) and keeps working while `close()` drains, as a running transaction
   * does. Everything else (hooks, diagnostics, error counts) is the provider's own.
   */
  private pin(holder: Holder): ProviderRuntime {
    const runtime = this.runtime
    const pinned = Object.create(runtime) as ProviderRuntime
    Object.defineProperties(pinned, {
      closed: { get: () => false, set: () => {} },
      errorCount: {
        get: () => runtime.errorCount,
        set: (count: number) => {
          runtime.errorCount = count
        },
      },
      acquire: {
        value: async (): Promise<DriverConnection> => {
          this.check(holder)
          this.holder = holder
          return this.connection
        },
      },
      release: {
        value: (): void => {
          this.holder = undefined
        },
      },
    })
    return pinned
  }
}
