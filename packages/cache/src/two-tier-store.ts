import { ConversionError, isTesseraError } from '@tessera/core'
import {
  type CacheEntry,
  DELETE_MARKER_TTL_MS,
  estimateBytes,
  FOREVER_MS,
  isDeleteMarker,
  isStoredEntry,
  jitteredTtl,
  newDeleteMarker,
  type StoredEntry,
  toStoredEntry,
} from './cache-entry'
import { encodeAndCheck } from './codec'
import { decompress, EntryCompression, isCompressed } from './compression'
import type { ErrorReporter } from './error-reporter'
import type { L1Tier } from './l1-tier'
import { type L2Tier, UNAVAILABLE } from './l2-tier'
import type { OperationBudget } from './operation-budget'
import type { ResolvedOptions } from './options'
import type { Counters } from './stats'
import type { TagCheck, TagVersionMap, TagVersions } from './tag-versions'
import type { WriteRepairs } from './write-repairs'

/** A Redis write. */
export interface RedisWrite {
  key: string
  text: string
  ttlMs: number
}

/** An entry ready to be stored in both tiers. */
export interface PreparedEntry {
  fk: string
  entry: CacheEntry
  /** The Redis write, or `undefined` (no L2 for this entry, or the value is too big for it). */
  write: RedisWrite | undefined
  /** The value is too big for L2: the older value there must go (a delete marker replaces it). */
  replaceWithMarker: RedisWrite | undefined
}

/** What a read from Redis found: the entry (fresh or stale) and the reply's length. */
export interface RedisRead {
  entry: StoredEntry
  sizeBytes: number
  /** The reply as Redis holds it (`null`: nothing), for a later write-if-unchanged. */
  text: string | null
}

/**
 * How entries travel between the value, L1 and Redis: encoding with the codec, size limits, decoding and tag checks
 * of Redis replies. Stores nothing by itself but L1 copies; the callers decide what to send to Redis.
 */
export class TwoTierStore {
  private readonly keyPrefix: string
  private readonly maxEntryBytes: number
  private readonly compression: EntryCompression | undefined

  constructor(
    private readonly options: ResolvedOptions,
    readonly l1: L1Tier | undefined,
    readonly l2: L2Tier | undefined,
    private readonly tags: TagVersions,
    private readonly counters: Counters,
    private readonly report: ErrorReporter,
    private readonly repairs: WriteRepairs | undefined,
  ) {
    this.keyPrefix = options.l2?.keyPrefix ?? ''
    this.maxEntryBytes = options.l2?.maxEntryBytes ?? Number.POSITIVE_INFINITY
    const threshold = options.l2?.compressThresholdBytes
    if (threshold !== undefined) this.compression = new EntryCompression(threshold, options.l2?.compression ?? 'gzip')
  }

  redisKey(fk: string): string {
    return this.keyPrefix + fk
  }

  private decode(text: string, namespace: string, key: string): StoredEntry | undefined {
    let raw: unknown
    try {
      raw = this.options.codec.decode(isCompressed(text) ? decompress(text) : text)
    } catch (error) {
      this.counters.decodeErrors++
      this.report(error, { operation: 'decode', namespace, key })
      return undefined
    }
    if (!isStoredEntry(raw)) {
      this.counters.decodeErrors++
      const error = new ConversionError({ value: text, target: 'a cache entry', reason: 'not an entry written by @tessera/cache' })
      this.report(error, { operation: 'decode', namespace, key })
      return undefined
    }
    return raw
  }

  /**
   * Decodes and tag-checks one Redis reply; a stale or fresh entry, or `undefined`. Synchronous for an untagged
   * entry (the common case, and the L2 hit path); a promise only when tag versions may have to be read.
   */
  fromReply(
    text: string | null | undefined,
    namespace: string,
    key: string,
    budget?: OperationBudget,
  ): StoredEntry | undefined | Promise<StoredEntry | undefined> {
    if (text === null || text === undefined || isDeleteMarker(text)) return undefined
    const entry = this.decode(text, namespace, key)
    if (entry === undefined || entry.t === undefined) return entry
    const sync = this.tags.checkSync(entry.t, this.options.clock.now())
    if (sync !== undefined) return this.applyTagCheck(entry, sync)
    return this.tags.check(entry.t, budget).then((check) => this.applyTagCheck(entry, check))
  }

