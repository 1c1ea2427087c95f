import { afterAll, describe, expect, it, vi } from 'vitest'
import { type Cache, createCache } from '../src/create-cache'
import type { CacheOptions } from '../src/options'
import { Connections, commandCalls, deleteKeys, PrivateRedis, uniqueName, whenReady } from './redis-support'

const connections = new Connections()
const admin = connections.open()
const prefixes: string[] = []
const caches: Cache[] = []

/** A cache on its own connection, with a key prefix no other test uses. */
/** Connected first: a first write sent while the client still connects may time out under load, and is then repaired (deleted). */
async function makeCache(
  prefix: string,
  options: Omit<CacheOptions, 'l2'> & { l2?: Partial<NonNullable<CacheOptions['l2']>> } = {},
  url?: string,
): Promise<Cache> {
  const redis = await whenReady(connections.open(url))
  const cache = createCache({ namespace: 'app', ...options, l2: { redis, keyPrefix: prefix, ...options.l2 } })
  caches.push(cache)
  return cache
}

function newPrefix(): string {
  const prefix = `${uniqueName('cache')}:`
  prefixes.push(prefix)
  return prefix
}

afterAll(async () => {
  await Promise.all(caches.map((cache) => cache.close()))
  for (const prefix of prefixes) await deleteKeys(admin, prefix)
  await connections.closeAll()
})

