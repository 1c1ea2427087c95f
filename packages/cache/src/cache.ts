import type { BatchFactory } from './batch-loader'
import type { BusState } from './bus'
import type { GetOrSetOptions, SetOptions } from './options'
import type { CacheStats } from './stats'

/** What a factory receives. */
export interface FactoryContext<T> {
  /** The caller's key (without the namespace). */
  key: string
  /** The namespace path, e.g. `app:users`. */
  namespace: string
  /** The stale (grace) value when one is known at the time the factory starts, else `undefined`. */
  stale: T | undefined
  /**
   * Aborted (with core's `TimeoutError`) when the hard timeout passes: callers stopped waiting and new callers no
   * longer join this run, so the factory may as well stop (pass it to `fetch`, your driver's query options…).
   */
  signal: AbortSignal
  /**
   * Returns `value` to the callers without caching it (e.g. a partial result): `return ctx.skip(row)`. A stale
   * value, if any, stays as it was.
   */
  skip<V extends T>(value: V): V
  /**
   * Fails this run as a thrown error would (the stale value is served if there is one): `return ctx.fail('upstream
   * said 503')`. A string becomes a `TesseraError` with code `CACHE_FACTORY_FAILED`.
   */
  fail(reason: string | Error): never
  /**
   * Changes how the result is stored, once the value is known (e.g. a TTL from an HTTP `max-age`). Tags cannot be
   * changed here: their versions must be read before the factory runs, or an invalidation during the run could be
   * missed.
   */
  setOptions(options: { ttlMs?: number | undefined; graceMs?: number | undefined }): void
}

/** Computes a value on a miss. Its result is cached; a thrown error is not. */
export type Factory<T> = (context: FactoryContext<T>) => Promise<T> | T

/** What `ready()` resolves to. */
export interface CacheReadiness {
  /** `live`: invalidations from other instances arrive; `down`: not (yet) subscribed; `off`: no bus configured. */
  bus: BusState
}

/** One entry for `setMany` and `warm`. */
export interface CacheEntryInput<T = unknown> extends SetOptions {
  key: string
  value: T
}

/** What `warm` accepts: entries, or a function that loads them. */
export type WarmSource<T = unknown> =
  | Iterable<CacheEntryInput<T>>
  | (() => Promise<Iterable<CacheEntryInput<T>>> | Iterable<CacheEntryInput<T>>)

/**
 * A multi-level cache (or one namespace of it). Values are held in L1 **by reference**: do not mutate what you
 * put in or get out (copy first), or every reader in this process sees the change.
 */
export interface Cache {
  /** This view's namespace path, e.g. `app` or `app:users`. */
  readonly namespacePath: string
  /** The fresh value, or `undefined` on a miss (also for a cached `undefined`: use `has` to tell them apart). */
  get<T = unknown>(key: string): Promise<T | undefined>
  /** Whether a fresh value is cached. */
  has(key: string): Promise<boolean>
  /** Writes L1 and L2 and tells the other instances to drop their L1 copy. Throws a `ConversionError` for a value the codec cannot encode. */
  set<T>(key: string, value: T, options?: SetOptions): Promise<void>
  /** Removes the key from L1 and L2, in every instance. */
  delete(key: string): Promise<void>
  /** Fresh values in the order of `keys` (`undefined` for misses); L1 first, then one MGET for the rest. */
  getMany<T = unknown>(keys: readonly string[]): Promise<(T | undefined)[]>
  /** Writes every entry (one Redis pipeline, one bus message). Nothing is written if any value cannot be encoded. */
  setMany<T = unknown>(entries: readonly CacheEntryInput<T>[]): Promise<void>
  deleteMany(keys: readonly string[]): Promise<void>
  /**
   * Ends the key's freshness now but keeps it as a grace copy, in every tier and instance: `get` misses, and the
   * next `getOrSet` runs the factory and falls back to the old value if the factory fails or is slow (within
   * `graceMs` of the entry). Unlike `delete`, an outage of the source right after an invalidation still has a value
   * to serve. Nothing happens for a missing or already stale key.
   */
  expire(key: string): Promise<void>
  /**
   * The cached value, or the factory's result (cached). Concurrent calls for one key run the factory once per
   * process (and once across instances with `lock`). See the README for grace, soft and hard timeouts.
   */
  getOrSet<T>(key: string, factory: Factory<T>, options?: GetOrSetOptions): Promise<T>
  /**
   * The values of `keys` in their order; the missing ones are computed by **one** `factory(missingKeys)` call that
   * returns a `Map` or a plain object of key → value. Each key behaves as in `getOrSet` (L1, Redis, single flight per
   * key, tags, grace, timeouts, the write-back that never overwrites a newer state); `options` apply to every key.
   */
  getOrSetMany<T>(keys: readonly string[], factory: BatchFactory<T>, options?: GetOrSetOptions): Promise<T[]>
  /** Invalidates every entry carrying any of `tags`, in every namespace and every instance. */
  deleteByTag(tags: string | readonly string[]): Promise<void>
  /**
   * Ends the freshness of every entry carrying any of `tags`, everywhere, but keeps them as grace copies (as
   * `expire` does for one key): the next `getOrSet` recomputes and falls back to the old value if it fails.
   */
  expireByTag(tags: string | readonly string[]): Promise<void>
  /** Removes every entry of this namespace and its child namespaces (L1 here and elsewhere, SCAN + UNLINK in Redis). */
  clear(): Promise<void>
  /** A child cache whose keys never collide with this one's; it shares tiers, bus, tags and stats. */
  namespace(name: string): Cache
  /** Writes many entries at once (e.g. at start-up); returns how many. */
  warm<T = unknown>(source: WarmSource<T>): Promise<number>
  stats(): CacheStats
  /**
   * Resolves once the bus is subscribed, or after `timeoutMs` (default `2000`), telling whether it is live (`off`
   * without a bus). Never rejects; the bus keeps trying to subscribe after it resolves.
   */
  ready(options?: { timeoutMs?: number | undefined }): Promise<CacheReadiness>
  /** Stops the bus (closes its subscriber connection). The Redis client you passed stays open: it is yours. */
  close(): Promise<void>
  /** `await using cache = createCache(…)` closes the cache at the end of the scope, as `close()` does. */
  [Symbol.asyncDispose](): Promise<void>
}
