import { randomUUID } from 'node:crypto'
import { tracingChannel } from 'node:diagnostics_channel'
import { performance } from 'node:perf_hooks'
import {
  type CacheDeleteMessage,
  type CacheGetMessage,
  type CacheSetMessage,
  type CacheTier,
  CHANNELS,
  ConfigError,
  ConversionError,
  describeValue,
  hasSubscribers,
  isTesseraError,
  publish,
  TesseraError,
  TimeoutError,
  traced,
} from '@tessera/core'
import { LRUCache } from 'lru-cache'
import { type BusMessage, type BusState, BusSubscriber } from './bus'
import { encodeAndCheck } from './codec'
import { DistributedLock } from './distributed-lock'
import { type Entry, escapeGlob, estimateBytes, isStoredEntry, jitteredTtl, type StoredEntry } from './entry'
import { L2Tier, UNAVAILABLE } from './l2-tier'
import { OperationBudget } from './operation-budget'
import {
  type CacheErrorEvent,
  type CacheOptions,
  callOptionProblems,
  checkNamespaceName,
  type GetOrSetOptions,
  isDuration,
  type ResolvedOptions,
  resolveOptions,
  type SetOptions,
  tagList,
} from './options'
import { type CacheStats, type Counters, createCounters, snapshot } from './stats'
import { type TagVersionMap, TagVersions } from './tag-versions'

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
   * The cached value, or the factory's result (cached). Concurrent calls for one key run the factory once per
   * process (and once across instances with `lock`). See the README for grace, soft and hard timeouts.
   */
  getOrSet<T>(key: string, factory: Factory<T>, options?: GetOrSetOptions): Promise<T>
  /** Invalidates every entry carrying any of `tags`, in every namespace and every instance. */
  deleteByTag(tags: string | readonly string[]): Promise<void>
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

interface FlightResult {
  value: unknown
  tier: CacheTier
  stale: boolean
}

/** A Redis write. */
interface Write {
  key: string
  text: string
  ttlMs: number
}

/** An entry ready to be stored in both tiers. */
interface Built {
  fk: string
  entry: Entry
  write: Write | undefined
  /** The Redis key to delete instead of writing (the value is too big for L2: an older value must not stay there). */
  unlink: string | undefined
}

/** One factory run shared by every concurrent caller of a key in this process. */
interface Flight {
  promise: Promise<FlightResult>
  /** The best stale value known so far; callers past their soft timeout take it. */
  stale: Entry | undefined
  /** Callers waiting for a stale value; created by the first one (most flights have none). */
  staleListeners: Set<() => void> | undefined
  /** Told to the factory; aborted when the flight passes its hard timeout. */
  readonly abort: AbortController
  /** The key was written or deleted (here or, per the bus, elsewhere) while the factory ran: its result is not stored. */
  invalidated: boolean
  /**
   * What Redis held for the key when this flight read it (`null`: nothing), or `undefined` when Redis could not be
   * read. The write-back only happens if Redis still holds exactly that: a delete or write in between wins.
   */
  seenInL2: string | null | undefined
  /** When the flight started (clock ms): a write-back later than {@link DELETE_MARKER_TTL_MS} is not attempted. */
  readonly startedAt: number
  /** What the factory threw, if it did (a lock holder leaves it for the waiters). */
  factoryError: unknown
  /** The Redis time left to this flight (one `l2.timeoutMs` for all its commands). */
  readonly budget: OperationBudget
}

/**
 * `delete()` leaves this in Redis instead of removing the key, so that a factory that read the database before the
 * delete and finishes after it sees that the key changed and does not store its (old) value. Starts with NUL: no
 * codec output does. It lives {@link DELETE_MARKER_TTL_MS}; a factory running longer than that is not written back.
 */
const DELETE_MARKER = '\u0000tessera:deleted:'
const DELETE_MARKER_TTL_MS = 60_000

function isDeleteMarker(text: string): boolean {
  return text.charCodeAt(0) === 0 && text.startsWith(DELETE_MARKER)
}

const getChannel = tracingChannel(CHANNELS.cacheGet)
const setChannel = tracingChannel(CHANNELS.cacheSet)
const deleteChannel = tracingChannel(CHANNELS.cacheDelete)

function noop(): void {}

/** A flight's promise before its run starts (it is replaced at once). */
const NOT_STARTED: Promise<FlightResult> = new Promise(noop)

function keyError(key: unknown): ConfigError {
  return new ConfigError(`a key must be a non-empty string, got ${describeValue(key)}`, { subject: 'cache key' })
}

function isKey(key: unknown): key is string {
  return typeof key === 'string' && key.length > 0
}

function toTagList(tags: unknown): string[] {
  const list = typeof tags === 'string' ? [tags] : tags
  if (!Array.isArray(list) || list.length === 0 || !list.every((tag) => typeof tag === 'string' && tag.length > 0)) {
    throw new ConfigError(`tags must be a non-empty string or a non-empty array of them, got ${describeValue(tags)}`, {
      subject: 'deleteByTag',
    })
  }
  return list
}

/** The state shared by a cache and all its namespaces. */
class CacheCore {
  readonly o: ResolvedOptions
  readonly l1: LRUCache<string, Entry> | undefined
  readonly l2: L2Tier | undefined
  private readonly l2TimeoutMs: number
  private readonly lock: DistributedLock | undefined
  readonly tags: TagVersions
  readonly counters: Counters = createCounters()
  readonly instanceId = randomUUID()
  private readonly bus: BusSubscriber | undefined
  private readonly flights = new Map<string, Flight>()
  private readonly keyWaiters = new Map<string, Set<() => void>>()
  /** How long a new L1 copy of an L2 entry is trusted: `l1.ttlMs`, or `l1.busDownTtlMs` while the bus is down. */
  private l1TtlMs: number
  private readonly keyPrefix: string
  private lockSeq = 0
  closed = false