  /** A current entry as it is; an expired one (`expireByTag`) as stale from now on; an invalid one not at all. */
  private applyTagCheck(entry: StoredEntry, check: TagCheck): StoredEntry | undefined {
    if (check === 'current') return entry
    if (check === 'invalid') return undefined
    const now = this.options.clock.now()
    return entry.e > now ? { ...entry, e: now } : entry
  }

  /** Reads one key; `undefined` when Redis could not answer, `entry: undefined` when it holds nothing usable. */
  async read(
    fk: string,
    namespace: string,
    key: string,
    budget: OperationBudget,
  ): Promise<{ text: string | null; entry: StoredEntry | undefined } | undefined> {
    const l2 = this.l2
    if (l2 === undefined) return undefined
    // A key with a write of unknown outcome: Redis may hold the value that write replaced. Not asked until repaired.
    if (this.repairs?.isSuspect(fk) === true) return undefined
    const text = await budget.run(() => l2.get(this.redisKey(fk)))
    if (text === UNAVAILABLE) return undefined
    let entry = this.fromReply(text, namespace, key, budget)
    if (entry instanceof Promise) entry = await entry
    return { text, entry }
  }

  /** The text of an entry read back from Redis (its value was decoded by the codec, so it encodes again). */
  encodeStored(stored: StoredEntry): string {
    const text = this.encode(stored).text
    return this.compression === undefined ? text : this.compression.compress(text)
  }

  private encode(stored: StoredEntry): { text: string; isExact: boolean } {
    try {
      return encodeAndCheck(this.options.codec, stored)
    } catch (error) {
      if (isTesseraError(error)) throw error
      const reason = error instanceof Error ? error.message : String(error)
      throw new ConversionError({ value: stored.v, target: 'a cache entry', reason }, { cause: error })
    }
  }

  private isOversize(text: string): boolean {
    // A UTF-8 character is at most 3 bytes per UTF-16 unit: most entries are decided without counting.
    if (text.length * 3 <= this.maxEntryBytes) return false
    return Buffer.byteLength(text) > this.maxEntryBytes
  }

  /**
   * Prepares one entry for both tiers without storing it: the L1 entry and the Redis write (if any). Throws a
   * `ConversionError` when the value cannot be encoded, before anything was stored.
   */
  prepare(
    fk: string,
    namespace: string,
    key: string,
    value: unknown,
    ttlMs: number,
    graceMs: number,
    tagVersions: TagVersionMap | undefined,
    toL2: boolean,
  ): PreparedEntry {
    const now = this.options.clock.now()
    const freshUntil = ttlMs === Number.POSITIVE_INFINITY ? FOREVER_MS : Math.min(FOREVER_MS, now + jitteredTtl(ttlMs, this.options.jitter))
    const staleUntil = Math.min(FOREVER_MS, freshUntil + graceMs)
    let text: string | undefined
    const hasL2 = toL2 && this.l2 !== undefined
    if (hasL2) {
      const encoded = this.encode(toStoredEntry(value, freshUntil, staleUntil, tagVersions))
      text = encoded.text
      // A toJSON changed the value: this process's L1 holds what the other processes will read, not the original.
      if (!encoded.isExact) value = (this.options.codec.decode(text) as StoredEntry).v
      if (this.compression !== undefined) text = this.compression.compress(text)
      if (this.isOversize(text)) {
        this.counters.oversize++
        const bytes = Buffer.byteLength(text)
        const message = `cache "${namespace}": "${key}" is ${bytes} bytes, too big for L2; kept in L1 only`
        this.options.logger?.warn({ cache: this.options.namespace, namespace, key, bytes }, message)
        text = undefined
      }
    }
    const trustedUntil = hasL2 ? Math.min(staleUntil, now + (this.l1?.trustMs ?? 0)) : staleUntil
    const entry: CacheEntry = { value, freshUntil, staleUntil, trustedUntil, tagVersions }
    const redisKey = this.redisKey(fk)
    if (text === undefined) {
      const marker = hasL2 ? { key: redisKey, text: newDeleteMarker(), ttlMs: DELETE_MARKER_TTL_MS } : undefined
      return { fk, entry, write: undefined, replaceWithMarker: marker }
    }
    return { fk, entry, write: { key: redisKey, text, ttlMs: staleUntil - now }, replaceWithMarker: undefined }
  }

  /** Keeps the prepared entry in L1. */
  storeInL1(prepared: PreparedEntry): void {
    this.l1?.put(prepared.fk, prepared.entry, () => prepared.write?.text.length ?? estimateBytes(prepared.entry.value))
  }
}
