import { randomUUID } from 'node:crypto'
import type { TagVersionMap } from './tag-versions'

/**
 * A cached value with its clocks, as L1 holds it: the value by reference, never encoded, so an L1 hit costs a map
 * lookup and a few comparisons.
 */
export interface CacheEntry {
  value: unknown
  /** Fresh until this clock time (ms). */
  freshUntil: number
  /** Kept as a stale (grace) value until this clock time (ms); `staleUntil ≥ freshUntil`. */
  staleUntil: number
  /**
   * This L1 copy is trusted until this clock time (ms): `min(staleUntil, now + l1.ttlMs)` when Redis holds the entry
   * too (shorter while the bus is down).
   */
  trustedUntil: number
  /** The versions of the entry's tags when it was written; `undefined` for an untagged entry. */
  tagVersions: TagVersionMap | undefined
}

/** The shape an entry has in Redis (short names: it is stored with every value). */
export interface StoredEntry {
  /** The value. */
  v: unknown
  /** Fresh until (clock ms). */
  e: number
  /** Stale until (clock ms). */
  s: number
  /** Tag versions. */
  t?: TagVersionMap | undefined
}

export function toStoredEntry(value: unknown, freshUntil: number, staleUntil: number, tagVersions: TagVersionMap | undefined): StoredEntry {
  return tagVersions === undefined ? { v: value, e: freshUntil, s: staleUntil } : { v: value, e: freshUntil, s: staleUntil, t: tagVersions }
}

/** The L1 entry for an entry read from Redis, trusted until `trustedUntil` at most. */
export function fromStoredEntry(stored: StoredEntry, trustedUntil: number): CacheEntry {
  return {
    value: stored.v,
    freshUntil: stored.e,
    staleUntil: stored.s,
    trustedUntil: Math.min(stored.s, trustedUntil),
    tagVersions: stored.t,
  }
}

export function isStoredEntry(value: unknown): value is StoredEntry {
  if (typeof value !== 'object' || value === null) return false
  const entry = value as Record<string, unknown>
  if (typeof entry.e !== 'number' || typeof entry.s !== 'number' || !('v' in entry)) return false
  return entry.t === undefined || (typeof entry.t === 'object' && entry.t !== null && !Array.isArray(entry.t))
}

/**
 * `delete()` leaves this in Redis instead of removing the key, so that a factory that read the database before the
 * delete and finishes after it sees that the key changed and does not store its (old) value. Starts with NUL: no
 * codec output does. It lives {@link DELETE_MARKER_TTL_MS}; a factory running longer than that is not written back.
 */
const DELETE_MARKER = '\u0000tessera:deleted:'
export const DELETE_MARKER_TTL_MS = 60_000

export function isDeleteMarker(text: string): boolean {
  return text.charCodeAt(0) === 0 && text.startsWith(DELETE_MARKER)
}

/** A fresh delete marker (random, so that two deletes never look alike). */
export function newDeleteMarker(): string {
  return DELETE_MARKER + randomUUID()
}

/**
 * The clock time of "never" for an entry with `ttlMs: Infinity`: the largest valid `Date`, finite so that every
 * codec (plain JSON too) stores it.
 */
export const FOREVER_MS = 8.64e15

/** `ttlMs` scaled by a random factor in `[1 - jitter, 1 + jitter]`, never below 1 ms. */
export function jitteredTtl(ttlMs: number, jitter: number, random: () => number = Math.random): number {
  if (jitter === 0) return ttlMs
  return Math.max(1, Math.round(ttlMs * (1 + jitter * (2 * random() - 1))))
}

/**
 * A rough size in bytes, for `l1.maxBytes` when there is no encoded form to measure: strings count 2 bytes a
 * character (V8's worst case), other leaves 8, containers the sum of their parts. Stops descending after a depth
 * of 8 so a deep value cannot make a write slow.
 */
export function estimateBytes(value: unknown, depth = 0): number {
  if (typeof value === 'string') return 2 * value.length + 16
  if (typeof value !== 'object' || value === null) return 8
  if (depth >= 8) return 64
  if (ArrayBuffer.isView(value)) return value.byteLength + 16
  let total = 16
  if (Array.isArray(value) || value instanceof Set) {
    for (const item of value) total += estimateBytes(item, depth + 1)
    return total
  }
  if (value instanceof Map) {
    for (const [k, v] of value) total += estimateBytes(k, depth + 1) + estimateBytes(v, depth + 1)
    return total
  }
  for (const key of Object.keys(value)) total += 2 * key.length + estimateBytes((value as Record<string, unknown>)[key], depth + 1)
  return total
}

/** Escapes Redis glob characters so a prefix is matched literally by SCAN MATCH. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&')
}
