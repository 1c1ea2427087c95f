/** Counters of one namespace path (a cache's root namespace or one of its `namespace()` views). */
export interface NamespaceCounters {
  /** Reads answered by a fresh L1 value. */
  l1Hits: number
  /** Reads answered by a fresh Redis value. */
  l2Hits: number
  /** Reads neither tier answered (the factory ran, or `get` returned `undefined`); stale values served count here too. */
  misses: number
  /** Stale (grace) values served instead of an error, a timeout or a wait. */
  staleServed: number
  /** Entries written by `set`, `setMany` and `warm`. */
  sets: number
  /** Keys deleted by `delete` and `deleteMany`. */
  deletes: number
  /** Failures reported to `onError` (Redis, factory, codec, bus, lock, timeouts). */
  errors: number
}

/** At most this many namespace paths are counted apart; later ones are counted together under {@link OTHER_NAMESPACES}. */
export const MAX_COUNTED_NAMESPACES = 1_000
export const OTHER_NAMESPACES = '(other)'

function newCounters(): NamespaceCounters {
  return { l1Hits: 0, l2Hits: 0, misses: 0, staleServed: 0, sets: 0, deletes: 0, errors: 0 }
}

/** The per-namespace breakdown of a cache's counters (shared by the cache and all its views). */
export class NamespaceStats {
  private readonly byPath = new Map<string, NamespaceCounters>()

  /** The counters of `path` (created on first use; past the bound, the shared "(other)" counters). */
  of(path: string): NamespaceCounters {
    let counters = this.byPath.get(path)
    if (counters !== undefined) return counters
    if (this.byPath.size >= MAX_COUNTED_NAMESPACES) return this.of(OTHER_NAMESPACES)
    counters = newCounters()
    this.byPath.set(path, counters)
    return counters
  }

  snapshot(): Record<string, NamespaceCounters> {
    const result: Record<string, NamespaceCounters> = {}
    for (const [path, counters] of this.byPath) result[path] = { ...counters }
    return result
  }
}
