import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { DestroyReason } from '../src/index'
import { makePool, settle, type Thing, track } from './fake-resources'

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

function destroyReasons(pool: ReturnType<typeof makePool>['pool']): Array<[number, DestroyReason]> {
  const reasons: Array<[number, DestroyReason]> = []
  pool.on('destroy', ({ resource, reason }) => reasons.push([resource.id, reason]))
  return reasons
}

describe('idle timeout', () => {
  it('destroys resources idle longer than idleTimeoutMs, down to min', async () => {
    const { pool } = makePool({ min: 1, max: 4, idleTimeoutMs: 1_000 })
    const reasons = destroyReasons(pool)
    await settle()
    const things = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()])
    for (const thing of things) pool.release(thing)
    expect(pool.stats().idle).toBe(3)
    await vi.advanceTimersByTimeAsync(999)
    expect(pool.stats().idle).toBe(3)
    await vi.advanceTimersByTimeAsync(10)
    expect(pool.stats()).toMatchObject({ size: 1, idle: 1 })
    expect(reasons.map(([, reason]) => reason)).toEqual(['idle', 'idle'])
    await pool.drain()
  })

  it('evicts the resources idle the longest and keeps the recently used ones', async () => {
    const { pool } = makePool({ max: 3, idleTimeoutMs: 1_000 })
    const [a, b] = await Promise.all([pool.acquire(), pool.acquire()])
    pool.release(a!)
    await vi.advanceTimersByTimeAsync(600)
    pool.release(b!)
    await vi.advanceTimersByTimeAsync(500)
    expect(a!.closed).toBe(true)
    expect(b!.closed).toBe(false)
    await vi.advanceTimersByTimeAsync(600)
    expect(b!.closed).toBe(true)
    await pool.drain()
  })

  it('keeps idle resources forever when idleTimeoutMs is 0', async () => {
    const { pool } = makePool({ idleTimeoutMs: 0 })
    pool.release(await pool.acquire())
    await vi.advanceTimersByTimeAsync(3_600_000)
    expect(pool.stats().idle).toBe(1)
    await pool.drain()
  })
})

describe('max lifetime', () => {
  it('destroys an expired resource on release, never while it is in use', async () => {
    const { pool } = makePool({ maxLifetimeMs: 1_000, lifetimeJitterMs: 0, idleTimeoutMs: 0 })
    const reasons = destroyReasons(pool)
    const thing = await pool.acquire()
    await vi.advanceTimersByTimeAsync(5_000)
    expect(thing.closed).toBe(false)
    pool.release(thing)
    await settle()
    expect(thing.closed).toBe(true)
    expect(reasons).toEqual([[thing.id, 'lifetime']])
    await pool.drain()
  })

  it('destroys an expired idle resource in the background and refills min', async () => {
    const { pool, factory } = makePool({ min: 1, maxLifetimeMs: 1_000, lifetimeJitterMs: 0 })
    await settle()
    const [first] = factory.made
    await vi.advanceTimersByTimeAsync(1_100)
    expect(first!.closed).toBe(true)
    expect(factory.made).toHaveLength(2)
    expect(pool.stats()).toMatchObject({ size: 1, idle: 1 })
    await pool.drain()
  })

  it('never lends a resource past its lifetime', async () => {
    const { pool } = makePool({ maxLifetimeMs: 1_000, lifetimeJitterMs: 0 })
    const first = await pool.acquire()
    pool.release(first)
    // Before the reaper runs, the borrow itself notices the expiry. (Moving the system time fires no timer;
    // advancing by 0 only lets the event loop turn, as it would in a real program.)
    vi.setSystemTime(Date.now() + 1_000)
    await vi.advanceTimersByTimeAsync(0)
    const second = await pool.acquire()
    expect(second).not.toBe(first)
    expect(first.closed).toBe(true)
    pool.release(second)
    await pool.drain()
  })

  it('spreads the expiry of resources created together with jitter', async () => {
    const { pool } = makePool({ min: 20, max: 20, maxLifetimeMs: 10_000, lifetimeJitterMs: 5_000, idleTimeoutMs: 0 })
    const closedAt: number[] = []
    const start = Date.now()
    pool.on('destroy', ({ reason }) => {
      if (reason === 'lifetime') closedAt.push(Date.now() - start)
    })
    await settle()
    await vi.advanceTimersByTimeAsync(10_100)
    const first20 = closedAt.slice(0, 20)
    expect(first20).toHaveLength(20)
    expect(Math.min(...first20)).toBeGreaterThanOrEqual(5_000)
    expect(Math.max(...first20)).toBeLessThanOrEqual(10_001)
    // Not all at the same instant.
    expect(new Set(first20).size).toBeGreaterThan(5)
    await pool.drain()
  })
})

