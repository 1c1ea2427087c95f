import { afterAll, describe, expect, it } from 'vitest'
import { type Cache, createCache } from '../src/create-cache'
import { Connections, deleteKeys, uniqueName, whenReady } from './redis-support'

const connections = new Connections()
const admin = connections.open()
const caches: Cache[] = []
const prefixes: string[] = []

afterAll(async () => {
  await Promise.all(caches.map((cache) => cache.close()))
  for (const prefix of prefixes) await deleteKeys(admin, prefix)
  await connections.closeAll()
})

describe('stats per namespace', () => {
  it('counts hits by tier, misses, stale values, sets, deletes and errors for each namespace path', async () => {
    const prefix = `${uniqueName('ns')}:`
    prefixes.push(prefix)
    const errors: string[] = []
    const options = { namespace: 'shop', graceMs: 60_000, onError: (error: unknown) => errors.push(String(error)) }
    const cache = createCache({ ...options, l2: { redis: await whenReady(connections.open()), keyPrefix: prefix } })
    const other = createCache({ ...options, l1: false, l2: { redis: await whenReady(connections.open()), keyPrefix: prefix } })
    caches.push(cache, other)
    const users = cache.namespace('users')

    await cache.set('a', 1) // shop: 1 set
    expect(await cache.get('a')).toBe(1) // shop: L1 hit
    expect(await cache.getOrSet('a', () => 2)).toBe(1) // shop: L1 hit (the hot path)
    await users.setMany([
      { key: 'u1', value: 'ann' },
      { key: 'u2', value: 'bob' },
    ]) // shop:users: 2 sets
    expect(await other.namespace('users').getMany(['u1', 'u2', 'u3'])).toEqual(['ann', 'bob', undefined]) // other: 2 L2 hits, 1 miss
    expect(await users.getOrSet('u4', () => 'cy')).toBe('cy') // shop:users: 1 miss
    await users.delete('u4') // shop:users: 1 delete
    await users.expire('u1') // stale now, kept as a grace copy
    await users.expire('u2')
    expect(
      await users.getOrSet('u1', () => {
        throw new Error('database down')
      }),
    ).toBe('ann') // shop:users: 1 miss, 1 stale served, 1 error
    expect(await users.getOrSetMany(['u2'], async () => new Map([['u2', 'bobby']]))).toEqual(['bobby']) // stale: 1 miss

    const stats = cache.stats()
    expect(stats.namespaces.shop).toEqual({ l1Hits: 2, l2Hits: 0, misses: 0, staleServed: 0, sets: 1, deletes: 0, errors: 0 })
    expect(stats.namespaces['shop:users']).toEqual({ l1Hits: 0, l2Hits: 0, misses: 3, staleServed: 1, sets: 2, deletes: 1, errors: 1 })
    expect(other.stats().namespaces['shop:users']).toMatchObject({ l2Hits: 2, misses: 1 })
    // The per-namespace counters add up to the totals.
    const all = Object.values(stats.namespaces)
    expect(all.reduce((sum, counters) => sum + counters.l1Hits, 0)).toBe(stats.l1.hits)
    expect(all.reduce((sum, counters) => sum + counters.misses, 0)).toBe(stats.misses)
    expect(all.reduce((sum, counters) => sum + counters.sets, 0)).toBe(stats.sets)
    expect(errors).toEqual(['Error: database down'])
  })
})
