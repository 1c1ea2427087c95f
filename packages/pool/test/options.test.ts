import { ConfigError } from '@tessera/core'
import { describe, expect, it } from 'vitest'
import { createPool, type PoolOptions } from '../src/index'

const create = async () => ({})
const destroy = () => {}

function problemsOf(options: unknown): readonly string[] {
  try {
    createPool(options as PoolOptions<object>)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as ConfigError).problems
  }
  throw new Error('createPool accepted the options')
}

describe('options', () => {
  it('lists every problem at once', () => {
    const problems = problemsOf({ create: 'nope', max: 0, min: -1, acquireTimeoutMs: -5, idleTimeoutMs: Number.NaN, name: '' })
    expect(problems).toEqual([
      'create must be a function, got "nope"',
      'destroy must be a function, got undefined',
      'min must be an integer ≥ 0, got -1',
      'max must be an integer ≥ 1, got 0',
      'acquireTimeoutMs must be a finite number of ms ≥ 0, got -5',
      'idleTimeoutMs must be a finite number of ms ≥ 0, got NaN',
      'name must be a non-empty string, got ""',
    ])
  })

  it('rejects min above max', () => {
    expect(problemsOf({ create, destroy, min: 5, max: 2 })).toEqual(['min (5) must not exceed max (2)'])
    expect(problemsOf({ create, destroy, min: 20 })).toEqual(['min (20) must not exceed max (10, the default)'])
  })

  it('names the pool in the error message', () => {
    expect(() => createPool({ create, destroy, max: 1.5, name: 'orders' })).toThrow(
      /invalid options of pool "orders": max must be an integer ≥ 1, got 1.5/,
    )
  })

  it('catches misspelt options', () => {
    expect(problemsOf({ create, destroy, maxSize: 5 })[0]).toMatch(/^unknown option "maxSize"; accepted: create, destroy, validate/)
  })

  it('checks the lifetime, leak, use and retry settings', () => {
    expect(
      problemsOf({
        create,
        destroy,
        validate: true,
        reset: 1,
        maxLifetimeMs: 1_000,
        lifetimeJitterMs: 2_000,
        maxUses: 0.5,
        leakDetectionMs: -1,
        validateAfterIdleMs: 'soon',
        createRetry: { maxAttempts: 0, baseDelayMs: -1, retries: 3 },
      }),
    ).toEqual([
      'validate must be a function, got true',
      'reset must be a function, got 1',
      'lifetimeJitterMs (2000) must not exceed maxLifetimeMs (1000)',
      'maxUses must be an integer ≥ 0, got 0.5',
      'validateAfterIdleMs must be a finite number of ms ≥ 0, got "soon"',
      'leakDetectionMs must be a finite number of ms ≥ 0, got -1',
      'unknown option createRetry.retries; accepted: maxAttempts, baseDelayMs, maxDelayMs, retryOn',
      'createRetry.maxAttempts must be an integer ≥ 1, got 0',
      'createRetry.baseDelayMs must be a finite number of ms ≥ 0, got -1',
    ])
    expect(problemsOf({ create, destroy, createRetry: true })).toEqual([
      'createRetry must be false or an object like { maxAttempts: 3, baseDelayMs: 50 }, got true',
    ])
  })

  it('rejects something that is not an options object', () => {
    expect(() => createPool(undefined as unknown as PoolOptions<object>)).toThrow(
      /expected an options object with create and destroy, got undefined/,
    )
  })

  it('accepts the minimal options', async () => {
    const pool = createPool({ create, destroy })
    expect(pool.name).toBe('pool')
    expect(pool.stats()).toMatchObject({ min: 0, max: 10 })
    await pool.drain()
  })
})
