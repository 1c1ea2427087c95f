import { AsyncLocalStorage } from 'node:async_hooks'
import { createHash } from 'node:crypto'
import { ConfigError, describeValue, type Hooks, type QueryResult } from '@tessera/core'
import { taggedJsonCodec } from './codec'
import type { Cache } from './create-cache'
import { statementKind, statementTables } from './sql-tables'

/** Options of {@link queryCache}. */
export interface QueryCacheOptions {
  /** How long a result is fresh. Default: the cache's `ttlMs`. */
  ttlMs?: number | undefined
  /** The tables a statement reads or writes. Default: a simple FROM/JOIN/INSERT/UPDATE/DELETE scan (see the README for its limits). */
  tables?: ((sql: string) => readonly string[]) | undefined
  /** Tags are `<tagPrefix><table>`, so `cache.deleteByTag('table:users')` works by hand too. Default: `'table:'`. */
  tagPrefix?: string | undefined
}

/**
 * Hooks that cache read results of a provider and invalidate them on writes. Register with the provider's `hooks`
 * option. Reads (SELECT, WITH … SELECT, VALUES, TABLE; not `FOR UPDATE/SHARE`; not inside a transaction; not
 * `batch` or `stream`) are cached by normalised SQL + parameters, tagged with the tables they read. A write that
 * succeeds invalidates the tags of the tables it touches; inside a transaction it does so at once and again after
 * the transaction commits, so a read that slipped in between cannot keep the pre-commit rows.
 *
 * Cached `QueryResult`s are shared between callers: do not mutate their rows.
 *
 * @example
 * const provider = createPgProvider({ connectionString, hooks: [queryCache(cache, { ttlMs: 5_000 })] })
 */
export function queryCache(cache: Cache, options: QueryCacheOptions = {}): Hooks {
  if (typeof cache !== 'object' || cache === null || typeof cache.getOrSet !== 'function') {
    throw new ConfigError(`queryCache needs a cache from createCache(), got ${describeValue(cache)}`, { subject: 'queryCache' })
  }
  const tables = options.tables ?? statementTables
  const tagPrefix = options.tagPrefix ?? 'table:'
  const ttlMs = options.ttlMs
  const written = new AsyncLocalStorage<Set<string>>()

  const tagsOf = (sql: string) => tables(sql).map((table) => tagPrefix + table)

  async function invalidate(tags: readonly string[]): Promise<void> {
    if (tags.length === 0) return
    try {
      await cache.deleteByTag(tags)
    } catch {
      // The write succeeded; an invalidation the cache could not perform is reported by the cache itself.
    }
  }

  return {
    async onQuery(ctx, next) {
      if (ctx.operation === 'stream') return next()
      const kind = statementKind(ctx.sql)
      if (kind === 'write') {
        const result = await next()
        const tags = tagsOf(ctx.sql)
        const inTransaction = written.getStore()
        if (inTransaction !== undefined) for (const tag of tags) inTransaction.add(tag)
        await invalidate(tags)
        return result
      }
      if (kind !== 'read' || ctx.transaction || ctx.operation !== 'query') return next()
      let key: string
      try {
        key = `sql:${createHash('sha1').update(ctx.sql.replace(/\s+/g, ' ').trim()).update('\u0000').update(taggedJsonCodec.encode(ctx.params)).digest('hex')}`
      } catch {
        return next()
      }
      const tags = tagsOf(ctx.sql)
      return cache.getOrSet<QueryResult>(key, () => next(), tags.length > 0 ? { ttlMs, tags } : { ttlMs })
    },
    async onTransaction(_ctx, next) {
      const tags = new Set<string>()
      const result = await written.run(tags, next)
      await invalidate([...tags])
      return result
    },
  }
}
