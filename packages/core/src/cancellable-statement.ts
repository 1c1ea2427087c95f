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
  const { signal, timeoutMs } = options
  let reason: 'none' | 'aborted' | 'timed-out' = 'none'
  let requested: unknown
  const fire = (why: 'aborted' | 'timed-out') => {
    if (reason !== 'none') return
    reason = why
    session.tainted = true
    requested = cancel()
  }
  const onAbort = () => fire('aborted')
  signal?.addEventListener('abort', onAbort)
  const timer = timeoutMs === undefined ? undefined : setTimeout(fire, Math.max(0, timeoutMs), 'timed-out')
  let outcome: { value: T } | { error: unknown }
  try {
    outcome = { value: await settled }
  } catch (error) {
    outcome = { error }
  } finally {
    if (timer !== undefined) clearTimeout(timer)
    signal?.removeEventListener('abort', onAbort)
  }
  // A driver's request is bounded by its own timeout, after which it drops the session.
  if (isThenable(requested)) await Promise.resolve(requested).then(undefined, () => {})
  if ('value' in outcome) return outcome.value
  if (reason === 'none') throw outcome.error
  const cause = mapPgError(outcome.error, { sql: text })
  if (reason === 'aborted') throw new AbortError('query', { cause })
  throw new TimeoutError({ operation: 'query', timeoutMs: timeoutMs ?? 0 }, { cause })
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function'
}
