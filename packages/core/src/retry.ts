import { type Clock, systemClock } from './clock'
import { AbortError, ConfigError, describeValue } from './errors'

/** What {@link RetryPolicy.onRetry} receives before each wait. */
export interface RetryEvent {
  /** The error the failed attempt threw. */
  error: unknown
  /** The attempt that failed, counting from 1. The next attempt is `attempt + 1`. */
  attempt: number
  /** How long retry will wait before the next attempt. */
  delayMs: number
  /** Time since the first attempt started. */
  elapsedMs: number
}

/**
 * How to retry an operation that failed. Every field is optional.
 *
 * @example
 * await retry(() => provider.query('select 1'), { maxAttempts: 5, maxElapsedMs: 2_000 })
 */
export interface RetryPolicy {
  /** Attempts in total, counting the first try. An integer ≥ 1, or `Infinity` with `maxElapsedMs`. Default: `3`. */
  maxAttempts?: number | undefined
  /** The ceiling of the first wait; it doubles on each retry. Default: `50` ms. */
  baseDelayMs?: number | undefined
  /** No wait is longer than this. Default: `5000` ms. */
  maxDelayMs?: number | undefined
  /**
   * A time budget since the first attempt started: a retry is made only if its wait ends before the
   * budget runs out, so retry never sleeps past it. Default: none.
   */
  maxElapsedMs?: number | undefined
  /**
   * `'full'`: each wait is random in [0, ceiling), so many clients retrying together spread out.
   * `'none'`: each wait is the ceiling itself. Default: `'full'`.
   */
  jitter?: 'full' | 'none' | undefined
  /**
   * Decides whether an error is worth another attempt. `attempt` is the attempt that failed (from 1).
   * Default: {@link isRetryable} (the error's `retryable` flag, which every Tessera error carries).
   */
  retryOn?: ((error: unknown, attempt: number) => boolean) | undefined
  /** Called before each wait; useful for logging. An exception thrown here stops retrying and is thrown to the caller. */
  onRetry?: ((event: RetryEvent) => void) | undefined
  /** Aborting stops retrying: a pending wait ends at once with an {@link AbortError}. Also passed to each attempt. */
  signal?: AbortSignal | undefined
}

/** A {@link RetryPolicy} with every default filled in, as returned by {@link resolveRetryPolicy}. */
export interface ResolvedRetryPolicy {
  maxAttempts: number
  baseDelayMs: number
  maxDelayMs: number
  maxElapsedMs: number | undefined
  jitter: 'full' | 'none'
  retryOn: (error: unknown, attempt: number) => boolean
  onRetry: ((event: RetryEvent) => void) | undefined
  signal: AbortSignal | undefined
}

/** What a thrown error carries once {@link retry} gives up on it. Read it with {@link getRetryDetails}. */
export interface RetryDetails {
  /** Attempts made, including the first. */
  attempts: number
  /** The error of every failed attempt, oldest first. */
  errors: readonly unknown[]
}

/** Options of {@link backoffDelay}. */
export interface BackoffOptions {
  /** The ceiling of the first wait (`attempt` 0). Default: `50` ms. */
  baseMs?: number | undefined
  /** The largest ceiling. Default: `5000` ms. */
  capMs?: number | undefined
  /** `'full'`: random in [0, ceiling); `'none'`: the ceiling. Default: `'full'`. */
  jitter?: 'full' | 'none' | undefined
}

/** Dependencies of {@link retry} that tests replace. */
export interface RetryRuntime {
  /** Where time and sleeps come from. Default: {@link systemClock}. */
  clock?: Clock | undefined
  /** A source of numbers in [0, 1) for jitter. Default: `Math.random`. */
  random?: (() => number) | undefined
}

const DEFAULTS = { maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 5_000, jitter: 'full' } as const

/**
 * The default retry test: true when the error says it is retryable (`error.retryable === true`).
 * Every Tessera error carries the flag: serialization failures, deadlocks, pool and query timeouts
 * and lost connections are retryable; constraint violations and bad input are not.
 */
export function isRetryable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { retryable?: unknown }).retryable === true
}

