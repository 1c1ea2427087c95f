import { TimeoutError } from '@tessera/core'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { type Cache, createCache } from '../src/create-cache'
import { Connections, deleteKeys, PrivateRedis, REDIS_URL, uniqueName, whenReady } from './redis-support'

const connections = new Connections()
const caches: Cache[] = []
const servers: PrivateRedis[] = []

afterAll(async () => {
  await Promise.all(caches.map((cache) => cache.close()))
  await Promise.all(servers.map((server) => server.kill()))
  await connections.closeAll()
})

/** Resolves with `promise`, or with 'hung' after 5 s: a generous guard, not a timing assertion. */
function guarded<T>(promise: Promise<T>): Promise<T | 'hung'> {
  let timer: NodeJS.Timeout | undefined
  const guard = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), 5_000)
  })
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer))
}

describe('when Redis stops answering', () => {
  it('serves L1 and factory values within the L2 timeout, opens the breaker, and recovers on its own after a restart', async () => {
    const server = await PrivateRedis.start()
    servers.push(server)
    const raw = connections.open(server.url)
    const prefix = `${uniqueName('cache')}:`
    const cache = createCache({
      namespace: 'app',
      l2: { redis: connections.open(server.url), keyPrefix: prefix, timeoutMs: 100 },
      breaker: { minimumCalls: 3, failureRatio: 0.5, openMs: 300 },
    })
    caches.push(cache)
    await cache.ready()
    await cache.set('warm', 'from L1')

    server.pause() // SIGSTOP: connections stay open, nothing answers
    expect(await guarded(cache.get('warm'))).toBe('from L1')
    for (let i = 0; i < 5; i++) expect(await guarded(cache.getOrSet(`new${i}`, () => `computed ${i}`))).toBe(`computed ${i}`)
    await expect(guarded(cache.set('written while down', 1))).resolves.toBeUndefined()
    expect(await cache.get('written while down')).toBe(1)
    const stats = cache.stats()
    expect(stats.l2.timeouts).toBeGreaterThanOrEqual(2)
    expect(stats.breaker).toBe('open')
    // While open, nothing waits on Redis at all.
    expect(await guarded(cache.getOrSet('while open', () => 'fast'))).toBe('fast')
    expect(cache.stats().l2.skipped).toBeGreaterThan(0)

    await server.kill()
    await server.spawn() // a fresh, empty Redis on the same port
    let n = 0
    await vi.waitFor(
      async () => {
        await cache.set('after restart', ++n)
        expect(await raw.exists(`${prefix}app::after restart`)).toBe(1)
      },
      { timeout: 10_000, interval: 100 },
    )
    expect(cache.stats().breaker).toBe('closed')
  })
})

describe('when Redis drops the cache’s connections', () => {
  it('keeps answering during CLIENT KILL and resumes L2 and the bus afterwards', async () => {
    const prefix = `${uniqueName('cache')}:`
    const name = uniqueName('killme')
    const admin = connections.open()
    const a = createCache({
      namespace: 'app',
      l1: { ttlMs: 600_000 },
      l2: { redis: connections.open(REDIS_URL, { connectionName: name }), keyPrefix: prefix },
    })
    const b = createCache({
      namespace: 'app',
      l1: { ttlMs: 600_000 },
      l2: { redis: connections.open(REDIS_URL, { connectionName: name }), keyPrefix: prefix },
    })
    caches.push(a, b)
    await Promise.all([a.ready(), b.ready()])
    await a.set('k', 'v1')
    expect(await b.get('k')).toBe('v1')

    const list = (await admin.client('LIST')) as string
    const ids = [...list.matchAll(/id=(\d+) .*name=(\S*)/g)].filter((m) => m[2] === name).map((m) => m[1]!)
    expect(ids.length).toBe(4) // two command connections, two bus subscribers
    for (const id of ids) await admin.client('KILL', 'ID', id)

    expect(await guarded(a.getOrSet('during', () => 'fine'))).toBe('fine')
    // Both the command connection and the subscriber come back by themselves.
    await vi.waitFor(
      async () => {
        await a.set('k', 'v2')
        expect(await b.get('k')).toBe('v2')
      },
      { timeout: 10_000, interval: 100 },
    )
    expect(await admin.exists(`${prefix}app::k`)).toBe(1)
    await deleteKeys(admin, prefix)
  })
})

describe('when the Redis client has its own commandTimeout', () => {
  it('relies on ioredis to time out an unanswered read and reports it as a TimeoutError', async () => {
    const server = await PrivateRedis.start()
    servers.push(server)
    const errors: unknown[] = []
    const cache = createCache({
      namespace: 'app',
      l1: false,
      bus: false,
      breaker: false,
      // Far longer than the guard below: only the client's 50 ms timer can end the read in time.
      l2: {
        redis: await whenReady(connections.open(server.url, { commandTimeout: 50 })),
        keyPrefix: `${uniqueName('cache')}:`,
        timeoutMs: 60_000,
      },
      onError: (error) => errors.push(error),
    })
    caches.push(cache)
    await cache.set('k', 'v')
    expect(await cache.get('k')).toBe('v')

    server.pause()
    expect(await guarded(cache.get('k'))).toBeUndefined()
    expect(errors).toHaveLength(1)
    expect(errors[0]).toBeInstanceOf(TimeoutError)
    expect(errors[0]).toMatchObject({ operation: 'redis GET', timeoutMs: 50 })
    expect(cache.stats().l2.timeouts).toBe(1)
  })
})
