import { tracingChannel } from 'node:diagnostics_channel'
import type { MultiQueryOptions, QueryOptions, QueryResult, SqlInput, Transaction, TransactionOptions } from './contracts'
import {
  type CopyFromStream,
  type CopyLease,
  type CopyOptions,
  type CopyToStream,
  createCopyFromStream,
  createCopyToStream,
} from './copy-streams'
import { CHANNELS, type TransactionMessage, traced } from './diagnostics'
import type { DriverConnection } from './driver'
import { AbortError, ConfigError, describeValue, isTesseraError, type TesseraError } from './errors'
import { type HeldSession, queryOnHeldSession, withSignal } from './held-session-query'
import type { QueryContext, TransactionContext } from './hooks'
import { runQueryMulti } from './multi-statement-query'
import { InvalidTransactionStateError, isConnectionLoss } from './pg-errors'
import { TransactionEndedError } from './provider-errors'
import { outcomeUnknown, type ProviderRuntime } from './provider-runtime'
import { type RetryPolicy, retry } from './retry'
import { rowSchemaOf, validatedQuery } from './row-schema'

const ISOLATION_LEVELS = new Set(['read committed', 'repeatable read', 'serializable'])
const transactionChannel = tracingChannel(CHANNELS.transaction)

/**
 * For provider authors: the BEGIN statement for the options, in one statement:
 * `BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE`.
 */
export function beginStatement(options: TransactionOptions): string {
  const modes: string[] = []
  if (options.isolation !== undefined) modes.push(`ISOLATION LEVEL ${options.isolation.toUpperCase()}`)
  if (options.readOnly !== undefined) modes.push(options.readOnly ? 'READ ONLY' : 'READ WRITE')
  if (options.deferrable !== undefined) modes.push(options.deferrable ? 'DEFERRABLE' : 'NOT DEFERRABLE')
  return modes.length === 0 ? 'BEGIN' : `BEGIN ${modes.join(', ')}`
}

function validateOptions(options: TransactionOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(`expected an options object, got ${describeValue(options)}`, { subject: 'transaction options' })
  }
  const problems: string[] = []
  if (options.isolation !== undefined && !ISOLATION_LEVELS.has(options.isolation)) {
    problems.push(`isolation is ${describeValue(options.isolation)}; accepted: 'read committed', 'repeatable read', 'serializable'`)
  }
  if (options.readOnly !== undefined && typeof options.readOnly !== 'boolean')
    problems.push(`readOnly must be a boolean, got ${describeValue(options.readOnly)}`)
  if (options.deferrable !== undefined && typeof options.deferrable !== 'boolean') {
    problems.push(`deferrable must be a boolean, got ${describeValue(options.deferrable)}`)
  }
  const attempts = options.retry
  if (attempts !== undefined && typeof attempts !== 'object' && !(Number.isInteger(attempts) && (attempts as number) >= 1)) {
    problems.push(`retry must be a number of attempts ≥ 1 or a retry policy, got ${describeValue(attempts)}`)
  }
  if (problems.length > 0) throw new ConfigError(problems, { subject: 'transaction options' })
}

/** Serialization failures and deadlocks (40001, 40P01): the whole transaction may succeed when run again. */
export function isTransactionConflict(error: unknown): boolean {
  const code = isTesseraError(error) ? error.code : undefined
  return code === '40001' || code === '40P01'
}

/**
 * For provider authors: `provider.transaction` over any {@link ProviderEngine}. BEGIN (with the isolation and
 * access mode in that one statement), run `fn`, COMMIT when it resolves, ROLLBACK when it throws. With `retry`,
 * the whole function runs again on a serialization failure or a deadlock, with backoff; `onTransaction` wraps
 * every attempt and sees its number. The transaction object refuses use after `fn` settled
 * ({@link TransactionEndedError}); `savepoint` nests with SAVEPOINT / ROLLBACK TO / RELEASE.
 *
 * @example
 * transaction: (fn, options) => runTransaction(runtime, fn, options)
 */
