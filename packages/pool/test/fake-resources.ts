import { createPool, type Pool, type PoolOptions } from '../src/index'

/** A cheap resource: the pool is generic, so tests lend plain objects and watch what happens to them. */
export interface Thing {
  id: number
  closed: boolean
}

/** A resource factory that records what the pool did with it, and can be told to fail or to hang. */
export class Factory {
  private nextId = 1
  readonly made: Thing[] = []
  readonly destroyed: Thing[] = []
  /** How many of the next creates reject. */
  failNext = 0
  /** When set, creates wait until `release()` is called (one per create). */
  hold = false
  private held: Array<() => void> = []
  error = new Error('connection refused')
  signals: AbortSignal[] = []

  readonly create = async (signal: AbortSignal): Promise<Thing> => {
    this.signals.push(signal)
    if (this.hold) await new Promise<void>((resolve) => this.held.push(resolve))
    if (this.failNext > 0) {
      this.failNext--
      throw this.error
    }
    const thing = { id: this.nextId++, closed: false }
    this.made.push(thing)
    return thing
  }

  readonly destroy = (thing: Thing): void => {
    if (thing.closed) throw new Error(`thing ${thing.id} destroyed twice`)
    thing.closed = true
    this.destroyed.push(thing)
  }

  /** Lets the oldest held create finish. */
  finishOne(): void {
    this.held.shift()?.()
  }

  get waitingCreates(): number {
    return this.held.length
  }
}

/** A pool over a fresh {@link Factory}; `prepare` sets the factory up before the pool's warm-up runs. */
export function makePool(
  options: Partial<PoolOptions<Thing>> = {},
  prepare?: (factory: Factory) => void,
): { pool: Pool<Thing>; factory: Factory } {
  const factory = new Factory()
  prepare?.(factory)
  const pool = createPool<Thing>({ create: factory.create, destroy: factory.destroy, createRetry: false, ...options })
  return { pool, factory }
}

/** Lets every pending promise callback run (several rounds, for chains of awaits). */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve()
}

/** Tracks whether a promise settled, without letting a rejection go unhandled. */
export function track<T>(promise: Promise<T>): { state: 'pending' | 'resolved' | 'rejected'; value?: T; error?: unknown } {
  const tracked: { state: 'pending' | 'resolved' | 'rejected'; value?: T; error?: unknown } = { state: 'pending' }
  promise.then(
    (value) => {
      tracked.state = 'resolved'
      tracked.value = value
    },
    (error: unknown) => {
      tracked.state = 'rejected'
      tracked.error = error
    },
  )
  return tracked
}
