import { Redis } from 'ioredis'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { type Cache, createCache } from '../src/create-cache'
import type { CacheOptions } from '../src/options'
import { Connections, deleteKeys, PrivateRedis, REDIS_URL, uniqueName, whenReady } from './redis-support'

const connections = new Connections()
const admin = connections.open()
const prefixes: string[] = []
const caches: Cache[] = []
const servers: PrivateRedis[] = []

function newPrefix(): string {
  const prefix = `${uniqueName('cache')}:`
  prefixes.push(prefix)
  return prefix
}

function makeCache(
  prefix: string,
  options: Omit<CacheOptions, 'l2'> & { l2?: Partial<NonNullable<CacheOptions['l2']>> } = {},
  url?: string | Redis,
): Cache {
  const redis = typeof url === 'object' ? url : connections.open(url)
  const cache = createCache({ namespace: 'app', ...options, l2: { redis, keyPrefix: prefix, ...options.l2 } })
  caches.push(cache)
  return cache
}

afterAll(async () => {
  await Promise.all(caches.map((cache) => cache.close()))
  for (const prefix of prefixes) await deleteKeys(admin, prefix)
  await connections.closeAll()
  await Promise.all(servers.map((server) => server.kill()))
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('two namespaces sharing one Redis key prefix (and so one bus channel)', () => {
  it('never adopt each other’s tag versions: an invalidated entry is not served', async () => {
    const prefix = newPrefix()
    const long = { l1: { ttlMs: 600_000 }, tagVersionTtlMs: 600_000 }
    const other = makeCache(prefix, { ...long, namespace: 'other' })
    const writer = makeCache(prefix, { ...long, namespace: 'shop' })
    const reader = makeCache(prefix, { ...long, namespace: 'shop' })
    await Promise.all([other.ready(), writer.ready(), reader.ready()])
    for (let i = 0; i < 5; i++) await other.deleteByTag('orders')
    await sleep(100) // the other namespace's messages reach the reader
    expect(await reader.getOrSet('count', () => 1, { tags: ['orders'] })).toBe(1)
    const received = reader.stats().bus.received
    await writer.deleteByTag('orders')
    await vi.waitFor(() => expect(reader.stats().bus.received).toBeGreaterThan(received), { timeout: 5_000 })
    expect(await reader.getOrSet('count', () => 6, { tags: ['orders'] })).toBe(6)
  })
})

describe('a value too big for L2 written over a smaller one', () => {
  it('removes the old value from Redis so other instances stop reading it', async () => {
    const prefix = newPrefix()
    const a = makeCache(prefix, { l2: { maxEntryBytes: 200 } })
    const b = makeCache(prefix, { l2: { maxEntryBytes: 200 } })
    await Promise.all([a.ready(), b.ready()])
    await a.set('k', 'small')
    expect(await b.get('k')).toBe('small')
    await a.set('k', 'x'.repeat(1_000))
    expect(await admin.get(`${prefix}app::k`)).not.toContain('small') // a delete marker at most
    await vi.waitFor(async () => expect(await b.get('k')).toBeUndefined(), { timeout: 5_000 })
    expect(await a.get('k')).toBe('x'.repeat(1_000))
  })
})

describe('clear() on a client with its own keyPrefix', () => {
  it('deletes the namespace’s keys', async () => {
    const clientPrefix = newPrefix()
    const redis = new Redis(REDIS_URL, { keyPrefix: clientPrefix })
    try {
      const cache = createCache({ namespace: 'app', bus: false, l2: { redis, keyPrefix: 'c:' } })
      caches.push(cache)
      await cache.set('a', 1)
      await cache.set('b', 2)
      expect(await admin.exists(`${clientPrefix}c:app::a`)).toBe(1)
      await cache.clear()
      expect(await admin.exists(`${clientPrefix}c:app::a`, `${clientPrefix}c:app::b`)).toBe(0)
    } finally {
      redis.disconnect()
    }
  })
})

describe('the bus', () => {
  it('subscribes with enableOfflineQueue: false (as the README advises) and says it is live', async () => {
    const prefix = newPrefix()
    const a = makeCache(prefix, { l1: { ttlMs: 600_000 } }, undefined)
    const quick = createCache({
      namespace: 'app',
      l1: { ttlMs: 600_000 },
      l2: { redis: connections.open(REDIS_URL, { enableOfflineQueue: false }), keyPrefix: prefix },
    })
    caches.push(quick)
    expect(await quick.ready()).toEqual({ bus: 'live' })
    expect(quick.stats().bus.state).toBe('live')
    await a.ready()
    await a.set('k', 'v1')
    expect(await quick.get('k')).toBe('v1')
    await a.set('k', 'v2')
    await vi.waitFor(async () => expect(await quick.get('k')).toBe('v2'), { timeout: 5_000 })
  })

  it('an instance started while Redis is down subscribes once it is up, and meanwhile keeps L1 copies only briefly', async () => {
    const server = await PrivateRedis.start()
    servers.push(server)
    await server.kill()
    const prefix = newPrefix()
    const cache = makeCache(prefix, { l1: { ttlMs: 600_000, busDownTtlMs: 300 }, l2: { timeoutMs: 50 } }, server.url)
    expect(await cache.ready({ timeoutMs: 200 })).toEqual({ bus: 'down' })
    expect(cache.stats().bus.state).toBe('down')
    let calls = 0
    await cache.getOrSet('k', () => ++calls)
    expect(await cache.getOrSet('k', () => ++calls)).toBe(1) // L1 still trusted for a moment
    await sleep(400)
    expect(await cache.getOrSet('k', () => ++calls)).toBe(2) // but not past busDownTtlMs
    await server.spawn()
    expect(await cache.ready({ timeoutMs: 10_000 })).toEqual({ bus: 'live' })
    const other = makeCache(prefix, { l1: { ttlMs: 600_000 } }, server.url)
    await other.ready()
    await cache.set('shared', 'v1')
    await sleep(50)
    expect(await cache.get('shared')).toBe('v1')
    await other.set('shared', 'v2')
    await vi.waitFor(async () => expect(await cache.get('shared')).toBe('v2'), { timeout: 5_000 })
  })
})

describe('a write made while Redis is away', () => {
  it('is not replayed after the reconnect', async () => {
    const server = await PrivateRedis.start()
    servers.push(server)
    const prefix = newPrefix()
    const cache = makeCache(prefix, { bus: false, l2: { timeoutMs: 50 }, breaker: false }, await whenReady(connections.open(server.url)))
    await cache.set('warm', 1)
    await server.kill()
    await sleep(50)
    await cache.set('k', 'old')
    await server.spawn()
    const raw = connections.open(server.url)
    await vi.waitFor(
      async () => {
        await cache.set('probe', 1)
        expect(await raw.exists(`${prefix}app::probe`)).toBe(1)
      },
      { timeout: 10_000, interval: 100 },
    )
    // Not replayed: the key holds nothing, or the delete marker of the repair of that write of unknown outcome.
    const stored = await raw.get(`${prefix}app::k`)
    expect(stored === null || stored.startsWith('\u0000tessera:deleted:')).toBe(true)
    expect(await makeCache(prefix, { bus: false }, server.url).get('k')).toBeUndefined()
  })
})

describe('a getOrSet whose factory read the database before another instance deleted the key', () => {
  it('does not store the old value', async () => {
    const prefix = newPrefix()
    const reader = makeCache(prefix)
    const writer = makeCache(prefix)
    await Promise.all([reader.ready(), writer.ready()])
    let database = 'old row'
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    let started: () => void = () => {}
    const factoryStarted = new Promise<void>((resolve) => {
      started = resolve
    })
    const slow = reader.getOrSet('row', async () => {
      const read = database
      started()
      await gate
      return read
    })
    await factoryStarted // not a fixed sleep: on a loaded machine the Redis read before the factory can take longer
    database = 'new row'
    await writer.delete('row')
    release()
    expect(await slow).toBe('old row') // the caller asked before the write: it may see the old row
    await sleep(50)
    expect(await writer.get('row')).toBeUndefined()
    expect(await reader.getOrSet('row', () => database)).toBe('new row')
  })

  it('does not store the old value in its own L1 when the delete happened in the same process', async () => {
    const prefix = newPrefix()
    const cache = makeCache(prefix)
    let database = 'old row'
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const slow = cache.getOrSet('row', async () => {
      const read = database
      await gate
      return read
    })
    await sleep(50)
    database = 'new row'
    await cache.delete('row')
    release()
    await slow
    expect(await cache.getOrSet('row', () => database)).toBe('new row')
  })
})

describe('tag versions', () => {
  it('never repeat after Redis loses a counter: an invalidated entry does not come back', async () => {
    const prefix = newPrefix()
    const a = makeCache(prefix, { bus: false, tagVersionTtlMs: 0 })
    await a.getOrSet('a', () => 'first', { tags: ['t'] })
    await a.deleteByTag('t')
    expect(await a.getOrSet('a', () => 'second', { tags: ['t'] })).toBe('second')
    await a.deleteByTag('t') // 'second' is now invalid
    await admin.del(`${prefix}__tag:app:t`) // evicted, or lost in a restart
    const b = makeCache(prefix, { bus: false, tagVersionTtlMs: 0 })
    await b.deleteByTag('t')
    expect(await b.get('a')).toBeUndefined()
    expect(await b.getOrSet('a', () => 'third', { tags: ['t'] })).toBe('third')
  })

  it('expire in Redis instead of piling up forever', async () => {
    const prefix = newPrefix()
    const cache = makeCache(prefix)
    await cache.getOrSet('a', () => 1, { tags: ['user:1'] })
    await cache.deleteByTag('user:2')
    const ttls = await Promise.all([admin.pttl(`${prefix}__tag:app:user:1`), admin.pttl(`${prefix}__tag:app:user:2`)])
    for (const ttl of ttls) expect(ttl).toBeGreaterThan(0)
  })

  it('are not guessed while Redis is away: a value computed then is served but not stored', async () => {
    const server = await PrivateRedis.start()
    servers.push(server)
    const prefix = newPrefix()
    const cache = makeCache(prefix, { bus: false, breaker: false, l2: { timeoutMs: 50 } }, server.url)
    await cache.set('warm', 1)
    server.pause()
    try {
      let calls = 0
      expect(await cache.getOrSet('k', () => ++calls, { tags: ['t'] })).toBe(1)
      expect(await cache.getOrSet('k', () => ++calls, { tags: ['t'] })).toBe(2)
    } finally {
      server.resume()
    }
  })
})

describe('the distributed lock', () => {
  it('is extended while a factory slower than its TTL runs: the factory runs once', async () => {
    const prefix = newPrefix()
    // The factory outlives the TTL 2.5 times over. The TTL is 1 s rather than less so that a busy CI machine's
    // stalls (the lock is extended every ttlMs / 3) cannot let it lapse between two extensions.
    const lock = { enabled: true, ttlMs: 1_000, waitMs: 10_000, pollMs: 20 }
    const a = makeCache(prefix, { lock })
    const b = makeCache(prefix, { lock })
    await Promise.all([a.ready(), b.ready()])
    let calls = 0
    const factory = async () => {
      calls++
      await sleep(2_500)
      return 'slow'
    }
    const first = a.getOrSet('report', factory)
    await sleep(50)
    expect(await Promise.all([first, b.getOrSet('report', factory)])).toEqual(['slow', 'slow'])
    expect(calls).toBe(1)
  })

  it('shares the holder’s failure with the waiters instead of running the failing factory again', async () => {
    const prefix = newPrefix()
    const lock = { enabled: true, ttlMs: 5_000, waitMs: 5_000, pollMs: 20 }
    const a = makeCache(prefix, { lock })
    const b = makeCache(prefix, { lock })
    await Promise.all([a.ready(), b.ready()])
    let calls = 0
    const factory = async () => {
      calls++
      await sleep(200)
      throw new Error('database is down')
    }
    const first = a.getOrSet('report', factory)
    await sleep(50)
    const second = b.getOrSet('report', factory)
    await expect(first).rejects.toThrow('database is down')
    await expect(second).rejects.toThrow(/another instance's factory for "report" failed: database is down/)
    expect(calls).toBe(1)
  })
})

describe('a value with toJSON written through L2', () => {
  it('is held in the writer’s L1 as the other instances read it, and its hidden fields never reach Redis', async () => {
    class User {
      constructor(
        readonly name: string,
        readonly passwordHash: string,
      ) {}
      toJSON() {
        return { name: this.name }
      }
    }
    const prefix = newPrefix()
    const a = makeCache(prefix)
    const b = makeCache(prefix)
    await a.set('u', new User('ada', 'secret-hash'))
    expect(await admin.get(`${prefix}app::u`)).not.toContain('secret-hash')
    expect(await a.get('u')).toEqual({ name: 'ada' })
    expect(await b.get('u')).toEqual({ name: 'ada' })
    await expect(a.set('e', new Error('boom'))).rejects.toThrow(/Error instance would come back as a plain object/)
  })
})

describe('when Redis stops answering mid-operation', () => {
  it('a miss waits for Redis once (one l2.timeoutMs for the whole operation), not once per command', async () => {
    const server = await PrivateRedis.start()
    servers.push(server)
    const prefix = newPrefix()
    const cache = makeCache(
      prefix,
      { bus: false, breaker: false, lock: { enabled: true }, tagVersionTtlMs: 0, l2: { timeoutMs: 100 } },
      server.url,
    )
    await cache.getOrSet('warm', () => 1, { tags: ['t'] })
    await sleep(100) // the lock release is sent in the background
    server.pause()
    try {
      expect(await cache.getOrSet('k', () => 'computed', { tags: ['t'] })).toBe('computed')
      // The GET timed out; the tag read, the lock and the write-back were not sent to wait again.
      expect(cache.stats().l2.timeouts).toBe(1)
    } finally {
      server.resume()
    }
  })

  it('the breaker opens on a run of failures even after many successes', async () => {
    const server = await PrivateRedis.start()
    servers.push(server)
    const prefix = newPrefix()
    const cache = makeCache(prefix, { bus: false, l1: false, l2: { timeoutMs: 50 } }, await whenReady(connections.open(server.url)))
    await cache.set('k', 1)
    for (let i = 0; i < 200; i++) await cache.get('k')
    server.pause()
    try {
      for (let i = 0; i < 6; i++) await cache.get('k')
      expect(cache.stats().breaker).toBe('open')
    } finally {
      server.resume()
    }
  })
})

describe('forceFresh with Redis', () => {
  it('replaces the value in Redis and in the other instances', async () => {
    const prefix = newPrefix()
    const a = makeCache(prefix, { l1: { ttlMs: 600_000 } })
    const b = makeCache(prefix, { l1: { ttlMs: 600_000 } })
    await Promise.all([a.ready(), b.ready()])
    await a.getOrSet('k', () => 'old')
    expect(await b.get('k')).toBe('old')
    expect(await a.getOrSet('k', () => 'new', { forceFresh: true, ttlMs: 60_000 })).toBe('new')
    await vi.waitFor(async () => expect(await b.get('k')).toBe('new'), { timeout: 5_000 })
  })
})

describe('expire with Redis', () => {
  it('ends freshness in every instance and keeps the grace copy in Redis', async () => {
    const prefix = newPrefix()
    const a = makeCache(prefix, { l1: { ttlMs: 600_000 }, graceMs: 60_000 })
    const b = makeCache(prefix, { l1: { ttlMs: 600_000 }, graceMs: 60_000 })
    await Promise.all([a.ready(), b.ready()])
    await a.set('k', 'old')
    expect(await b.get('k')).toBe('old')
    await a.expire('k')
    await vi.waitFor(async () => expect(await b.get('k')).toBeUndefined(), { timeout: 5_000 })
    const failing = () => {
      throw new Error('source down')
    }
    expect(await b.getOrSet('k', failing)).toBe('old')
    const fresh = makeCache(prefix, { graceMs: 60_000 })
    expect(await fresh.getOrSet('k', failing)).toBe('old') // the grace copy is in Redis, not just in L1
  })
})

describe('expireByTag with Redis', () => {
  it('expires tagged entries in every instance and in Redis, keeping the grace copies', async () => {
    const prefix = newPrefix()
    const options = { l1: { ttlMs: 600_000 }, graceMs: 60_000, tagVersionTtlMs: 600_000 }
    const a = makeCache(prefix, options)
    const b = makeCache(prefix, options)
    await Promise.all([a.ready(), b.ready()])
    await a.getOrSet('u1', () => 'user 1', { tags: ['users'] })
    expect(await b.get('u1')).toBe('user 1')
    await a.expireByTag('users')
    await vi.waitFor(async () => expect(await b.get('u1')).toBeUndefined(), { timeout: 5_000 })
    const failing = () => {
      throw new Error('source down')
    }
    expect(await b.getOrSet('u1', failing, { tags: ['users'] })).toBe('user 1')
    const fresh = makeCache(prefix, { graceMs: 60_000 })
    expect(await fresh.get('u1')).toBeUndefined()
    expect(await fresh.getOrSet('u1', failing, { tags: ['users'] })).toBe('user 1')
    await a.deleteByTag('users')
    const later = makeCache(prefix, { graceMs: 60_000 })
    await expect(later.getOrSet('u1', failing, { tags: ['users'] })).rejects.toThrow('source down')
  })
})

describe('ttlMs: Infinity with Redis', () => {
  it('stores the entry in Redis with no practical expiry, readable by another instance', async () => {
    const prefix = newPrefix()
    const a = makeCache(prefix)
    const b = makeCache(prefix)
    await a.set('k', 'forever', { ttlMs: Number.POSITIVE_INFINITY })
    expect(await admin.pttl(`${prefix}app::k`)).toBeGreaterThan(100 * 365 * 24 * 3_600_000)
    expect(await b.get('k')).toBe('forever')
    expect(await b.getOrSet('f', () => 1, { ttlMs: Number.POSITIVE_INFINITY })).toBe(1)
    expect(await a.get('f')).toBe(1)
  })
})

describe('checkValue with Redis', () => {
  it('recomputes an old-shaped entry read from Redis and replaces it there', async () => {
    const prefix = newPrefix()
    // A generous timeout: on a loaded machine a first command can take longer than the default 250 ms.
    const old = makeCache(prefix, { l2: { timeoutMs: 5_000 } })
    const next = makeCache(prefix, { l2: { timeoutMs: 5_000 } })
    await Promise.all([old.ready(), next.ready()])
    const userV2 = {
      '~standard': {
        version: 1 as const,
        vendor: 'test',
        validate: async (value: unknown) =>
          typeof value === 'object' && value !== null && 'email' in value ? { value } : { issues: [{ message: 'email is missing' }] },
      },
    }
    await old.set('u', { name: 'ada' })
    const fresh = { name: 'ada', email: 'ada@example.com' }
    expect(await next.getOrSet('u', () => fresh, { checkValue: userV2 })).toEqual(fresh)
    const third = makeCache(prefix)
    expect(await third.get('u')).toEqual(fresh)
  })
})
