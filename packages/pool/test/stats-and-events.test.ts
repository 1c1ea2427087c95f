import { ConfigError } from '@tessera/core'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { makePool, settle, type Thing, track } from './fake-resources'

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('stats', () => {
  it('reports sizes, counters and limits', async () => {
    const { pool } = makePool({ min: 1, max: 3, acquireTimeoutMs: 100 })
    await settle()
    expect(pool.stats()).toEqual({
      size: 1,
      idle: 1,
      inUse: 0,
      pending: 0,
      max: 3,
      min: 1,
      created: 1,
      destroyed: 0,
      timeouts: 0,
      acquired: 0,
      waitMs: { p50: 0, p99: 0, max: 0 },
    })
    const held = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()])
    const late = track(pool.acquire())
    expect(pool.stats()).toMatchObject({ size: 3, idle: 0, inUse: 3, pending: 1, created: 3, acquired: 3 })
    await vi.advanceTimersByTimeAsync(100)
    expect(late.state).toBe('rejected')
    pool.release(held[0]!, { destroy: true })
    expect(pool.stats()).toMatchObject({ size: 2, inUse: 2, pending: 0, destroyed: 1, timeouts: 1 })
    for (const thing of held.slice(1)) pool.release(thing)
    await pool.drain()
  })

  it('reports percentiles of recent acquire waits', async () => {
    const { pool } = makePool({ max: 1 })
    const holder = await pool.acquire()
    const waiting = pool.acquire()
    await vi.advanceTimersByTimeAsync(250)
    pool.release(holder)
    pool.release(await waiting)
    for (let i = 0; i < 8; i++) pool.release(await pool.acquire())
    // Ten acquires: nine found an idle resource (0 ms), one waited 250 ms.
    expect(pool.stats().waitMs).toEqual({ p50: 0, p99: 250, max: 250 })
    await pool.drain()
  })
})

describe('events', () => {
  it('emits create, acquire, release and destroy with their details', async () => {
    const { pool } = makePool({ max: 1 })
    const seen: string[] = []
    pool.on('create', ({ resource }) => seen.push(`create ${resource.id}`))
    pool.on('acquire', ({ resource, waitedMs }) => seen.push(`acquire ${resource.id} after ${waitedMs}`))
    pool.on('release', ({ resource, heldMs, destroyed }) => seen.push(`release ${resource.id} held ${heldMs} destroyed ${destroyed}`))
    pool.on('destroy', ({ resource, reason }) => seen.push(`destroy ${resource.id} ${reason}`))
    const thing = await pool.acquire()
    await vi.advanceTimersByTimeAsync(40)
    pool.release(thing, { destroy: true })
    await pool.drain()
    expect(seen).toEqual(['create 1', 'acquire 1 after 0', 'release 1 held 40 destroyed true', 'destroy 1 error'])
  })

  it('emits timeout with the same numbers as the error', async () => {
    const { pool } = makePool({ max: 1, acquireTimeoutMs: 50 })
    const timeouts: unknown[] = []
    pool.on('timeout', (details) => timeouts.push(details))
    const holder = await pool.acquire()
    const late = pool.acquire().catch((error: unknown) => error)
    await vi.advanceTimersByTimeAsync(50)
    expect(timeouts).toEqual([{ waitedMs: 50, inUse: 1, max: 1, pending: 0 }])
    expect(await late).toMatchObject({ waitedMs: 50, inUse: 1, max: 1, pending: 0 })
    pool.release(holder)
    await pool.drain()
  })

  it('reports a destroy that fails as an error event', async () => {
    const { pool } = makePool({
      destroy: () => Promise.reject(new Error('socket already gone')),
    })
    const errors: unknown[] = []
    pool.on('error', ({ error, operation }) => errors.push([operation, (error as Error).message]))
    pool.release(await pool.acquire(), { destroy: true })
    await settle()
    expect(errors).toEqual([['destroy', 'socket already gone']])
    await pool.drain()
  })

  it('stops calling a listener after off() or the returned unsubscribe', async () => {
    const { pool } = makePool()
    const viaOff = vi.fn()
    const viaReturn = vi.fn()
    pool.on('acquire', viaOff)
    const unsubscribe = pool.on('acquire', viaReturn)
    pool.release(await pool.acquire())
    pool.off('acquire', viaOff)
    unsubscribe()
    pool.release(await pool.acquire())
    expect(viaOff).toHaveBeenCalledTimes(1)
    expect(viaReturn).toHaveBeenCalledTimes(1)
    await pool.drain()
  })

  it('keeps working when a listener throws, and surfaces the error as uncaught', async () => {
    const { pool } = makePool()
    const boom = new Error('listener bug')
    const uncaught: unknown[] = []
    const original = process.listeners('uncaughtException')
    process.removeAllListeners('uncaughtException')
    process.on('uncaughtException', (error) => uncaught.push(error))
    try {
      pool.on('acquire', () => {
        throw boom
      })
      const thing = await pool.acquire()
      pool.release(thing)
      expect(pool.stats()).toMatchObject({ idle: 1, inUse: 0 })
      await new Promise<void>((resolve) => process.nextTick(resolve))
      expect(uncaught).toEqual([boom])
    } finally {
      process.removeAllListeners('uncaughtException')
      for (const listener of original) process.on('uncaughtException', listener)
    }
    await pool.drain()
  })

  it('rejects an unknown event name with a ConfigError listing the accepted ones', () => {
    const { pool } = makePool()
    expect(() => pool.on('aquire' as 'acquire', () => {})).toThrow(ConfigError)
    expect(() => pool.on('aquire' as 'acquire', () => {})).toThrow(
      /unknown event "aquire"; accepted: create, destroy, acquire, release, timeout, leak, error/,
    )
    expect(() => pool.on('acquire', 'nope' as unknown as (payload: { resource: Thing; waitedMs: number }) => void)).toThrow(
      /listener must be a function/,
    )
  })
})
