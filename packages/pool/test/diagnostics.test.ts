import diagnostics_channel from 'node:diagnostics_channel'
import { CHANNELS, type PoolAcquireMessage } from '@tessera/core'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { makePool } from './fake-resources'

const cleanups: Array<() => void> = []
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup()
  vi.useRealTimers()
})

function listen(name: string): unknown[] {
  const messages: unknown[] = []
  const onMessage = (message: unknown) => messages.push(message)
  diagnostics_channel.subscribe(name, onMessage)
  cleanups.push(() => diagnostics_channel.unsubscribe(name, onMessage))
  return messages
}

describe('diagnostics channels', () => {
  it('traces acquire on tessera:pool:acquire with the pool state and the outcome', async () => {
    const events: Array<[string, PoolAcquireMessage]> = []
    const handlers = {
      start: (message: PoolAcquireMessage) => events.push(['start', { ...message }]),
      end: () => {},
      asyncStart: () => {},
      asyncEnd: (message: PoolAcquireMessage) => events.push(['asyncEnd', { ...message }]),
      error: (message: PoolAcquireMessage) => events.push(['error', { ...message }]),
    }
    const channel = diagnostics_channel.tracingChannel<unknown, PoolAcquireMessage>(CHANNELS.poolAcquire)
    channel.subscribe(handlers)
    cleanups.push(() => channel.unsubscribe(handlers))

    const { pool } = makePool({ name: 'orders', max: 1 })
    const thing = await pool.acquire()
    await expect(pool.acquire({ signal: AbortSignal.abort() })).rejects.toThrow()
    expect(events[0]).toEqual(['start', { pool: 'orders', size: 0, inUse: 0, pending: 0, max: 1, min: 0 }])
    expect(events[1]).toEqual(['asyncEnd', { pool: 'orders', size: 0, inUse: 0, pending: 0, max: 1, min: 0, result: thing }])
    expect(events[2]).toEqual(['start', { pool: 'orders', size: 1, inUse: 1, pending: 0, max: 1, min: 0 }])
    expect(events[3]?.[0]).toBe('error')
    pool.release(thing)
    await pool.drain()
  })

  it('publishes create, release, destroy, timeout and leak events', async () => {
    vi.useFakeTimers()
    const created = listen(CHANNELS.poolCreate)
    const released = listen(CHANNELS.poolRelease)
    const destroyed = listen(CHANNELS.poolDestroy)
    const timeouts = listen(CHANNELS.poolTimeout)
    const leaks = listen(CHANNELS.poolLeak)

    const { pool } = makePool({ name: 'orders', max: 1, acquireTimeoutMs: 100, leakDetectionMs: 1_000 })
    const thing = await pool.acquire()
    await expect(Promise.all([pool.acquire(), vi.advanceTimersByTimeAsync(100)])).rejects.toThrow(/timed out/)
    await vi.advanceTimersByTimeAsync(900)
    pool.release(thing, { destroy: true })
    await pool.drain()

    expect(created).toEqual([{ pool: 'orders', size: 1, durationMs: 0 }])
    expect(timeouts).toEqual([{ pool: 'orders', waitedMs: 100, inUse: 1, max: 1, pending: 0 }])
    expect(leaks).toEqual([{ pool: 'orders', heldMs: 1_000, stack: expect.stringContaining('diagnostics.test.ts') }])
    expect(released).toEqual([{ pool: 'orders', heldMs: 1_000, destroyed: true }])
    expect(destroyed).toEqual([{ pool: 'orders', reason: 'error', size: 0 }])
  })

  it('publishes a failed create with its error', async () => {
    const created = listen(CHANNELS.poolCreate)
    const { pool, factory } = makePool({ name: 'orders' })
    factory.failNext = 1
    await expect(pool.acquire()).rejects.toThrow()
    expect(created).toEqual([{ pool: 'orders', size: 0, durationMs: expect.any(Number), error: factory.error }])
    await pool.drain()
  })
})
