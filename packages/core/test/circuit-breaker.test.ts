import fc from 'fast-check'
import { describe, expect, it, vi } from 'vitest'
import { deferred } from '../../../tooling/test-services/deferred'
import {
  AbortError,
  CircuitOpenError,
  type CircuitState,
  type CircuitStateChange,
  ConfigError,
  createCircuitBreaker,
  createManualClock,
  isRetryable,
  TesseraError,
} from '../src/index'

const boom = () => Promise.reject(new Error('boom'))
const ok = () => Promise.resolve('ok')

function setup(overrides: Partial<Parameters<typeof createCircuitBreaker>[0]> = {}) {
  const clock = createManualClock({ startMs: 1_000_000 })
  const breaker = createCircuitBreaker({
    name: 'db',
    minimumCalls: 4,
    failureRatio: 0.5,
    openMs: 1_000,
    windowMs: 10_000,
    clock,
    ...overrides,
  })
  const changes: CircuitStateChange[] = []
  breaker.onStateChange((change) => changes.push(change))
  return { clock, breaker, changes }
}

async function fail(breaker: ReturnType<typeof createCircuitBreaker>, times = 1) {
  for (let i = 0; i < times; i++) await breaker.execute(boom).catch(() => undefined)
}

async function succeed(breaker: ReturnType<typeof createCircuitBreaker>, times = 1) {
  for (let i = 0; i < times; i++) await breaker.execute(ok)
}

