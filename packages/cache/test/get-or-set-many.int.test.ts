import { ConfigError, TesseraError } from '@tessera/core'
import { afterAll, describe, expect, it } from 'vitest'
import { type Cache, createCache } from '../src/create-cache'
import type { CacheOptions } from '../src/options'
import { Connections, deleteKeys, uniqueName } from './redis-support'

const connections = new Connections()
const admin = connections.open()
const caches: Cache[] = []
const prefixes: string[] = []

afterAll(async () => {
  await Promise.all(caches.map((cache) => cache.close()))
  for (const prefix of prefixes) await deleteKeys(admin, prefix)
  await connections.closeAll()
})

function newPrefix(): string {
  const prefix = `${uniqueName('many')}:`
  prefixes.push(prefix)
  return prefix
}

function makeCache(prefix: string, options: Omit<CacheOptions, 'l2'> = {}): Cache {
  const cache = createCache({ namespace: 'app', ...options, l2: { redis: connections.open(), keyPrefix: prefix } })
  caches.push(cache)
  return cache
}

/** A database stand-in that records every batch it was asked for. */
function usersTable() {
  const calls: string[][] = []
  const rows = new Map<string, { id: string; version: number }>()
  return {
    calls,
    rows,
    load: async (ids: string[]) => {
      calls.push([...ids].sort())
      await new Promise((resolve) => setTimeout(resolve, 20))
      return new Map(ids.filter((id) => rows.has(id)).map((id) => [id, { ...rows.get(id)! }]))
    },
  }
}

describe('getOrSetMany', () => {
  it('fills every missing key with one factory call, and the next call (here or in another instance) calls nothing', async () => {
    const prefix = newPrefix()
    const a = makeCache(prefix)
    const b = makeCache(prefix)
    const table = usersTable()
    for (const id of ['1', '2', '3', '4']) table.rows.set(id, { id, version: 1 })
    await a.set('2', { id: '2', version: 0 }) // already cached: not asked for
    const users = await a.getOrSetMany(['1', '2', '3', '4', '5'], table.load)
    expect(users).toEqual([{ id: '1', version: 1 }, { id: '2', version: 0 }, { id: '3', version: 1 }, { id: '4', version: 1 }, undefined])
    expect(table.calls).toEqual([['1', '3', '4', '5']])
    expect(await a.getOrSetMany(['1', '3', '4'], table.load)).toEqual([
      { id: '1', version: 1 },
      { id: '3', version: 1 },
      { id: '4', version: 1 },
    ])
    expect(await b.getOrSetMany(['4', '3', '1'], table.load)).toEqual([
      { id: '4', version: 1 },
      { id: '3', version: 1 },
      { id: '1', version: 1 },
    ])
    // '5' was not found: undefined is not cached (negativeTtlMs 0), so it is asked for again, alone.
    expect(await b.getOrSetMany(['1', '5'], table.load)).toEqual([{ id: '1', version: 1 }, undefined])
    expect(table.calls).toEqual([['1', '3', '4', '5'], ['5']])
    expect(b.stats().l2.hits).toBeGreaterThanOrEqual(3)
  })

  it('accepts a plain object, and runs each key once across concurrent getOrSet and getOrSetMany calls (single flight)', async () => {
    const cache = makeCache(newPrefix())
    const asked: string[] = []
    const batch = async (ids: string[]) => {
      asked.push(...ids)
      await new Promise((resolve) => setTimeout(resolve, 50))
      return Object.fromEntries(ids.map((id) => [id, `user ${id}`]))
    }
    const results = await Promise.all([
      cache.getOrSetMany(['a', 'b', 'c'], batch),
      cache.getOrSetMany(['c', 'd', 'a'], batch),
      cache.getOrSet('b', () => {
        asked.push('b (single)')
        return 'user b'
      }),
    ])
    expect(results).toEqual([['user a', 'user b', 'user c'], ['user c', 'user d', 'user a'], 'user b'])
    expect(asked.sort()).toEqual(['a', 'b', 'c', 'd'])
    expect(cache.stats().coalesced).toBeGreaterThanOrEqual(3)
  })

  it('does not store a batch result read before a delete that happened while the factory ran', async () => {
    const prefix = newPrefix()
    const a = makeCache(prefix)
    const b = makeCache(prefix, { l1: false })
    await Promise.all([a.ready(), b.ready()])
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    let started: () => void = () => {}
    const factoryStarted = new Promise<void>((resolve) => {
      started = resolve
    })
    const pending = a.getOrSetMany(['x', 'y'], async (ids) => {
      const rows = new Map(ids.map((id) => [id, `old ${id}`])) // read before the write below
      started()
      await gate
      return rows
    })
    await factoryStarted
    await b.delete('x') // the writer changed x after the factory read it
    release()
    expect(await pending).toEqual(['old x', 'old y'])
    expect(await b.get('x')).toBeUndefined() // the old row was not stored over the delete
    expect(await b.get('y')).toBe('old y')
  })

  it('serves the grace copy of each key when the batch factory fails, and the error when there is none', async () => {
    const cache = makeCache(newPrefix(), { ttlMs: 20, graceMs: 60_000, jitter: 0 })
    await cache.set('known', 'stale but ok')
    await new Promise((resolve) => setTimeout(resolve, 40))
    const failing = async (): Promise<Map<string, string>> => {
      throw new Error('database down')
    }
    expect(await cache.getOrSetMany(['known'], failing)).toEqual(['stale but ok'])
    await expect(cache.getOrSetMany(['known', 'unknown'], failing)).rejects.toThrow('database down')
    expect(cache.stats().staleServed).toBeGreaterThanOrEqual(1)
  })

  it('refuses bad input before any I/O, and a factory that returns neither a Map nor a plain object', async () => {
    const cache = makeCache(newPrefix())
    const load = async () => new Map<string, number>()
    await expect(cache.getOrSetMany('a' as unknown as string[], load)).rejects.toThrow(ConfigError)
    await expect(cache.getOrSetMany(['a', ''], load)).rejects.toThrow(/non-empty string/)
    await expect(cache.getOrSetMany(['a'], 'load' as never)).rejects.toThrow(/factory must be a function/)
    await expect(cache.getOrSetMany(['a'], load, { ttl: 5 } as never)).rejects.toThrow(/ttl/)
    const wrong = cache.getOrSetMany(['a', 'b'], async () => [1, 2] as never)
    await expect(wrong).rejects.toBeInstanceOf(TesseraError)
    await expect(wrong).rejects.toThrow(/Map or a plain object/)
    expect(cache.stats().sets).toBe(0)
  })
})
