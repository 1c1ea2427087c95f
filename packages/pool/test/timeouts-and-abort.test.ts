import { AbortError, ConfigError, PoolTimeoutError } from '@tessera/core'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { makePool, settle, track } from './fake-resources'

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('acquire deadline', () => {
  it('rejects with PoolTimeoutError carrying the wait, the pool usage and the queue length', async () => {
    const { pool } = makePool({ max: 2, acquireTimeoutMs: 1_000 })
    const held = await Promise.all([pool.acquire(), pool.acquire()])
    const first = track(pool.acquire())
    await vi.advanceTimersByTimeAsync(500)
    const second = track(pool.acquire())
    await vi.advanceTimersByTimeAsync(500)
    expect(first.state).toBe('rejected')
    expect(second.state).toBe('pending')
    const error = first.error as PoolTimeoutError
    expect(error).toBeInstanceOf(PoolTimeoutError)
    expect(error.code).toBe('POOL_TIMEOUT')
    expect(error.retryable).toBe(true)
    expect(error.waitedMs).toBe(1_000)
    expect(error.inUse).toBe(2)
    expect(error.max).toBe(2)
    expect(error.pending).toBe(1)
    expect(error.message).toBe('acquire timed out after 1000 ms (2/2 connections in use, 1 waiting)')
    await vi.advanceTimersByTimeAsync(500)
    expect(second.state).toBe('rejected')
    expect(pool.stats()).toMatchObject({ pending: 0, timeouts: 2 })
    for (const thing of held) pool.release(thing)
    await pool.drain()
  })

  it('takes a per-call timeoutMs over the pool default', async () => {
    const { pool } = makePool({ max: 1, acquireTimeoutMs: 60_000 })
    const holder = await pool.acquire()
    const quick = track(pool.acquire({ timeoutMs: 100 }))
    const slow = track(pool.acquire())
    await vi.advanceTimersByTimeAsync(100)
    expect(quick.state).toBe('rejected')
    expect(slow.state).toBe('pending')
    // The slow waiter moved to the head of the queue and gets the resource.
    pool.release(holder)
    await settle()
    expect(slow.state).toBe('resolved')
    pool.release(slow.value!)
    await pool.drain()
  })

  it('waits forever when timeoutMs is 0', async () => {
    const { pool } = makePool({ max: 1, acquireTimeoutMs: 0 })
    const holder = await pool.acquire()
    const waiting = track(pool.acquire())
    await vi.advanceTimersByTimeAsync(24 * 3_600_000)
    expect(waiting.state).toBe('pending')
    pool.release(holder)
    await settle()
    expect(waiting.state).toBe('resolved')
    pool.release(waiting.value!)
    await pool.drain()
  })

  it('does not hand a resource to a waiter that already timed out', async () => {
    const { pool } = makePool({ max: 1, acquireTimeoutMs: 100 })
    const holder = await pool.acquire()
    const late = track(pool.acquire())
    await vi.advanceTimersByTimeAsync(100)
    expect(late.state).toBe('rejected')
    pool.release(holder)
    expect(pool.stats()).toMatchObject({ idle: 1, inUse: 0, pending: 0 })
    await pool.drain()
  })

  it('leaves no timer behind once the queue is empty', async () => {
    const { pool } = makePool({ max: 1, idleTimeoutMs: 0 })
    const holder = await pool.acquire()
    const waiting = pool.acquire()
    // Turning the event loop runs the clock's one-off immediate; what stays is the deadline timer.
    await vi.advanceTimersByTimeAsync(0)
    expect(vi.getTimerCount()).toBe(1)
    pool.release(holder)
    pool.release(await waiting)
    await vi.advanceTimersByTimeAsync(0)
    expect(vi.getTimerCount()).toBe(0)
    await pool.drain()
  })

  it('rejects an invalid per-call timeoutMs with a ConfigError naming the value', async () => {
    const { pool } = makePool()
    await expect(pool.acquire({ timeoutMs: -5 })).rejects.toThrow(ConfigError)
    await expect(pool.acquire({ timeoutMs: Number.NaN })).rejects.toThrow(/timeoutMs must be .* got NaN/)
    expect(pool.stats().acquired).toBe(0)
    await pool.drain()
  })
})

describe('abort signal', () => {
  it('rejects at once with AbortError and leaves the queue when the signal aborts', async () => {
    const { pool } = makePool({ max: 1 })
    const holder = await pool.acquire()
    const controller = new AbortController()
    const aborted = track(pool.acquire({ signal: controller.signal }))
    const next = track(pool.acquire())
    expect(pool.stats().pending).toBe(2)
    controller.abort(new Error('user went away'))
    await settle()
    expect(aborted.state).toBe('rejected')
    expect(aborted.error).toBeInstanceOf(AbortError)
    expect((aborted.error as AbortError).cause).toEqual(new Error('user went away'))
    expect(pool.stats().pending).toBe(1)
    // The next waiter is served, the aborted one never is.
    pool.release(holder)
    await settle()
    expect(next.state).toBe('resolved')
    expect(next.value).toBe(holder)
    pool.release(next.value!)
    await pool.drain()
  })

  it('rejects without waiting when the signal is already aborted, even with idle resources', async () => {
    const { pool } = makePool()
    pool.release(await pool.acquire())
    await expect(pool.acquire({ signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError)
    expect(pool.stats()).toMatchObject({ idle: 1, inUse: 0, acquired: 1 })
    await pool.drain()
  })

  it('stops listening to the signal once the acquire is served', async () => {
    const { pool } = makePool({ max: 1 })
    const holder = await pool.acquire()
    const controller = new AbortController()
    const waiting = pool.acquire({ signal: controller.signal })
    pool.release(holder)
    const thing = await waiting
    controller.abort()
    await settle()
    expect(pool.stats()).toMatchObject({ inUse: 1, pending: 0 })
    pool.release(thing)
    await pool.drain()
  })

  it('keeps a resource created for an aborted waiter, idle, for the next caller', async () => {
    const { pool, factory } = makePool()
    factory.hold = true
    const controller = new AbortController()
    const aborted = track(pool.acquire({ signal: controller.signal }))
    await settle()
    controller.abort()
    factory.finishOne()
    await settle()
    expect(aborted.state).toBe('rejected')
    expect(pool.stats()).toMatchObject({ size: 1, idle: 1, pending: 0 })
    await pool.drain()
  })
})
