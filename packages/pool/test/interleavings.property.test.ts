import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPool } from '../src/index'
import { settle, track } from './fake-resources'

interface Res {
  id: number
  destroyedTimes: number
}

type Command =
  | { kind: 'acquire'; abortable: boolean; timeoutMs: number }
  | { kind: 'release'; pick: number; destroy: boolean }
  | { kind: 'abort'; pick: number }
  | { kind: 'finishCreate'; fail: boolean }
  | { kind: 'tick'; ms: number }

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('acquire' as const), abortable: fc.boolean(), timeoutMs: fc.constantFrom(0, 50, 200) }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('release' as const), pick: fc.nat(), destroy: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('abort' as const), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('finishCreate' as const), fail: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.constantFrom(10, 60, 250) }) },
)

const config = fc.record({ max: fc.integer({ min: 1, max: 4 }), min: fc.integer({ min: 0, max: 2 }), maxUses: fc.constantFrom(0, 2) })

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('random interleavings', () => {
  it('keep the pool within max, never lend a resource twice, and settle every caller', async () => {
    await fc.assert(
      fc.asyncProperty(config, fc.array(command, { maxLength: 40 }), async ({ max, min, maxUses }, commands) => {
        let nextId = 1
        const made: Res[] = []
        // Creates finish only when a command says so, in order, succeeding or failing.
        const creates: Array<{ resolve: (r: Res) => void; reject: (e: Error) => void }> = []
        const pool = createPool<Res>({
          create: () => new Promise<Res>((resolve, reject) => creates.push({ resolve, reject })),
          destroy: (resource) => {
            resource.destroyedTimes++
          },
          min: Math.min(min, max),
          max,
          maxUses,
          idleTimeoutMs: 100,
          createRetry: false,
        })
        const errors: unknown[] = []
        pool.on('error', ({ operation, error }) => {
          if (operation !== 'create') errors.push(error)
        })
        const calls: Array<{ call: ReturnType<typeof track<Res>>; controller?: AbortController; seen: boolean }> = []
        const held: Res[] = []

        const check = async () => {
          await settle(30)
          // Newly resolved acquires join `held`; a resource lent twice would show up here.
          for (const entry of calls) {
            if (entry.seen || entry.call.state !== 'resolved') continue
            entry.seen = true
            const resource = entry.call.value!
            expect(held).not.toContain(resource)
            expect(resource.destroyedTimes).toBe(0)
            held.push(resource)
          }
          const s = pool.stats()
          const pendingCalls = calls.filter((entry) => entry.call.state === 'pending').length
          expect(s.size).toBe(s.idle + s.inUse)
          expect(s.size + creates.length).toBeLessThanOrEqual(max)
          expect(s.inUse).toBe(held.length)
          expect(s.pending).toBe(pendingCalls)
          expect(s.created - s.destroyed).toBe(s.size)
          // Nobody waits while a resource is idle or while capacity is left unused.
          if (s.pending > 0) {
            expect(s.idle).toBe(0)
            expect(s.size + creates.length === max || creates.length >= s.pending).toBe(true)
          }
          expect(errors).toEqual([])
        }

        for (const step of commands) {
          switch (step.kind) {
            case 'acquire': {
              const controller = step.abortable ? new AbortController() : undefined
              const call = track(pool.acquire({ signal: controller?.signal, timeoutMs: step.timeoutMs }))
              calls.push({ call, controller, seen: false })
              break
            }
            case 'release': {
              if (held.length === 0) break
              const [resource] = held.splice(step.pick % held.length, 1)
              pool.release(resource!, { destroy: step.destroy })
              break
            }
            case 'abort': {
              const abortable = calls.filter((entry) => entry.controller !== undefined && entry.call.state === 'pending')
              abortable[step.pick % Math.max(1, abortable.length)]?.controller?.abort()
              break
            }
            case 'finishCreate': {
              const next = creates.shift()
              if (next === undefined) break
              if (step.fail) next.reject(new Error('create failed'))
              else {
                const resource = { id: nextId++, destroyedTimes: 0 }
                made.push(resource)
                next.resolve(resource)
              }
              break
            }
            case 'tick':
              await vi.advanceTimersByTimeAsync(step.ms)
              break
          }
          await check()
        }

        // Wind down: fail the creates still open, give everything back, drain.
        const drained = pool.drain({ timeoutMs: 0 })
        for (const open of creates.splice(0)) open.reject(new Error('shutting down'))
        for (const resource of held.splice(0)) pool.release(resource)
        await settle(30)
        await drained
        expect(calls.every((entry) => entry.call.state !== 'pending')).toBe(true)
        expect(made.every((resource) => resource.destroyedTimes === 1)).toBe(true)
        expect(pool.stats()).toMatchObject({ size: 0, pending: 0 })
      }),
      { numRuns: 200 },
    )
  })
})