describe('max uses', () => {
  it('destroys a resource after it has been lent maxUses times', async () => {
    const { pool } = makePool({ maxUses: 3 })
    const reasons = destroyReasons(pool)
    const seen: Thing[] = []
    for (let i = 0; i < 4; i++) {
      const thing = await pool.acquire()
      seen.push(thing)
      pool.release(thing)
    }
    expect(seen[0]).toBe(seen[2])
    expect(seen[3]).not.toBe(seen[0])
    expect(reasons).toEqual([[seen[0]!.id, 'lifetime']])
    await pool.drain()
  })
})

describe('validate', () => {
  it('replaces an idle resource that fails validation on borrow', async () => {
    const bad = new Set<number>()
    const { pool } = makePool({ validate: (thing) => !bad.has(thing.id) })
    const reasons = destroyReasons(pool)
    const first = await pool.acquire()
    pool.release(first)
    bad.add(first.id)
    const second = await pool.acquire()
    expect(second).not.toBe(first)
    expect(reasons).toEqual([[first.id, 'invalid']])
    pool.release(second)
    await pool.drain()
  })

  it('waits for an async validation and lends the resource when it passes', async () => {
    const validate = vi.fn(async (_thing: Thing) => true)
    const { pool } = makePool({ validate })
    const first = await pool.acquire()
    pool.release(first)
    expect(await pool.acquire()).toBe(first)
    // Fresh resources are not validated; a reused idle one is.
    expect(validate).toHaveBeenCalledTimes(1)
    pool.release(first)
    await pool.drain()
  })

  it('treats a validate that throws as a failed validation and reports it', async () => {
    const { pool } = makePool({
      validate: () => {
        throw new Error('ping failed')
      },
    })
    const errors: unknown[] = []
    pool.on('error', ({ error, operation }) => errors.push([operation, (error as Error).message]))
    const first = await pool.acquire()
    pool.release(first)
    const second = await pool.acquire()
    expect(second).not.toBe(first)
    expect(errors).toEqual([['validate', 'ping failed']])
    pool.release(second)
    await pool.drain()
  })

  it('skips validation of resources idle less than validateAfterIdleMs', async () => {
    const validate = vi.fn((_thing: Thing) => true)
    const { pool } = makePool({ validate, validateAfterIdleMs: 5_000, idleTimeoutMs: 0 })
    const thing = await pool.acquire()
    pool.release(thing)
    pool.release(await pool.acquire())
    expect(validate).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(5_000)
    pool.release(await pool.acquire())
    expect(validate).toHaveBeenCalledTimes(1)
    await pool.drain()
  })

  it('does not open extra resources for a waiter while a validation is in flight', async () => {
    let pass: (ok: boolean) => void = () => {}
    const { pool, factory } = makePool({ validate: () => new Promise<boolean>((resolve) => (pass = resolve)) })
    pool.release(await pool.acquire())
    const call = track(pool.acquire())
    await settle()
    expect(factory.made).toHaveLength(1)
    pass(true)
    await settle()
    expect(call.state).toBe('resolved')
    pool.release(call.value!)
    await pool.drain()
  })
})

describe('reset', () => {
  it('runs reset on release before the resource is lent again', async () => {
    const events: string[] = []
    const { pool } = makePool({
      reset: async (thing) => {
        events.push(`reset ${thing.id}`)
      },
      max: 1,
    })
    const thing = await pool.acquire()
    const waiting = pool.acquire().then((t) => events.push(`lent ${t.id}`))
    pool.release(thing)
    await waiting
    expect(events).toEqual(['reset 1', 'lent 1'])
    await pool.drain({ timeoutMs: 0 })
  })

  it('destroys a resource whose reset fails and reports the error', async () => {
    const { pool } = makePool({
      reset: () => Promise.reject(new Error('cannot discard')),
    })
    const reasons = destroyReasons(pool)
    const errors: string[] = []
    pool.on('error', ({ operation }) => errors.push(operation))
    const thing = await pool.acquire()
    pool.release(thing)
    await settle()
    expect(reasons).toEqual([[thing.id, 'error']])
    expect(errors).toEqual(['reset'])
    expect(pool.stats().size).toBe(0)
    await pool.drain()
  })
})
