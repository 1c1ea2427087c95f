import { ConfigError, createManualClock, TimeoutError } from '@tessera/core'
import { describe, expect, it } from 'vitest'
import { createCache } from '../src/create-cache'
import { TagVersions } from '../src/tag-versions'

describe('getMany', () => {
  it('returns undefined (not a hole) for every miss', async () => {
    const cache = createCache({ namespace: 'app' })
    await cache.set('b', 2)
    const values = await cache.getMany(['a', 'b', 'c'])
    expect(values).toEqual([undefined, 2, undefined])
    expect(0 in values).toBe(true)
    expect(2 in values).toBe(true)
    expect(Object.keys(values)).toEqual(['0', '1', '2'])
  })
})

describe('tags given as one string', () => {
  it('are accepted by getOrSet and set the same way deleteByTag accepts them', async () => {
    const cache = createCache({ namespace: 'app' })
    expect(await cache.getOrSet('a', () => 1, { tags: 'users' })).toBe(1)
    await cache.set('b', 2, { tags: 'users' })
    await cache.setMany([{ key: 'c', value: 3, tags: 'users' }])
    await cache.deleteByTag('users')
    expect(await cache.getMany(['a', 'b', 'c'])).toEqual([undefined, undefined, undefined])
  })
})

describe('unknown options', () => {
  it('createCache rejects them with a ConfigError listing every one', () => {
    const make = () => createCache({ namespace: 'app', ttl: 1000, l1: { maxEntries: 5, maxSize: 3 }, lock: { timeout: 1 } } as never)
    expect(make).toThrow(ConfigError)
    expect(make).toThrow(/unknown option "ttl".*ttlMs/s)
    expect(make).toThrow(/unknown option "l1\.maxSize"/)
    expect(make).toThrow(/unknown option "lock\.timeout"/)
  })

  it('getOrSet and set reject them', async () => {
    const cache = createCache({ namespace: 'app' })
    await expect(cache.getOrSet('a', () => 1, { ttl: 5 } as never)).rejects.toThrow(/unknown option "ttl"/)
    await expect(cache.set('a', 1, { grace: 5 } as never)).rejects.toThrow(/unknown option "grace"/)
    expect(await cache.get('a')).toBeUndefined()
  })
})

describe('a factory that never settles', () => {
  it('stops being joined after its hard timeout, and is told to stop through its AbortSignal', async () => {
    const cache = createCache({ namespace: 'app', hardTimeoutMs: 50 })
    let aborted: unknown
    const stuck = cache.getOrSet('k', ({ signal }) => {
      signal.addEventListener('abort', () => {
        aborted = signal.reason
      })
      return new Promise<number>(() => {})
    })
    await expect(stuck).rejects.toThrow(TimeoutError)
    expect(aborted).toBeInstanceOf(TimeoutError)
    // A later call starts a new flight instead of joining the dead one.
    expect(await cache.getOrSet('k', () => 42)).toBe(42)
    expect(cache.stats().factoryCalls).toBe(2)
  })
})

describe('tag versions in memory', () => {
  it('stay bounded however many tags are used', async () => {
    const versions = new TagVersions(undefined, (tag) => tag, { now: () => 0 }, 1_000, 100)
    for (let i = 0; i < 1_000; i++) await versions.bump([`user:${i}`], 'delete')
    expect(versions.size).toBe(100)
  })
})

describe('graceBackoffMs', () => {
  it('serves the stale value as fresh for a while after a failure instead of re-running the failing factory', async () => {
    const clock = createManualClock({ startMs: 1_000_000 })
    const cache = createCache({ namespace: 'app', clock, ttlMs: 100, jitter: 0, graceMs: 60_000, graceBackoffMs: 5_000 })
    await cache.getOrSet('k', () => 'v1')
    clock.advance(200)
    let calls = 0
    const failing = () => {
      calls++
      throw new Error('down')
    }
    expect(await cache.getOrSet('k', failing)).toBe('v1')
    expect(await cache.getOrSet('k', failing)).toBe('v1')
    expect(calls).toBe(1)
    clock.advance(5_001)
    expect(await cache.getOrSet('k', failing)).toBe('v1')
    expect(calls).toBe(2)
  })
})

describe('the factory context', () => {
  it('skip(value) returns the value without caching it', async () => {
    const cache = createCache({ namespace: 'app' })
    expect(await cache.getOrSet('k', (ctx) => ctx.skip('partial'))).toBe('partial')
    expect(await cache.get('k')).toBeUndefined()
    expect(await cache.getOrSet('k', () => 'full')).toBe('full')
  })

  it('fail(reason) fails the run and the stale value is served', async () => {
    const clock = createManualClock({ startMs: 1_000_000 })
    const cache = createCache({ namespace: 'app', clock, ttlMs: 100, jitter: 0, graceMs: 60_000 })
    await expect(cache.getOrSet('k', (ctx) => ctx.fail('upstream said 503'))).rejects.toThrow(/upstream said 503/)
    await cache.getOrSet('k', () => 'v1')
    clock.advance(200)
    expect(await cache.getOrSet('k', (ctx) => ctx.fail('upstream said 503'))).toBe('v1')
  })

  it('setOptions({ ttlMs }) sets the TTL from the value, and refuses tags', async () => {
    const clock = createManualClock({ startMs: 1_000_000 })
    const cache = createCache({ namespace: 'app', clock, ttlMs: 60_000, jitter: 0 })
    await cache.getOrSet('k', (ctx) => {
      ctx.setOptions({ ttlMs: 100 })
      return 'short-lived'
    })
    clock.advance(200)
    expect(await cache.get('k')).toBeUndefined()
    await expect(
      cache.getOrSet('t', (ctx) => {
        ctx.setOptions({ tags: ['x'] } as never)
        return 1
      }),
    ).rejects.toThrow(/tags cannot change once the factory runs/)
  })

  it('forceFresh runs the factory even when a fresh value is cached, and stores the result', async () => {
    const cache = createCache({ namespace: 'app' })
    await cache.getOrSet('k', () => 'old')
    expect(await cache.getOrSet('k', () => 'new', { forceFresh: true })).toBe('new')
    expect(await cache.get('k')).toBe('new')
  })
})

