import { performance } from 'node:perf_hooks'
import { type CacheGetMessage, describeValue, TimeoutError } from '@tessera/core'
import type { Factory } from './cache'
import type { CacheCore } from './cache-core'
import { type CacheEntry, DELETE_MARKER_TTL_MS, estimateBytes, fromStoredEntry, newDeleteMarker } from './cache-entry'
import { passesCheck } from './check-value'
import { createFactoryContext, hardTimeoutReason } from './factory-context'
import { type Flight, type FlightResult, NOT_STARTED, offerStale, staleResult, waitForFlight } from './flight'
import { UNAVAILABLE } from './l2-tier'
import { lockKeyOf, lockOrWait } from './lock-wait'
import type { NamespaceCounters } from './namespace-stats'
import { OperationBudget } from './operation-budget'
import type { GetOrSetOptions } from './options'
import { tagList } from './resolve-options'

const originResult = (value: unknown): FlightResult => ({ value, tier: 'origin', isStale: false })

/**
 * Single flight for `getOrSet` misses: one factory run per key in this process (and, with `lock`, across
 * instances), L2 read first, soft and hard timeouts for the callers, and a write-back that never overwrites a newer
 * state of the key.
 */
export class FactoryRunner {
  private readonly flights = new Map<string, Flight>()
  private lockSeq = 0

  constructor(private readonly core: CacheCore) {}

  /** The miss path of `getOrSet` (and an L1 entry whose tags must be checked against Redis). */
  async getOrSet(
    fk: string,
    namespace: string,
    key: string,
    factory: Factory<unknown>,
    options: GetOrSetOptions | undefined,
    message: CacheGetMessage | undefined,
    namespaceCounters: NamespaceCounters,
    onFlight?: (isOwn: boolean) => void,
  ): Promise<unknown> {
    const { core } = this
    const counters = core.counters
    let stale: CacheEntry | undefined
    const l1 = core.l1
    const l1Entry = l1?.entries.get(fk)
    const isForced = options?.forceFresh === true
    const schema = options?.checkValue
    if (l1Entry !== undefined) {
      const check = await core.tags.check(l1Entry.tagVersions)
      if (check === 'invalid') l1?.delete(fk)
      else if (schema !== undefined && !(await passesCheck(schema, l1Entry.value))) {
        counters.checkFailures++
        l1?.deleteCopy(fk, l1Entry)
      } else {
        const now = core.options.clock.now()
        // An entry whose tags were expired (expireByTag) is only a grace copy.
        if (!isForced && check === 'current' && now < l1Entry.freshUntil && now < l1Entry.trustedUntil) {
          counters.l1Hits++
          namespaceCounters.l1Hits++
          if (message !== undefined) Object.assign(message, { hit: true, tier: 'l1' })
          return l1Entry.value
        }
        if (now < l1Entry.staleUntil) stale = l1Entry
      }
    }
    if (l1 !== undefined) counters.l1Misses++
    let flight = this.flights.get(fk)
    // Told before the run starts: without Redis, a run may call the factory at once.
    onFlight?.(flight === undefined)
    if (flight === undefined) flight = this.start(fk, namespace, key, factory, options, stale)
    else {
      counters.coalesced++
      if (stale !== undefined) offerStale(flight, stale)
    }
    const softMs = options?.softTimeoutMs ?? core.options.softTimeoutMs
    const hardMs = options?.hardTimeoutMs ?? core.options.hardTimeoutMs
    const result = await waitForFlight(flight, softMs, hardMs, (isStaleServed) => {
      counters.hardTimeouts++
      const error = new TimeoutError({ operation: `cache getOrSet("${key}")`, timeoutMs: hardMs ?? 0 })
      core.report(error, { operation: 'timeout', namespace, key, staleServed: isStaleServed })
      return error
    })
    if (result.tier === 'l2') {
      counters.l2Hits++
      namespaceCounters.l2Hits++
    } else {
      counters.misses++
      namespaceCounters.misses++
    }
    if (result.isStale) {
      counters.staleServed++
      namespaceCounters.staleServed++
    }
    if (message !== undefined) {
      Object.assign(message, { hit: result.tier !== 'origin' || result.isStale, tier: result.tier, stale: result.isStale })
    }
    return result.value
  }

  /**
   * After a failure answered with `stale`, serves it as fresh from L1 for `backoffMs` (at most until its grace
   * ends), so the failing factory is not run again on every call. Invalidations still drop it.
   */
  private backOff(fk: string, stale: CacheEntry, backoffMs: number): void {
    const l1 = this.core.l1
    if (backoffMs <= 0 || l1 === undefined) return
    const now = this.core.options.clock.now()
    const until = Math.min(stale.staleUntil, now + backoffMs)
    l1.put(fk, { ...stale, freshUntil: until, trustedUntil: Math.min(until, now + l1.trustMs) }, () => estimateBytes(stale.value))
  }