describe('createCircuitBreaker', () => {
  it('passes results and errors through while closed', async () => {
    const { breaker } = setup()
    await expect(breaker.execute(() => 42)).resolves.toBe(42)
    const error = new Error('own error')
    await expect(breaker.execute(() => Promise.reject(error))).rejects.toBe(error)
    expect(breaker.state).toBe('closed')
    expect(breaker.stats()).toMatchObject({ name: 'db', state: 'closed', calls: 2, failures: 1, failureRatio: 0.5 })
  })

  it('stays closed until minimumCalls have been seen, however many fail', async () => {
    const { breaker } = setup({ minimumCalls: 4 })
    await fail(breaker, 3)
    expect(breaker.state).toBe('closed')
    await fail(breaker)
    expect(breaker.state).toBe('open')
  })

  it('opens after consecutiveFailures failures in a row even when older successes fill the window', async () => {
    const { breaker, changes } = setup({ minimumCalls: 4, consecutiveFailures: 5 })
    await succeed(breaker, 100)
    await fail(breaker, 4)
    await succeed(breaker)
    await fail(breaker, 4)
    expect(breaker.state).toBe('closed') // a success in between starts the count again
    await fail(breaker)
    expect(breaker.state).toBe('open')
    expect(changes.at(-1)?.reason).toBe('5 calls failed in a row')
  })

  it('opens only when the failure ratio reaches the threshold', async () => {
    const { breaker } = setup({ minimumCalls: 4, failureRatio: 0.5 })
    await succeed(breaker, 3)
    await fail(breaker, 2) // 2 of 5
    expect(breaker.state).toBe('closed')
    await fail(breaker) // 3 of 6
    expect(breaker.state).toBe('open')
  })

  it('fails fast with CircuitOpenError while open, without calling fn', async () => {
    const { breaker, clock } = setup()
    await fail(breaker, 4)
    clock.advance(300)
    const fn = vi.fn(ok)
    const error = await breaker.execute(fn).catch((e: unknown) => e)
    expect(fn).not.toHaveBeenCalled()
    expect(error).toBeInstanceOf(CircuitOpenError)
    expect(error).toMatchObject({ breaker: 'db', retryAfterMs: 700, code: 'CIRCUIT_OPEN', retryable: true })
    expect(breaker.stats().rejected).toBe(1)
  })

  it('goes closed → open → half-open → closed and tells listeners why', async () => {
    const { breaker, clock, changes } = setup()
    await fail(breaker, 4)
    expect(breaker.stats().openedAt).toBe(1_000_000)
    clock.advance(999)
    expect(breaker.state).toBe('open')
    clock.advance(1)
    expect(breaker.state).toBe('half-open')
    await succeed(breaker)
    expect(breaker.state).toBe('closed')
    expect(changes.map((c) => [c.from, c.to])).toEqual([
      ['closed', 'open'],
      ['open', 'half-open'],
      ['half-open', 'closed'],
    ])
    expect(changes[0]).toMatchObject({ at: 1_000_000, reason: '4 of 4 calls failed in the last 10000 ms (threshold 0.5)' })
    expect(changes[1]?.at).toBe(1_001_000)
    // Closing starts a fresh window: one failure does not reopen.
    expect(breaker.stats()).toMatchObject({ calls: 0, failures: 0, openedAt: undefined })
    await fail(breaker)
    expect(breaker.state).toBe('closed')
  })

  it('opens again when a trial call fails in half-open', async () => {
    const { breaker, clock, changes } = setup()
    await fail(breaker, 4)
    clock.advance(1_000)
    await fail(breaker)
    expect(breaker.state).toBe('open')
    expect(breaker.stats().openedAt).toBe(1_001_000)
    expect(changes.map((c) => c.to)).toEqual(['open', 'half-open', 'open'])
    expect(changes[2]?.reason).toBe('a trial call failed while half-open')
    // The open period starts again from the failed trial.
    clock.advance(999)
    expect(breaker.state).toBe('open')
    clock.advance(1)
    expect(breaker.state).toBe('half-open')
  })

  it('admits only halfOpenProbes trial calls at a time and needs successesToClose successes', async () => {
    const { breaker, clock } = setup({ halfOpenProbes: 2, successesToClose: 3 })
    await fail(breaker, 4)
    clock.advance(1_000)
    const first = deferred<string>()
    const second = deferred<string>()
    const p1 = breaker.execute(() => first.promise)
    const p2 = breaker.execute(() => second.promise)
    const third = vi.fn(ok)
    const refused = await breaker.execute(third).catch((e: unknown) => e)
    expect(third).not.toHaveBeenCalled()
    expect(refused).toBeInstanceOf(CircuitOpenError)
    expect((refused as CircuitOpenError).retryAfterMs).toBe(1_000)
    expect(breaker.stats().halfOpenInFlight).toBe(2)

    first.resolve('a')
    await p1
    expect(breaker.state).toBe('half-open')
    await succeed(breaker) // a slot came free: second success
    expect(breaker.state).toBe('half-open')
    second.resolve('b')
    await p2
    expect(breaker.state).toBe('closed')
  })

  it('defaults successesToClose to halfOpenProbes', async () => {
    const { breaker, clock } = setup({ halfOpenProbes: 2 })
    await fail(breaker, 4)
    clock.advance(1_000)
    await succeed(breaker)
    expect(breaker.state).toBe('half-open')
    await succeed(breaker)
    expect(breaker.state).toBe('closed')
  })

  it('forgets failures that slid out of the rolling window', async () => {
    const { breaker, clock } = setup({ minimumCalls: 4, windowMs: 10_000, windowBuckets: 10 })
    await fail(breaker, 3)
    clock.advance(11_000)
    expect(breaker.stats().calls).toBe(0)
    await fail(breaker)
    expect(breaker.state).toBe('closed')
    expect(breaker.stats()).toMatchObject({ calls: 1, failures: 1 })
  })

  it('counts failures that are still inside the window', async () => {
    const { breaker, clock } = setup({ minimumCalls: 4, windowMs: 10_000, windowBuckets: 10 })
    await fail(breaker, 3)
    clock.advance(8_000)
    await fail(breaker)
    expect(breaker.state).toBe('open')
  })

  it('ignores results of calls started before the state changed', async () => {
    const { breaker, clock } = setup()
    const slow = deferred<string>()
    const late = breaker.execute(() => slow.promise)
    await fail(breaker, 4)
    clock.advance(1_000)
    expect(breaker.state).toBe('half-open')
    // The slow call was admitted while closed: its success is not a successful trial.
    slow.resolve('late')
    await late
    expect(breaker.state).toBe('half-open')
  })

  it('does not count a caller abort as a failure by default', async () => {
    const { breaker } = setup({ minimumCalls: 1 })
    await breaker.execute(() => Promise.reject(new AbortError('query'))).catch(() => undefined)
    expect(breaker.state).toBe('closed')
    expect(breaker.stats().calls).toBe(0)
    await fail(breaker)
    expect(breaker.state).toBe('open')
  })

  it('counts only what isFailure says is a failure', async () => {
    const { breaker } = setup({ minimumCalls: 1, isFailure: isRetryable })
    const badInput = new TesseraError('unique violation', { code: '23505' })
    await expect(breaker.execute(() => Promise.reject(badInput))).rejects.toBe(badInput)
    expect(breaker.state).toBe('closed')
    await breaker
      .execute(() => Promise.reject(new TesseraError('lost connection', { code: '08006', retryable: true })))
      .catch(() => undefined)
    expect(breaker.state).toBe('open')
  })

  it('records outcomes measured outside execute', async () => {
    const { breaker, clock } = setup({ minimumCalls: 2 })
    breaker.recordSuccess()
    breaker.recordFailure()
    expect(breaker.state).toBe('open')
    breaker.recordSuccess() // ignored while open
    expect(breaker.state).toBe('open')
    clock.advance(1_000)
    breaker.recordSuccess()
    expect(breaker.state).toBe('closed')
  })

  it('closes on reset and forgets the window', async () => {
    const { breaker, changes } = setup()
    await fail(breaker, 4)
    breaker.reset()
    expect(breaker.state).toBe('closed')
    expect(changes.at(-1)).toMatchObject({ from: 'open', to: 'closed', reason: 'reset by the caller' })
    await fail(breaker, 3)
    expect(breaker.state).toBe('closed')
  })

  it('stops telling a listener once it unsubscribes', async () => {
    const { breaker, clock } = setup()
    const listener = vi.fn()
    const unsubscribe = breaker.onStateChange(listener)
    await fail(breaker, 4)
    expect(listener).toHaveBeenCalledTimes(1)
    unsubscribe()
    clock.advance(1_000)
    expect(breaker.state).toBe('half-open')
    expect(listener).toHaveBeenCalledTimes(1)
  })

  it('keeps working when a listener throws, and warns', async () => {
    const { breaker } = setup()
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined)
    breaker.onStateChange(() => {
      throw new Error('listener bug')
    })
    await fail(breaker, 4)
    expect(breaker.state).toBe('open')
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('listener bug'), { code: 'TESSERA_CIRCUIT_LISTENER' })
    warn.mockRestore()
  })

  it('rejects bad options with a ConfigError listing every problem', () => {
    const error = (() => {
      try {
        createCircuitBreaker({ name: 'db', failureRatio: 1.5, minimumCalls: 0, windowMs: -1, openMs: Number.NaN, halfOpenProbes: 1.5 })
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(ConfigError)
    const problems = (error as ConfigError).problems
    expect(problems).toEqual([
      'failureRatio must be a number in (0, 1], got 1.5',
      'minimumCalls must be an integer ≥ 1, got 0',
      'windowMs must be a finite number > 0, got -1',
      'openMs must be a finite number ≥ 0, got NaN',
      'halfOpenProbes must be an integer ≥ 1, got 1.5',
    ])
    expect((error as ConfigError).message).toContain('invalid circuit breaker "db" options')
    expect(() => createCircuitBreaker({ name: '' })).toThrow('name must be a non-empty string, got ""')
  })

  it('uses the documented defaults', async () => {
    const clock = createManualClock()
    const breaker = createCircuitBreaker({ name: 'defaults', clock })
    await fail(breaker, 9)
    expect(breaker.state).toBe('closed') // minimumCalls 10
    await fail(breaker)
    expect(breaker.state).toBe('open')

    const byRatio = createCircuitBreaker({ name: 'ratio', clock })
    await succeed(byRatio, 6)
    await fail(byRatio, 5) // 5 of 11
    expect(byRatio.state).toBe('closed')
    await fail(byRatio) // 6 of 12: failureRatio 0.5
    expect(byRatio.state).toBe('open')
    clock.advance(4_999)
    expect(breaker.state).toBe('open') // openMs 5000
    clock.advance(1)
    expect(breaker.state).toBe('half-open')
  })
})

type Step =
  | { kind: 'succeed' }
  | { kind: 'fail' }
  | { kind: 'advance'; ms: number }
  | { kind: 'start' }
  | { kind: 'finish'; index: number; success: boolean }
  | { kind: 'reset' }

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Step>({ kind: 'succeed' }) },
  { weight: 4, arbitrary: fc.constant<Step>({ kind: 'fail' }) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 3_000 }).map<Step>((ms) => ({ kind: 'advance', ms })) },
  { weight: 2, arbitrary: fc.constant<Step>({ kind: 'start' }) },
  { weight: 2, arbitrary: fc.record({ index: fc.nat(), success: fc.boolean() }).map<Step>((f) => ({ kind: 'finish', ...f })) },
  { weight: 1, arbitrary: fc.constant<Step>({ kind: 'reset' }) },
)

