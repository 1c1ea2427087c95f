import { TesseraError } from '@tessera/core'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { PoolCreateError } from '../src/index'
import { makePool, settle, track } from './fake-resources'

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('a failing create', () => {
  it('hands its error to the waiting caller, wrapped in PoolCreateError with the cause', async () => {
    const { pool, factory } = makePool()
    factory.failNext = 1
    const error = await pool.acquire().catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(PoolCreateError)
    expect((error as PoolCreateError).code).toBe('POOL_CREATE_FAILED')
    expect((error as PoolCreateError).cause).toBe(factory.error)
    expect((error as Error).message).toMatch(/could not create a resource \(1 attempt\): connection refused/)
    expect(pool.stats()).toMatchObject({ size: 0, pending: 0 })
    await pool.drain()
  })

  it('passes a Tessera error from create through unchanged', async () => {
    const { pool, factory } = makePool()
    factory.error = new TesseraError('server closed the connection', { code: '08006', retryable: true })
    factory.failNext = 1
    const error = await pool.acquire().catch((caught: unknown) => caught)
    expect(error).toBe(factory.error)
    await pool.drain()
  })

  it('does not wedge the queue: the other waiters are still served and capacity is freed', async () => {
    const { pool, factory } = makePool({ max: 2 })
    factory.failNext = 1
    const calls = [track(pool.acquire()), track(pool.acquire()), track(pool.acquire())]
    await settle()
    expect(calls.map((c) => c.state)).toEqual(['rejected', 'resolved', 'resolved'])
    expect(pool.stats()).toMatchObject({ size: 2, inUse: 2, pending: 0 })
    await pool.drain({ timeoutMs: 0 })
  })

  it('lets every waiter fail fast when the server is down, instead of timing out', async () => {
    const { pool, factory } = makePool({ max: 2, acquireTimeoutMs: 60_000 })
    factory.failNext = 100
    const calls = Array.from({ length: 5 }, () => track(pool.acquire()))
    await settle(100)
    expect(calls.every((c) => c.state === 'rejected' && c.error instanceof PoolCreateError)).toBe(true)
    expect(pool.stats()).toMatchObject({ size: 0, pending: 0, timeouts: 0 })
    factory.failNext = 0
    const thing = await pool.acquire()
    pool.release(thing)
    await pool.drain()
  })

  it('retries per createRetry before giving up, and reports the attempts', async () => {
    const { pool, factory } = makePool({ createRetry: { maxAttempts: 3, baseDelayMs: 10 } })
    factory.failNext = 3
    const call = track(pool.acquire())
    await vi.advanceTimersByTimeAsync(1_000)
    expect(call.state).toBe('rejected')
    expect(factory.signals).toHaveLength(3)
    expect((call.error as PoolCreateError).attempts).toBe(3)
    await pool.drain()
  })

  it('succeeds when a retry works', async () => {
    const { pool, factory } = makePool({ createRetry: { maxAttempts: 3, baseDelayMs: 10 } })
    factory.failNext = 2
    const call = track(pool.acquire())
    await vi.advanceTimersByTimeAsync(1_000)
    expect(call.state).toBe('resolved')
    pool.release(call.value!)
    await pool.drain()
  })

  it('does not retry a Tessera error marked not retryable', async () => {
    const { pool, factory } = makePool({ createRetry: { maxAttempts: 5, baseDelayMs: 10 } })
    factory.error = new TesseraError('password authentication failed', { code: '28P01', retryable: false })
    factory.failNext = 5
    const call = track(pool.acquire())
    await vi.advanceTimersByTimeAsync(1_000)
    expect(call.error).toBe(factory.error)
    expect(factory.signals).toHaveLength(1)
    await pool.drain()
  })

  it('rejects a create that returns a resource already in the pool', async () => {
    const shared = { id: 1, closed: false }
    const { pool } = makePool({ create: () => shared, max: 2 })
    const first = await pool.acquire()
    await expect(pool.acquire()).rejects.toThrow(/already in the pool; each resource must be a distinct object/)
    pool.release(first)
    await pool.drain()
  })

  it('turns a create that throws synchronously into a rejection', async () => {
    const { pool } = makePool({
      create: () => {
        throw new Error('bad host')
      },
    })
    await expect(pool.acquire()).rejects.toThrow(/bad host/)
    await pool.drain()
  })
})

describe('warm-up and min', () => {
  it('opens min resources at start without any acquire', async () => {
    const { pool, factory } = makePool({ min: 3, max: 5 })
    await settle()
    expect(factory.made).toHaveLength(3)
    expect(pool.stats()).toMatchObject({ size: 3, idle: 3 })
    await pool.drain()
  })

  it('opens a replacement when a resource is destroyed below min', async () => {
    const { pool, factory } = makePool({ min: 2, max: 5 })
    await settle()
    const thing = await pool.acquire()
    pool.release(thing, { destroy: true })
    await settle()
    expect(factory.made).toHaveLength(3)
    expect(pool.stats()).toMatchObject({ size: 2, idle: 2 })
    await pool.drain()
  })

  it('reports warm-up failures as error events, not unhandled rejections, and tries again later', async () => {
    const { pool, factory } = makePool({ min: 2 }, (factory) => {
      factory.failNext = 2
    })
    const errors: unknown[] = []
    pool.on('error', (event) => errors.push(event))
    await settle()
    expect(errors).toEqual([
      { error: factory.error, operation: 'create' },
      { error: factory.error, operation: 'create' },
    ])
    expect(pool.stats().size).toBe(0)
    // After a backoff the pool fills up to min again.
    await vi.advanceTimersByTimeAsync(1_000)
    expect(pool.stats()).toMatchObject({ size: 2, idle: 2 })
    await pool.drain()
  })

  it('backs off longer and longer while the server stays down', async () => {
    const { pool, factory } = makePool({ min: 1 }, (factory) => {
      factory.failNext = 1_000
    })
    pool.on('error', () => {})
    await vi.advanceTimersByTimeAsync(60_000)
    // Exponential backoff (100 ms doubling, capped at 30 s): around a dozen tries in a minute, not thousands.
    expect(factory.signals.length).toBeGreaterThan(3)
    expect(factory.signals.length).toBeLessThan(30)
    await pool.drain()
  })
})
