import { ConfigError, createManualClock, isTesseraError, TimeoutError } from '@tessera/core'
import { describe, expect, it, vi } from 'vitest'
import { deferred } from '../../../tooling/test-services/deferred'
import { jitteredTtl } from '../src/cache-entry'
import { createCache } from '../src/create-cache'

describe('an L1-only cache', () => {
  it('computes a value once and serves it from memory afterwards', async () => {
    const cache = createCache({ namespace: 'unit' })
    const factory = vi.fn(async () => ({ name: 'Ada' }))
    expect(await cache.getOrSet('user:1', factory)).toEqual({ name: 'Ada' })
    expect(await cache.getOrSet('user:1', factory)).toEqual({ name: 'Ada' })
    expect(factory).toHaveBeenCalledTimes(1)
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, hitRatio: 0.5, factoryCalls: 1, breaker: 'none' })
  })

  it('runs the factory once for 1,000 concurrent callers of one missing key', async () => {
    const cache = createCache()
    const gate = deferred<number>()
    const factory = vi.fn(() => gate.promise)
    const calls = Array.from({ length: 1_000 }, () => cache.getOrSet('hot', factory))
    gate.resolve(42)
    expect(new Set(await Promise.all(calls))).toEqual(new Set([42]))
    expect(factory).toHaveBeenCalledTimes(1)
    expect(cache.stats().coalesced).toBe(999)
  })

  it('expires a value after its TTL', async () => {
    const clock = createManualClock()
    const cache = createCache({ ttlMs: 1_000, jitter: 0, clock })
    await cache.set('k', 'v1')
    clock.advance(999)
    expect(await cache.get('k')).toBe('v1')
    clock.advance(1)
    expect(await cache.get('k')).toBeUndefined()
    expect(await cache.has('k')).toBe(false)
  })

  it('serves the stale value within grace when the factory fails, and reports the failure', async () => {
    const clock = createManualClock()
    const onError = vi.fn()
    const logger = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() }
    const cache = createCache({ ttlMs: 100, graceMs: 10_000, jitter: 0, clock, onError, logger })
    await cache.getOrSet('k', () => 'old')
    clock.advance(500)
    const boom = new Error('database down')
    expect(await cache.getOrSet('k', () => Promise.reject(boom))).toBe('old')
    expect(onError).toHaveBeenCalledWith(boom, expect.objectContaining({ operation: 'factory', key: 'k', staleServed: true }))
    expect(logger.warn).toHaveBeenCalled()
    expect(cache.stats()).toMatchObject({ staleServed: 1, factoryErrors: 1 })
  })

  it('passes the factory error on when there is no stale value (grace over)', async () => {
    const clock = createManualClock()
    const cache = createCache({ ttlMs: 100, graceMs: 1_000, jitter: 0, clock })
    await cache.getOrSet('k', () => 'old')
    clock.advance(1_200)
    await expect(cache.getOrSet('k', () => Promise.reject(new Error('down')))).rejects.toThrow('down')
  })

  it('with softTimeoutMs 0 returns the stale value at once and refreshes in the background', async () => {
    const clock = createManualClock()
    const cache = createCache({ ttlMs: 100, graceMs: 10_000, jitter: 0, clock })
    await cache.getOrSet('k', () => 'v1')
    clock.advance(200)
    const refresh = deferred<string>()
    expect(await cache.getOrSet('k', () => refresh.promise, { softTimeoutMs: 0 })).toBe('v1')
    refresh.resolve('v2')
    await vi.waitFor(async () => expect(await cache.get('k')).toBe('v2'))
    expect(cache.stats().staleServed).toBe(1)
  })

  it('serves the stale value after softTimeoutMs while a slow factory is still running', async () => {
    const clock = createManualClock()
    const cache = createCache({ ttlMs: 100, graceMs: 10_000, jitter: 0, clock })
    await cache.getOrSet('k', () => 'v1')
    clock.advance(200)
    const slow = deferred<string>()
    const result = cache.getOrSet('k', () => slow.promise, { softTimeoutMs: 20 })
    expect(await result).toBe('v1')
    slow.resolve('v2')
    await vi.waitFor(async () => expect(await cache.get('k')).toBe('v2'))
  })

  it('fails with TimeoutError after hardTimeoutMs, and the late value still fills the cache', async () => {
    const cache = createCache()
    const slow = deferred<string>()
    const started = Date.now()
    const error = await cache.getOrSet('k', () => slow.promise, { hardTimeoutMs: 30 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TimeoutError)
    expect(Date.now() - started).toBeLessThan(5_000)
    slow.resolve('late')
    await vi.waitFor(async () => expect(await cache.get('k')).toBe('late'))
    expect(cache.stats().hardTimeouts).toBe(1)
  })

  it('does not cache undefined unless negativeTtlMs is set', async () => {
    const plain = createCache()
    const factory = vi.fn(async () => undefined)
    await plain.getOrSet('missing', factory)
    await plain.getOrSet('missing', factory)
    expect(factory).toHaveBeenCalledTimes(2)

    const negative = createCache({ negativeTtlMs: 1_000 })
    const counted = vi.fn(async () => undefined)
    await negative.getOrSet('missing', counted)
    await negative.getOrSet('missing', counted)
    expect(counted).toHaveBeenCalledTimes(1)
    expect(await negative.has('missing')).toBe(true)
  })

  it('caches null like any other value', async () => {
    const cache = createCache()
    const factory = vi.fn(async () => null)
    await cache.getOrSet('n', factory)
    expect(await cache.getOrSet('n', factory)).toBeNull()
    expect(factory).toHaveBeenCalledTimes(1)
  })

  it('deleteByTag drops every entry carrying the tag and keeps the others', async () => {
    const cache = createCache()
    await cache.set('a', 1, { tags: ['users'] })
    await cache.set('b', 2, { tags: ['users', 'orgs'] })
    await cache.set('c', 3, { tags: ['orgs'] })
    await cache.deleteByTag('users')
    expect(await cache.getMany(['a', 'b', 'c'])).toEqual([undefined, undefined, 3])
    const factory = vi.fn(async () => 'fresh')
    expect(await cache.getOrSet('a', factory, { tags: ['users'] })).toBe('fresh')
    expect(await cache.getOrSet('a', factory, { tags: ['users'] })).toBe('fresh')
    expect(factory).toHaveBeenCalledTimes(1)
  })

  it('a value computed while its tag was invalidated is not served afterwards', async () => {
    const cache = createCache()
    const gate = deferred<string>()
    const pending = cache.getOrSet('k', () => gate.promise, { tags: ['t'] })
    await new Promise((resolve) => setTimeout(resolve, 5))
    await cache.deleteByTag('t')
    gate.resolve('computed before the invalidation')
    await pending
    expect(await cache.get('k')).toBeUndefined()
  })

  it('keeps namespaces apart, and clear() empties one namespace (and its children) only', async () => {
    const root = createCache({ namespace: 'app' })
    const users = root.namespace('users')
    const orgs = root.namespace('orgs')
    await root.set('users::1', 'root value')
    await users.set('1', 'user 1')
    await orgs.set('1', 'org 1')
    expect(await root.get('users::1')).toBe('root value')
    expect(await users.get('1')).toBe('user 1')
    await users.clear()
    expect(await users.get('1')).toBeUndefined()
    expect(await orgs.get('1')).toBe('org 1')
    expect(await root.get('users::1')).toBe('root value')
    await root.clear()
    expect(await orgs.get('1')).toBeUndefined()
  })

  it('getMany, setMany, deleteMany and warm work on many keys at once', async () => {
    const cache = createCache()
    await cache.setMany([
      { key: 'a', value: 1 },
      { key: 'b', value: 2 },
    ])
    expect(await cache.warm(() => [{ key: 'c', value: 3 }])).toBe(1)
    expect(await cache.getMany(['a', 'b', 'c', 'd'])).toEqual([1, 2, 3, undefined])
    await cache.deleteMany(['a', 'c'])
    expect(await cache.getMany(['a', 'b', 'c'])).toEqual([undefined, 2, undefined])
  })

  it('evicts the least recently used entries beyond maxEntries', async () => {
    const cache = createCache({ l1: { maxEntries: 2 } })
    await cache.set('a', 1)
    await cache.set('b', 2)
    await cache.get('a')
    await cache.set('c', 3)
    expect(await cache.getMany(['a', 'b', 'c'])).toEqual([1, undefined, 3])
  })

  it('refuses bad input with a ConfigError naming the value, and stores nothing', async () => {
    const cache = createCache()
    await expect(cache.getOrSet('', () => 1)).rejects.toThrow(ConfigError)
    await expect(cache.getOrSet(42 as unknown as string, () => 1)).rejects.toThrow(/got 42/)
    await expect(cache.getOrSet('k', 'nope' as unknown as () => number)).rejects.toThrow(/factory must be a function, got "nope"/)
    await expect(cache.set('k', 1, { ttlMs: -5 })).rejects.toThrow(/ttlMs must be a finite number > 0 or Infinity \(forever\), got -5/)
    await expect(cache.getOrSet('k', () => 1, { tags: [''] })).rejects.toThrow(ConfigError)
    await expect(cache.deleteByTag([])).rejects.toThrow(ConfigError)
    expect(() => cache.namespace('a:b')).toThrow(/without ":"/)
    expect(await cache.has('k')).toBe(false)
  })

  it('lists every bad option at once', () => {
    const error = (() => {
      try {
        createCache({ ttlMs: -1, jitter: 2, l1: { maxEntries: 0 }, namespace: 'a:b' })
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).problems).toHaveLength(4)
    expect(() => createCache({ l1: false })).toThrow(/nowhere to cache/)
    expect(() => createCache({ bus: true })).toThrow(/bus needs l2/)
  })

  it('rejects calls after close()', async () => {
    const cache = createCache()
    await cache.close()
    const error = await cache.get('k').catch((e: unknown) => e)
    expect(isTesseraError(error) && error.code).toBe('CACHE_CLOSED')
  })

  it('`await using` closes the cache at the end of the scope', async () => {
    const cache = createCache()
    {
      await using scoped = cache
      await scoped.set('k', 1)
    }
    const error = await cache.get('k').catch((e: unknown) => e)
    expect(isTesseraError(error) && error.code).toBe('CACHE_CLOSED')
  })
})

describe('jitteredTtl', () => {
  it('stays within ±jitter of the TTL and spreads values', () => {
    const seen = new Set<number>()
    for (let i = 0; i < 1_000; i++) {
      const ttl = jitteredTtl(10_000, 0.1)
      expect(ttl).toBeGreaterThanOrEqual(9_000)
      expect(ttl).toBeLessThanOrEqual(11_000)
      seen.add(ttl)
    }
    expect(seen.size).toBeGreaterThan(100)
    expect(jitteredTtl(10_000, 0, () => 0)).toBe(10_000)
    expect(jitteredTtl(10_000, 0.1, () => 0)).toBe(9_000)
    expect(jitteredTtl(10_000, 0.1, () => 1)).toBe(11_000)
  })
})