  constructor(options: CacheOptions | undefined) {
    const o = resolveOptions(options)
    this.o = o
    this.l1TtlMs = o.l1?.ttlMs ?? Number.POSITIVE_INFINITY
    this.keyPrefix = o.l2?.keyPrefix ?? ''
    this.l2TimeoutMs = o.l2?.timeoutMs ?? 0
    if (o.l1 !== undefined) {
      this.l1 =
        o.l1.maxBytes === undefined
          ? new LRUCache<string, Entry>({ max: o.l1.maxEntries })
          : new LRUCache<string, Entry>({ max: o.l1.maxEntries, maxSize: o.l1.maxBytes })
    }
    if (o.l2 !== undefined) {
      this.l2 = new L2Tier({
        redis: o.l2.redis,
        timeoutMs: o.l2.timeoutMs,
        breaker: o.breaker,
        breakerName: `cache:${o.namespace}:l2`,
        counters: this.counters,
        onFailure: (error, operation) => this.report(error, { operation: 'l2', namespace: o.namespace, key: operation }),
        onBreakerChange: (text) => o.logger?.warn({ cache: o.namespace }, `cache "${o.namespace}": ${text}`),
      })
    }
    if (this.l2 !== undefined && o.lock !== undefined) this.lock = new DistributedLock(this.l2, o.lock)
    this.tags = new TagVersions(this.l2, (tag) => `${this.keyPrefix}__tag:${o.namespace}:${tag}`, o.clock, o.tagVersionTtlMs)
    if (o.bus !== undefined && o.l2 !== undefined) {
      const connection = o.bus.subscriber ?? o.l2.redis.duplicate()
      const busDownTtlMs = o.l1?.busDownTtlMs ?? 0
      this.l1TtlMs = Math.min(this.l1TtlMs, busDownTtlMs)
      this.bus = new BusSubscriber(connection, o.bus.channel, this.instanceId, {
        onMessage: (message) => this.onBusMessage(message),
        onLive: (isReconnect) => {
          this.l1TtlMs = o.l1?.ttlMs ?? Number.POSITIVE_INFINITY
          if (!isReconnect) return
          // Invalidations sent while we were away are lost: start L1 afresh rather than serve what they dropped.
          this.l1?.clear()
          o.logger?.info({ cache: o.namespace }, `cache "${o.namespace}": bus reconnected; L1 cleared`)
        },
        onDown: () => {
          this.l1TtlMs = busDownTtlMs
          // Entries already in L1 may be invalidated elsewhere without our knowing: trust them only a little longer.
          const until = this.o.clock.now() + busDownTtlMs
          this.l1?.forEach((entry) => {
            if (entry.l > until) entry.l = until
          })
          o.logger?.warn({ cache: o.namespace }, `cache "${o.namespace}": bus connection lost; L1 trusted ${busDownTtlMs} ms at most`)
        },
        onError: (error) => this.report(error, { operation: 'bus', namespace: o.namespace }),
      })
    }
  }

  // ---- reporting ----------------------------------------------------------------------------------------

  report(error: unknown, event: CacheErrorEvent): void {
    const logger = this.o.logger
    if (logger !== undefined) {
      const detail = error instanceof Error ? error.message : describeValue(error)
      const what = event.key === undefined ? event.operation : `${event.operation} "${event.key}"`
      const text = `cache "${event.namespace}": ${what} failed: ${detail}${event.staleServed ? ' (served a stale value)' : ''}`
      // A factory error the caller receives is the caller's to log; everything the cache absorbed is ours.
      if (event.operation === 'factory' && !event.staleServed) logger.debug({ err: error, ...event }, text)
      else logger.warn({ err: error, ...event }, text)
    }
    const onError = this.o.onError
    if (onError !== undefined) {
      try {
        onError(error, event)
      } catch {
        // An observer must not break the cache operation it observes.
      }
    }
  }

  // ---- L1 helpers ---------------------------------------------------------------------------------------

  /** A fresh L1 entry whose tags are known to be current, without waiting. */
  freshL1(fk: string): Entry | undefined {
    const entry = this.l1?.get(fk)
    if (entry === undefined) return undefined
    const now = this.o.clock.now()
    if (now < entry.e && now < entry.l && (entry.t === undefined || this.tags.isCurrentSync(entry.t, now) === true)) return entry
    return undefined
  }

  private putL1(fk: string, stored: StoredEntry, now: number, size: number): void {
    if (this.l1 === undefined) return
    const entry: Entry = { v: stored.v, e: stored.e, s: stored.s, l: Math.min(stored.s, now + this.l1TtlMs), t: stored.t }
    if (this.o.l1?.maxBytes === undefined) this.l1.set(fk, entry)
    else this.l1.set(fk, entry, { size: Math.max(1, size) })
  }

  private dropL1Prefix(prefix: string): void {
    const l1 = this.l1
    if (l1 === undefined) return
    for (const key of [...l1.keys()]) if (key.startsWith(prefix)) l1.delete(key)
  }

  // ---- L2 helpers ---------------------------------------------------------------------------------------

  redisKey(fk: string): string {
    return this.keyPrefix + fk
  }

  private decode(text: string, namespace: string, key: string): StoredEntry | undefined {
    let raw: unknown
    try {
      raw = this.o.codec.decode(text)
    } catch (error) {
      this.counters.decodeErrors++
      this.report(error, { operation: 'decode', namespace, key })
      return undefined
    }
    if (!isStoredEntry(raw)) {
      this.counters.decodeErrors++
      this.report(new ConversionError({ value: text, target: 'a cache entry', reason: 'not an entry written by @tessera/cache' }), {
        operation: 'decode',
        namespace,
        key,
      })
      return undefined
    }
    return raw
  }

  /**
   * Decodes and tag-checks one Redis reply; a stale or fresh entry, or `undefined`. Synchronous for an untagged
   * entry (the common case, and the L2 hit path); a promise only when tag versions may have to be read.
   */
  private fromReply(
    text: string | null | undefined,
    namespace: string,
    key: string,
    budget?: OperationBudget,
  ): StoredEntry | undefined | Promise<StoredEntry | undefined> {
    if (text === null || text === undefined || isDeleteMarker(text)) return undefined
    const entry = this.decode(text, namespace, key)
    if (entry === undefined || entry.t === undefined) return entry
    const sync = this.tags.isCurrentSync(entry.t, this.o.clock.now())
    if (sync !== undefined) return sync ? entry : undefined
    return this.tags.isCurrent(entry.t, budget).then((isCurrent) => (isCurrent ? entry : undefined))
  }

