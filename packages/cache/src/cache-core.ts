import { randomUUID } from 'node:crypto'
import { type CacheGetMessage, type CacheTier, ConfigError, describeValue, TesseraError } from '@tessera/core'
import type { CacheReadiness, Factory } from './cache'
import type { CacheEntry } from './cache-entry'
import { CacheWrites, isKey, keyError } from './cache-writes'
import { DistributedLock } from './distributed-lock'
import { createErrorReporter, type ErrorReporter } from './error-reporter'
import { FactoryRunner } from './factory-runner'
import { InvalidationBus } from './invalidation-bus'
import { L1Tier } from './l1-tier'
import { L2Tier, UNAVAILABLE } from './l2-tier'
import { type NamespaceCounters, NamespaceStats } from './namespace-stats'
import { OperationBudget } from './operation-budget'
import type { CacheOptions, GetOrSetOptions, ResolvedOptions } from './options'
import { callOptionProblems, resolveOptions } from './resolve-options'
import { type CacheStats, type Counters, createCounters, snapshot } from './stats'
import { TagVersions } from './tag-versions'
import { TwoTierStore } from './two-tier-store'
import { WriteRepairs } from './write-repairs'

/**
 * The state shared by a cache and all its namespaces, and the read paths (the L1 hit path of `getOrSet` lives here,
 * in one function, because it is measured). Writes are in {@link CacheWrites}, misses in {@link FactoryRunner}.
 */
export class CacheCore {
  readonly options: ResolvedOptions
  readonly counters: Counters = createCounters()
  /** The same counters (a few of them) per namespace path. */
  readonly namespaces = new NamespaceStats()
  readonly instanceId = randomUUID()
  readonly report: ErrorReporter
  readonly l1: L1Tier | undefined
  readonly l2: L2Tier | undefined
  readonly l2TimeoutMs: number
  readonly tags: TagVersions
  readonly store: TwoTierStore
  readonly bus: InvalidationBus
  readonly lock: DistributedLock | undefined
  readonly runner: FactoryRunner
  readonly writes: CacheWrites
  /** Keys whose last L2 write has an unknown outcome, repaired once Redis answers (`undefined` without L2). */
  readonly repairs: WriteRepairs | undefined
  isClosed = false

  constructor(input: CacheOptions | undefined) {
    const options = resolveOptions(input)
    this.options = options
    const namespace = options.namespace
    const report = createErrorReporter(options.logger, options.onError)
    this.report = (error, event) => {
      this.namespaces.of(event.namespace).errors++
      report(error, event)
    }
    if (options.l1 !== undefined) {
      this.l1 = new L1Tier({ maxEntries: options.l1.maxEntries, maxBytes: options.l1.maxBytes, trustMs: options.l1.ttlMs })
    }
    this.l2TimeoutMs = options.l2?.timeoutMs ?? 0
    if (options.l2 !== undefined) {
      this.l2 = new L2Tier({
        redis: options.l2.redis,
        timeoutMs: options.l2.timeoutMs,
        breaker: options.breaker,
        breakerName: `cache:${namespace}:l2`,
        counters: this.counters,
        onFailure: (error, operation) => this.report(error, { operation: 'l2', namespace, key: operation }),
        onBreakerChange: (text) => options.logger?.warn({ cache: namespace }, `cache "${namespace}": ${text}`),
      })
      if (options.lock !== undefined) this.lock = new DistributedLock(this.l2, options.lock)
    }
    const keyPrefix = options.l2?.keyPrefix ?? ''
    this.tags = new TagVersions(this.l2, (tag) => `${keyPrefix}__tag:${namespace}:${tag}`, options.clock, options.tagVersionTtlMs)
    this.bus = new InvalidationBus(options, this.instanceId, this.l1, this.l2, this.tags, this.counters, this.report)
    if (this.l2 !== undefined) this.repairs = new WriteRepairs(this.l2, this.l1, this.bus, this.counters, this.report, namespace)
    this.store = new TwoTierStore(options, this.l1, this.l2, this.tags, this.counters, this.report, this.repairs)
    this.runner = new FactoryRunner(this)
    this.writes = new CacheWrites(this)
    this.bus.listen({
      keysChanged: (fks) => this.runner.invalidate(fks, true),
      prefixCleared: (prefix) => this.runner.invalidatePrefix(prefix),
    })
  }

  /** A fresh L1 entry whose tags are known to be current, without waiting. */
  freshL1(fk: string): CacheEntry | undefined {
    const entry = this.l1?.entries.get(fk)
    if (entry === undefined) return undefined
    const now = this.options.clock.now()
    if (
      now < entry.freshUntil &&
      now < entry.trustedUntil &&
      (entry.tagVersions === undefined || this.tags.isCurrentSync(entry.tagVersions, now) === true)
    ) {
      return entry
    }
    return undefined
  }

