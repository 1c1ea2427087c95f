import { TesseraError, TimeoutError } from '@tessera/core'
import type { CacheCore } from './cache-core'
import { fromStoredEntry } from './cache-entry'
import { passesCheck, type StandardSchemaLike } from './check-value'
import { type Flight, type FlightResult, offerStale } from './flight'
import { UNAVAILABLE } from './l2-tier'

/** What waiting for the distributed lock came to: the lock (`token`), another instance's value, its failure, or none. */
export interface LockOutcome {
  token?: string | undefined
  result?: FlightResult | undefined
  failure?: TesseraError | undefined
}

/** The lock's Redis key for a full cache key. */
export function lockKeyOf(core: CacheCore, fk: string): string {
  return `${core.options.l2?.keyPrefix ?? ''}__lock:${fk}`
}

/**
 * Distributed single flight: take the lock and compute, or wait for the holder's value, polling Redis every
 * `pollMs` and waking early on the holder's bus message. After `waitMs` (or when Redis is unreachable) the caller
 * computes the value itself: the lock is an optimisation, never a reason to fail. A holder's recent failure is
 * shared instead.
 */
export async function lockOrWait(
  core: CacheCore,
  flight: Flight,
  fk: string,
  namespace: string,
  key: string,
  schema: StandardSchemaLike | undefined,
  token: string,
): Promise<LockOutcome> {
  const lock = core.lock!
  const lockOptions = core.options.lock!
  const lockKey = lockKeyOf(core, fk)
  const deadline = Date.now() + lockOptions.waitMs
  let hasWaited = false
  for (;;) {
    const attempt = await flight.budget.run(() => lock.tryAcquire(lockKey, token))
    if (attempt === UNAVAILABLE) return {}
    if (attempt.outcome === 'failed') {
      const failure = new TesseraError(`another instance's factory for "${key}" failed: ${attempt.message}`, {
        code: 'CACHE_FACTORY_FAILED',
        retryable: true,
      })
      core.counters.factoryErrors++
      core.report(failure, { operation: 'lock', namespace, key, staleServed: flight.stale !== undefined })
      return { failure }
    }
    const isAcquired = attempt.outcome === 'acquired'
    // Double-checked: the previous holder may have filled the key between our read and our lock.
    const read = await core.store.read(fk, namespace, key, flight.budget)
    if (read !== undefined) flight.seenInL2 = read.text
    let entry = read?.entry
    if (entry !== undefined && schema !== undefined && !(await passesCheck(schema, entry.v))) {
      core.counters.checkFailures++
      entry = undefined
    }
    const now = core.options.clock.now()
    if (entry !== undefined && now < entry.e) {
      if (isAcquired) void lock.release(lockKey, token)
      core.l1?.putFromRedis(fk, entry, now, read?.text?.length ?? 1)
      return { result: { value: entry.v, tier: 'l2', isStale: false } }
    }
    if (entry !== undefined && now < entry.s) offerStale(flight, fromStoredEntry(entry, entry.s))
    if (isAcquired) {
      core.counters.locksAcquired++
      return { token }
    }
    if (!hasWaited) {
      hasWaited = true
      core.counters.lockWaits++
    }
    if (Date.now() >= deadline || core.isClosed) {
      core.counters.lockGaveUp++
      const error = new TimeoutError({ operation: `waiting for another instance to compute "${key}"`, timeoutMs: lockOptions.waitMs })
      core.report(error, { operation: 'lock', namespace, key })
      return {}
    }
    await core.bus.waitForKey(fk, lockOptions.pollMs)
  }
}
