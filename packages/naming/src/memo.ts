import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import type { LRUCache } from 'lru-cache'

let lruModule: typeof import('lru-cache') | undefined

/**
 * `lru-cache`, loaded on the first memo miss rather than at import (it takes a few milliseconds to load, and
 * importing a package that only defines memos should not pay for it). Synchronous, through `require`.
 */
function loadLru(): typeof import('lru-cache') {
  if (lruModule === undefined) {
    const location = typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url)
    lruModule = createRequire(location)('lru-cache') as typeof import('lru-cache')
  }
  return lruModule
}

/** A memoised string → string function and a way to look inside it (for tests and tuning). */
export interface Memo {
  (input: string): string
  /** Entries in the hot front map, at most `max`. */
  readonly frontSize: () => number
  /** Entries in the LRU, at most `max`. */
  readonly lruSize: () => number
  /** Empties both tiers. */
  readonly clear: () => void
}

/** Default size of every conversion cache: larger than any realistic schema's set of names. */
export const DEFAULT_CACHE_MAX = 10_000

/**
 * Memoises `compute` in two bounded tiers. A hit is one `Map.get` on the front map. The front map
 * is cleared outright when it fills (cheap, no bookkeeping per hit); the LRU behind it keeps the
 * recently used names, so a clear costs a refill from the LRU rather than recomputing the hot set.
 * Inputs that throw are never cached.
 *
 * @example
 * const snake = createMemo((name) => expensiveSnake(name))
 * snake('userId') // computed once, then a map lookup
 */
export function createMemo(compute: (input: string) => string, max: number = DEFAULT_CACHE_MAX): Memo {
  const front = new Map<string, string>()
  // Made on the first miss: an LRU allocates its arrays for `max` entries up front, and importing a package that
  // defines many memos should not pay for the ones never used.
  let lru: LRUCache<string, string> | undefined

  const memo = (input: string): string => {
    const hit = front.get(input)
    if (hit !== undefined) return hit
    lru ??= new (loadLru().LRUCache)<string, string>({ max })
    let value = lru.get(input)
    if (value === undefined) {
      value = compute(input)
      lru.set(input, value)
    }
    if (front.size >= max) front.clear()
    front.set(input, value)
    return value
  }
  return Object.assign(memo, {
    frontSize: () => front.size,
    lruSize: () => lru?.size ?? 0,
    clear: () => {
      front.clear()
      lru?.clear()
    },
  })
}
