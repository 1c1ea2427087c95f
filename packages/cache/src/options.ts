import type { CircuitBreakerOptions, Clock, Logger } from '@tessera/core'
import type { StandardSchemaLike } from './check-value'
import type { Codec } from './codec'
import type { CompressionAlgorithm } from './compression'
import type { RedisLike, RedisSubscriberLike } from './redis-like'

/** The in-process tier (lru-cache). */
export interface L1Options {
  /** Most entries kept; the least recently used go first. Default: `10000`. */
  maxEntries?: number | undefined
  /**
   * Most bytes kept, estimated (the encoded length when the entry went to Redis, else a walk of the value).
   * Default: none (bounded by `maxEntries` only).
   */
  maxBytes?: number | undefined
  /**
   * Longest time an entry stays in L1 when an L2 is configured, whatever its own TTL. This bounds how long an
   * instance that missed a bus message can serve an outdated value. Ignored without L2. Default: `60000`.
   */
  ttlMs?: number | undefined
  /**
   * While the bus is down (its connection lost, or never made: invalidations from other instances may be missed),
   * an L1 entry that also lives in Redis is trusted for at most this long; past it, reads go to Redis. Applies from
   * the moment the bus goes down (entries already in L1 are cut short too). Default: `1000`.
   */
  busDownTtlMs?: number | undefined
}

/** The shared tier (Redis through ioredis or a compatible client). */
export interface L2Options {
  /** An ioredis `Redis` or `Cluster` (or anything with the same methods). The cache never closes it. Required. */
  redis: RedisLike
  /** Prepended to every Redis key and the bus channel, so several applications can share one Redis. Default: `'tessera:'`. */
  keyPrefix?: string | undefined
  /**
   * Each Redis command fails after this long (the caller then falls back to L1 and the factory). ioredis can hold
   * a command for a long time while it reconnects; this timer is what keeps the cache from hanging. Default: `250`.
   */
  timeoutMs?: number | undefined
  /** Entries whose encoded form is bigger are kept in L1 only (logged). Default: `1048576` (1 MiB). */
  maxEntryBytes?: number | undefined
  /**
   * Entries whose encoded form is at least this many bytes are compressed in Redis (`l2.compression`), when that
   * makes them smaller; compressed entries of any cache are read whatever this cache's setting. Default: none (off).
   */
  compressThresholdBytes?: number | undefined
  /** How entries past `compressThresholdBytes` are compressed (node:zlib). Default: `'gzip'`. */
  compression?: CompressionAlgorithm | undefined
}

/** Invalidation messages between instances over Redis pub/sub. */
export interface BusOptions {
  /** Default: `true` when `l2` is set. */
  enabled?: boolean | undefined
  /** The pub/sub channel. Default: `` `${keyPrefix}bus` ``. */
  channel?: string | undefined
  /**
   * The connection to subscribe on. The cache closes it on `close()`. Default: `l2.redis.duplicate()`.
   */
  subscriber?: RedisSubscriberLike | undefined
}

/** Distributed single flight: one instance computes a missing value, the others wait for it. */
export interface LockOptions {
  /** Default: `false`. */
  enabled?: boolean | undefined
  /** The lock expires after this long, so a holder that dies frees it. Default: `5000`. */
  ttlMs?: number | undefined
  /** Longest wait for another instance's value before computing it anyway. Default: `5000`. */
  waitMs?: number | undefined
  /** A waiter re-reads Redis this often (it also wakes on the holder's bus message). Default: `50`. */
  pollMs?: number | undefined
  /**
   * When the holder's factory fails, the callers waiting for it (and those arriving within this long) fail with
   * its error (or get their stale value) instead of each running the failing factory in turn. `0`: not shared.
   * Default: `1000`.
   */
  failureTtlMs?: number | undefined
}

/** Breaker settings for L2 (see core's `createCircuitBreaker`); the name is `cache:<namespace>:l2`. */
export type L2BreakerOptions = Omit<CircuitBreakerOptions, 'name' | 'clock'>

/** What went wrong, as told to `onError` and the logger. */
export interface CacheErrorEvent {
  /** `factory`: the factory threw; `timeout`: the hard timeout passed; `l2`: a Redis command failed or timed out; `decode`/`encode`: the codec failed; `bus`: a bad or failed bus message. */
  operation: 'factory' | 'timeout' | 'l2' | 'decode' | 'encode' | 'bus' | 'lock'
  /** The namespace path, e.g. `app:users`. */
  namespace: string
  /** The caller's key, when there is one. */
  key?: string | undefined
  /** Whether a stale (grace) value was served instead of the error. */
  staleServed?: boolean | undefined
}

