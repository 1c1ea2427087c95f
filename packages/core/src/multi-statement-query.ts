import type { MultiQueryOptions, QueryResult, SqlInput } from './contracts'
import { CHANNELS, traced } from './diagnostics'
import type { DriverConnection } from './driver'
import { AbortError, ConfigError, describeValue, isTesseraError, type TesseraError } from './errors'
import { withSignal } from './held-session-query'
import type { QueryContext } from './hooks'
import { isConnectionLoss } from './pg-errors'
import { outcomeUnknown, type ProviderRuntime } from './provider-runtime'

const EMPTY_PARAMS: readonly unknown[] = Object.freeze([])

/**
 * `provider.queryMulti(text, options)`: runs a text of several statements with PostgreSQL's simple protocol, which
 * takes no parameters, and resolves to one result per statement, in order. The server runs such a text as one
 * implicit transaction (unless it holds its own BEGIN/COMMIT): when a statement fails, the caller gets that statement's
 * error and the effects of the statements before it are rolled back. Never retried.
 *
 * `onQuery` hooks see it as operation `'query'` with the whole text and no parameters; their `next()` resolves to the
 * last statement's result (what `provider.query` gives for the same text). A hook that answers without calling
 * `next()` makes the call resolve to `[itsResult]`.
 */
export async function runQueryMulti(
  runtime: ProviderRuntime,
  sql: SqlInput,
  callOptions: MultiQueryOptions | undefined,
  held?: HeldMultiSession,
): Promise<QueryResult[]> {
  if (held === undefined && runtime.closed) throw runtime.report(runtime.closedError('queryMulti'), 'query')
  let text: string
  let options: MultiQueryOptions | undefined
  try {
    checkOptions(callOptions)
    held?.check()
    options = withSignal(held?.signal, callOptions)
    const statement = runtime.compile(sql, undefined)
    if (statement.values.length > 0) {
      throw new ConfigError(
        `a text of several statements runs with the simple protocol, which takes no parameters; got ${statement.values.length} (use query() per statement, or batch())`,
        { subject: 'queryMulti input' },
      )
    }
    text = statement.text
  } catch (error) {
    throw runtime.report(runtime.normalize(error), 'query')
  }
  if (options?.signal?.aborted) throw runtime.report(new AbortError('query', { cause: options.signal.reason }), 'query', text)
  try {
    const inTransaction = held?.inTransaction ?? false
    if (!runtime.hooks.hasQueryHooks) return await tracedRun(runtime, text, options, held)
    let all: QueryResult[] | undefined
    const ctx: QueryContext = {
      sql: text,
      params: EMPTY_PARAMS,
      options: options ?? {},
      driver: runtime.name,
      operation: 'query',
      transaction: inTransaction,
      attempt: 1,
      meta: {},
    }
    const last = await runtime.hooks.query(ctx, async (inner) => {
      held?.check()
      all = await tracedRun(runtime, inner.sql, inner.options, held)
      return all[all.length - 1] ?? { rows: [], rowCount: 0, command: '', fields: [] }
    })
    return all ?? [last]
  } catch (error) {
    // Driver errors are normalised below the hooks; anything else was thrown by a hook and reaches the caller as it is.
    if (!isTesseraError(error)) throw error
    throw runtime.report(error, 'query', text)
  }
}

function checkOptions(options: MultiQueryOptions | undefined): void {
  if (options === undefined) return
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(`expected an options object, got ${describeValue(options)}`, { subject: 'queryMulti options' })
  }
  const problems: string[] = []
  const { signal, timeoutMs, rowMode } = options
  if (signal !== undefined && !(signal instanceof AbortSignal)) problems.push(`signal must be an AbortSignal, got ${describeValue(signal)}`)
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    problems.push(`timeoutMs must be a number of ms > 0, got ${describeValue(timeoutMs)}`)
  }
  if (rowMode !== undefined && rowMode !== 'object' && rowMode !== 'array') {
    problems.push(`rowMode must be 'object' or 'array', got ${describeValue(rowMode)}`)
  }
  if (problems.length > 0) throw new ConfigError(problems, { subject: 'queryMulti options' })
}

/** A session already held (a transaction, a reserved connection) that `queryMulti` runs on instead of lending one. */
export interface HeldMultiSession {
  readonly connection: DriverConnection
  /** Reported to `onQuery` hooks as `ctx.transaction`; a lost session outside a transaction leaves the outcome unknown. */
  readonly inTransaction: boolean
  /** The holder's own signal, merged with the call's. */
  readonly signal: AbortSignal | undefined
  /** Throws when the session cannot run a statement now (ended, released, busy). */
  check(): void
}

function tracedRun(
  runtime: ProviderRuntime,
  text: string,
  options: MultiQueryOptions | undefined,
  held: HeldMultiSession | undefined,
): Promise<QueryResult[]> {
  if (!runtime.isQueryTraced) return runOn(runtime, text, options, held)
  const message = runtime.queryMessage(text, EMPTY_PARAMS, 'query', held?.inTransaction ?? false)
  return traced(CHANNELS.query, message, () => runOn(runtime, text, options, held))
}

/**
 * Runs the text through the driver's `runMulti` on the held session, or on a connection lent for it and given back
 * afterwards.
 */
async function runOn(
  runtime: ProviderRuntime,
  text: string,
  options: MultiQueryOptions | undefined,
  held: HeldMultiSession | undefined,
): Promise<QueryResult[]> {
  let connection: DriverConnection | undefined
  try {
    const signal = options?.signal
    const timeoutMs = options?.timeoutMs
    const deadline = timeoutMs === undefined ? 0 : Date.now() + timeoutMs
    connection = held === undefined ? await runtime.acquire(signal, timeoutMs) : held.connection
    if (connection.runMulti === undefined) {
      throw new ConfigError(`the ${runtime.name} driver cannot return the results of several statements separately`, {
        subject: 'queryMulti call',
      })
    }
    const results = await connection.runMulti(text, {
      signal,
      timeoutMs: timeoutMs === undefined ? undefined : Math.max(1, deadline - Date.now()),
      rowMode: options?.rowMode,
    })
    const rename = runtime.renameColumns
    return rename === undefined ? results : results.map(rename)
  } catch (error) {
    if (connection === undefined || isTesseraError(error)) throw runtime.normalize(error, text)
    const mapped: TesseraError = runtime.connectionFailure(connection, error, text)
    // Any statement of the text may be a write: a lost session leaves its outcome unknown.
    if (isConnectionLoss(mapped) && held?.inTransaction !== true) throw outcomeUnknown(mapped, text)
    throw mapped
  } finally {
    if (connection !== undefined && held === undefined) runtime.release(connection)
  }
}
