import { LRUCache } from 'lru-cache'
import { type CacheEntry, fromStoredEntry, type StoredEntry } from './cache-entry'

export interface L1TierOptions {
  maxEntries: number
  maxBytes: number | undefined
  /** How long a copy of an entry that Redis also holds is trusted (`l1.ttlMs`). */
  trustMs: number
}

/** The in-process tier: an LRU of {@link CacheEntry} by full key (namespace path included). */
export class L1Tier {
  readonly entries: LRUCache<string, CacheEntry>
  private readonly hasByteLimit: boolean
  /** How long a new copy of an entry that Redis also holds is trusted: `l1.ttlMs`, or less while the bus is down. */
  trustMs: number

  constructor(options: L1TierOptions) {
    this.hasByteLimit = options.maxBytes !== undefined
    this.entries =
      options.maxBytes === undefined
        ? new LRUCache<string, CacheEntry>({ max: options.maxEntries })
        : new LRUCache<string, CacheEntry>({ max: options.maxEntries, maxSize: options.maxBytes })
    this.trustMs = options.trustMs
  }

  get size(): number {
    return this.entries.size
  }

  /** Stores `entry`; `sizeBytes` counts against `l1.maxBytes` (computed only when there is such a limit). */
  put(fk: string, entry: CacheEntry, sizeBytes: () => number): void {
    if (this.hasByteLimit) this.entries.set(fk, entry, { size: Math.max(1, sizeBytes()) })
    else this.entries.set(fk, entry)
  }

  /** Keeps a copy of an entry read from Redis. */
  putFromRedis(fk: string, stored: StoredEntry, now: number, sizeBytes: number): void {
    const entry = fromStoredEntry(stored, now + this.trustMs)
    if (this.hasByteLimit) this.entries.set(fk, entry, { size: Math.max(1, sizeBytes) })
    else this.entries.set(fk, entry)
  }

  delete(fk: string): void {
    this.entries.delete(fk)
  }

  /** Removes `entry` if it is still the copy held for `fk`. */
  deleteCopy(fk: string, entry: CacheEntry): void {
    if (this.entries.peek(fk) === entry) this.entries.delete(fk)
  }

  deletePrefix(prefix: string): void {
    for (const key of [...this.entries.keys()]) if (key.startsWith(prefix)) this.entries.delete(key)
  }

  /** Trusts no entry past `until` (the bus went down: invalidations may be missed from now on). */
  limitTrust(until: number): void {
    this.entries.forEach((entry) => {
      if (entry.trustedUntil > until) entry.trustedUntil = until
    })
  }

  clear(): void {
    this.entries.clear()
  }
}
