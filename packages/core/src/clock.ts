import { AbortError } from './errors'

/**
 * Where time comes from. Retry and the circuit breaker take one so that tests (theirs and yours)
 * run instantly and deterministically: pass {@link createManualClock} instead of {@link systemClock}.
 */
export interface Clock {
  /** Milliseconds on a monotonic-enough scale; only differences between readings matter. */
  now(): number
  /**
   * Resolves after `ms`. When `signal` aborts first, rejects promptly with an {@link AbortError}
   * whose `cause` is the signal's reason, and the pending timer is cleared.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

function abortErrorFor(signal: AbortSignal): AbortError {
  return new AbortError('sleep', { cause: signal.reason })
}

/**
 * The real clock: `Date.now()` and `setTimeout`. The sleep's timer keeps the process alive on purpose:
 * somebody awaits it (a retry's backoff), and an `unref()`ed timer would let a script whose only work is
 * `await retry(…)` exit in the middle of the wait. Aborting the signal clears the timer.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep(ms, signal) {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortErrorFor(signal))
        return
      }
      const onAbort = () => {
        clearTimeout(timer)
        reject(abortErrorFor(signal as AbortSignal))
      }
      const timer = setTimeout(
        () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        },
        Math.max(0, ms),
      )
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  },
}

/** Options of {@link createManualClock}. */
export interface ManualClockOptions {
  /** The first reading of `now()`. Default: `0`. */
  startMs?: number | undefined
  /**
   * When `true`, `sleep(ms)` moves time forward by `ms` itself and resolves at once, which suits
   * sequential code (a retry loop). When `false`, sleeps wait for {@link ManualClock.advance}.
   * Default: `false`.
   */
  autoAdvance?: boolean | undefined
}

/** A clock that only moves when told to. For tests. */
export interface ManualClock extends Clock {
  /** Moves time forward by `ms` and resolves every sleep that is now due. */
  advance(ms: number): void
  /** Sleeps started and not yet resolved or aborted. */
  readonly pendingSleeps: number
}

interface PendingSleep {
  wakeAt: number
  resolve: () => void
}

/**
 * A deterministic clock for tests: time stands still until `advance(ms)` is called (or, with
 * `autoAdvance`, until something sleeps).
 *
 * @example
 * const clock = createManualClock()
 * const breaker = createCircuitBreaker({ name: 'db', clock })
 * clock.advance(5_000)
 */
export function createManualClock(options: ManualClockOptions = {}): ManualClock {
  let nowMs = options.startMs ?? 0
  const autoAdvance = options.autoAdvance ?? false
  const pending = new Set<PendingSleep>()

  return {
    now: () => nowMs,
    get pendingSleeps() {
      return pending.size
    },
    advance(ms) {
      if (!(ms >= 0)) throw new RangeError(`advance(ms) needs a number ≥ 0, got ${ms}`)
      nowMs += ms
      const due = [...pending].filter((sleep) => sleep.wakeAt <= nowMs).sort((a, b) => a.wakeAt - b.wakeAt)
      for (const sleep of due) {
        pending.delete(sleep)
        sleep.resolve()
      }
    },
    sleep(ms, signal) {
      return new Promise<void>((resolve, reject) => {
        if (signal?.aborted) {
          reject(abortErrorFor(signal))
          return
        }
        if (autoAdvance) {
          nowMs += Math.max(0, ms)
          resolve()
          return
        }
        const onAbort = () => {
          pending.delete(entry)
          reject(abortErrorFor(signal as AbortSignal))
        }
        const entry: PendingSleep = {
          wakeAt: nowMs + Math.max(0, ms),
          resolve: () => {
            signal?.removeEventListener('abort', onAbort)
            resolve()
          },
        }
        pending.add(entry)
        signal?.addEventListener('abort', onAbort, { once: true })
      })
    },
  }
}
