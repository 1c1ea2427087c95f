import type { CircuitState } from '@tessera/core'
import type { NamespaceCounters } from './namespace-stats'

/** Mutable counters shared by a cache and its namespaces. */
export interface Counters {
  l1Hits: number
  l1Misses: number
  l2Hits: number
  l2Misses: number
  l2Errors: number
  l2Timeouts: number
  l2Skipped: number
  repairs: number
  repairsDropped: number
  oversize: number
  decodeErrors: number
  misses: number
  staleServed: number
  coalesced: number
  factoryCalls: number
  factoryErrors: number
  hardTimeouts: number
  sets: number
  deletes: number
  expires: number
  checkFailures: number
  refreshesAhead: number
  busSent: number
  busReceived: number
  locksAcquired: number
  lockWaits: number
  lockGaveUp: number
  queryCached: number
  querySkippedWrites: number
  querySkippedVolatile: number
  querySkippedTablesUnknown: number
  querySkippedTransaction: number
}

/** The counters of each cache (and namespace view), for `queryCache` to count what it refused to cache. */
export const countersOf = new WeakMap<object, Counters>()

export function createCounters(): Counters {
  return {
    l1Hits: 0,
    l1Misses: 0,
    l2Hits: 0,
    l2Misses: 0,
    l2Errors: 0,
    l2Timeouts: 0,
    l2Skipped: 0,
    repairs: 0,
    repairsDropped: 0,
    oversize: 0,
    decodeErrors: 0,
    misses: 0,
    staleServed: 0,
    coalesced: 0,
    factoryCalls: 0,
    factoryErrors: 0,
    hardTimeouts: 0,
    sets: 0,
    deletes: 0,
    expires: 0,
    checkFailures: 0,
    refreshesAhead: 0,
    busSent: 0,
    busReceived: 0,
    locksAcquired: 0,
    lockWaits: 0,
    lockGaveUp: 0,
    queryCached: 0,
    querySkippedWrites: 0,
    querySkippedVolatile: 0,
    querySkippedTablesUnknown: 0,
    querySkippedTransaction: 0,
  }
}

/** A snapshot of a cache's counters since it was created (shared by all its namespaces). */
export interface CacheStats {
  /** Reads answered by a fresh value from L1 or L2. */
  hits: number
  /** Reads neither tier could answer (`get` returned `undefined` or the factory ran). */
  misses: number
  /** `hits / (hits + misses)`; `0` before any read. */
  hitRatio: number
  l1: { hits: number; misses: number; size: number }
  l2: {
    hits: number
    misses: number
    /** Commands that failed (timeouts included). */
    errors: number
    /** Commands that ran past `l2.timeoutMs`. */
    timeouts: number
    /** Commands not sent because the breaker was open. */
    skipped: number
    /** Entries kept out of Redis because they exceeded `l2.maxEntryBytes`. */
    oversize: number
    /** Stored entries that could not be decoded (treated as misses). */
    decodeErrors: number
    /** Keys whose write (set or delete) has an unknown outcome in Redis and waits to be repaired (see the README). */
    repairsPending: number
    /** Keys repaired: replaced by a delete marker, or found holding a later acknowledged write. */
    repairs: number
    /** Keys forgotten unrepaired because more than 10,000 waited. */
    repairsDropped: number
  }
  /** Stale (grace) values served instead of an error, a timeout or a wait. */
  staleServed: number
  /** `getOrSet` calls that joined a factory already running in this process. */
  coalesced: number
  factoryCalls: number
  factoryErrors: number
  /** `getOrSet` calls that hit `hardTimeoutMs`. */
  hardTimeouts: number
  sets: number
  deletes: number
  /** `expire()` calls. */
  expires: number
  /** Cached values refused by a `checkValue` schema (read as misses). */
  checkFailures: number
  /** Background refreshes started by `refreshAheadMs`. */
  refreshesAhead: number
  /** `state`: `live` when invalidations from other instances arrive, `down` when they may be missed, `off` without a bus. */
  bus: { sent: number; received: number; state: 'live' | 'down' | 'off' }
  locks: { acquired: number; waited: number; gaveUp: number }
  /** The L2 breaker's state, `'disabled'` without a breaker, `'none'` without L2. */
  breaker: CircuitState | 'disabled' | 'none'
  /**
   * The main counters per namespace path (`app`, `app:users`…), for metrics labelled by namespace; at most 1,000
   * paths are counted apart, later ones under `(other)`.
   */
  namespaces: Record<string, NamespaceCounters>
  /** What `queryCache` hooks on this cache did with the statements they saw (all zero without them). */
  queryCache: {
    /** Reads answered through the cache (hit or miss). */
    cached: number
    /** Statements run without the cache, by the first reason that applied. */
    skipped: {
      /** Not proven read-only: writes, DDL, locking reads, `nextval()`, `pg_try_advisory_lock()`, `set_config()`… */
      writes: number
      /** Read-only but volatile: `now()`, `random()`, `current_user`, system catalogs, `SHOW`, `EXPLAIN`… */
      volatile: number
      /** Read-only, but a function the classifier does not know may read tables it cannot name. */
      tablesUnknown: number
      /** Reads inside a transaction, which must see the transaction's own writes. */
      transaction: number
    }
  }
}

export function snapshot(
  c: Counters,
  l1Size: number,
  breaker: CacheStats['breaker'],
  busState: CacheStats['bus']['state'],
  repairsPending: number,
  namespaces: Record<string, NamespaceCounters>,
): CacheStats {
  const hits = c.l1Hits + c.l2Hits
  return {
    hits,
    misses: c.misses,
    hitRatio: hits + c.misses === 0 ? 0 : hits / (hits + c.misses),
    l1: { hits: c.l1Hits, misses: c.l1Misses, size: l1Size },
    l2: {
      hits: c.l2Hits,
      misses: c.l2Misses,
      errors: c.l2Errors,
      timeouts: c.l2Timeouts,
      skipped: c.l2Skipped,
      oversize: c.oversize,
      decodeErrors: c.decodeErrors,
      repairsPending,
      repairs: c.repairs,
      repairsDropped: c.repairsDropped,
    },
    staleServed: c.staleServed,
    coalesced: c.coalesced,
    factoryCalls: c.factoryCalls,
    factoryErrors: c.factoryErrors,
    hardTimeouts: c.hardTimeouts,
    sets: c.sets,
    deletes: c.deletes,
    expires: c.expires,
    checkFailures: c.checkFailures,
    refreshesAhead: c.refreshesAhead,
    bus: { sent: c.busSent, received: c.busReceived, state: busState },
    locks: { acquired: c.locksAcquired, waited: c.lockWaits, gaveUp: c.lockGaveUp },
    breaker,
    namespaces,
    queryCache: {
      cached: c.queryCached,
      skipped: {
        writes: c.querySkippedWrites,
        volatile: c.querySkippedVolatile,
        tablesUnknown: c.querySkippedTablesUnknown,
        transaction: c.querySkippedTransaction,
      },
    },
  }
}