  private async readL2(
    fk: string,
    namespace: string,
    key: string,
    flight: Flight | undefined,
    budget: OperationBudget,
  ): Promise<{ entry: StoredEntry; size: number } | undefined> {
    const l2 = this.l2
    if (l2 === undefined) return undefined
    const text = await budget.run(() => l2.get(this.redisKey(fk)))
    if (text === UNAVAILABLE) return undefined
    if (flight !== undefined) flight.seenInL2 = text
    if (text === null) return undefined
    let entry = this.fromReply(text, namespace, key, budget)
    if (entry instanceof Promise) entry = await entry
    return entry === undefined ? undefined : { entry, size: text.length }
  }

  private encode(value: unknown, e: number, s: number, t: TagVersionMap | undefined): { text: string; isExact: boolean } {
    const stored: StoredEntry = t === undefined ? { v: value, e, s } : { v: value, e, s, t }
    try {
      return encodeAndCheck(this.o.codec, stored)
    } catch (error) {
      if (isTesseraError(error)) throw error
      throw new ConversionError(
        { value, target: 'a cache entry', reason: error instanceof Error ? error.message : String(error) },
        { cause: error },
      )
    }
  }

  private isOversize(text: string): boolean {
    const max = this.o.l2?.maxEntryBytes ?? Number.POSITIVE_INFINITY
    // A UTF-8 character is at most 3 bytes per UTF-16 unit: most entries are decided without counting.
    if (text.length * 3 <= max) return false
    return Buffer.byteLength(text) > max
  }

  /**
   * Builds one entry for both tiers without storing it: the L1 entry and the Redis write (if any). Throws a
   * `ConversionError` when the value cannot be encoded, before anything was stored.
   */
  private build(
    fk: string,
    namespace: string,
    key: string,
    value: unknown,
    ttlMs: number,
    graceMs: number,
    versions: TagVersionMap | undefined,
    toL2: boolean,
  ): Built {
    const now = this.o.clock.now()
    const e = now + jitteredTtl(ttlMs, this.o.jitter)
    const s = e + graceMs
    let text: string | undefined
    const l2 = toL2 ? this.l2 : undefined
    if (l2 !== undefined) {
      const encoded = this.encode(value, e, s, versions)
      text = encoded.text
      // A toJSON changed the value: this process's L1 holds what the other processes will read, not the original.
      if (!encoded.isExact) value = (this.o.codec.decode(text) as StoredEntry).v
      if (this.isOversize(text)) {
        this.counters.oversize++
        const bytes = Buffer.byteLength(text)
        this.o.logger?.warn(
          { cache: this.o.namespace, namespace, key, bytes },
          `cache "${namespace}": "${key}" is ${bytes} bytes, too big for L2; kept in L1 only`,
        )
        text = undefined
      }
    }
    const entry: Entry = { v: value, e, s, l: l2 === undefined ? s : Math.min(s, now + this.l1TtlMs), t: versions }
    if (text === undefined) return { fk, entry, write: undefined, unlink: l2 === undefined ? undefined : this.redisKey(fk) }
    return { fk, entry, write: { key: this.redisKey(fk), text, ttlMs: s - now }, unlink: undefined }
  }

  /** Removes `entry` from L1 if it is still the copy held for `fk`. */
  private dropL1Copy(fk: string, entry: Entry): void {
    if (this.l1?.peek(fk) === entry) this.l1.delete(fk)
  }

  /** A fresh delete marker (random, so that two deletes never look alike). */
  private deleteMarker(): string {
    return DELETE_MARKER + randomUUID()
  }

  /** Marks the running flights of these keys: their results must not be stored. */
  private invalidateFlights(fks: readonly string[]): void {
    if (this.flights.size === 0) return
    for (const fk of fks) {
      const flight = this.flights.get(fk)
      if (flight !== undefined) flight.invalidated = true
    }
  }

  private invalidateFlightsWithPrefix(prefix: string): void {
    for (const [fk, flight] of this.flights) if (fk.startsWith(prefix)) flight.invalidated = true
  }

  private storeL1(built: Built): void {
    const l1 = this.l1
    if (l1 === undefined) return
    if (this.o.l1?.maxBytes === undefined) l1.set(built.fk, built.entry)
    else l1.set(built.fk, built.entry, { size: Math.max(1, built.write?.text.length ?? estimateBytes(built.entry.v)) })
  }

  // ---- bus ----------------------------------------------------------------------------------------------

  private onBusMessage(message: BusMessage): void {
    if (message.n !== this.o.namespace) return
    this.counters.busReceived++
    if (hasSubscribers(CHANNELS.cacheBus)) {
      publish(CHANNELS.cacheBus, {
        cache: this.o.namespace,
        direction: 'received',
        keys: message.k,
        tags: message.t ? Object.keys(message.t) : undefined,
        namespace: message.c,
      })
    }
    if (message.k !== undefined) {
      for (const fk of message.k) {
        this.l1?.delete(fk)
        this.wake(fk)
      }
      this.invalidateFlights(message.k)
    }
    if (message.t !== undefined) this.tags.learn(message.t)
    if (message.c !== undefined) {
      this.dropL1Prefix(message.c)
      this.invalidateFlightsWithPrefix(message.c)
    }
  }

  async send(message: Omit<BusMessage, 'i' | 'n'>): Promise<void> {
    if (this.bus === undefined || this.l2 === undefined || this.o.bus === undefined) return
    const sent = await this.l2.publish(this.o.bus.channel, JSON.stringify({ i: this.instanceId, n: this.o.namespace, ...message }))
    if (!sent) return
    this.counters.busSent++
    if (hasSubscribers(CHANNELS.cacheBus)) {
      publish(CHANNELS.cacheBus, {
        cache: this.o.namespace,
        direction: 'sent',
        keys: message.k,
        tags: message.t ? Object.keys(message.t) : undefined,
        namespace: message.c,
      })
    }
  }

  private wake(fk: string): void {
    const waiters = this.keyWaiters.get(fk)
    if (waiters !== undefined) for (const done of [...waiters]) done()
  }