describe('two instances sharing Redis', () => {
  it('reads a value another instance wrote from Redis', async () => {
    const prefix = newPrefix()
    const a = await makeCache(prefix)
    const b = await makeCache(prefix)
    await a.set('greeting', { text: 'hello', at: new Date(5) })
    expect(await b.get('greeting')).toEqual({ text: 'hello', at: new Date(5) })
    expect(b.stats().l2.hits).toBe(1)
    expect(await b.getOrSet('greeting', () => ({ text: 'not used', at: new Date(0) }))).toEqual({ text: 'hello', at: new Date(5) })
    expect(b.stats()).toMatchObject({ factoryCalls: 0, l1: { hits: 1 } })
  })

  it('drops a key from the other instance’s L1 when one instance sets or deletes it (bus)', async () => {
    const prefix = newPrefix()
    const a = await makeCache(prefix, { l1: { ttlMs: 600_000 } })
    const b = await makeCache(prefix, { l1: { ttlMs: 600_000 } })
    await Promise.all([a.ready(), b.ready()])
    await a.set('k', 'v1')
    expect(await b.get('k')).toBe('v1') // now in b's L1
    await a.set('k', 'v2')
    await vi.waitFor(async () => expect(await b.get('k')).toBe('v2'), { timeout: 5_000 })
    await a.delete('k')
    await vi.waitFor(async () => expect(await b.get('k')).toBeUndefined(), { timeout: 5_000 })
    expect(b.stats().bus.received).toBeGreaterThanOrEqual(2)
    expect(a.stats().bus.received).toBe(0) // its own messages are ignored
  })

  it('deleteByTag in one instance invalidates tagged entries in every instance', async () => {
    const prefix = newPrefix()
    const a = await makeCache(prefix, { l1: { ttlMs: 600_000 }, tagVersionTtlMs: 600_000 })
    const b = await makeCache(prefix, { l1: { ttlMs: 600_000 }, tagVersionTtlMs: 600_000 })
    await Promise.all([a.ready(), b.ready()])
    await a.getOrSet('u1', () => 'user 1', { tags: ['users'] })
    await a.getOrSet('o1', () => 'org 1', { tags: ['orgs'] })
    expect(await b.getMany(['u1', 'o1'])).toEqual(['user 1', 'org 1'])
    await a.deleteByTag(['users'])
    await vi.waitFor(async () => expect(await b.get('u1')).toBeUndefined(), { timeout: 5_000 })
    expect(await b.get('o1')).toBe('org 1')
    expect(await a.get('u1')).toBeUndefined()
    expect(await b.getOrSet('u1', () => 'user 1 again', { tags: ['users'] })).toBe('user 1 again')
    expect(await a.get('u1')).toBe('user 1 again')
  })

  it('runs the factory once across two instances with the distributed lock', async () => {
    const prefix = newPrefix()
    const lock = { enabled: true, ttlMs: 5_000, waitMs: 5_000, pollMs: 20 }
    const a = await makeCache(prefix, { lock })
    const b = await makeCache(prefix, { lock })
    await Promise.all([a.ready(), b.ready()])
    let calls = 0
    const factory = async () => {
      calls++
      await new Promise((resolve) => setTimeout(resolve, 200))
      return 'expensive'
    }
    const results = await Promise.all([a.getOrSet('report', factory), b.getOrSet('report', factory), a.getOrSet('report', factory)])
    expect(results).toEqual(['expensive', 'expensive', 'expensive'])
    expect(calls).toBe(1)
    expect(a.stats().locks.waited + b.stats().locks.waited).toBe(1)
  })

  it('takes over a lock whose holder died once the lock expires', async () => {
    const prefix = newPrefix()
    const b = await makeCache(prefix, { lock: { enabled: true, waitMs: 5_000, pollMs: 20 } })
    // A holder that took the lock and died: nothing will ever release it but PX.
    await admin.set(`${prefix}__lock:app::job`, 'dead-instance', 'PX', 300)
    const factory = vi.fn(async () => 'done by b')
    const guard = new Promise((resolve) => setTimeout(() => resolve('hung'), 5_000))
    expect(await Promise.race([b.getOrSet('job', factory), guard])).toBe('done by b')
    expect(factory).toHaveBeenCalledTimes(1)
    expect(b.stats().locks).toMatchObject({ waited: 1, acquired: 1, gaveUp: 0 })
  })

  it('clear() removes this namespace from Redis and from other instances’ L1, and nothing else', async () => {
    const prefix = newPrefix()
    const a = await makeCache(prefix, { l1: { ttlMs: 600_000 } })
    const b = await makeCache(prefix, { l1: { ttlMs: 600_000 } })
    await Promise.all([a.ready(), b.ready()])
    await a.namespace('users').set('1', 'u')
    await a.namespace('orgs').set('1', 'o')
    expect(await b.namespace('users').get('1')).toBe('u')
    await a.namespace('users').clear()
    expect(await admin.exists(`${prefix}app:users::1`)).toBe(0)
    expect(await admin.exists(`${prefix}app:orgs::1`)).toBe(1)
    await vi.waitFor(async () => expect(await b.namespace('users').get('1')).toBeUndefined(), { timeout: 5_000 })
    expect(await b.namespace('orgs').get('1')).toBe('o')
  })

  it('spreads Redis expiries of keys written together (TTL jitter ±10%)', async () => {
    const prefix = newPrefix()
    const cache = await makeCache(prefix, { ttlMs: 10_000, jitter: 0.1 })
    await cache.setMany(Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: i })))
    const ttls = await Promise.all(Array.from({ length: 20 }, (_, i) => admin.pttl(`${prefix}app::k${i}`)))
    for (const ttl of ttls) {
      expect(ttl).toBeGreaterThan(8_000)
      expect(ttl).toBeLessThanOrEqual(11_000)
    }
    expect(new Set(ttls).size).toBeGreaterThan(5)
  })

  it('treats an entry it cannot decode as a miss, logs it, and replaces it', async () => {
    const prefix = newPrefix()
    const logger = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() }
    const cache = await makeCache(prefix, { logger })
    await admin.set(`${prefix}app::broken`, '{"this is": not json')
    await admin.set(`${prefix}app::alien`, '{"hello":"world"}')
    expect(await cache.get('broken')).toBeUndefined()
    expect(await cache.getOrSet('alien', () => 'recomputed')).toBe('recomputed')
    expect(cache.stats().l2.decodeErrors).toBe(2)
    expect(logger.warn).toHaveBeenCalledWith(
      expect.objectContaining({ operation: 'decode', key: 'broken' }),
      expect.stringContaining('broken'),
    )
    expect(await createCache({ namespace: 'app', l1: false, l2: { redis: admin, keyPrefix: prefix }, bus: false }).get('alien')).toBe(
      'recomputed',
    )
  })

  it('keeps an entry bigger than maxEntryBytes out of Redis but in L1', async () => {
    const prefix = newPrefix()
    const cache = await makeCache(prefix, { l2: { maxEntryBytes: 1_000 } })
    await cache.set('big', 'x'.repeat(5_000))
    expect(await admin.get(`${prefix}app::big`)).not.toContain('xxx') // at most a delete marker
    expect(await admin.strlen(`${prefix}app::big`)).toBeLessThan(100)
    expect(await cache.get('big')).toHaveLength(5_000)
    expect(cache.stats().l2.oversize).toBe(1)
  })

  it('a stale-while-revalidate refresh updates Redis and the other instance', async () => {
    const prefix = newPrefix()
    const a = await makeCache(prefix, { ttlMs: 100, jitter: 0, graceMs: 60_000 })
    const b = await makeCache(prefix, { ttlMs: 100, jitter: 0, graceMs: 60_000 })
    await a.getOrSet('k', () => 'v1')
    await new Promise((resolve) => setTimeout(resolve, 150))
    expect(await a.getOrSet('k', async () => 'v2', { softTimeoutMs: 0 })).toBe('v1')
    await vi.waitFor(async () => expect(await b.get('k')).toBe('v2'), { timeout: 5_000 })
  })

  it('a factory that outlives the hard timeout still fills Redis', async () => {
    const prefix = newPrefix()
    const a = await makeCache(prefix)
    const b = await makeCache(prefix)
    const error = await a
      .getOrSet('slow', () => new Promise((resolve) => setTimeout(() => resolve('late'), 200)), { hardTimeoutMs: 20 })
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'TIMEOUT' })
    await vi.waitFor(async () => expect(await b.get('slow')).toBe('late'), { timeout: 5_000 })
  })
})

describe('round trips', () => {
  let server: PrivateRedis
  afterAll(async () => {
    await server?.kill()
  })

  it('getMany sends one MGET for the keys L1 lacks, setMany one pipeline', async () => {
    server = await PrivateRedis.start()
    const prefix = newPrefix()
    const raw = connections.open(server.url)
    const writer = await makeCache(prefix, { bus: false }, server.url)
    const reader = await makeCache(prefix, { bus: false }, server.url)
    const before = await commandCalls(raw)
    await writer.setMany(Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: { i } })))
    const afterSet = await commandCalls(raw)
    expect((afterSet.set ?? 0) - (before.set ?? 0)).toBe(10)
    await reader.get('k0') // one key already in the reader's L1
    const beforeMget = await commandCalls(raw)
    const values = await reader.getMany(Array.from({ length: 10 }, (_, i) => `k${i}`).concat('missing'))
    const after = await commandCalls(raw)
    expect(values).toEqual([...Array.from({ length: 10 }, (_, i) => ({ i })), undefined])
    expect((after.mget ?? 0) - (beforeMget.mget ?? 0)).toBe(1)
    expect((after.get ?? 0) - (beforeMget.get ?? 0)).toBe(0)
  })
})
