/**
 * The expressions of one request, built: each text uses `#a0`… for attribute names and `:v0`… for values, bound
 * in the order the shape lists them.
 */
export interface CompiledExpression {
  readonly keyCondition?: string | undefined
  readonly filter?: string | undefined
  readonly condition?: string | undefined
  readonly update?: string | undefined
  readonly projection?: string | undefined
  /** `#a0` → attribute name, for every attribute the expressions read. */
  readonly names: Readonly<Record<string, string>>
}

/** The expression cache's counters, as `db.stats().expressionCache` reports them. */
export interface ExpressionCacheStats {
  hits: number
  misses: number
  /** hits / (hits + misses), 0 before the first lookup. */
  hitRatio: number
  /** Shapes held now. */
  size: number
}

/**
 * Built expressions by the shape of the operation (its attributes and operators, never its values), so that a
 * repeated call only binds new values. Bounded: past `maxEntries` the oldest shape is forgotten.
 */
export interface ExpressionCache {
  get(shape: string, build: () => CompiledExpression): CompiledExpression
  stats(): ExpressionCacheStats
}

/** Creates an expression cache holding at most `maxEntries` shapes (default 1,000). */
export function createExpressionCache(maxEntries = 1_000): ExpressionCache {
  const entries = new Map<string, CompiledExpression>()
  let hits = 0
  let misses = 0
  return {
    get(shape, build) {
      const found = entries.get(shape)
      if (found) {
        hits++
        return found
      }
      misses++
      const built = build()
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!)
      entries.set(shape, built)
      return built
    },
    stats() {
      const total = hits + misses
      return { hits, misses, hitRatio: total === 0 ? 0 : hits / total, size: entries.size }
    },
  }
}
