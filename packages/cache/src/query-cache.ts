import { AsyncLocalStorage } from 'node:async_hooks'
import { createHash } from 'node:crypto'
import { ConfigError, classifyStatement, describeValue, type Hooks, type QueryResult, type StatementClassification } from '@tessera/core'
import { taggedJsonCodec } from './codec'
import type { Cache } from './create-cache'
import { tableTags } from './sql-tables'
import { type Counters, countersOf, createCounters } from './stats'

/** Options of {@link queryCache}. */
export interface QueryCacheOptions {
  /** How long a result is fresh. Default: the cache's `ttlMs`. */
  ttlMs?: number | undefined
  /**
   * The tables a statement reads or writes. Default: what core's `classifyStatement` finds. When given, its answer
   * is trusted as complete (views, for instance, can be mapped to their base tables), but a statement is still
   * cached only when the classifier proves it read-only, free of volatile functions and of functions it does not know.
   */
  tables?: ((sql: string) => readonly string[]) | undefined
  /** Tags are `<tagPrefix><table>`, so `cache.deleteByTag('table:users')` works by hand too. Default: `'table:'`. */
  tagPrefix?: string | undefined
}

/** Classifications by SQL text: applications repeat a bounded set of statements. */
const MEMO_LIMIT = 1_000

/**
 * Hooks that cache read results of a provider and invalidate them on writes. Register with the provider's `hooks`
 * option. A statement is cached only when core's statement classifier proves it read-only (no write, no locking
 * read, no `nextval()`, no advisory lock…), free of volatile functions (`now()`, `random()`, `current_user`…) and
 * names every table it reads; and only outside transactions, and not for `batch` or `stream`. Results are keyed by
 * the SQL text + parameters and tagged with the tables read. A write that succeeds invalidates the tags of the
 * tables it writes, or every cached result when the classifier cannot name them (DDL, `CALL`, `DO`, unknown
 * functions); inside a transaction it does so at once and again after the transaction commits, so a read that
 * slipped in between cannot keep the pre-commit rows. `cache.stats().queryCache` counts what was skipped and why.
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
  const userTables = options.tables
  const tagPrefix = options.tagPrefix ?? 'table:'
  // Every cached result carries it; a write whose tables are unknown invalidates it, and with it everything.
  const everyTable = `${tagPrefix}*`
  const ttlMs = options.ttlMs
  const counters: Counters = countersOf.get(cache) ?? createCounters()
  const written = new AsyncLocalStorage<Set<string>>()
  const memo = new Map<string, StatementClassification>()

  const classify = (sql: string): StatementClassification => {
    let classification = memo.get(sql)
    if (classification === undefined) {
      if (memo.size >= MEMO_LIMIT) memo.clear()
      classification = classifyStatement(sql)
      memo.set(sql, classification)
    }
    return classification
  }

  const tagsOf = (sql: string, classification: StatementClassification): string[] =>
    userTables === undefined ? tableTags(classification, tagPrefix) : userTables(sql).map((table) => tagPrefix + table)

  /** The tags a statement that may write invalidates; empty when it changes no table. */
  const invalidatedBy = (sql: string, classification: StatementClassification): string[] => {
    if (userTables === undefined && !classification.writtenTablesKnown) return [everyTable]
    if (userTables === undefined && classification.writtenTables.length === 0) return []
    return tagsOf(sql, classification)
  }

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
      const classification = classify(ctx.sql)
      if (!classification.readOnly) {
        if (ctx.operation === 'query') counters.querySkippedWrites++
        const result = await next()
        const tags = invalidatedBy(ctx.sql, classification)
        const inTransaction = written.getStore()
        if (inTransaction !== undefined) for (const tag of tags) inTransaction.add(tag)
        await invalidate(tags)
        return result
      }
      if (ctx.operation !== 'query') return next()
      if (classification.volatile) {
        counters.querySkippedVolatile++
        return next()
      }
      // Even with `tables` given: a function the classifier does not know may also be volatile.
      if (!classification.tablesKnown) {
        counters.querySkippedTablesUnknown++
        return next()
      }
      if (ctx.transaction) {
        counters.querySkippedTransaction++
        return next()
      }
      let key: string
      try {
        // The exact text: collapsing whitespace would also collapse it inside literals ('a  b' is not 'a b').
        key = `sql:${createHash('sha1').update(ctx.sql).update('\u0000').update(taggedJsonCodec.encode(ctx.params)).digest('hex')}`
      } catch {
        return next()
      }
      counters.queryCached++
      return cache.getOrSet<QueryResult>(key, () => next(), { ttlMs, tags: [...tagsOf(ctx.sql, classification), everyTable] })
    },
    async onTransaction(_ctx, next) {
      const tags = new Set<string>()
      const result = await written.run(tags, next)
      await invalidate([...tags])
      return result
    },
  }
}