  getOrSet<T>(
    prefix: string,
    namespace: string,
    key: string,
    factory: Factory<T>,
    options: GetOrSetOptions | undefined,
    message: CacheGetMessage | undefined,
    namespaceCounters: NamespaceCounters,
  ): Promise<T> {
    if (typeof key !== 'string' || key.length === 0) return Promise.reject(keyError(key))
    if (typeof factory !== 'function') {
      return Promise.reject(new ConfigError(`factory must be a function, got ${describeValue(factory)}`, { subject: `getOrSet("${key}")` }))
    }
    if (options !== undefined) {
      const problems = callOptionProblems(options, 'getOrSet')
      if (problems.length > 0) return Promise.reject(new ConfigError(problems, { subject: `getOrSet("${key}") options` }))
    }
    if (this.isClosed) return Promise.reject(this.closedError())
    const fk = prefix + key
    // The hot path: an L1 hit is a map lookup and a few comparisons, no decoding, no await.
    const l1 = this.l1
    if (l1 !== undefined && (options === undefined || (options.forceFresh !== true && options.checkValue === undefined))) {
      const entry = l1.entries.get(fk)
      if (entry !== undefined) {
        const now = this.options.clock.now()
        const tagVersions = entry.tagVersions
        if (
          now < entry.freshUntil &&
          now < entry.trustedUntil &&
          (tagVersions === undefined || this.tags.isCurrentSync(tagVersions, now) === true)
        ) {
          this.counters.l1Hits++
          namespaceCounters.l1Hits++
          if (message !== undefined) {
            message.hit = true
            message.tier = 'l1'
          }
          // Refresh-ahead: off by default, and then this is one comparison that is always false on a hit.
          if (now >= entry.freshUntil - (options?.refreshAheadMs ?? this.options.refreshAheadMs)) {
            this.runner.refreshAhead(fk, namespace, key, factory as Factory<unknown>, options, entry)
          }
          return Promise.resolve(entry.value as T)
        }
      }
    }
    return this.runner.getOrSet(fk, namespace, key, factory as Factory<unknown>, options, message, namespaceCounters) as Promise<T>
  }

  /** The slow part of `get`/`has`: L1 with an async tag check, then L2. */
  async lookup(fk: string, namespace: string, key: string): Promise<{ found: boolean; value: unknown; tier: CacheTier }> {
    const budget = new OperationBudget(this.l2TimeoutMs)
    const l1Entry = this.l1?.entries.get(fk)
    if (l1Entry !== undefined) {
      const now = this.options.clock.now()
      if (now < l1Entry.freshUntil && now < l1Entry.trustedUntil && (await this.tags.isCurrent(l1Entry.tagVersions, budget))) {
        this.counters.l1Hits++
        this.namespaces.of(namespace).l1Hits++
        return { found: true, value: l1Entry.value, tier: 'l1' }
      }
    }
    if (this.l1 !== undefined) this.counters.l1Misses++
    const read = await this.store.read(fk, namespace, key, budget)
    const entry = read?.entry
    if (entry !== undefined) {
      const now = this.options.clock.now()
      if (now < entry.e) {
        this.counters.l2Hits++
        this.namespaces.of(namespace).l2Hits++
        this.l1?.putFromRedis(fk, entry, now, read?.text?.length ?? 1)
        return { found: true, value: entry.v, tier: 'l2' }
      }
    }
    if (this.l2 !== undefined) this.counters.l2Misses++
    this.counters.misses++
    this.namespaces.of(namespace).misses++
    return { found: false, value: undefined, tier: 'origin' }
  }

  async getMany(prefix: string, namespace: string, keys: readonly string[]): Promise<unknown[]> {
    if (!Array.isArray(keys)) throw new ConfigError(`keys must be an array, got ${describeValue(keys)}`, { subject: 'getMany' })
    const bad = keys.find((key) => !isKey(key))
    if (bad !== undefined || keys.some((key) => !isKey(key))) throw keyError(bad)
    const results: unknown[] = new Array(keys.length).fill(undefined)
    const namespaceCounters = this.namespaces.of(namespace)
    const missing: number[] = []
    keys.forEach((key, i) => {
      const entry = this.freshL1(prefix + key)
      if (entry === undefined) {
        missing.push(i)
        return
      }
      this.counters.l1Hits++
      namespaceCounters.l1Hits++
      results[i] = entry.value
    })
    if (this.l1 !== undefined) this.counters.l1Misses += missing.length
    if (missing.length === 0) return results
    const l2 = this.l2
    const replies = l2 === undefined ? UNAVAILABLE : await l2.mget(missing.map((i) => this.store.redisKey(prefix + keys[i])))
    for (const [n, i] of missing.entries()) {
      const key = keys[i]!
      // A key with a write of unknown outcome: Redis may hold the value that write replaced.
      const text = replies === UNAVAILABLE || this.repairs?.isSuspect(prefix + key) === true ? undefined : replies[n]
      let entry = this.store.fromReply(text, namespace, key)
      if (entry instanceof Promise) entry = await entry
      const now = this.options.clock.now()
      if (entry !== undefined && now < entry.e) {
        this.counters.l2Hits++
        namespaceCounters.l2Hits++
        this.l1?.putFromRedis(prefix + key, entry, now, text?.length ?? 1)
        results[i] = entry.v
        continue
      }
      if (l2 !== undefined) this.counters.l2Misses++
      this.counters.misses++
      namespaceCounters.misses++
    }
    return results
  }

  async ready(timeoutMs = 2_000): Promise<CacheReadiness> {
    return { bus: await this.bus.waitUntilLive(timeoutMs) }
  }

  async close(): Promise<void> {
    if (this.isClosed) return
    this.isClosed = true
    this.repairs?.close()
    await this.bus.close()
  }

  closedError(): TesseraError {
    return new TesseraError(`cache "${this.options.namespace}" is closed`, { code: 'CACHE_CLOSED' })
  }

  stats(): CacheStats {
    const breaker = this.l2 === undefined ? 'none' : this.l2.breaker === undefined ? 'disabled' : this.l2.breaker.state
    return snapshot(this.counters, this.l1?.size ?? 0, breaker, this.bus.state, this.repairs?.size ?? 0, this.namespaces.snapshot())
  }
}
