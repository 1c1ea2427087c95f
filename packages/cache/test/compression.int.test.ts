import { ConfigError } from '@tessera/core'
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
  const prefix = `${uniqueName('zip')}:`
  prefixes.push(prefix)
  return prefix
}

function makeCache(prefix: string, l2: Partial<NonNullable<CacheOptions['l2']>> = {}): Cache {
  const cache = createCache({ namespace: 'app', l1: false, l2: { redis: connections.open(), keyPrefix: prefix, ...l2 } })
  caches.push(cache)
  return cache
}

const report = { rows: Array.from({ length: 200 }, (_, i) => ({ id: i, name: `customer ${i}`, region: 'north-east', active: true })) }

describe('compression of large entries in Redis', () => {
  for (const compression of ['gzip', 'brotli'] as const) {
    it(`stores an entry past the threshold compressed with ${compression}, and every instance reads it`, async () => {
      const prefix = newPrefix()
      const writer = makeCache(prefix, { compressThresholdBytes: 1024, compression })
      const plainReader = makeCache(prefix) // compression off: still reads compressed entries
      await writer.set('report', report)
      await writer.set('small', { id: 1 })
      const stored = (await admin.get(`${prefix}app::report`))!
      expect(stored.startsWith(compression === 'gzip' ? '\u0001gz:' : '\u0001br:')).toBe(true)
      expect(stored.length).toBeLessThan(JSON.stringify(report).length / 4)
      expect(await admin.get(`${prefix}app::small`)).toContain('"id":1') // under the threshold: as it was
      expect(await plainReader.get('report')).toEqual(report)
      expect(await writer.get('report')).toEqual(report)
      expect(await writer.getOrSet('report', () => 'not called')).toEqual(report)
    })
  }

  it('reads entries written before compression was turned on', async () => {
    const prefix = newPrefix()
    await makeCache(prefix).set('report', report) // an older release, no compression
    const compressing = makeCache(prefix, { compressThresholdBytes: 100 })
    expect(await compressing.get('report')).toEqual(report)
    expect(compressing.stats().l2.decodeErrors).toBe(0)
  })

  it('reads a damaged compressed entry as a miss and counts it, never throws', async () => {
    const prefix = newPrefix()
    const cache = makeCache(prefix, { compressThresholdBytes: 100 })
    await admin.set(`${prefix}app::broken`, '\u0001gz:bm90IGd6aXA=', 'PX', 60_000)
    expect(await cache.get('broken')).toBeUndefined()
    expect(await cache.getOrSet('broken', () => 'recomputed')).toBe('recomputed')
    expect(cache.stats().l2.decodeErrors).toBe(2)
  })

  it('refuses a bad threshold or algorithm with a ConfigError naming it', () => {
    const redis = connections.open()
    expect(() => createCache({ l2: { redis, compressThresholdBytes: 0 } })).toThrow(
      /l2.compressThresholdBytes must be a finite integer > 0, got 0/,
    )
    expect(() => createCache({ l2: { redis, compression: 'zstd' as never } })).toThrow(ConfigError)
    expect(() => createCache({ l2: { redis, compression: 'zstd' as never } })).toThrow(/l2.compression must be 'gzip' or 'brotli'/)
  })
})