describe('circuit breaker invariants', () => {
  it('never skips a state, never calls fn while open and never exceeds the trial limit', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(stepArbitrary, { maxLength: 80 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 3 }),
        fc.double({ min: 0.1, max: 1, noNaN: true }),
        async (steps, minimumCalls, halfOpenProbes, failureRatio) => {
          const clock = createManualClock()
          const openMs = 1_000
          const breaker = createCircuitBreaker({ name: 'prop', clock, minimumCalls, halfOpenProbes, failureRatio, openMs, windowMs: 5_000 })
          let observed: CircuitState = 'closed'
          let lastOpenedAt = Number.NaN
          const held: { done: ReturnType<typeof deferred<string>>; settled: Promise<unknown> }[] = []

          breaker.onStateChange((change) => {
            expect(change.from).toBe(observed)
            expect(change.from).not.toBe(change.to)
            expect(`${change.from}→${change.to}`).not.toBe('closed→half-open')
            if (change.to === 'open') {
              lastOpenedAt = change.at
              if (change.from === 'closed') {
                const stats = breaker.stats()
                expect(stats.calls).toBeGreaterThanOrEqual(minimumCalls)
                expect(stats.failureRatio).toBeGreaterThanOrEqual(failureRatio)
              }
            }
            if (change.from === 'open' && change.to === 'half-open') {
              expect(change.at - lastOpenedAt).toBeGreaterThanOrEqual(openMs)
            }
            observed = change.to
          })

          const run = (fn: () => Promise<string>) => {
            const stateBefore = breaker.state
            let called = false
            const promise = breaker.execute(() => {
              called = true
              return fn()
            })
            if (stateBefore === 'open') expect(called).toBe(false)
            return promise.catch((error: unknown) => {
              if (error instanceof CircuitOpenError) {
                expect(called).toBe(false)
                expect(stateBefore).not.toBe('closed')
                expect(error.retryAfterMs).toBeGreaterThan(0)
                expect(error.retryAfterMs).toBeLessThanOrEqual(openMs)
              }
            })
          }

          for (const step of steps) {
            if (step.kind === 'succeed') await run(ok)
            else if (step.kind === 'fail') await run(boom)
            else if (step.kind === 'advance') clock.advance(step.ms)
            else if (step.kind === 'reset') breaker.reset()
            else if (step.kind === 'start') {
              const done = deferred<string>()
              // A refused call never reads the promise; do not let its rejection go unhandled.
              done.promise.catch(() => undefined)
              held.push({ done, settled: run(() => done.promise) })
            } else if (held.length > 0) {
              const [item] = held.splice(step.index % held.length, 1)
              if (item) {
                if (step.success) item.done.resolve('ok')
                else item.done.reject(new Error('late failure'))
                await item.settled
              }
            }
            expect(breaker.state).toBe(observed)
            if (breaker.state === 'half-open') expect(breaker.stats().halfOpenInFlight).toBeLessThanOrEqual(halfOpenProbes)
          }
        },
      ),
      { numRuns: 300 },
    )
  })
})
