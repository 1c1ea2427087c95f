import type { TagVersionMap } from './tag-versions'

/**
 * A cached value with its clocks. The same object lives in L1 (the value by reference, never encoded, so an L1
 * hit costs a map lookup and two comparisons); in Redis it is encoded as `{ v, e, s, t }`.
 */
export interface Entry {
  /** The value. */
  v: unknown
  /** Fresh until (clock ms). */
  e: number
  /** Kept as a stale (grace) value until (clock ms); `s ≥ e`. */
  s: number
  /** This L1 copy is trusted until (clock ms): `min(s, now + l1.ttlMs)` when Redis holds the entry too. */
  l: number
  /** The versions of the entry's tags when it was written; `undefined` for an untagged entry. */
  t: TagVersionMap | undefined
}

/** The shape an entry has in Redis. */
export interface StoredEntry {
  v: unknown
  e: number
  s: number
  t?: TagVersionMap | undefined
}

export function isStoredEntry(value: unknown): value is StoredEntry {
  if (typeof value !== 'object' || value === null) return false
  const entry = value as Record<string, unknown>
  if (typeof entry.e !== 'number' || typeof entry.s !== 'number' || !('v' in entry)) return false
  return entry.t === undefined || (typeof entry.t === 'object' && entry.t !== null && !Array.isArray(entry.t))
}

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
