import { isTesseraError } from '@tessera/core'
import { describe, expect, it } from 'vitest'
import { PoolReleaseError } from '../src/index'
import { makePool, settle, type Thing, track } from './fake-resources'

describe('acquire and release', () => {
  it('creates a resource on first acquire and lends the same one again after release', async () => {
    const { pool, factory } = makePool()
    const first = await pool.acquire()
    pool.release(first)
    const second = await pool.acquire()
    expect(second).toBe(first)
    expect(factory.made).toHaveLength(1)
    pool.release(second)
    await pool.drain()
  })

  it('never lends the same resource to two callers at once', async () => {
    const { pool } = makePool({ max: 3 })
    const held = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()])
    expect(new Set(held).size).toBe(3)
    for (const thing of held) pool.release(thing)
    await pool.drain()
  })

  it('never opens more than max resources, even with many callers at once', async () => {
    const { pool, factory } = makePool({ max: 2 })
    const calls = Array.from({ length: 10 }, () => track(pool.acquire()))
    await settle()
    expect(factory.made).toHaveLength(2)
    expect(calls.filter((c) => c.state === 'resolved')).toHaveLength(2)
    expect(pool.stats()).toMatchObject({ size: 2, inUse: 2, pending: 8 })
    // Releasing each resource as soon as its holder got it serves the rest, still with two resources.
    for (const call of calls) {
      await settle()
      expect(call.state).toBe('resolved')
      pool.release(call.value!)
    }
    expect(factory.made).toHaveLength(2)
    expect(pool.stats()).toMatchObject({ size: 2, idle: 2, pending: 0, acquired: 10 })
    await pool.drain()
  })

  it('counts resources still being created toward max', async () => {
    const { pool, factory } = makePool({ max: 2 })
    factory.hold = true
    const calls = [track(pool.acquire()), track(pool.acquire()), track(pool.acquire())]
    await settle()
    expect(factory.waitingCreates).toBe(2)
    expect(pool.stats().pending).toBe(3)
    factory.finishOne()
    factory.finishOne()
    await settle()
    expect(calls.map((c) => c.state)).toEqual(['resolved', 'resolved', 'pending'])
    expect(factory.waitingCreates).toBe(0)
    pool.release(calls[0]!.value!)
    await settle()
    expect(calls[2]!.state).toBe('resolved')
    await pool.drain({ timeoutMs: 0 })
  })

  it('serves waiters in the order they arrived', async () => {
    const { pool } = makePool({ max: 1 })
    const holder = await pool.acquire()
    const order: number[] = []
    const waiters = [1, 2, 3, 4].map((n) =>
      pool.acquire().then((thing) => {
        order.push(n)
        pool.release(thing)
      }),
    )
    pool.release(holder)
    await Promise.all(waiters)
    expect(order).toEqual([1, 2, 3, 4])
    await pool.drain()
  })

  it('lends the most recently released idle resource first', async () => {
    const { pool } = makePool({ max: 3 })
    const [a, b, c] = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()])
    pool.release(a!)
    pool.release(c!)
    pool.release(b!)
    expect(await pool.acquire()).toBe(b)
    await pool.drain({ timeoutMs: 0 })
  })

  it('destroys a resource released with { destroy: true } and opens a new one next time', async () => {
    const { pool, factory } = makePool()
    const first = await pool.acquire()
    pool.release(first, { destroy: true })
    await settle()
    expect(first.closed).toBe(true)
    const second = await pool.acquire()
    expect(second).not.toBe(first)
    expect(factory.made).toHaveLength(2)
    pool.release(second)
    await pool.drain()
  })

  it('serves a waiter with a new resource when a released one is destroyed', async () => {
    const { pool } = makePool({ max: 1 })
    const first = await pool.acquire()
    const waiting = pool.acquire()
    pool.release(first, { destroy: true })
    const second = await waiting
    expect(second).not.toBe(first)
    pool.release(second)
    await pool.drain()
  })
})

describe('invalid release', () => {
  it('rejects releasing the same resource twice with POOL_RELEASE_INVALID and keeps the pool intact', async () => {
    const { pool } = makePool({ max: 2 })
    const thing = await pool.acquire()
    pool.release(thing)
    const before = pool.stats()
    let error: unknown
    try {
      pool.release(thing)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(PoolReleaseError)
    expect(isTesseraError(error) && error.code).toBe('POOL_RELEASE_INVALID')
    expect((error as PoolReleaseError).reason).toBe('not-in-use')
    expect((error as Error).message).toMatch(/already released/)
    expect(pool.stats()).toEqual(before)
    // Still lends the resource once, not twice.
    const [x, y] = await Promise.all([pool.acquire(), pool.acquire()])
    expect(x).not.toBe(y)
    pool.release(x!)
    pool.release(y!)
    await pool.drain()
  })

  it('rejects releasing something the pool never lent, naming the value', async () => {
    const { pool } = makePool()
    const stranger: Thing = { id: 999, closed: false }
    expect(() => pool.release(stranger)).toThrow(/\{"id":999,"closed":false\}.*was not lent by this pool/)
    expect(pool.stats()).toMatchObject({ size: 0, idle: 0, inUse: 0 })
    await pool.drain()
  })

  it('rejects a resource from another pool', async () => {
    const one = makePool()
    const other = makePool()
    const thing = await one.pool.acquire()
    expect(() => other.pool.release(thing)).toThrow(PoolReleaseError)
    one.pool.release(thing)
    await Promise.all([one.pool.drain(), other.pool.drain()])
  })
})

describe('use', () => {
  it('returns what the function returns and releases the resource', async () => {
    const { pool } = makePool()
    const result = await pool.use((thing) => `got ${thing.id}`)
    expect(result).toBe('got 1')
    expect(pool.stats()).toMatchObject({ idle: 1, inUse: 0 })
    await pool.drain()
  })

  it('releases the resource when the function throws, and rethrows its error', async () => {
    const { pool } = makePool({ max: 1 })
    const boom = new Error('boom')
    await expect(
      pool.use(async () => {
        throw boom
      }),
    ).rejects.toBe(boom)
    expect(pool.stats()).toMatchObject({ idle: 1, inUse: 0 })
    // The single resource is usable again.
    await expect(pool.use((thing) => thing.id)).resolves.toBe(1)
    await pool.drain()
  })
})
