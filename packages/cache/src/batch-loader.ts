import { ConfigError, describeValue, TesseraError } from '@tessera/core'
import type { Factory, FactoryContext } from './cache'
import type { CacheCore } from './cache-core'
import { isKey, keyError } from './cache-writes'
import type { GetOrSetOptions } from './options'
import { callOptionProblems } from './resolve-options'

/** What a batch factory receives besides the keys. */
export interface BatchFactoryContext {
  /** The namespace path, e.g. `app:users`. */
  namespace: string
  /** Aborted (with core's `TimeoutError`) when the hard timeout of the keys' runs passes. */
  signal: AbortSignal
}

/**
 * Computes the values of many missing keys in one call (one `WHERE id = ANY($1)` query). Returns a `Map` or a plain
 * object from key to value; a key it leaves out is `undefined` (cached only with `negativeTtlMs`).
 */
export type BatchFactory<T> = (
  keys: string[],
  context: BatchFactoryContext,
) => Promise<ReadonlyMap<string, T> | Readonly<Record<string, T>>> | ReadonlyMap<string, T> | Readonly<Record<string, T>>

type KeyState = 'undecided' | 'own' | 'joined' | 'done'

interface Waiting {
  /** The key's place in the caller's list: the factory gets the missing keys in that order. */
  index: number
  key: string
  signal: AbortSignal
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
}

/**
 * One `getOrSetMany` call. Every key goes through the `getOrSet` miss path (L1, Redis, single flight, tag versions
 * read before the factory, grace, timeouts, the write-back that never overwrites a newer state); the factories of
 * the flights this call started are gathered and answered by one batch factory call, made once each of those
 * flights has either asked for its value or been answered from a cache tier. A key that joined another caller's
 * flight waits for that flight and does not hold the batch back.
 */
class BatchLoad<T> {
  private readonly states: KeyState[]
  private undecided: number
  private ownOutstanding = 0
  private readonly queue: Waiting[] = []
  private hasFired = false

  constructor(
    private readonly namespace: string,
    private readonly factory: BatchFactory<T>,
    count: number,
  ) {
    this.states = new Array<KeyState>(count).fill('undecided')
    this.undecided = count
  }

  /** The per-key factory of key number `index`. */
  factoryFor(index: number, key: string): (context: FactoryContext<T>) => Promise<T> {
    return (context) =>
      new Promise<T>((resolve, reject) => {
        const waiting: Waiting = { index, key, signal: context.signal, resolve: resolve as (value: unknown) => void, reject }
        if (this.hasFired || this.states[index] !== 'own') {
          // Asked after the batch went out (a retried run): this key alone.
          this.call([waiting])
          return
        }
        this.queue.push(waiting)
        this.move(index, 'done')
      })
  }

  /** The runner created (`isOwn`) or joined a flight for key number `index`. */
  decided(index: number, isOwn: boolean): void {
    this.move(index, isOwn ? 'own' : 'joined')
  }

  settled(index: number): void {
    this.move(index, 'done')
  }

  private move(index: number, next: KeyState): void {
    const current = this.states[index]
    if (current === 'done' || current === next) return
    if (current === 'undecided') this.undecided--
    if (current === 'own') this.ownOutstanding--
    if (next === 'own') this.ownOutstanding++
    this.states[index] = next
    if (!this.hasFired && this.undecided === 0 && this.ownOutstanding === 0 && this.queue.length > 0) {
      this.hasFired = true
      this.call(this.queue.sort((a, b) => a.index - b.index))
    }
  }

  private call(waiting: Waiting[]): void {
    const keys = waiting.map((item) => item.key)
    const signal = waiting.length === 1 ? waiting[0]!.signal : AbortSignal.any(waiting.map((item) => item.signal))
    let pending: Promise<unknown>
    try {
      pending = Promise.resolve(this.factory(keys, { namespace: this.namespace, signal }))
    } catch (error) {
      pending = Promise.reject(error)
    }
    pending.then(
      (result) => {
        const lookup = valuesOf(result)
        if (lookup === undefined) {
          const error = new TesseraError(
            `a getOrSetMany factory must return a Map or a plain object of key → value, got ${describeValue(result)}`,
            { code: 'CACHE_FACTORY_FAILED' },
          )
          for (const item of waiting) item.reject(error)
          return
        }
        for (const item of waiting) item.resolve(lookup(item.key))
      },
      (error: unknown) => {
        for (const item of waiting) item.reject(error)
      },
    )
  }
}

function valuesOf(result: unknown): ((key: string) => unknown) | undefined {
  if (result instanceof Map) return (key) => result.get(key)
  if (typeof result !== 'object' || result === null || Array.isArray(result)) return undefined
  const prototype = Object.getPrototypeOf(result)
  if (prototype !== Object.prototype && prototype !== null) return undefined
  const record = result as Record<string, unknown>
  return (key) => (Object.hasOwn(record, key) ? record[key] : undefined)
}

/** `getOrSetMany`: the values of `keys` in their order, the missing ones computed by one `factory` call. */
export async function getOrSetMany<T>(
  core: CacheCore,
  prefix: string,
  namespace: string,
  keys: readonly string[],
  factory: BatchFactory<T>,
  options: GetOrSetOptions | undefined,
): Promise<T[]> {
  if (!Array.isArray(keys)) throw new ConfigError(`keys must be an array, got ${describeValue(keys)}`, { subject: 'getOrSetMany' })
  const badIndex = keys.findIndex((key) => !isKey(key))
  if (badIndex !== -1) throw keyError(keys[badIndex])
  if (typeof factory !== 'function') {
    throw new ConfigError(`factory must be a function, got ${describeValue(factory)}`, { subject: 'getOrSetMany' })
  }
  if (options !== undefined) {
    const problems = callOptionProblems(options, 'getOrSet')
    if (problems.length > 0) throw new ConfigError(problems, { subject: 'getOrSetMany options' })
  }
  if (core.isClosed) throw core.closedError()
  const batch = new BatchLoad(namespace, factory, keys.length)
  const namespaceCounters = core.namespaces.of(namespace)
  const results = keys.map((key, index) => {
    const fk = prefix + key
    const fresh = options?.forceFresh === true || options?.checkValue !== undefined ? undefined : core.freshL1(fk)
    if (fresh !== undefined) {
      core.counters.l1Hits++
      namespaceCounters.l1Hits++
      batch.settled(index)
      return Promise.resolve(fresh.value)
    }
    const factoryOfKey = batch.factoryFor(index, key) as Factory<unknown>
    const pending = core.runner.getOrSet(fk, namespace, key, factoryOfKey, options, undefined, namespaceCounters, (isOwn) =>
      batch.decided(index, isOwn),
    )
    const done = () => batch.settled(index)
    pending.then(done, done)
    return pending
  })
  return (await Promise.all(results)) as T[]
}