  /**
   * Starts a background refresh of a fresh entry close to its expiry, unless one is running for the key. The
   * entry is the run's stale value; a failure is reported and the entry stays until it expires.
   */
  refreshAhead(
    fk: string,
    namespace: string,
    key: string,
    factory: Factory<unknown>,
    options: GetOrSetOptions | undefined,
    entry: CacheEntry,
  ): void {
    if (this.flights.has(fk)) return
    this.core.counters.refreshesAhead++
    // forceFresh: Redis may hold this same entry, which must not count as the refreshed value.
    const flight = this.start(fk, namespace, key, factory, { ...options, forceFresh: true }, entry)
    flight.promise.catch(() => {})
  }

  /**
   * Marks the running flights of these keys: their results must not be stored. `isRemote`: told by the bus, about a
   * write that may have happened before the flight read Redis; that only matters to a flight that could not read
   * Redis (one that did writes back only if the key is unchanged since that read, and drops its L1 copy otherwise).
   */
  invalidate(fks: readonly string[], isRemote = false): void {
    if (this.flights.size === 0) return
    for (const fk of fks) {
      const flight = this.flights.get(fk)
      if (flight === undefined) continue
      if (isRemote) flight.hasRemoteChange = true
      else flight.isInvalidated = true
    }
  }

  invalidatePrefix(prefix: string): void {
    for (const [fk, flight] of this.flights) if (fk.startsWith(prefix)) flight.isInvalidated = true
  }

  private start(
    fk: string,
    namespace: string,
    key: string,
    factory: Factory<unknown>,
    options: GetOrSetOptions | undefined,
    stale: CacheEntry | undefined,
  ): Flight {
    const core = this.core
    const flight: Flight = {
      promise: NOT_STARTED,
      stale,
      staleListeners: undefined,
      abort: undefined,
      isPastHardTimeout: false,
      isInvalidated: false,
      hasRemoteChange: false,
      seenInL2: undefined,
      startedAt: core.options.clock.now(),
      factoryError: undefined,
      budget: new OperationBudget(core.l2TimeoutMs),
    }
    this.flights.set(fk, flight)
    // run() removes the flight from `flights` when it ends. Every caller handles its rejection (waitForFlight).
    flight.promise = this.run(flight, fk, namespace, key, factory, options)
    const hardMs = options?.hardTimeoutMs ?? core.options.hardTimeoutMs
    if (hardMs !== undefined) {
      // Past its hard timeout a flight is no longer joined: a factory that never settles must not hold the key.
      const timer = setTimeout(() => {
        this.end(fk, flight)
        flight.isPastHardTimeout = true
        flight.abort?.abort(hardTimeoutReason(key, hardMs))
      }, hardMs)
      timer.unref()
      const clear = () => clearTimeout(timer)
      flight.promise.then(clear, clear)
    }
    return flight
  }

  private end(fk: string, flight: Flight): void {
    if (this.flights.get(fk) === flight) this.flights.delete(fk)
  }

