import { afterAll, describe, expect, it, vi } from 'vitest'
import { endpointOf, startTcpProxy, type TcpProxy } from '../../../tooling/test-services'
import { type Cache, createCache } from '../src/create-cache'
import { Connections, deleteKeys, REDIS_URL, uniqueName } from './redis-support'

const connections = new Connections()
const admin = connections.open()
const caches: Cache[] = []
const proxies: TcpProxy[] = []
const prefixes: string[] = []

afterAll(async () => {
  await Promise.all(caches.map((cache) => cache.close()))
  await Promise.all(proxies.map((proxy) => proxy.close()))
  for (const prefix of prefixes) await deleteKeys(admin, prefix)
  await connections.closeAll()
})

/** A writer whose Redis connection goes through a proxy the test can cut, and a reader connected directly. */
async function writerAndReader(): Promise<{ writer: Cache; reader: Cache; proxy: TcpProxy; prefix: string; errors: string[] }> {
  const prefix = `${uniqueName('repair')}:`
  prefixes.push(prefix)
  const proxy = await startTcpProxy({ target: endpointOf(REDIS_URL) })
  proxies.push(proxy)
  const errors: string[] = []
  // No re-send after a reconnect: a write cut off by the fault never lands, and Redis keeps the old value.
  const writerClient = connections.open(proxy.url(REDIS_URL), { autoResendUnfulfilledCommands: false, retryStrategy: () => 100 })
  const writer = createCache({
    namespace: 'app',
    l2: { redis: writerClient, keyPrefix: prefix, timeoutMs: 200 },
    breaker: false,
    bus: { subscriber: connections.open() },
    onError: (error, event) => errors.push(`${event.operation}: ${String(error)}`),
  })
  const reader = createCache({ namespace: 'app', l1: false, l2: { redis: connections.open(), keyPrefix: prefix } })
  caches.push(writer, reader)
  await Promise.all([writer.ready(), reader.ready()])
  return { writer, reader, proxy, prefix, errors }
}

describe('writes whose outcome in Redis is unknown', () => {
  it('replaces the old value with a delete marker once Redis answers again, so no instance reads it', async () => {
    const { writer, reader, proxy, prefix, errors } = await writerAndReader()
    await writer.set('price', 10)
    expect(await reader.get('price')).toBe(10)

    proxy.setMode('blackhole') // the SET is swallowed: no reply, and it never reaches Redis
    await writer.set('price', 12)
    expect(errors.some((text) => text.startsWith('l2:'))).toBe(true)
    expect(writer.stats().l2.repairsPending).toBe(1)
    // The writer does not read back what Redis may still hold for the key: it keeps its own newer copy.
    expect(await writer.get('price')).toBe(12)
    expect(await admin.get(`${prefix}app::price`)).toContain('10') // the old value is still in Redis…

    proxy.setMode('reset') // …until the connection is cut and the client reconnects
    proxy.setMode('pass')
    await vi.waitFor(() => expect(writer.stats().l2.repairsPending).toBe(0), { timeout: 10_000, interval: 50 })
    expect(writer.stats().l2.repairs).toBe(1)
    expect(await reader.get('price')).toBeUndefined() // never the old 10
    expect(await writer.get('price')).toBeUndefined() // the write's outcome is unknown: a miss everywhere
    expect(await writer.getOrSet('price', () => 13)).toBe(13)
    await vi.waitFor(async () => expect(await reader.get('price')).toBe(13), { timeout: 5_000 })
  })

  it('repairs a delete that did not reach Redis, and leaves a later acknowledged write alone', async () => {
    const { writer, reader, proxy } = await writerAndReader()
    await writer.setMany([
      { key: 'deleted', value: 'old' },
      { key: 'rewritten', value: 'old' },
    ])
    proxy.setMode('blackhole')
    await writer.deleteMany(['deleted', 'rewritten'])
    expect(writer.stats().l2.repairsPending).toBe(2)
    proxy.setMode('reset')
    proxy.setMode('pass')
    // A write acknowledged after the failure: the repair must not destroy it.
    await vi.waitFor(
      async () => {
        await writer.set('rewritten', 'new')
        expect(await reader.get('rewritten')).toBe('new')
      },
      { timeout: 10_000, interval: 50 },
    )
    await vi.waitFor(() => expect(writer.stats().l2.repairsPending).toBe(0), { timeout: 10_000, interval: 50 })
    expect(await reader.get('deleted')).toBeUndefined()
    expect(await reader.get('rewritten')).toBe('new')
  })

  it('forgets nothing silently: close() stops the repairs and keeps nothing running', async () => {
    const { writer, proxy } = await writerAndReader()
    proxy.setMode('blackhole')
    await writer.set('k', 1)
    expect(writer.stats().l2.repairsPending).toBe(1)
    await writer.close()
    proxy.setMode('reset')
    proxy.setMode('pass')
    expect(writer.stats().l2.repairsPending).toBe(1) // reported as still pending: it was never repaired
  })
})
