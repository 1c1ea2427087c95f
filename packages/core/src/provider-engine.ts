import type { QueryOptions, QueryResult, SqlInput } from './contracts'
import { CHANNELS, type QueryMessage, traced } from './diagnostics'
import { AbortError, isTesseraError, type TesseraError } from './errors'
import type { ComposedHooks, HookOperation, QueryOperation } from './hooks'
import type { ResolvedProviderOptions } from './provider-options'
import { type RetryPolicy, retry } from './retry'
import { toQueryConfig } from './sql'
import { isReadStatement, isRetryableRead } from './statement'

const EMPTY_PARAMS: readonly unknown[] = Object.freeze([])

/** A statement's text and parameters, as {@link ProviderEngine.compile} returns them. */
export interface Statement {
  text: string
  values: readonly unknown[]
}

/** What the shared runners need to know about a connection they hold. */
export interface HeldConnection {
  /** The session died (socket error, terminated backend): it is never used again. */
  broken: boolean
  /** Its state is unknown (a failed rollback, a cancel that may still land): it is closed instead of reused. */
  tainted: boolean
}

/**
 * For provider authors: the part of a provider's engine that the shared runners ({@link runTransaction},
 * {@link runBatch}, {@link createCursorStream}, {@link runQuery}) use. A provider implements it over its driver;
 * the runners hold the BEGIN/COMMIT, hook, diagnostics, retry and error-reporting logic every provider shares.
 *
 * `Connection` is what `acquire` lends. `Params` is a statement's parameters as `runSerializedOn` takes them:
 * `serialize` runs before a statement's `tessera:query` span opens and before a connection is taken, so a driver
 * that serialises there (pg) fails bad input early; one that serialises when it sends returns the values unchanged.
 */
export interface ProviderEngine<Connection extends HeldConnection, Params = readonly unknown[]> {
  /** `'pg'`, `'postgres.js'`: the `driver` of hook contexts and diagnostics. */
  readonly driver: string
  /** Set by `close()`: new work is rejected with `closedError`. */
  readonly closed: boolean
  readonly hooks: ComposedHooks
  /** The resolved options (the runners read `database`, `logger` and `retryPolicy`). */
  readonly o: Pick<ResolvedProviderOptions, 'database' | 'logger' | 'retryPolicy'>
  /** Whether anyone subscribed to `tessera:query`. */
  readonly isQueryTraced: boolean
  closedError(operation: string): TesseraError
  /** Any error an operation met, as the Tessera error the caller receives. */
  normalize(error: unknown, sql?: string): TesseraError
  /** Tells `onError` (once per error) and returns the error, for `throw engine.report(…)`. */
  report(error: TesseraError, operation: HookOperation, sql?: string, params?: readonly unknown[]): TesseraError
  /** The text and parameters of a `SqlInput`; throws `SqlError` for bad input. */
  compile(sql: SqlInput, params: readonly unknown[] | undefined): Statement
  /** A `tessera:query` message. */
  queryMessage(text: string, values: readonly unknown[], operation: QueryOperation, transaction: boolean): QueryMessage
  /** One attempt of `provider.query` on the pool, through the `onQuery` hooks when there are any. */
  attemptQuery(text: string, values: readonly unknown[], options: QueryOptions | undefined, attempt: number): Promise<QueryResult>
  /** Lends a connection for a transaction, batch or stream (runs `onAcquire`). */
  acquire(signal?: AbortSignal, timeoutMs?: number): Promise<Connection>
  /** Gives a connection back (runs `onRelease`); a broken or tainted one is closed. */
  release(connection: Connection): void
  /** Runs one statement on a held connection. Errors are normalised. */
  runOn(connection: Connection, text: string, values: readonly unknown[], options: QueryOptions | undefined): Promise<QueryResult>
  /** Parameters as `runSerializedOn` takes them. Throws (a `ConversionError`) for a value that cannot be sent. */
  serialize(values: readonly unknown[]): Params
  /** `runOn` with parameters from `serialize`. */
  runSerializedOn(connection: Connection, text: string, params: Params, options: QueryOptions | undefined): Promise<QueryResult>
}