describe('expire', () => {
  it('ends freshness but keeps the grace copy for a failing factory', async () => {
    const cache = createCache({ namespace: 'app', ttlMs: 60_000, graceMs: 60_000 })
    await cache.set('k', 'old')
    await cache.expire('k')
    expect(await cache.get('k')).toBeUndefined()
    expect(
      await cache.getOrSet('k', () => {
        throw new Error('source down')
      }),
    ).toBe('old')
    expect(await cache.getOrSet('k', () => 'new')).toBe('new')
  })
})

describe('expireByTag', () => {
  it('ends the freshness of tagged entries but keeps them as grace copies; deleteByTag still removes them', async () => {
    const cache = createCache({ namespace: 'app', ttlMs: 60_000, graceMs: 60_000 })
    await cache.getOrSet('a', () => 'old a', { tags: ['t'] })
    await cache.getOrSet('b', () => 'b', { tags: ['other'] })
    await cache.expireByTag('t')
    expect(await cache.get('a')).toBeUndefined()
    expect(await cache.get('b')).toBe('b')
    const failing = () => {
      throw new Error('source down')
    }
    expect(await cache.getOrSet('a', failing, { tags: ['t'] })).toBe('old a')
    expect(await cache.getOrSet('a', () => 'new a', { tags: ['t'] })).toBe('new a')
    expect(await cache.get('a')).toBe('new a')
    await cache.deleteByTag('t')
    await expect(cache.getOrSet('a', failing, { tags: ['t'] })).rejects.toThrow('source down')
  })
})

describe('ttlMs: Infinity', () => {
  it('keeps a value until it is deleted', async () => {
    const clock = createManualClock({ startMs: 1_000_000 })
    const cache = createCache({ namespace: 'app', clock, ttlMs: Number.POSITIVE_INFINITY })
    await cache.getOrSet('a', () => 'forever')
    await cache.set('b', 'also forever')
    clock.advance(10 * 365 * 24 * 3_600_000)
    expect(await cache.getMany(['a', 'b'])).toEqual(['forever', 'also forever'])
    await cache.delete('a')
    expect(await cache.get('a')).toBeUndefined()
    expect(() => createCache({ ttlMs: Number.NaN })).toThrow(/ttlMs must be a finite number > 0 or Infinity/)
  })
})

describe('checkValue', () => {
  const userV2 = {
    '~standard': {
      version: 1 as const,
      vendor: 'test',
      validate: (value: unknown) =>
        typeof value === 'object' && value !== null && 'email' in value ? { value } : { issues: [{ message: 'email is missing' }] },
    },
  }

  it('treats a cached value of an older shape as a miss and recomputes it', async () => {
    const cache = createCache({ namespace: 'app' })
    await cache.set('u', { name: 'ada' }) // written by the previous release
    expect(await cache.getOrSet('u', () => ({ name: 'ada', email: 'ada@example.com' }), { checkValue: userV2 })).toEqual({
      name: 'ada',
      email: 'ada@example.com',
    })
    expect(cache.stats().checkFailures).toBe(1)
    let calls = 0
    await cache.getOrSet('u', () => ++calls, { checkValue: userV2 })
    expect(calls).toBe(0) // the new value passes
    await expect(cache.getOrSet('u', () => 1, { checkValue: {} as never })).rejects.toThrow(/checkValue must be a Standard Schema/)
  })
})

describe('refreshAheadMs', () => {
  it('refreshes a hot key in the background before it expires, so no caller waits for the factory', async () => {
    const clock = createManualClock({ startMs: 1_000_000 })
    const cache = createCache({ namespace: 'app', clock, ttlMs: 1_000, jitter: 0, refreshAheadMs: 200 })
    let version = 0
    const factory = async () => `v${++version}`
    expect(await cache.getOrSet('k', factory)).toBe('v1')
    clock.advance(500)
    expect(await cache.getOrSet('k', factory)).toBe('v1')
    expect(version).toBe(1) // not yet within 200 ms of expiry
    clock.advance(400)
    expect(await cache.getOrSet('k', factory)).toBe('v1') // served at once, refresh started
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(version).toBe(2)
    clock.advance(300) // past the first value's expiry
    expect(await cache.getOrSet('k', factory)).toBe('v2')
    expect(version).toBe(2)
    expect(cache.stats().refreshesAhead).toBe(1)
  })
})