  private waitForKey(fk: string, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let waiters = this.keyWaiters.get(fk)
      if (waiters === undefined) {
        waiters = new Set()
        this.keyWaiters.set(fk, waiters)
      }
      const set = waiters
      const done = () => {
        clearTimeout(timer)
        set.delete(done)
        if (set.size === 0 && this.keyWaiters.get(fk) === set) this.keyWaiters.delete(fk)
        resolve()
      }
      const timer = setTimeout(done, ms)
      set.add(done)
    })
  }

  async ready(timeoutMs = 2_000): Promise<CacheReadiness> {
    const bus = this.bus
    if (bus === undefined) return { bus: 'off' }
    await bus.waitUntilLive(timeoutMs)
    return { bus: bus.state }
  }

  busState(): BusState {
    return this.bus === undefined ? 'off' : this.bus.state
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const fk of [...this.keyWaiters.keys()]) this.wake(fk)
    await this.bus?.close()
  }

  closedError(): TesseraError {
    return new TesseraError(`cache "${this.o.namespace}" is closed`, { code: 'CACHE_CLOSED' })
  }

  stats(): CacheStats {
    const breaker = this.l2 === undefined ? 'none' : this.l2.breaker === undefined ? 'disabled' : this.l2.breaker.state
    return snapshot(this.counters, this.l1?.size ?? 0, breaker, this.busState())
  }

  // ---- reads --------------------------------------------------------------------------------------------

  /** The slow part of `get`/`has`: L1 with an async tag check, then L2. */
  async lookup(fk: string, namespace: string, key: string): Promise<{ found: boolean; value: unknown; tier: CacheTier }> {
    const budget = new OperationBudget(this.l2TimeoutMs)
    const l1Entry = this.l1?.get(fk)
    if (l1Entry !== undefined) {
      const now = this.o.clock.now()
      if (now < l1Entry.e && now < l1Entry.l && (await this.tags.isCurrent(l1Entry.t, budget))) {
        this.counters.l1Hits++
        return { found: true, value: l1Entry.v, tier: 'l1' }
      }
    }
    if (this.l1 !== undefined) this.counters.l1Misses++
    const read = await this.readL2(fk, namespace, key, undefined, budget)
    if (read !== undefined) {
      const now = this.o.clock.now()
      if (now < read.entry.e) {
        this.counters.l2Hits++
        this.putL1(fk, read.entry, now, read.size)
        return { found: true, value: read.entry.v, tier: 'l2' }
      }
    }
    if (this.l2 !== undefined) this.counters.l2Misses++
    this.counters.misses++
    return { found: false, value: undefined, tier: 'origin' }
  }

  async getMany(prefix: string, namespace: string, keys: readonly string[]): Promise<unknown[]> {
    if (!Array.isArray(keys)) throw new ConfigError(`keys must be an array, got ${describeValue(keys)}`, { subject: 'getMany' })
    const bad = keys.find((key) => !isKey(key))
    if (bad !== undefined || keys.some((key) => !isKey(key))) throw keyError(bad)
    const results: unknown[] = new Array(keys.length).fill(undefined)
    const missing: number[] = []
    keys.forEach((key, i) => {
      const entry = this.freshL1(prefix + key)
      if (entry === undefined) {
        missing.push(i)
        return
      }
      this.counters.l1Hits++
      results[i] = entry.v
    })
    if (this.l1 !== undefined) this.counters.l1Misses += missing.length
    if (missing.length === 0) return results
    const l2 = this.l2
    const replies = l2 === undefined ? UNAVAILABLE : await l2.mget(missing.map((i) => this.redisKey(prefix + keys[i])))
    for (const [n, i] of missing.entries()) {
      const key = keys[i]!
      const text = replies === UNAVAILABLE ? undefined : replies[n]
      let entry = this.fromReply(text, namespace, key)
      if (entry instanceof Promise) entry = await entry
      const now = this.o.clock.now()
      if (entry !== undefined && now < entry.e) {
        this.counters.l2Hits++
        this.putL1(prefix + key, entry, now, text?.length ?? 1)
        results[i] = entry.v
        continue
      }
      if (l2 !== undefined) this.counters.l2Misses++
      this.counters.misses++
    }
    return results
  }

  // ---- getOrSet -----------------------------------------------------------------------------------------

  getOrSet<T>(
    prefix: string,
    namespace: string,
    key: string,
    factory: Factory<T>,
    options: GetOrSetOptions | undefined,
    message: CacheGetMessage | undefined,
  ): Promise<T> {
    if (typeof key !== 'string' || key.length === 0) return Promise.reject(keyError(key))
    if (typeof factory !== 'function') {
      return Promise.reject(new ConfigError(`factory must be a function, got ${describeValue(factory)}`, { subject: `getOrSet("${key}")` }))
    }
    if (options !== undefined) {
      const problems = callOptionProblems(options, 'getOrSet')
      if (problems.length > 0) return Promise.reject(new ConfigError(problems, { subject: `getOrSet("${key}") options` }))
    }
    if (this.closed) return Promise.reject(this.closedError())
    const fk = prefix + key
    // The hot path: an L1 hit is a map lookup and a few comparisons, no decoding, no await.
    const l1 = this.l1
    if (l1 !== undefined) {
      const entry = l1.get(fk)
      if (entry !== undefined) {
        const now = this.o.clock.now()
        if (now < entry.e && now < entry.l && (entry.t === undefined || this.tags.isCurrentSync(entry.t, now) === true)) {
          this.counters.l1Hits++
          if (message !== undefined) {
            message.hit = true
            message.tier = 'l1'
          }
          return Promise.resolve(entry.v as T)
        }
      }
    }
    return this.getOrSetSlow(fk, namespace, key, factory as Factory<unknown>, options, message) as Promise<T>
  }

  private async getOrSetSlow(
    fk: string,
    namespace: string,
    key: string,
    factory: Factory<unknown>,
    options: GetOrSetOptions | undefined,
    message: CacheGetMessage | undefined,
  ): Promise<unknown> {
    let stale: Entry | undefined
    const l1 = this.l1
    const l1Entry = l1?.get(fk)
    if (l1Entry !== undefined) {
      if (!(await this.tags.isCurrent(l1Entry.t))) l1?.delete(fk)
      else {
        const now = this.o.clock.now()
        if (now < l1Entry.e && now < l1Entry.l) {
          this.counters.l1Hits++
          if (message !== undefined) Object.assign(message, { hit: true, tier: 'l1' })
          return l1Entry.v
        }
        if (now < l1Entry.s) stale = l1Entry
      }
    }
    if (l1 !== undefined) this.counters.l1Misses++
    let flight = this.flights.get(fk)
    if (flight === undefined) flight = this.startFlight(fk, namespace, key, factory, options, stale)
    else {
      this.counters.coalesced++
      if (stale !== undefined) this.offerStale(flight, stale)
    }
    const result = await this.waitFor(flight, namespace, key, options)
    if (result.tier === 'l2') this.counters.l2Hits++
    else this.counters.misses++
    if (result.stale) this.counters.staleServed++
    if (message !== undefined)
      Object.assign(message, { hit: result.tier !== 'origin' || result.stale, tier: result.tier, stale: result.stale })
    return result.value
  }

  private startFlight(
    fk: string,
    namespace: string,
    key: string,
    factory: Factory<unknown>,
    options: GetOrSetOptions | undefined,
    stale: Entry | undefined,
  ): Flight {
    const flight: Flight = {
      promise: NOT_STARTED,
      stale,
      staleListeners: undefined,
      abort: new AbortController(),
      invalidated: false,
      seenInL2: undefined,
      startedAt: this.o.clock.now(),
      factoryError: undefined,
      budget: new OperationBudget(this.l2TimeoutMs),
    }
    this.flights.set(fk, flight)
    // runFlight removes the flight from `flights` when it ends. Every caller handles its rejection (waitFor).
    flight.promise = this.runFlight(flight, fk, namespace, key, factory, options)
    const hardMs = options?.hardTimeoutMs ?? this.o.hardTimeoutMs
    if (hardMs !== undefined) {
      // Past its hard timeout a flight is no longer joined: a factory that never settles must not hold the key.
      const timer = setTimeout(() => {
        this.endFlight(fk, flight)
        flight.abort.abort(new TimeoutError({ operation: `cache getOrSet("${key}") factory`, timeoutMs: hardMs }))
      }, hardMs)
      timer.unref()
      flight.promise.then(
        () => clearTimeout(timer),
        () => clearTimeout(timer),
      )
    }
    return flight
  }

  private offerStale(flight: Flight, entry: Entry | StoredEntry): void {
    const current = flight.stale
    if (current !== undefined && current.e >= entry.e) return
    flight.stale = { v: entry.v, e: entry.e, s: entry.s, l: entry.s, t: entry.t }
    if (flight.staleListeners !== undefined) for (const listener of [...flight.staleListeners]) listener()
  }

  private async runFlight(
    flight: Flight,
    fk: string,
    namespace: string,
    key: string,
    factory: Factory<unknown>,
    options: GetOrSetOptions | undefined,
  ): Promise<FlightResult> {
    const l2 = options?.skipL2 === true ? undefined : this.l2
    let lockToken: string | undefined
    let stopKeepAlive: (() => void) | undefined
    try {
      if (l2 !== undefined) {
        // readL2, inlined: this is the L2 hit path, and every async layer costs a promise and a microtask.
        const started = performance.now()
        const text = await l2.get(this.redisKey(fk))
        flight.budget.spend(performance.now() - started, text === UNAVAILABLE)
        if (text !== UNAVAILABLE) flight.seenInL2 = text
        if (text !== UNAVAILABLE && text !== null) {
          let read = this.fromReply(text, namespace, key, flight.budget)
          if (read instanceof Promise) read = await read
          if (read !== undefined) {
            const now = this.o.clock.now()
            if (now < read.e) {
              this.putL1(fk, read, now, text.length)
              return { value: read.v, tier: 'l2', stale: false }
            }
            if (now < read.s) this.offerStale(flight, read)
          }
        }
        this.counters.l2Misses++
        if (this.o.lock !== undefined) {
          const outcome = await this.lockOrWait(flight, fk, namespace, key)
          if (outcome.value !== undefined) return outcome.value
          if (outcome.failure !== undefined) {
            const stale = flight.stale
            if (stale !== undefined) return { value: stale.v, tier: 'origin', stale: true }
            throw outcome.failure
          }
          lockToken = outcome.token
          if (lockToken !== undefined) stopKeepAlive = this.lock?.keepAlive(this.lockKey(fk), lockToken)
        }
      }
      return await this.runFactory(flight, fk, namespace, key, factory, options, l2 !== undefined)
    } finally {
      this.endFlight(fk, flight)
      stopKeepAlive?.()
      if (lockToken !== undefined) {
        const failure = flight.factoryError
        const text = failure === undefined ? undefined : failure instanceof Error ? failure.message : describeValue(failure)
        const released = this.lock?.release(this.lockKey(fk), lockToken, text)
        // Wake the waiters at once to share the failure (they poll otherwise).
        if (text !== undefined && released !== undefined) void released.then(() => this.send({ k: [fk] }))
      }
    }
  }

  private endFlight(fk: string, flight: Flight): void {
    if (this.flights.get(fk) === flight) this.flights.delete(fk)
  }

  private lockKey(fk: string): string {
    return `${this.keyPrefix}__lock:${fk}`
  }

  /**
   * Distributed single flight: take the lock (SET NX PX) and compute, or wait for the holder's value, polling
   * Redis every `pollMs` and waking early on the holder's bus message. After `waitMs` (or when Redis is
   * unreachable) the caller computes the value itself: the lock is an optimisation, never a reason to fail.
   */
  private async lockOrWait(
    flight: Flight,
    fk: string,
    namespace: string,
    key: string,
  ): Promise<{ token?: string | undefined; value?: FlightResult | undefined; failure?: TesseraError | undefined }> {
    const lock = this.o.lock!
    const lockKey = this.lockKey(fk)
    const token = `${this.instanceId}:${++this.lockSeq}`
    const deadline = Date.now() + lock.waitMs
    let waited = false
    for (;;) {
      const attempt = await flight.budget.run(() => this.lock!.tryAcquire(lockKey, token))
      if (attempt === UNAVAILABLE) return {}
      if (attempt.outcome === 'failed') {
        const failure = new TesseraError(`another instance's factory for "${key}" failed: ${attempt.message}`, {
          code: 'CACHE_FACTORY_FAILED',
          retryable: true,
        })
        this.counters.factoryErrors++
        this.report(failure, { operation: 'lock', namespace, key, staleServed: flight.stale !== undefined })
        return { failure }
      }
      const acquired = attempt.outcome === 'acquired'
      // Double-checked: the previous holder may have filled the key between our read and our lock.
      const read = await this.readL2(fk, namespace, key, flight, flight.budget)
      const now = this.o.clock.now()
      if (read !== undefined && now < read.entry.e) {
        if (acquired) void this.lock!.release(lockKey, token)
        this.putL1(fk, read.entry, now, read.size)
        return { value: { value: read.entry.v, tier: 'l2', stale: false } }
      }
      if (read !== undefined && now < read.entry.s) this.offerStale(flight, read.entry)
      if (acquired) {
        this.counters.locksAcquired++
        return { token }
      }
      if (!waited) {
        waited = true
        this.counters.lockWaits++
      }
      if (Date.now() >= deadline || this.closed) {
        this.counters.lockGaveUp++
        this.report(new TimeoutError({ operation: `waiting for another instance to compute "${key}"`, timeoutMs: lock.waitMs }), {
          operation: 'lock',
          namespace,
          key,
        })
        return {}
      }
      await this.waitForKey(fk, lock.pollMs)
    }
  }

  private async runFactory(
    flight: Flight,
    fk: string,
    namespace: string,
    key: string,
    factory: Factory<unknown>,
    options: GetOrSetOptions | undefined,
    toL2: boolean,
  ): Promise<FlightResult> {
    const tags = options?.tags === undefined ? undefined : tagList(options.tags)
    // Read before the factory runs: an invalidation during the run then makes its result stale at once.
    const versions = tags !== undefined && tags.length > 0 ? await this.tags.current(tags, flight.budget) : undefined
    // Tag versions that could not be learnt (Redis away, never seen): the result is served but not stored.
    if (versions === undefined && tags !== undefined && tags.length > 0) flight.invalidated = true
    this.counters.factoryCalls++
    let value: unknown
    try {
      value = await factory({ key, namespace, stale: flight.stale?.v, signal: flight.abort.signal })
    } catch (error) {
      this.counters.factoryErrors++
      flight.factoryError = error
      const stale = flight.stale
      this.report(error, { operation: 'factory', namespace, key, staleServed: stale !== undefined })
      if (stale !== undefined) return { value: stale.v, tier: 'origin', stale: true }
      throw error
    }
    if (value === undefined && this.o.negativeTtlMs <= 0) return { value, tier: 'origin', stale: false }
    const ttlMs = value === undefined ? this.o.negativeTtlMs : (options?.ttlMs ?? this.o.ttlMs)
    let built: Built
    try {
      built = this.build(fk, namespace, key, value, ttlMs, options?.graceMs ?? this.o.graceMs, versions, toL2)
    } catch (error) {
      // The caller still gets the value; it is just not cached (it could not be stored in Redis).
      this.report(error, { operation: 'encode', namespace, key })
      return { value, tier: 'origin', stale: false }
    }
    // Written or deleted meanwhile: the caller gets what it asked for, but it is not stored over the newer state.
    if (flight.invalidated) return { value, tier: 'origin', stale: false }
    this.storeL1(built)
    const write = built.write
    const l2 = this.l2
    if (l2 === undefined || !toL2) return { value, tier: 'origin', stale: false }
    const seen = flight.seenInL2
    if (seen === undefined || this.o.clock.now() - flight.startedAt >= DELETE_MARKER_TTL_MS) {
      // Redis was not read, or a delete marker may have expired since: storing could undo a delete. L1 only.
      return { value, tier: 'origin', stale: false }
    }
    const text = write === undefined ? this.deleteMarker() : write.text
    const writeTtlMs = write === undefined ? DELETE_MARKER_TTL_MS : write.ttlMs
    const written = await flight.budget.run(() => l2.setIfUnchanged(this.redisKey(fk), seen, text, writeTtlMs))
    if (written === false) {
      // Another writer (a delete, a set, a newer factory run) changed the key since we read it: theirs wins.
      this.dropL1Copy(fk, built.entry)
      return { value, tier: 'origin', stale: false }
    }
    if (written === true && (this.o.lock !== undefined || write === undefined)) await this.send({ k: [fk] })
    return { value, tier: 'origin', stale: false }
  }

  /** Waits for a flight within this caller's soft and hard timeouts. */
  private waitFor(flight: Flight, namespace: string, key: string, options: GetOrSetOptions | undefined): Promise<FlightResult> {
    const softMs = options?.softTimeoutMs ?? this.o.softTimeoutMs
    const hardMs = options?.hardTimeoutMs ?? this.o.hardTimeoutMs
    if (softMs === 0 && flight.stale !== undefined) {
      // This caller does not wait: a late failure of the refresh must not become an unhandled rejection.
      flight.promise.catch(noop)
      return Promise.resolve({ value: flight.stale.v, tier: 'origin', stale: true })
    }
    if (softMs === undefined && hardMs === undefined) return flight.promise
    return new Promise<FlightResult>((resolve, reject) => {
      let settled = false
      let softPassed = false
      let softTimer: NodeJS.Timeout | undefined
      let hardTimer: NodeJS.Timeout | undefined
      const finish = () => {
        settled = true
        clearTimeout(softTimer)
        clearTimeout(hardTimer)
        flight.staleListeners?.delete(serveStale)
      }
      const serveStale = () => {
        const stale = flight.stale
        if (settled || !softPassed || stale === undefined) return
        finish()
        resolve({ value: stale.v, tier: 'origin', stale: true })
      }
      flight.staleListeners ??= new Set()
      flight.staleListeners.add(serveStale)
      flight.promise.then(
        (result) => {
          if (settled) return
          finish()
          resolve(result)
        },
        (error: unknown) => {
          if (settled) return
          finish()
          reject(error)
        },
      )
      if (softMs !== undefined) {
        softTimer = setTimeout(() => {
          softPassed = true
          serveStale()
        }, softMs)
      }
      if (hardMs !== undefined) {
        hardTimer = setTimeout(() => {
          if (settled) return
          this.counters.hardTimeouts++
          const stale = flight.stale
          const error = new TimeoutError({ operation: `cache getOrSet("${key}")`, timeoutMs: hardMs })
          this.report(error, { operation: 'timeout', namespace, key, staleServed: stale !== undefined })
          finish()
          if (stale !== undefined) resolve({ value: stale.v, tier: 'origin', stale: true })
          else reject(error)
        }, hardMs)
      }
    })
  }

  // ---- writes -------------------------------------------------------------------------------------------

  async setMany(prefix: string, namespace: string, entries: readonly CacheEntryInput[]): Promise<void> {
    if (!Array.isArray(entries)) throw new ConfigError(`entries must be an array, got ${describeValue(entries)}`, { subject: 'setMany' })
    const problems: string[] = []
    entries.forEach((entry: CacheEntryInput, i) => {
      if (typeof entry !== 'object' || entry === null)
        problems.push(`entries[${i}] must be an object with key and value, got ${describeValue(entry)}`)
      else if (!isKey(entry.key)) problems.push(`entries[${i}].key must be a non-empty string, got ${describeValue(entry.key)}`)
      else for (const problem of callOptionProblems(entry, 'entry')) problems.push(`entries[${i}] ("${entry.key}"): ${problem}`)
    })
    if (problems.length > 0) throw new ConfigError(problems, { subject: 'cache entries' })
    if (this.closed) throw this.closedError()
    const allTags = [...new Set(entries.flatMap((entry) => (entry.tags === undefined ? [] : (tagList(entry.tags) ?? []))))]
    const versions = allTags.length > 0 ? await this.tags.current(allTags) : {}
    if (versions === undefined) {
      // An entry stamped with guessed tag versions could survive a later deleteByTag: store nothing.
      for (const fk of entries.map((entry) => prefix + entry.key)) this.l1?.delete(fk)
      this.report(
        new TesseraError('Redis is unreachable and the versions of the entries’ tags are unknown: nothing was stored', {
          code: 'CACHE_L2_UNAVAILABLE',
          retryable: true,
        }),
        { operation: 'l2', namespace },
      )
      return
    }
    // Build (and encode) everything first: one value that cannot be stored must not leave half the batch written.
    const built: Built[] = []
    for (const entry of entries) {
      const tags = entry.tags === undefined ? undefined : tagList(entry.tags)
      let entryVersions: TagVersionMap | undefined
      if (tags !== undefined && tags.length > 0) {
        entryVersions = {}
        for (const tag of tags) entryVersions[tag] = versions[tag] ?? 0
      }
      const fk = prefix + entry.key
      built.push(
        this.build(
          fk,
          namespace,
          entry.key,
          entry.value,
          entry.ttlMs ?? this.o.ttlMs,
          entry.graceMs ?? this.o.graceMs,
          entryVersions,
          entry.skipL2 !== true,
        ),
      )
    }
    const writes: Write[] = []
    for (const item of built) {
      this.storeL1(item)
      if (item.write !== undefined) writes.push(item.write)
      if (item.unlink !== undefined) writes.push({ key: item.unlink, text: this.deleteMarker(), ttlMs: DELETE_MARKER_TTL_MS })
    }
    this.invalidateFlights(built.map((item) => item.fk))
    this.counters.sets += entries.length
    if (this.l2 === undefined) return
    if (writes.length > 0) await this.l2.setMany(writes)
    await this.send({ k: entries.map((entry) => prefix + entry.key) })
  }

  async deleteMany(prefix: string, keys: readonly string[]): Promise<void> {
    if (!Array.isArray(keys)) throw new ConfigError(`keys must be an array, got ${describeValue(keys)}`, { subject: 'deleteMany' })
    const bad = keys.find((key) => !isKey(key))
    if (keys.some((key) => !isKey(key))) throw keyError(bad)
    if (this.closed) throw this.closedError()
    const fks = keys.map((key) => prefix + key)
    for (const fk of fks) this.l1?.delete(fk)
    this.invalidateFlights(fks)
    this.counters.deletes += keys.length
    if (this.l2 === undefined || fks.length === 0) return
    // A marker rather than UNLINK: a factory that read before this delete must see the key changed (see setIfUnchanged).
    await this.l2.setMany(fks.map((fk) => ({ key: this.redisKey(fk), text: this.deleteMarker(), ttlMs: DELETE_MARKER_TTL_MS })))
    await this.send({ k: fks })
  }

  async deleteByTag(namespace: string, tags: unknown): Promise<void> {
    const list = toTagList(tags)
    if (this.closed) throw this.closedError()
    const versions = await this.tags.bump(list)
    if (versions !== undefined) {
      await this.send({ t: versions })
      return
    }
    // Redis is unreachable: the counters could not move. Drop what this instance holds; other instances and the
    // entries in Redis keep the old values until they expire (or until a later deleteByTag reaches Redis).
    const wanted = new Set(list)
    const l1 = this.l1
    if (l1 !== undefined) {
      for (const [fk, entry] of [...l1.entries()]) {
        if (entry.t !== undefined && Object.keys(entry.t).some((tag) => wanted.has(tag))) l1.delete(fk)
      }
    }
    this.report(
      new TesseraError('Redis is unreachable: tags were invalidated in this instance only', {
        code: 'CACHE_L2_UNAVAILABLE',
        retryable: true,
      }),
      {
        operation: 'l2',
        namespace,
      },
    )
  }

  async clear(namespace: string): Promise<void> {
    if (this.closed) throw this.closedError()
    const prefix = `${namespace}:`
    this.dropL1Prefix(prefix)
    this.invalidateFlightsWithPrefix(prefix)
    if (this.l2 === undefined) return
    await this.l2.deleteMatching(`${escapeGlob(this.redisKey(prefix))}*`)
    await this.send({ c: prefix })
  }
}