/**
 * For provider authors: runs one statement on a held connection, published on `tessera:query` when someone listens.
 * Parameters are serialised before the span opens: a statement that cannot be sent never reaches the server and has
 * no span.
 */
export function runTracedOn<Connection extends HeldConnection, Params>(
  engine: ProviderEngine<Connection, Params>,
  connection: Connection,
  text: string,
  values: readonly unknown[],
  options: QueryOptions | undefined,
  operation: QueryOperation,
  transaction: boolean,
): Promise<QueryResult> {
  if (!engine.isQueryTraced) return engine.runOn(connection, text, values, options)
  return traceStatement(engine, text, values, operation, transaction, (params) => engine.runSerializedOn(connection, text, params, options))
}

/**
 * For provider authors: serialises a statement's parameters (a failure rejects with the normalised error, no span),
 * then runs `run` inside a `tessera:query` span.
 */
export function traceStatement<Params, T>(
  engine: ProviderEngine<HeldConnection, Params>,
  text: string,
  values: readonly unknown[],
  operation: QueryOperation,
  transaction: boolean,
  run: (params: Params) => Promise<T>,
): Promise<T> {
  let params: Params
  try {
    params = engine.serialize(values)
  } catch (error) {
    return Promise.reject(engine.normalize(error, text))
  }
  return traced(CHANNELS.query, engine.queryMessage(text, values, operation, transaction), () => run(params))
}

/**
 * For provider authors: `provider.query`. Compiles the input, runs one attempt (`engine.attemptQuery`), and retries a
 * read ({@link isReadStatement}) that failed with a retryable connection-class error, per the call's or the
 * provider's retry policy. Every failure is reported to `onError` once; an error thrown by a hook passes unchanged.
 */
export async function runQuery<Connection extends HeldConnection, Params>(
  engine: ProviderEngine<Connection, Params>,
  sql: SqlInput,
  params: readonly unknown[] | undefined,
  options: QueryOptions | undefined,
): Promise<QueryResult> {
  if (engine.closed) throw engine.report(engine.closedError('query'), 'query')
  let text: string
  let values: readonly unknown[]
  if (typeof sql === 'string' && (params === undefined || Array.isArray(params))) {
    // The common case, without building a statement object.
    text = sql
    values = params ?? EMPTY_PARAMS
  } else {
    try {
      ;({ text, values } = toQueryConfig(sql, params))
    } catch (error) {
      throw engine.report(engine.normalize(error), 'query')
    }
  }
  if (options?.signal?.aborted) {
    throw engine.report(new AbortError('query', { cause: options.signal.reason }), 'query', text, values)
  }
  try {
    return await engine.attemptQuery(text, values, options, 1)
  } catch (error) {
    // Driver errors are normalised below the hooks; anything else was thrown by a hook and reaches the
    // caller as it is, as the hooks contract promises.
    if (!isTesseraError(error)) throw error
    return retryRead(engine, error, text, values, options)
  }
}

/**
 * After a failed first attempt: retries a read that failed with a retryable connection-class error, per the
 * call's or the provider's policy; anything else is reported and rethrown.
 */
async function retryRead<Connection extends HeldConnection, Params>(
  engine: ProviderEngine<Connection, Params>,
  error: TesseraError,
  text: string,
  values: readonly unknown[],
  options: QueryOptions | undefined,
): Promise<QueryResult> {
  const policy: RetryPolicy | false = options?.retry === undefined ? engine.o.retryPolicy : options.retry
  const retryOn = policy === false ? undefined : (policy.retryOn ?? isRetryableRead)
  if (policy === false || engine.closed || !retryOn!(error, 1) || !isReadStatement(text)) {
    throw engine.report(error, 'query', text, values)
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
        if (engine.closed) throw engine.closedError('query')
        return engine.attemptQuery(text, values, options, attempt)
      },
      { ...policy, retryOn, signal: options?.signal ?? policy.signal },
    )
  } catch (failure) {
    if (!isTesseraError(failure)) throw failure
    throw engine.report(failure, 'query', text, values)
  }
}