/**
 * The wait before retry number `attempt + 1`, with full jitter: random in [0, min(capMs, baseMs · 2^attempt)).
 * `attempt` counts from 0 (the wait before the first retry). Defaults: base 50 ms, cap 5 s.
 *
 * @example
 * backoffDelay(0) // somewhere in [0, 50)
 * backoffDelay(3, { baseMs: 100, capMs: 1_000, jitter: 'none' }) // 800
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const { baseMs = DEFAULTS.baseDelayMs, capMs = DEFAULTS.maxDelayMs, jitter = DEFAULTS.jitter } = options
  // 2 ** attempt overflows to Infinity for huge attempts; Math.min keeps the cap.
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt))
  if (jitter === 'none') return ceiling
  return random() * ceiling
}

function isNonNegativeFinite(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0
}

function isAbortSignal(value: unknown): value is AbortSignal {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AbortSignal).aborted === 'boolean' &&
    typeof (value as AbortSignal).addEventListener === 'function'
  )
}

/**
 * Checks a policy and fills in its defaults. Throws a {@link ConfigError} listing every problem,
 * so a provider can validate its policy once, at creation.
 */
export function resolveRetryPolicy(policy: RetryPolicy = {}): ResolvedRetryPolicy {
  if (typeof policy !== 'object' || policy === null) {
    throw new ConfigError(`expected an object, got ${describeValue(policy)}`, { subject: 'retry policy' })
  }
  const problems: string[] = []
  const { maxAttempts, baseDelayMs, maxDelayMs, maxElapsedMs, jitter, retryOn, onRetry, signal } = policy

  if (
    maxAttempts !== undefined &&
    !(maxAttempts === Number.POSITIVE_INFINITY || (typeof maxAttempts === 'number' && Number.isInteger(maxAttempts) && maxAttempts >= 1))
  ) {
    problems.push(`maxAttempts must be an integer ≥ 1 or Infinity, got ${describeValue(maxAttempts)}`)
  }
  if (baseDelayMs !== undefined && !isNonNegativeFinite(baseDelayMs)) {
    problems.push(`baseDelayMs must be a finite number ≥ 0, got ${describeValue(baseDelayMs)}`)
  }
  if (maxDelayMs !== undefined && !isNonNegativeFinite(maxDelayMs)) {
    problems.push(`maxDelayMs must be a finite number ≥ 0, got ${describeValue(maxDelayMs)}`)
  }
  if (isNonNegativeFinite(baseDelayMs) && isNonNegativeFinite(maxDelayMs) && maxDelayMs < baseDelayMs) {
    problems.push(`maxDelayMs (${maxDelayMs}) must be ≥ baseDelayMs (${baseDelayMs})`)
  }
  if (maxElapsedMs !== undefined && !(isNonNegativeFinite(maxElapsedMs) && maxElapsedMs > 0)) {
    problems.push(`maxElapsedMs must be a finite number > 0, got ${describeValue(maxElapsedMs)}`)
  }
  if (jitter !== undefined && jitter !== 'full' && jitter !== 'none') {
    problems.push(`jitter must be 'full' or 'none', got ${describeValue(jitter)}`)
  }
  if (retryOn !== undefined && typeof retryOn !== 'function') {
    problems.push(`retryOn must be a function, got ${describeValue(retryOn)}`)
  }
  if (onRetry !== undefined && typeof onRetry !== 'function') {
    problems.push(`onRetry must be a function, got ${describeValue(onRetry)}`)
  }
  if (signal !== undefined && !isAbortSignal(signal)) {
    problems.push(`signal must be an AbortSignal, got ${describeValue(signal)}`)
  }
  if (maxAttempts === Number.POSITIVE_INFINITY && maxElapsedMs === undefined) {
    problems.push('maxAttempts: Infinity needs maxElapsedMs, or retry may never stop')
  }
  if (problems.length > 0) throw new ConfigError(problems, { subject: 'retry policy' })

  return {
    maxAttempts: maxAttempts ?? DEFAULTS.maxAttempts,
    baseDelayMs: baseDelayMs ?? DEFAULTS.baseDelayMs,
    maxDelayMs: maxDelayMs ?? DEFAULTS.maxDelayMs,
    maxElapsedMs,
    jitter: jitter ?? DEFAULTS.jitter,
    retryOn: retryOn ?? isRetryable,
    onRetry,
    signal,
  }
}

