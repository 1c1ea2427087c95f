import { AbortError, TimeoutError } from './errors'
import { mapPgError } from './pg-errors'

/**
 * For driver authors: awaits a statement that `signal` or `timeoutMs` may cancel. When either fires, `cancel()` is
 * called once (the driver sends its CancelRequest); the caller then gets an `AbortError` or a `TimeoutError` whose
 * cause is the server's answer (usually `QueryCanceledError`).
 *
 * `session.tainted` is set whenever the cancel fired, so the session is closed rather than lent again (a reconnect per
 * cut statement): nothing the server answers proves the request cannot still interrupt a later statement. A 57014 may
 * have come from elsewhere (statement_timeout, `pg_cancel_backend`) while the request is still on its way, and
 * PostgreSQL's postmaster signals the backend twice per request (the process, then its process group): the second
 * signal can arrive after the statement ended and interrupt the next one.
 */
export async function cancellableStatement<T>(
  settled: Promise<T>,
  text: string,
  options: { signal?: AbortSignal | undefined; timeoutMs?: number | undefined },
  session: { tainted: boolean },
  cancel: () => void,
): Promise<T> {
  const { signal, timeoutMs } = options
  let reason: 'none' | 'aborted' | 'timed-out' = 'none'
  const fire = (why: 'aborted' | 'timed-out') => {
    if (reason !== 'none') return
    reason = why
    // Even a statement then cut with 57014 does not prove the request was consumed: the session is not lent again.
    session.tainted = true
    cancel()
  }
  const onAbort = () => fire('aborted')
  signal?.addEventListener('abort', onAbort)
  const timer = timeoutMs === undefined ? undefined : setTimeout(fire, Math.max(0, timeoutMs), 'timed-out')
  try {
    return await settled
  } catch (error) {
    if (reason === 'none') throw error
    const cause = mapPgError(error, { sql: text })
    if (reason === 'aborted') throw new AbortError('query', { cause })
    throw new TimeoutError({ operation: 'query', timeoutMs: timeoutMs ?? 0 }, { cause })
  } finally {
    if (timer !== undefined) clearTimeout(timer)
    signal?.removeEventListener('abort', onAbort)
  }
}
