import { AbortError, TimeoutError } from './errors'
import { mapPgError } from './pg-errors'

/**
 * For driver authors: awaits a statement that `signal` or `timeoutMs` may cancel. When either fires, `cancel()` is
 * called once (the driver sends its CancelRequest); the caller then gets an `AbortError` or a `TimeoutError` whose
 * cause is the server's answer (usually `QueryCanceledError`).
 *
 * A cancel request can interrupt a later statement than the one it was sent for: a 57014 may have come from elsewhere
 * (statement_timeout, `pg_cancel_backend`) while the request is still on its way, and PostgreSQL's postmaster signals
 * the backend twice per request (the process, then its process group), the second time possibly after the statement
 * ended. So once the cancel fired:
 * - `session.tainted` is set: the session is closed rather than lent to another caller (a reconnect per cut statement);
 * - the call settles only when the promise `cancel()` may return does (the server took the request and closed its socket,
 *   or the request failed and the driver dropped the session), so the caller's next statement on the same session (in
 *   a transaction, on a reserved connection) is sent after the server has acted on the request, never before.
 */
export async function cancellableStatement<T>(
  settled: Promise<T>,
  text: string,
  options: { signal?: AbortSignal | undefined; timeoutMs?: number | undefined },
  session: { tainted: boolean },
  cancel: () => unknown,
): Promise<T> {
  const settlement = await untilCancelled(() => settled, options, session, cancel)
  if ('value' in settlement) return settlement.value
  if (settlement.reason === 'none') throw settlement.error
  const cause = mapPgError(settlement.error, { sql: text })
  if (settlement.reason === 'aborted') throw new AbortError('query', { cause })
  throw new TimeoutError({ operation: 'query', timeoutMs: options.timeoutMs ?? 0 }, { cause })
}

/** How {@link untilCancelled} ended: the work's value, or its error and whether a cancel had fired and why. */
export type CancellableSettlement<T> = { value: T } | { error: unknown; reason: 'none' | 'aborted' | 'timed-out' }

/**
 * The mechanism behind {@link cancellableStatement} and a batch's cancellation: runs `run`; when `signal` aborts or
 * `timeoutMs` runs out, taints `session` and calls `cancel()` once; and settles only once the promise `cancel()` may
 * return has (see above), whatever `run` did. Never rejects: the caller names the error.
 */
export async function untilCancelled<T>(
  run: () => Promise<T>,
  options: { signal?: AbortSignal | undefined; timeoutMs?: number | undefined },
  session: { tainted: boolean },
  cancel: () => unknown,
): Promise<CancellableSettlement<T>> {
  const { signal, timeoutMs } = options
  let reason: 'none' | 'aborted' | 'timed-out' = 'none'
  let requested: Promise<unknown> | undefined
  const fire = (why: 'aborted' | 'timed-out') => {
    if (reason !== 'none') return
    reason = why
    session.tainted = true
    requested = Promise.resolve(cancel())
  }
  const onAbort = () => fire('aborted')
  signal?.addEventListener('abort', onAbort)
  const timer = timeoutMs === undefined ? undefined : setTimeout(fire, Math.max(0, timeoutMs), 'timed-out')
  let settlement: CancellableSettlement<T>
  try {
    settlement = { value: await run() }
  } catch (error) {
    settlement = { error, reason }
  } finally {
    if (timer !== undefined) clearTimeout(timer)
    signal?.removeEventListener('abort', onAbort)
  }
  // A driver's request is bounded by its own timeout, after which it drops the session.
  if (requested !== undefined) await requested.then(undefined, () => {})
  return settlement
}
