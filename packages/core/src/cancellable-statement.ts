import { AbortError, TimeoutError } from './errors'
import { mapPgError } from './pg-errors'

/**
 * For driver authors: awaits a statement that `signal` or `timeoutMs` may cancel. When either fires, `cancel()` is
 * called once (the driver sends its CancelRequest); the caller then gets an `AbortError` or a `TimeoutError` whose
 * cause is the server's answer (usually `QueryCanceledError`). `session.tainted` is set when the cancel may still land
 * on a later statement: the statement finished before it did, or failed with something other than 57014.
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
    cancel()
  }
  const onAbort = () => fire('aborted')
  signal?.addEventListener('abort', onAbort)
  const timer = timeoutMs === undefined ? undefined : setTimeout(fire, Math.max(0, timeoutMs), 'timed-out')
  try {
    const result = await settled
    // The statement finished before the cancel landed: the request may still interrupt the next one.
    if (reason !== 'none') session.tainted = true
    return result
  } catch (error) {
    if (reason === 'none') throw error
    const cause = mapPgError(error, { sql: text })
    if (cause.code !== '57014') session.tainted = true
    if (reason === 'aborted') throw new AbortError('query', { cause })
    throw new TimeoutError({ operation: 'query', timeoutMs: timeoutMs ?? 0 }, { cause })
  } finally {
    if (timer !== undefined) clearTimeout(timer)
    signal?.removeEventListener('abort', onAbort)
  }
}