/** One namespace's view of a {@link CacheCore}. */
class CacheView implements Cache {
  private readonly prefix: string

  constructor(
    private readonly core: CacheCore,
    readonly namespacePath: string,
  ) {
    // `::` ends the namespace path: a namespace name has no `:`, so `app::x` (key `x` of `app`) can never equal
    // `app:users::…` (a key of the child `users`), whatever the keys contain.
    this.prefix = `${namespacePath}::`
  }

  private getMessage(key: string): CacheGetMessage {
    return { cache: this.core.o.namespace, key, namespace: this.namespacePath }
  }

  getOrSet<T>(key: string, factory: Factory<T>, options?: GetOrSetOptions): Promise<T> {
    if (getChannel.hasSubscribers) {
      const message = this.getMessage(key)
      return traced(CHANNELS.cacheGet, message, () => this.core.getOrSet(this.prefix, this.namespacePath, key, factory, options, message))
    }
    return this.core.getOrSet(this.prefix, this.namespacePath, key, factory, options, undefined)
  }

  get<T = unknown>(key: string): Promise<T | undefined> {
    if (!isKey(key)) return Promise.reject(keyError(key))
    if (this.core.closed) return Promise.reject(this.core.closedError())
    const run = async (message: CacheGetMessage | undefined): Promise<T | undefined> => {
      const entry = this.core.freshL1(this.prefix + key)
      if (entry !== undefined) {
        this.core.counters.l1Hits++
        if (message !== undefined) Object.assign(message, { hit: true, tier: 'l1' })
        return entry.v as T
      }
      const found = await this.core.lookup(this.prefix + key, this.namespacePath, key)
      if (message !== undefined) Object.assign(message, { hit: found.found, tier: found.tier })
      return found.value as T | undefined
    }
    if (!getChannel.hasSubscribers) return run(undefined)
    const message = this.getMessage(key)
    return traced(CHANNELS.cacheGet, message, () => run(message))
  }

