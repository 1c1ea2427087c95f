import type { CacheTier } from '@tessera/core'
import type { CacheEntry } from './cache-entry'
import type { OperationBudget } from './operation-budget'

/** What a flight's callers receive. */
export interface FlightResult {
  value: unknown
  tier: CacheTier
  isStale: boolean
}

/** One factory run shared by every concurrent caller of a key in this process. */
export interface Flight {
  promise: Promise<FlightResult>
  /** The best stale value known so far; callers past their soft timeout take it. */
  stale: CacheEntry | undefined
  /** Callers waiting for a stale value; created by the first one (most flights have none). */
  staleListeners: Set<() => void> | undefined
  /**
   * Told to the factory; aborted when the flight passes its hard timeout. Created when the factory starts (an L2
   * hit needs none); `isPastHardTimeout` covers a timeout that came first.
   */
  abort: AbortController | undefined
  isPastHardTimeout: boolean
  /** The key was written or deleted (here or, per the bus, elsewhere) while the factory ran: its result is not stored. */
  isInvalidated: boolean
  /** Another instance wrote or deleted the key while this flight ran (see FactoryRunner.invalidate). */
  hasRemoteChange: boolean
  /**
   * What Redis held for the key when this flight read it (`null`: nothing), or `undefined` when Redis could not be
   * read. The write-back only happens if Redis still holds exactly that: a delete or write in between wins.
   */
  seenInL2: string | null | undefined
  /** When the flight started (clock ms): a write-back after the delete markers may have expired is not attempted. */
  readonly startedAt: number
  /** What the factory threw, if it did (a lock holder leaves it for the waiters). */
  factoryError: unknown
  /** The Redis time left to this flight (one `l2.timeoutMs` for all its commands). */
  readonly budget: OperationBudget
}

function noop(): void {}

/** A flight's promise before its run starts (it is replaced at once). */
export const NOT_STARTED: Promise<FlightResult> = new Promise(noop)

export function staleResult(entry: CacheEntry): FlightResult {
  return { value: entry.value, tier: 'origin', isStale: true }
}

/** Offers a stale entry to the flight's waiters if it is newer than what the flight has. */
export function offerStale(flight: Flight, entry: CacheEntry): void {
  const current = flight.stale
  if (current !== undefined && current.freshUntil >= entry.freshUntil) return
  flight.stale = entry
  if (flight.staleListeners !== undefined) for (const listener of [...flight.staleListeners]) listener()
}

/**
 * Waits for a flight within one caller's soft and hard timeouts: past `softMs` the caller takes a stale value as soon
 * as there is one; past `hardMs` it takes the stale value or fails with `hardTimeoutError()`.
 */
export function waitForFlight(
  flight: Flight,
  softMs: number | undefined,
  hardMs: number | undefined,
  hardTimeoutError: (isStaleServed: boolean) => Error,
): Promise<FlightResult> {
  if (softMs === 0 && flight.stale !== undefined) {
    // This caller does not wait: a late failure of the refresh must not become an unhandled rejection.
    flight.promise.catch(noop)
    return Promise.resolve(staleResult(flight.stale))
  }
  if (softMs === undefined && hardMs === undefined) return flight.promise
  return new Promise<FlightResult>((resolve, reject) => {
    let isSettled = false
    let isSoftPassed = false
    let softTimer: NodeJS.Timeout | undefined
    let hardTimer: NodeJS.Timeout | undefined
    const finish = () => {
      isSettled = true
      clearTimeout(softTimer)
      clearTimeout(hardTimer)
      flight.staleListeners?.delete(serveStale)
    }
    const serveStale = () => {
      const stale = flight.stale
      if (isSettled || !isSoftPassed || stale === undefined) return
      finish()
      resolve(staleResult(stale))
    }
    flight.staleListeners ??= new Set()
    flight.staleListeners.add(serveStale)
    flight.promise.then(
      (result) => {
        if (isSettled) return
        finish()
        resolve(result)
      },
      (error: unknown) => {
        if (isSettled) return
        finish()
        reject(error)
      },
    )
    if (softMs !== undefined) {
      softTimer = setTimeout(() => {
        isSoftPassed = true
        serveStale()
      }, softMs)
    }
    if (hardMs !== undefined) {
      hardTimer = setTimeout(() => {
        if (isSettled) return
        const stale = flight.stale
        const error = hardTimeoutError(stale !== undefined)
        finish()
        if (stale !== undefined) resolve(staleResult(stale))
        else reject(error)
      }, hardMs)
    }
  })
}