/** Options of {@link createCache}. Every field is optional. */
export interface CacheOptions {
  /** Names this cache; keys of different namespaces never collide. No `:`. Default: `'default'`. */
  namespace?: string | undefined
  /** The in-process tier, or `false` for none (every read goes to Redis). Default: `{}` (enabled, defaults below). */
  l1?: L1Options | false | undefined
  /** The Redis tier. Default: none (L1 only). */
  l2?: L2Options | undefined
  /** Invalidation over Redis pub/sub; `false` turns it off. Default: `true` when `l2` is set. */
  bus?: boolean | BusOptions | undefined
  /** How long a value is fresh; `Infinity` = until deleted, invalidated or evicted. Default: `60000`. */
  ttlMs?: number | undefined
  /** Each TTL is scaled by a random factor in `[1 - jitter, 1 + jitter]`, so keys written together do not expire together. In [0, 1). Default: `0.1`. */
  jitter?: number | undefined
  /** How long an expired value is kept to be served if the factory fails or is slow. Default: `0`. */
  graceMs?: number | undefined
  /**
   * After a factory failure answered with the stale (grace) value, that value is served as fresh from L1 for this
   * long, so an outage does not run the failing factory on every call. `0` = retry on every call. Default: `0`.
   */
  graceBackoffMs?: number | undefined
  /**
   * A `getOrSet` L1 hit this close to the entry's expiry returns the cached value and starts the factory in the
   * background (once per process), so a hot key is refreshed before it expires and no caller waits. Default: `0` (off).
   */
  refreshAheadMs?: number | undefined
  /** Serve the stale value (if any) after this long and let the factory finish in the background. `0` = classic stale-while-revalidate. Default: none (wait). */
  softTimeoutMs?: number | undefined
  /** Fail with core's `TimeoutError` (or serve the stale value, if any) after this long; the factory keeps running and fills the cache. Default: none. */
  hardTimeoutMs?: number | undefined
  /** Cache `undefined` results of a factory for this long; `0` = never cache `undefined`. Default: `0`. */
  negativeTtlMs?: number | undefined
  /** Encodes entries for Redis. Default: {@link taggedJsonCodec}. */
  codec?: Codec | undefined
  /**
   * The L2 circuit breaker, or `false` for none. Default: core's breaker defaults (opens at 50% failures over ≥ 10
   * calls in 10 s, probes after 5 s), and also after `consecutiveFailures: 5` failed Redis commands in a row, so an
   * outage opens it at once even when the window holds many older successes.
   */
  breaker?: L2BreakerOptions | false | undefined
  /** Distributed single flight. Default: off. */
  lock?: LockOptions | undefined
  /** Tag versions read from Redis are trusted for this long before being read again. Default: `1000`. */
  tagVersionTtlMs?: number | undefined
  /** Where warnings go (pino, console…). Default: none. */
  logger?: Logger | undefined
  /** Told about every failure the cache absorbed or passed on. Never allowed to throw into the cache. Default: none. */
  onError?: ((error: unknown, event: CacheErrorEvent) => void) | undefined
  /** Where time comes from (tests). Default: core's `systemClock`. */
  clock?: Pick<Clock, 'now'> | undefined
}

/** Per-call options of `getOrSet`; each defaults to the cache's option of the same name. */
export interface GetOrSetOptions {
  ttlMs?: number | undefined
  /** Tags this entry carries, for `deleteByTag`; one string is one tag. Default: none. */
  tags?: string | readonly string[] | undefined
  graceMs?: number | undefined
  softTimeoutMs?: number | undefined
  hardTimeoutMs?: number | undefined
  /** Keep this entry in L1 only: no Redis read, write or lock. Default: `false`. */
  skipL2?: boolean | undefined
  graceBackoffMs?: number | undefined
  refreshAheadMs?: number | undefined
  /**
   * Run the factory even when a fresh value is cached (it still joins a run already in progress in this process),
   * and store its result: a refresh on demand. Default: `false`.
   */
  forceFresh?: boolean | undefined
  /**
   * A Standard Schema (zod, valibot, arktype…) every cached value must pass before it is served, fresh or stale;
   * a value that fails (an entry written by an older version of your code) is a miss and is recomputed. The
   * factory's own result is not checked. Costs one validation per hit (the L1 hit path is then no longer sync).
   */
  checkValue?: StandardSchemaLike | undefined
}

/** Per-call options of `set`. */
export interface SetOptions {
  ttlMs?: number | undefined
  /** One string is one tag. */
  tags?: string | readonly string[] | undefined
  graceMs?: number | undefined
  skipL2?: boolean | undefined
}

export interface ResolvedOptions {
  namespace: string
  l1: { maxEntries: number; maxBytes: number | undefined; ttlMs: number; busDownTtlMs: number } | undefined
  l2:
    | {
        redis: RedisLike
        keyPrefix: string
        timeoutMs: number
        maxEntryBytes: number
        compressThresholdBytes: number | undefined
        compression: CompressionAlgorithm
      }
    | undefined
  bus: { channel: string; subscriber: RedisSubscriberLike | undefined } | undefined
  ttlMs: number
  jitter: number
  graceMs: number
  graceBackoffMs: number
  refreshAheadMs: number
  softTimeoutMs: number | undefined
  hardTimeoutMs: number | undefined
  negativeTtlMs: number
  codec: Codec
  breaker: L2BreakerOptions | undefined
  lock: { ttlMs: number; waitMs: number; pollMs: number; failureTtlMs: number } | undefined
  tagVersionTtlMs: number
  logger: Logger | undefined
  onError: ((error: unknown, event: CacheErrorEvent) => void) | undefined
  clock: Pick<Clock, 'now'>
}