  async has(key: string): Promise<boolean> {
    if (!isKey(key)) throw keyError(key)
    if (this.core.closed) throw this.core.closedError()
    if (this.core.freshL1(this.prefix + key) !== undefined) return true
    return (await this.core.lookup(this.prefix + key, this.namespacePath, key)).found
  }

  getMany<T = unknown>(keys: readonly string[]): Promise<(T | undefined)[]> {
    if (this.core.closed) return Promise.reject(this.core.closedError())
    const run = () => this.core.getMany(this.prefix, this.namespacePath, keys) as Promise<(T | undefined)[]>
    if (!getChannel.hasSubscribers) return run()
    return traced(CHANNELS.cacheGet, { ...this.getMessage(Array.isArray(keys) ? keys.join(',') : ''), keys }, run)
  }

  set<T>(key: string, value: T, options?: SetOptions): Promise<void> {
    if (!isKey(key)) return Promise.reject(keyError(key))
    if (options !== undefined) {
      const problems = callOptionProblems(options, 'set')
      if (problems.length > 0) return Promise.reject(new ConfigError(problems, { subject: `set("${key}") options` }))
    }
    const run = () => this.core.setMany(this.prefix, this.namespacePath, [{ ...options, key, value }])
    if (!setChannel.hasSubscribers) return run()
    const message: CacheSetMessage = {
      cache: this.core.o.namespace,
      key,
      namespace: this.namespacePath,
      ttlMs: options?.ttlMs ?? this.core.o.ttlMs,
      tags: options?.tags === undefined ? undefined : tagList(options.tags),
    }
    return traced(CHANNELS.cacheSet, message, run)
  }