  private async run(
    flight: Flight,
    fk: string,
    namespace: string,
    key: string,
    factory: Factory<unknown>,
    options: GetOrSetOptions | undefined,
  ): Promise<FlightResult> {
    const core = this.core
    const l2 = options?.skipL2 === true ? undefined : core.l2
    const lock = core.lock
    let lockToken: string | undefined
    let stopKeepAlive: (() => void) | undefined
    try {
      // A key with a write of unknown outcome: Redis may hold the value that write replaced (L1 and the factory only).
      if (l2 !== undefined && core.repairs?.isSuspect(fk) !== true) {
        // The L2 hit path, inlined: every async layer costs a promise and a microtask.
        const started = performance.now()
        const text = await l2.get(core.store.redisKey(fk))
        flight.budget.spend(performance.now() - started, text === UNAVAILABLE)
        if (text !== UNAVAILABLE) flight.seenInL2 = text
        if (text !== UNAVAILABLE && text !== null) {
          let read = core.store.fromReply(text, namespace, key, flight.budget)
          if (read instanceof Promise) read = await read
          if (read !== undefined && options?.checkValue !== undefined && !(await passesCheck(options.checkValue, read.v))) {
            core.counters.checkFailures++
            read = undefined
          }
          if (read !== undefined) {
            const now = core.options.clock.now()
            if (now < read.e && options?.forceFresh !== true) {
              core.l1?.putFromRedis(fk, read, now, text.length)
              return { value: read.v, tier: 'l2', isStale: false }
            }
            if (now < read.s) offerStale(flight, fromStoredEntry(read, read.s))
          }
        }
        core.counters.l2Misses++
        // forceFresh computes here whatever another instance holds or computes: no lock.
        if (lock !== undefined && options?.forceFresh !== true) {
          const token = `${core.instanceId}:${++this.lockSeq}`
          const outcome = await lockOrWait(core, flight, fk, namespace, key, options?.checkValue, token)
          if (outcome.result !== undefined) return outcome.result
          if (outcome.failure !== undefined) {
            if (flight.stale !== undefined) return staleResult(flight.stale)
            throw outcome.failure
          }
          lockToken = outcome.token
          if (lockToken !== undefined) stopKeepAlive = lock.keepAlive(lockKeyOf(core, fk), lockToken)
        }
      }
      return await this.runFactory(flight, fk, namespace, key, factory, options, l2 !== undefined)
    } finally {
      this.end(fk, flight)
      stopKeepAlive?.()
      if (lockToken !== undefined && lock !== undefined) {
        const failure = flight.factoryError
        const text = failure === undefined ? undefined : failure instanceof Error ? failure.message : describeValue(failure)
        const released = lock.release(lockKeyOf(core, fk), lockToken, text)
        // Wake the waiters at once to share the failure (they poll otherwise).
        if (text !== undefined) void released.then(() => core.bus.send({ k: [fk] }))
      }
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
    const core = this.core
    const tags = options?.tags === undefined ? undefined : tagList(options.tags)
    const hasTags = tags !== undefined && tags.length > 0
    // Read before the factory runs: an invalidation during the run then makes its result stale at once.
    const tagVersions = hasTags ? await core.tags.current(tags, flight.budget) : undefined
    // Tag versions that could not be learnt (Redis away, never seen): the result is served but not stored.
    if (hasTags && tagVersions === undefined) flight.isInvalidated = true
    core.counters.factoryCalls++
    let value: unknown
    const { context, decisions } = createFactoryContext(flight, key, namespace)
    try {
      value = await factory(context)
    } catch (error) {
      core.counters.factoryErrors++
      flight.factoryError = error
      const stale = flight.stale
      core.report(error, { operation: 'factory', namespace, key, staleServed: stale !== undefined })
      if (stale === undefined) throw error
      this.backOff(fk, stale, options?.graceBackoffMs ?? core.options.graceBackoffMs)
      return staleResult(stale)
    }
    if (decisions.isSkipped) return originResult(value)
    if (value === undefined && core.options.negativeTtlMs <= 0) return originResult(value)
    // Written or deleted meanwhile: the caller gets what it asked for, but it is not stored over the newer state.
    if (flight.isInvalidated || (flight.hasRemoteChange && flight.seenInL2 === undefined)) return originResult(value)
    const ttlMs = value === undefined ? core.options.negativeTtlMs : (decisions.ttlMs ?? options?.ttlMs ?? core.options.ttlMs)
    const graceMs = decisions.graceMs ?? options?.graceMs ?? core.options.graceMs
    let prepared: ReturnType<typeof core.store.prepare>
    try {
      prepared = core.store.prepare(fk, namespace, key, value, ttlMs, graceMs, tagVersions, toL2)
    } catch (error) {
      // The caller still gets the value; it is just not cached (it could not be stored in Redis).
      core.report(error, { operation: 'encode', namespace, key })
      return originResult(value)
    }
    core.store.storeInL1(prepared)
    const l2 = core.l2
    if (l2 === undefined || !toL2) return originResult(value)
    const seen = flight.seenInL2
    // Redis was not read, or a delete marker may have expired since: storing could undo a delete. L1 only.
    if (seen === undefined || core.options.clock.now() - flight.startedAt >= DELETE_MARKER_TTL_MS) return originResult(value)
    const write = prepared.write
    const text = write === undefined ? newDeleteMarker() : write.text
    const writeTtlMs = write === undefined ? DELETE_MARKER_TTL_MS : write.ttlMs
    const written = await flight.budget.run(() => l2.setIfUnchanged(core.store.redisKey(fk), seen, text, writeTtlMs))
    if (written === false) {
      // Another writer (a delete, a set, a newer factory run) changed the key since we read it: theirs wins.
      core.l1?.deleteCopy(fk, prepared.entry)
      return originResult(value)
    }
    // Tell the others when they may hold a copy: lock waiters, a replaced value (marker, forceFresh).
    const isReplacement = write === undefined || options?.forceFresh === true
    if (written === true && (core.lock !== undefined || isReplacement)) await core.bus.send({ k: [fk] })
    return originResult(value)
  }
}
