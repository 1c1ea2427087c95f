import { TimeoutError } from '@tessera/core'
import { describe, expect, it } from 'vitest'
import { deferred } from '../../../tooling/test-services/deferred'
import { DeadlineQueue } from '../src/deadline-queue'

const never = () => new Promise<string>(() => {})

describe('DeadlineQueue', () => {
  it('passes on the value or the error of a call that ends in time', async () => {
    const queue = new DeadlineQueue(10_000)
    await expect(queue.race(Promise.resolve('v'), 'GET')).resolves.toBe('v')
    const failure = new Error('READONLY')
    await expect(queue.race(Promise.reject(failure), 'SET')).rejects.toBe(failure)
  })

  it('rejects a call that never ends with a TimeoutError naming the command', async () => {
    const queue = new DeadlineQueue(20)
    const error = await queue.race(never(), 'GET').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TimeoutError)
    expect(error).toMatchObject({ operation: 'redis GET', timeoutMs: 20 })
  })

  it('times out a hung call behind calls that answered, and ignores its late answer', async () => {
    const queue = new DeadlineQueue(20)
    const hung = deferred<string>()
    const first = queue.race(hung.promise, 'GET')
    const outcomes = await Promise.all([queue.race(Promise.resolve('a'), 'GET'), queue.race(Promise.resolve('b'), 'GET')])
    expect(outcomes).toEqual(['a', 'b'])
    await expect(first).rejects.toBeInstanceOf(TimeoutError)
    hung.resolve('too late')
    await expect(first).rejects.toBeInstanceOf(TimeoutError)
  })

  it('times out every call of a stalled burst, and keeps serving calls afterwards', async () => {
    const queue = new DeadlineQueue(20)
    const stalled = Array.from({ length: 50 }, (_, i) => queue.race(never(), `GET ${i}`).catch((e: unknown) => e))
    const errors = await Promise.all(stalled)
    expect(errors.every((error) => error instanceof TimeoutError)).toBe(true)
    expect(errors.map((error) => (error as TimeoutError).operation)).toEqual(Array.from({ length: 50 }, (_, i) => `redis GET ${i}`))
    await expect(queue.race(Promise.resolve('again'), 'GET')).resolves.toBe('again')
    await expect(queue.race(never(), 'GET')).rejects.toBeInstanceOf(TimeoutError)
  })
})