/**
 * Records the attempts on the error that retry throws. `errors` is non-enumerable on purpose: it
 * holds the error itself, and an enumerable self-reference would make `toJSON` and
 * `JSON.stringify` recurse forever. Frozen errors and thrown primitives are left as they are.
 */
function attachDetails(error: unknown, details: RetryDetails): void {
  if ((typeof error !== 'object' && typeof error !== 'function') || error === null) return
  try {
    Object.defineProperty(error, 'attempts', { value: details.attempts, enumerable: true, writable: true, configurable: true })
    Object.defineProperty(error, 'errors', { value: details.errors, enumerable: false, writable: true, configurable: true })
  } catch {
    // A frozen or exotic error: keep the original untouched rather than throw something else.
  }
}

/**
 * The attempts that {@link retry} recorded on an error it gave up on, or `undefined` when the error
 * did not come out of retry (or could not carry them: a thrown string, a frozen object).
 *
 * @example
 * try { await retry(run) } catch (error) { logger.warn({ attempts: getRetryDetails(error)?.attempts }) }
 */
export function getRetryDetails(error: unknown): RetryDetails | undefined {
  if ((typeof error !== 'object' && typeof error !== 'function') || error === null) return undefined
  const { attempts, errors } = error as { attempts?: unknown; errors?: unknown }
  if (typeof attempts !== 'number' || !Array.isArray(errors)) return undefined
  return { attempts, errors }
}

/**
 * Runs `fn` until it succeeds, waiting between attempts with exponential backoff and full jitter.
 *
 * Stops and throws when an error is not retryable (per `retryOn`), after `maxAttempts`, when the
 * next wait would end past `maxElapsedMs`, or when `signal` aborts. The error thrown is the last
 * attempt's error itself, so its class survives (`catch (e) { if (e instanceof SerializationFailureError) … }`),
 * with `attempts` (enumerable) and `errors` (every attempt's error, non-enumerable) added to it;
 * read both with {@link getRetryDetails}. An abort during a wait throws an {@link AbortError} whose
 * `cause` is the signal's reason and which carries the same details. When `fn` itself fails after
 * the signal aborted, its error is thrown and not retried.
 *
 * @param fn receives the attempt number (from 1) and the policy's signal.
 * @example
 * const rows = await retry((attempt) => tx.query(sql`select …`), { maxAttempts: 5 })
 */
export async function retry<T>(
  fn: (attempt: number, signal: AbortSignal | undefined) => Promise<T> | T,
  policy: RetryPolicy = {},
  runtime: RetryRuntime = {},
): Promise<T> {
  if (typeof fn !== 'function') {
    throw new ConfigError(`retry needs a function to run, got ${describeValue(fn)}`, { subject: 'retry call' })
  }
  const resolved = resolveRetryPolicy(policy)
  const clock = runtime.clock ?? systemClock
  const random = runtime.random ?? Math.random
  const { signal } = resolved
  const startedAt = clock.now()
  const errors: unknown[] = []

  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) {
      const aborted = new AbortError('retry', { cause: signal.reason })
      attachDetails(aborted, { attempts: attempt - 1, errors })
      throw aborted
    }
    try {
      return await fn(attempt, signal)
    } catch (error) {
      errors.push(error)
      const giveUp = () => {
        attachDetails(error, { attempts: attempt, errors })
        return error
      }
      if (signal?.aborted) throw giveUp()
      if (attempt >= resolved.maxAttempts) throw giveUp()
      if (!resolved.retryOn(error, attempt)) throw giveUp()

      const delayMs = backoffDelay(
        attempt - 1,
        { baseMs: resolved.baseDelayMs, capMs: resolved.maxDelayMs, jitter: resolved.jitter },
        random,
      )
      const elapsedMs = clock.now() - startedAt
      if (resolved.maxElapsedMs !== undefined && elapsedMs + delayMs >= resolved.maxElapsedMs) throw giveUp()

      resolved.onRetry?.({ error, attempt, delayMs, elapsedMs })
      try {
        await clock.sleep(delayMs, signal)
      } catch (sleepError) {
        // Name the operation the caller ran (retry), not the clock's sleep, and keep the signal's reason.
        const thrown = signal?.aborted ? new AbortError('retry', { cause: signal.reason }) : sleepError
        attachDetails(thrown, { attempts: attempt, errors })
        throw thrown
      }
    }
  }
}