  setMany<T = unknown>(entries: readonly CacheEntryInput<T>[]): Promise<void> {
    const run = () => this.core.setMany(this.prefix, this.namespacePath, entries)
    if (!setChannel.hasSubscribers) return run()
    const keys = Array.isArray(entries) ? entries.map((entry) => String(entry?.key)) : []
    return traced(CHANNELS.cacheSet, { cache: this.core.o.namespace, key: keys.join(','), keys, namespace: this.namespacePath }, run)
  }

  delete(key: string): Promise<void> {
    if (!isKey(key)) return Promise.reject(keyError(key))
    return this.deleteMany([key])
  }

  deleteMany(keys: readonly string[]): Promise<void> {
    const run = () => this.core.deleteMany(this.prefix, keys)
    if (!deleteChannel.hasSubscribers) return run()
    const message: CacheDeleteMessage = { cache: this.core.o.namespace, keys, namespace: this.namespacePath }
    return traced(CHANNELS.cacheDelete, message, run)
  }

  deleteByTag(tags: string | readonly string[]): Promise<void> {
    const run = () => this.core.deleteByTag(this.namespacePath, tags)
    if (!deleteChannel.hasSubscribers) return run()
    const list = typeof tags === 'string' ? [tags] : tags
    return traced(CHANNELS.cacheDelete, { cache: this.core.o.namespace, tags: list, namespace: this.namespacePath }, run)
  }