export async function runTransaction<T>(
  runtime: ProviderRuntime,
  fn: (tx: Transaction) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  try {
    if (runtime.closed) throw runtime.closedError('transaction')
    if (typeof fn !== 'function')
      throw new ConfigError(`transaction needs a function, got ${describeValue(fn)}`, { subject: 'transaction call' })
    validateOptions(options)
    if (options.signal?.aborted) throw new AbortError('transaction', { cause: options.signal.reason })
    const call: TransactionCall<T> = { runtime, fn, options, begin: beginStatement(options) }
    const attemptOnce = (attempt: number) => tracedAttempt(call, attempt)
    if (options.retry === undefined) return await attemptOnce(1)
    const given: RetryPolicy = typeof options.retry === 'number' ? { maxAttempts: options.retry } : options.retry
    const policy: RetryPolicy = { ...given, retryOn: given.retryOn ?? isTransactionConflict, signal: given.signal ?? options.signal }
    return await retry(attemptOnce, policy)
  } catch (error) {
    if (!isTesseraError(error)) throw error
    throw runtime.report(runtime.normalize(error), 'transaction')
  }
}

/** What every attempt of one `transaction` call shares. */
interface TransactionCall<T> {
  runtime: ProviderRuntime
  fn: (tx: Transaction) => Promise<T>
  options: TransactionOptions
  /** The BEGIN statement, built once per call. */
  begin: string
}

function tracedAttempt<T>(call: TransactionCall<T>, attempt: number): Promise<T> {
  const run = () => hookedAttempt(call, attempt)
  if (!transactionChannel.hasSubscribers) return run()
  const message: TransactionMessage = {
    driver: call.runtime.name,
    database: call.runtime.options.database,
    host: call.runtime.options.host,
    port: call.runtime.options.port,
    pool: call.runtime.options.name,
    isolation: call.options.isolation,
    readOnly: call.options.readOnly,
    attempt,
  }
  return traced(CHANNELS.transaction, message, run)
}

function hookedAttempt<T>(call: TransactionCall<T>, attempt: number): Promise<T> {
  const hooks = call.runtime.hooks
  if (!hooks.hasTransactionHooks) return runOnce(call)
  const ctx: TransactionContext = { driver: call.runtime.name, options: call.options, attempt, meta: {} }
  return hooks.transaction(ctx, () => runOnce(call))
}

async function runOnce<T>({ runtime, fn, options, begin }: TransactionCall<T>): Promise<T> {
  const connection = await runtime.acquire(options.signal)
  const tx = new ProviderTransaction(runtime, connection, options.signal, 'transaction')
  try {
    await runtime.runOn(connection, begin, [], undefined)
    const result = await runBody(runtime, connection, tx, fn, 'ROLLBACK')
    const commit = await runtime.runOn(connection, 'COMMIT', [], undefined).catch((error: unknown) => {
      // The reply to COMMIT was lost: the transaction may have committed. Never retried, never reported as a plain
      // connection error that a retry loop would take as "nothing happened".
      throw isConnectionLoss(error) ? outcomeUnknown(error as TesseraError, 'COMMIT') : error
    })
    // COMMIT of a transaction in which a statement failed (and fn caught the error) rolls back instead.
    if (commit.command === 'ROLLBACK') {
      throw new InvalidTransactionStateError({
        code: '25P02',
        message: 'the transaction was rolled back, not committed: a statement in it failed and the transaction function went on',
      })
    }
    return result
  } finally {
    runtime.release(connection)
  }
}

/**
 * Runs a transaction's or savepoint's function. `tx` ends when the function settles; when it throws,
 * `rollbackStatement` runs before its error is rethrown.
 */
async function runBody<T>(
  runtime: ProviderRuntime,
  connection: DriverConnection,
  tx: ProviderTransaction,
  fn: (tx: Transaction) => Promise<T>,
  rollbackStatement: string,
): Promise<T> {
  let result: T
  try {
    result = await fn(tx)
  } catch (error) {
    tx.end()
    await rollback(runtime, connection, rollbackStatement)
    throw error
  }
  tx.end()
  return result
}

