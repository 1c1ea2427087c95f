import type { QueryOptions, QueryResult, SqlInput } from './contracts'
import { AbortError, isTesseraError } from './errors'
import type { QueryContext } from './hooks'
import type { ProviderRuntime } from './provider-runtime'

/** The session's own signal and the call's together: either one cancels the statement. */
export function withSignal<O extends { signal?: AbortSignal | undefined }>(
  own: AbortSignal | undefined,
  options: O | undefined,
): O | undefined {
  if (own === undefined) return options
  if (options?.signal === undefined) return { ...options, signal: own } as O
  return { ...options, signal: AbortSignal.any([own, options.signal]) }
}

/** What one statement on a held session (a transaction, a reserved connection) needs from its holder. */
export interface HeldSession {
  readonly runtime: ProviderRuntime
  /** Reported to `onQuery` hooks as `ctx.transaction`. */
  readonly inTransaction: boolean
  /** The holder's own signal, merged with each call's. */
  readonly signal: AbortSignal | undefined
  /** Throws when the session cannot run a statement now (ended, released, busy). */
  check(): void
  /** Runs the statement on the session (after the hooks, if any). */
  run(text: string, values: readonly unknown[], options: QueryOptions | undefined): Promise<QueryResult>
  /** The innermost `next` of the `onQuery` chain. */
  readonly final: (ctx: QueryContext) => Promise<QueryResult>
}

/**
 * One statement on a held session: compile, merge the signals, run through the `onQuery` hooks when there are any,
 * and report a failure once (`onError`), the same for transactions and reserved connections.
 */
export async function queryOnHeldSession(
  session: HeldSession,
  sql: SqlInput,
  params: readonly unknown[] | undefined,
  options: QueryOptions | undefined,
): Promise<QueryResult> {
  const runtime = session.runtime
  let text: string | undefined
  let values: readonly unknown[] | undefined
  try {
    session.check()
    ;({ text, values } = runtime.compile(sql, params))
    const merged = withSignal(session.signal, options)
    if (merged?.signal?.aborted) throw new AbortError('query', { cause: merged.signal.reason })
    if (!runtime.hooks.hasQueryHooks) return await session.run(text, values, merged)
    const ctx: QueryContext = {
      sql: text,
      params: values,
      options: merged ?? {},
      driver: runtime.name,
      operation: 'query',
      transaction: session.inTransaction,
      attempt: 1,
      meta: {},
    }
    return await runtime.hooks.query(ctx, session.final)
  } catch (error) {
    if (!isTesseraError(error)) throw error
    throw runtime.report(runtime.normalize(error, text), 'query', text, values)
  }
}