  clear(): Promise<void> {
    const run = () => this.core.clear(this.namespacePath)
    if (!deleteChannel.hasSubscribers) return run()
    return traced(CHANNELS.cacheDelete, { cache: this.core.o.namespace, namespace: this.namespacePath }, run)
  }

  namespace(name: string): Cache {
    const problem = checkNamespaceName(name)
    if (problem !== undefined) throw new ConfigError(problem, { subject: 'namespace' })
    return new CacheView(this.core, `${this.namespacePath}:${name}`)
  }

  async warm<T = unknown>(source: WarmSource<T>): Promise<number> {
    const iterable = typeof source === 'function' ? await source() : source
    if (iterable === null || typeof iterable !== 'object' || typeof (iterable as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw new ConfigError(`warm needs entries or a function returning entries, got ${describeValue(iterable)}`, { subject: 'warm' })
    }
    const entries = [...iterable]
    await this.setMany(entries)
    return entries.length
  }

  stats(): CacheStats {
    return this.core.stats()
  }

  ready(options?: { timeoutMs?: number | undefined }): Promise<CacheReadiness> {
    const timeoutMs = options?.timeoutMs
    if (timeoutMs !== undefined && !isDuration(timeoutMs)) {
      return Promise.reject(new ConfigError(`timeoutMs must be a finite number ≥ 0, got ${describeValue(timeoutMs)}`, { subject: 'ready' }))
    }
    return this.core.ready(timeoutMs)
  }

  close(): Promise<void> {
    return this.core.close()
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.core.close()
  }
}

/**
 * Creates a multi-level cache: L1 in this process (lru-cache), L2 in Redis (optional), kept coherent across
 * instances by a pub/sub bus, protected by a circuit breaker, with single flight, grace, soft/hard timeouts and tags.
 *
 * @throws ConfigError listing every invalid option.
 * @example
 * const cache = createCache({ namespace: 'app', l2: { redis: new Redis() }, ttlMs: 30_000, graceMs: 300_000 })
 * const user = await cache.getOrSet(`user:${id}`, () => db.findUser(id), { tags: ['users'] })
 */
export function createCache(options?: CacheOptions): Cache {
  const core = new CacheCore(options)
  return new CacheView(core, core.o.namespace)
}
