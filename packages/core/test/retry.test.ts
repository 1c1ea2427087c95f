import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  AbortError,
  backoffDelay,
  ConfigError,
  createManualClock,
  getRetryDetails,
  type RetryEvent,
  resolveRetryPolicy,
  retry,
  systemClock,
  TesseraError,
  TimeoutError,
} from '../src/index'

/** A retryable error of its own class, as a serialization failure would be. */
class FlakyError extends TesseraError {
  constructor(message = 'try again') {
    super(message, { code: 'FLAKY', retryable: true })
  }
}

class FatalError extends TesseraError {
  constructor() {
    super('do not try again', { code: 'FATAL' })
  }
}

/** Lets pending promise callbacks run, so an async retry loop reaches its next sleep. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve()
}

describe('retry', () => {
  it('returns the first success without waiting', async () => {
    const clock = createManualClock({ autoAdvance: true })
    const fn = vi.fn(async () => 'ok')
    await expect(retry(fn, {}, { clock })).resolves.toBe('ok')
    expect(fn).toHaveBeenCalledTimes(1)
    expect(clock.now()).toBe(0)
  })

  it('retries a retryable error and passes the attempt number to each try', async () => {
    const clock = createManualClock({ autoAdvance: true })
    const seen: number[] = []
    const result = await retry(
      async (attempt) => {
        seen.push(attempt)
        if (attempt < 3) throw new FlakyError()
        return attempt
      },
      { maxAttempts: 5 },
      { clock },
    )
    expect(result).toBe(3)
    expect(seen).toEqual([1, 2, 3])
  })

  it('gives up after maxAttempts and throws the last error with its class and the attempts', async () => {
    const clock = createManualClock({ autoAdvance: true })
    const thrown: FlakyError[] = []
    const fn = vi.fn(async (attempt: number) => {
      const error = new FlakyError(`attempt ${attempt}`)
      thrown.push(error)
      throw error
    })
    const error = await retry(fn, { maxAttempts: 4 }, { clock }).catch((e: unknown) => e)
    expect(fn).toHaveBeenCalledTimes(4)
    expect(error).toBeInstanceOf(FlakyError)
    expect(error).toBe(thrown[3])
    expect((error as FlakyError & { attempts: number }).attempts).toBe(4)
    expect(getRetryDetails(error)).toEqual({ attempts: 4, errors: thrown })
  })

  it('keeps an error that gave up serialisable as JSON', async () => {
    const clock = createManualClock({ autoAdvance: true })
    const error = await retry(
      async () => {
        throw new FlakyError()
      },
      { maxAttempts: 2 },
      { clock },
    ).catch((e: unknown) => e)
    const json = JSON.parse(JSON.stringify(error)) as Record<string, unknown>
    expect(json.attempts).toBe(2)
    expect(json.code).toBe('FLAKY')
  })

  it('stops at once on a non-retryable error', async () => {
    const clock = createManualClock({ autoAdvance: true })
    const fatal = new FatalError()
    const fn = vi.fn(async () => {
      throw fatal
    })
    await expect(retry(fn, { maxAttempts: 10 }, { clock })).rejects.toBe(fatal)
    expect(fn).toHaveBeenCalledTimes(1)
    expect(getRetryDetails(fatal)?.attempts).toBe(1)
    expect(clock.now()).toBe(0)
  })

  it('treats plain objects with retryable: true as retryable, and other errors as not', async () => {
    const clock = createManualClock({ autoAdvance: true })
    let calls = 0
    await retry(
      async () => {
        calls++
        if (calls === 1) throw Object.assign(new Error('driver hiccup'), { retryable: true })
        return 'ok'
      },
      {},
      { clock },
    )
    expect(calls).toBe(2)

    const plain = vi.fn(async () => {
      throw new Error('plain')
    })
    await expect(retry(plain, {}, { clock })).rejects.toThrow('plain')
    expect(plain).toHaveBeenCalledTimes(1)
  })

  it('asks retryOn with the error and the failed attempt', async () => {
    const clock = createManualClock({ autoAdvance: true })
    const retryOn = vi.fn((_error: unknown, attempt: number) => attempt < 2)
    const fatal = new FatalError()
    await expect(
      retry(
        async () => {
          throw fatal
        },
        { maxAttempts: 5, retryOn },
        { clock },
      ),
    ).rejects.toBe(fatal)
    expect(retryOn.mock.calls).toEqual([
      [fatal, 1],
      [fatal, 2],
    ])
  })

  it('waits with exponential backoff, full jitter and the cap', async () => {
    const clock = createManualClock({ autoAdvance: true })
    const events: RetryEvent[] = []
    await retry(
      async () => {
        throw new FlakyError()
      },
      { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 1_000, onRetry: (event) => events.push(event) },
      { clock, random: () => 0.5 },
    ).catch(() => undefined)
    // Ceilings 100, 200, 400, 800, 1000 (capped); random 0.5 halves each.
    expect(events.map((e) => e.delayMs)).toEqual([50, 100, 200, 400, 500])
    expect(clock.now()).toBe(1_250)
  })

  it('waits the full ceiling with jitter: none', async () => {
    const clock = createManualClock({ autoAdvance: true })
    const delays: number[] = []
    await retry(
      async () => {
        throw new FlakyError()
      },
      { maxAttempts: 4, baseDelayMs: 10, jitter: 'none', onRetry: (e) => delays.push(e.delayMs) },
      { clock, random: () => 0 },
    ).catch(() => undefined)
    expect(delays).toEqual([10, 20, 40])
  })

  it('calls onRetry with the error, the failed attempt, the delay and the time spent', async () => {
    const clock = createManualClock({ autoAdvance: true })
    const onRetry = vi.fn()
    const errors = [new FlakyError('one'), new FlakyError('two')]
    await retry(
      async (attempt) => {
        clock.advance(7) // the attempt itself takes 7 ms
        const error = errors[attempt - 1]
        if (error) throw error
        return 'done'
      },
      { maxAttempts: 3, baseDelayMs: 40, onRetry },
      { clock, random: () => 0.25 },
    )
    expect(onRetry.mock.calls).toEqual([
      [{ error: errors[0], attempt: 1, delayMs: 10, elapsedMs: 7 }],
      [{ error: errors[1], attempt: 2, delayMs: 20, elapsedMs: 24 }],
    ])
  })

  it('does not sleep past maxElapsedMs', async () => {
    const clock = createManualClock({ autoAdvance: true })
    const onRetry = vi.fn()
    const fn = vi.fn(async () => {
      clock.advance(100)
      throw new FlakyError()
    })
    const error = await retry(fn, { maxAttempts: 100, baseDelayMs: 100, jitter: 'none', maxElapsedMs: 1_000, onRetry }, { clock }).catch(
      (e: unknown) => e,
    )
    // attempt 1 ends at 100, waits 100; attempt 2 ends at 300, waits 200; attempt 3 ends at 600 and
    // a 400 ms wait would end at 1000: the budget is spent, so retry stops without sleeping.
    expect(fn).toHaveBeenCalledTimes(3)
    expect(clock.now()).toBe(600)
    expect(getRetryDetails(error)?.attempts).toBe(3)
    expect(onRetry).toHaveBeenCalledTimes(2)
  })

  it('rejects promptly with AbortError when aborted during a wait, keeping the reason', async () => {
    const clock = createManualClock()
    const controller = new AbortController()
    const fn = vi.fn(async (_attempt: number, signal: AbortSignal | undefined) => {
      expect(signal).toBe(controller.signal)
      throw new FlakyError()
    })
    const pending = retry(fn, { maxAttempts: 5, signal: controller.signal }, { clock }).catch((e: unknown) => e)
    await settle()
    expect(clock.pendingSleeps).toBe(1)
    const reason = new Error('user navigated away')
    controller.abort(reason)
    const error = await pending
    expect(error).toBeInstanceOf(AbortError)
    expect((error as AbortError).cause).toBe(reason)
    expect(getRetryDetails(error)?.attempts).toBe(1)
    expect(clock.pendingSleeps).toBe(0)
    expect(fn).toHaveBeenCalledTimes(1)
  })

  it('does not call fn when the signal is already aborted', async () => {
    const controller = new AbortController()
    controller.abort('gone')
    const fn = vi.fn(async () => 'never')
    const error = await retry(fn, { signal: controller.signal }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AbortError)
    expect((error as AbortError).cause).toBe('gone')
    expect(fn).not.toHaveBeenCalled()
  })

  it('does not retry an attempt that failed after the signal aborted', async () => {
    const clock = createManualClock({ autoAdvance: true })
    const controller = new AbortController()
    const cancelled = new TimeoutError({ operation: 'query', timeoutMs: 10 })
    const fn = vi.fn(async () => {
      controller.abort()
      throw cancelled
    })
    await expect(retry(fn, { maxAttempts: 5, signal: controller.signal }, { clock })).rejects.toBe(cancelled)
    expect(fn).toHaveBeenCalledTimes(1)
  })

  it('retries errors thrown synchronously by fn', async () => {
    const clock = createManualClock({ autoAdvance: true })
    let calls = 0
    const result = await retry(
      (attempt) => {
        calls++
        if (attempt === 1) throw new FlakyError()
        return 'sync ok'
      },
      {},
      { clock },
    )
    expect(result).toBe('sync ok')
    expect(calls).toBe(2)
  })

  it('rejects a bad policy with a ConfigError listing every problem', async () => {
    const fn = vi.fn(async () => 1)
    const error = await retry(fn, {
      maxAttempts: 0,
      baseDelayMs: -1,
      maxDelayMs: Number.NaN,
      maxElapsedMs: 0,
      jitter: 'half' as 'full',
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConfigError)
    const problems = (error as ConfigError).problems
    expect(problems).toHaveLength(5)
    expect(problems[0]).toBe('maxAttempts must be an integer ≥ 1 or Infinity, got 0')
    expect(problems.join('\n')).toContain('baseDelayMs must be a finite number ≥ 0, got -1')
    expect(problems.join('\n')).toContain(`jitter must be 'full' or 'none', got "half"`)
    expect(fn).not.toHaveBeenCalled()
  })

  it('fills in the documented defaults', () => {
    const resolved = resolveRetryPolicy()
    expect(resolved).toMatchObject({ maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 5_000, maxElapsedMs: undefined, jitter: 'full' })
    expect(resolved.retryOn(new FlakyError(), 1)).toBe(true)
    expect(resolved.retryOn(new FatalError(), 1)).toBe(false)
  })

  it('refuses endless attempts without a time budget', () => {
    expect(() => resolveRetryPolicy({ maxAttempts: Number.POSITIVE_INFINITY })).toThrow(/needs maxElapsedMs/)
    expect(resolveRetryPolicy({ maxAttempts: Number.POSITIVE_INFINITY, maxElapsedMs: 1_000 }).maxAttempts).toBe(Number.POSITIVE_INFINITY)
  })
})

describe('backoffDelay', () => {
  it('stays within [0, min(cap, base · 2^attempt)) for any random value', () => {
    for (const attempt of [0, 1, 2, 5, 10, 100, 5_000]) {
      const ceiling = Math.min(1_000, 20 * 2 ** attempt)
      expect(backoffDelay(attempt, { baseMs: 20, capMs: 1_000 }, () => 0)).toBe(0)
      expect(backoffDelay(attempt, { baseMs: 20, capMs: 1_000 }, () => 0.999_999)).toBeLessThan(ceiling)
      expect(backoffDelay(attempt, { baseMs: 20, capMs: 1_000 }, () => 0.999_999)).toBeGreaterThan(ceiling * 0.99)
    }
  })

  it('uses base 50 ms and cap 5 s by default', () => {
    expect(backoffDelay(0, {}, () => 0.5)).toBe(25)
    expect(backoffDelay(20, {}, () => 0.5)).toBe(2_500)
    expect(backoffDelay(3, { jitter: 'none' })).toBe(400)
  })
})

describe('systemClock.sleep', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('resolves after the delay', async () => {
    vi.useFakeTimers()
    let done = false
    const sleeping = systemClock.sleep(1_000).then(() => {
      done = true
    })
    await vi.advanceTimersByTimeAsync(999)
    expect(done).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    await sleeping
    expect(done).toBe(true)
  })

  it('rejects on abort with the reason as cause and clears its timer', async () => {
    vi.useFakeTimers()
    const controller = new AbortController()
    const sleeping = systemClock.sleep(60_000, controller.signal).catch((e: unknown) => e)
    expect(vi.getTimerCount()).toBe(1)
    controller.abort('shutdown')
    const error = await sleeping
    expect(error).toBeInstanceOf(AbortError)
    expect((error as AbortError).cause).toBe('shutdown')
    expect(vi.getTimerCount()).toBe(0)
  })

  it('keeps the process alive while a retry waits, so a script awaiting retry() finishes', () => {
    // An unref()ed backoff timer let `await retry(…)` at the top of a script exit with code 13 mid-wait.
    const spy = vi.spyOn(globalThis, 'setTimeout')
    void systemClock.sleep(10)
    const timer = spy.mock.results[0]?.value as NodeJS.Timeout
    expect(timer.hasRef()).toBe(true)
    spy.mockRestore()
  })
})
