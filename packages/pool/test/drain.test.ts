import { AbortError } from '@tessera/core'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { PoolClosedError } from '../src/index'
import { makePool, settle, track } from './fake-resources'

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('drain', () => {
  it('destroys idle resources and resolves when none is lent', async () => {
    const { pool, factory } = makePool({ min: 2 })
    await settle()
    await pool.drain()
    expect(factory.destroyed).toHaveLength(2)
    expect(pool.stats()).toMatchObject({ size: 0, idle: 0, inUse: 0 })
  })

  it('rejects acquires after drain with PoolClosedError (code POOL_CLOSED)', async () => {
    const { pool } = makePool({ name: 'orders' })
    await pool.drain()
    const error = await pool.acquire().catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(PoolClosedError)
    expect((error as PoolClosedError).code).toBe('POOL_CLOSED')
    expect((error as Error).message).toMatch(/pool "orders" is closed/)
  })

  it('`await using` drains the pool at the end of the scope', async () => {
    const { pool, factory } = makePool({ min: 2 })
    await settle()
    {
      await using scoped = pool
      expect(scoped.stats().idle).toBe(2)
    }
    expect(factory.destroyed).toHaveLength(2)
    const error = await pool.acquire().catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(PoolClosedError)
  })

  it('rejects the callers still queued', async () => {
    const { pool } = makePool({ max: 1 })
    const holder = await pool.acquire()
    const queued = [track(pool.acquire()), track(pool.acquire())]
    const drained = pool.drain()
    await settle()
    expect(queued.every((c) => c.state === 'rejected' && c.error instanceof PoolClosedError)).toBe(true)
    expect((queued[0]!.error as Error).message).toMatch(/is draining/)
    pool.release(holder)
    await drained
  })

  it('waits for lent resources to come back, then destroys them', async () => {
    const { pool } = makePool()
    const thing = await pool.acquire()
    const drained = track(pool.drain({ timeoutMs: 10_000 }))
    await vi.advanceTimersByTimeAsync(5_000)
    expect(drained.state).toBe('pending')
    expect(thing.closed).toBe(false)
    pool.release(thing)
    await settle()
    expect(thing.closed).toBe(true)
    expect(drained.state).toBe('resolved')
  })

  it('destroys resources still lent after timeoutMs, and accepts their late release quietly', async () => {
    const { pool } = makePool()
    const reasons: string[] = []
    pool.on('destroy', ({ reason }) => reasons.push(reason))
    const thing = await pool.acquire()
    const drained = track(pool.drain({ timeoutMs: 1_000 }))
    await vi.advanceTimersByTimeAsync(1_000)
    expect(drained.state).toBe('resolved')
    expect(thing.closed).toBe(true)
    expect(reasons).toEqual(['drain'])
    expect(() => pool.release(thing)).not.toThrow()
    // Only once: a second release is a real mistake.
    expect(() => pool.release(thing)).toThrow(/was not lent by this pool/)
  })

  it('aborts creates in flight and destroys what they still deliver', async () => {
    const { pool, factory } = makePool()
    factory.hold = true
    const call = track(pool.acquire())
    await settle()
    const drained = track(pool.drain())
    await settle()
    expect(call.error).toBeInstanceOf(PoolClosedError)
    expect(factory.signals[0]!.aborted).toBe(true)
    expect(drained.state).toBe('pending')
    factory.finishOne()
    await settle()
    expect(factory.destroyed).toHaveLength(1)
    expect(drained.state).toBe('resolved')
  })

  it('returns the same promise when called twice', async () => {
    const { pool } = makePool()
    const thing = await pool.acquire()
    const first = pool.drain()
    expect(pool.drain()).toBe(first)
    pool.release(thing)
    await first
  })

  it('leaves no timer running once drained', async () => {
    const { pool } = makePool({ min: 1, maxLifetimeMs: 60_000, leakDetectionMs: 1_000 })
    await settle()
    const thing = await pool.acquire()
    const drained = pool.drain()
    pool.release(thing)
    await drained
    await vi.advanceTimersByTimeAsync(0)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('reports a closed pool ahead of an already aborted signal', async () => {
    const { pool } = makePool()
    await expect(pool.acquire({ signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError)
    await pool.drain()
    await expect(pool.acquire({ signal: AbortSignal.abort() })).rejects.toBeInstanceOf(PoolClosedError)
  })
})