/** Rolls back; a failure is logged and never masks the error that caused the rollback. */
async function rollback(runtime: ProviderRuntime, connection: DriverConnection, statement: string): Promise<void> {
  if (connection.broken) return
  try {
    await runtime.runOn(connection, statement, [], undefined)
  } catch (error) {
    connection.tainted = true
    runtime.options.logger?.warn({ err: error, statement }, `${statement} failed; the connection is closed`)
  }
}

let savepointCounter = 0

/** A transaction or savepoint: queries on its connection, usable only while its function runs. */
class ProviderTransaction implements Transaction {
  private ended = false

  get maxParameters(): number {
    return this.runtime.driver.properties.maxParameters
  }

  constructor(
    private readonly runtime: ProviderRuntime,
    private readonly connection: DriverConnection,
    private readonly signal: AbortSignal | undefined,
    private readonly kind: 'transaction' | 'savepoint',
  ) {}

  /** Called when the function returned or threw: later use throws `TransactionEndedError`. */
  end(): void {
    this.ended = true
  }

  query<R = Record<string, unknown>>(sql: SqlInput<R>, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<R>> {
    const run = this.runQuery(sql, params, options)
    const schema = rowSchemaOf(sql, options)
    if (schema === undefined) return run as Promise<QueryResult<R>>
    return validatedQuery<R>(run, schema, sql, (error, text) => this.runtime.report(error, 'query', text))
  }

  queryMulti(sql: SqlInput, options?: MultiQueryOptions): Promise<QueryResult[]> {
    return runQueryMulti(this.runtime, sql, options, {
      connection: this.connection,
      inTransaction: true,
      signal: this.signal,
      check: () => {
        if (this.ended) throw new TransactionEndedError(this.kind)
      },
    })
  }

  private session: HeldSession | undefined

  private runQuery(sql: SqlInput, params: readonly unknown[] | undefined, options: QueryOptions | undefined): Promise<QueryResult> {
    this.session ??= {
      runtime: this.runtime,
      inTransaction: true,
      signal: this.signal,
      check: () => {
        if (this.ended) throw new TransactionEndedError(this.kind)
      },
      run: (text, values, merged) => this.run(text, values, merged),
      final: this.final,
    }
    return queryOnHeldSession(this.session, sql, params, options)
  }

  private readonly final = (ctx: QueryContext): Promise<QueryResult> => {
    if (this.ended) return Promise.reject(new TransactionEndedError(this.kind))
    return this.run(ctx.sql, ctx.params, ctx.options)
  }

  private run(text: string, values: readonly unknown[], options: QueryOptions | undefined): Promise<QueryResult> {
    return this.runtime.runTracedOn(this.connection, text, values, options, 'query', true)
  }

  /** The transaction's signal and the call's together: either one cancels the statement. */
  private withSignal(options: QueryOptions | undefined): QueryOptions | undefined {
    return withSignal(this.signal, options)
  }

  copyFrom(sql: SqlInput, options?: CopyOptions): CopyFromStream {
    return createCopyFromStream(this.runtime, this.lease, sql, this.withSignal(options))
  }

  copyTo(sql: SqlInput, options?: CopyOptions): CopyToStream {
    return createCopyToStream(this.runtime, this.lease, sql, this.withSignal(options))
  }

  /** A COPY runs on the transaction's session, which stays held when it ends. */
  private readonly lease: CopyLease = {
    acquire: async () => {
      if (this.ended) throw new TransactionEndedError(this.kind)
      return this.connection
    },
    release: () => {},
  }

  async savepoint<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    if (this.ended) throw this.runtime.report(new TransactionEndedError(this.kind), 'transaction')
    const runtime = this.runtime
    const connection = this.connection
    const name = `tessera_sp_${++savepointCounter}`
    await runtime.runOn(connection, `SAVEPOINT ${name}`, [], undefined)
    const inner = new ProviderTransaction(runtime, connection, this.signal, 'savepoint')
    const result = await runBody(runtime, connection, inner, fn, `ROLLBACK TO SAVEPOINT ${name}`)
    await runtime.runOn(connection, `RELEASE SAVEPOINT ${name}`, [], undefined)
    return result
  }
}
