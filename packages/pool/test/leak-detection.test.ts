import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { PoolEvents } from '../src/index'
import { makePool, type Thing } from './fake-resources'

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

function borrowAndForget(pool: ReturnType<typeof makePool>['pool']): Promise<Thing> {
  return pool.acquire()
}

describe('leak detection', () => {
  it('emits leak with the hold time and the stack of the caller that acquired the resource', async () => {
    const { pool } = makePool({ leakDetectionMs: 5_000 })
    const leaks: PoolEvents<Thing>['leak'][] = []
    pool.on('leak', (event) => leaks.push(event))
    const thing = await borrowAndForget(pool)
    await vi.advanceTimersByTimeAsync(4_999)
    expect(leaks).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(1)
    expect(leaks).toHaveLength(1)
    expect(leaks[0]!.resource).toBe(thing)
    expect(leaks[0]!.heldMs).toBe(5_000)
    expect(leaks[0]!.stack).toContain('borrowAndForget')
    expect(leaks[0]!.stack).toContain('leak-detection.test.ts')
    // Once per hold.
    await vi.advanceTimersByTimeAsync(60_000)
    expect(leaks).toHaveLength(1)
    pool.release(thing)
    await pool.drain()
  })

  it('captures the stack of a caller that had to wait in the queue', async () => {
    const { pool } = makePool({ max: 1, leakDetectionMs: 1_000 })
    const stacks: string[] = []
    pool.on('leak', ({ stack }) => stacks.push(stack))
    const first = await pool.acquire()
    const second = borrowAndForget(pool)
    pool.release(first)
    const thing = await second
    await vi.advanceTimersByTimeAsync(1_000)
    expect(stacks).toHaveLength(1)
    expect(stacks[0]).toContain('borrowAndForget')
    pool.release(thing)
    await pool.drain()
  })

  it('stays quiet for resources released in time', async () => {
    const { pool } = makePool({ leakDetectionMs: 1_000 })
    const leak = vi.fn()
    pool.on('leak', leak)
    for (let i = 0; i < 3; i++) {
      const thing = await pool.acquire()
      await vi.advanceTimersByTimeAsync(900)
      pool.release(thing)
    }
    await vi.advanceTimersByTimeAsync(10_000)
    expect(leak).not.toHaveBeenCalled()
    await pool.drain()
  })

  it('captures no stack while detection is off', async () => {
    const { pool } = makePool()
    const capture = vi.spyOn(Error, 'captureStackTrace')
    pool.release(await pool.acquire())
    expect(capture).not.toHaveBeenCalled()
    capture.mockRestore()
    await pool.drain()
  })
})
