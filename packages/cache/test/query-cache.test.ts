import type { QueryContext, QueryResult } from '@tessera/core'
import { describe, expect, it, vi } from 'vitest'
import { cached } from '../src/cached'
import { createCache } from '../src/create-cache'
import { queryCache } from '../src/query-cache'
import { statementKind, statementTables } from '../src/sql-tables'

function ctx(sql: string, params: unknown[] = [], transaction = false): QueryContext {
  return { sql, params, options: {}, driver: 'fake', operation: 'query', transaction, attempt: 1, meta: {} }
}

function result(rows: Record<string, unknown>[], command = 'SELECT'): QueryResult {
  return { rows, rowCount: rows.length, command, fields: [] }
}

describe('queryCache', () => {
  it('answers a repeated SELECT from the cache, keyed by SQL and parameters', async () => {
    const hooks = queryCache(createCache())
    const next = vi.fn(async () => result([{ id: 1, at: new Date(0) }]))
    const first = await hooks.onQuery!(ctx('SELECT * FROM users WHERE id = $1', [1]), next)
    const again = await hooks.onQuery!(ctx('SELECT * FROM users WHERE id = $1', [1]), next)
    await hooks.onQuery!(ctx('SELECT * FROM users WHERE id = $1', [2]), next)
    expect(again).toEqual(first)
    expect(next).toHaveBeenCalledTimes(2)
  })

  it('keeps statements that differ only in whitespace inside a literal apart', async () => {
    const hooks = queryCache(createCache())
    const one = await hooks.onQuery!(ctx("SELECT * FROM users WHERE name = 'a  b'"), async () => result([{ id: 1 }]))
    const two = await hooks.onQuery!(ctx("SELECT * FROM users WHERE name = 'a b'"), async () => result([{ id: 2 }]))
    expect(one.rows).toEqual([{ id: 1 }])
    expect(two.rows).toEqual([{ id: 2 }])
  })

  it.each([
    ['SELECT nextval($1)', 'writes'],
    ['SELECT pg_try_advisory_lock(1)', 'writes'],
    ['SELECT * FROM users FOR UPDATE', 'writes'],
    ['SELECT now()', 'volatile'],
    ['SELECT * FROM users WHERE created_at > current_date', 'volatile'],
    ['SELECT * FROM pg_stat_activity', 'volatile'],
    ['SELECT my_fn(id) FROM users', 'tablesUnknown'],
  ] as const)('never caches %j, and counts it under skipped.%s', async (sql, reason) => {
    const cache = createCache()
    const hooks = queryCache(cache)
    const next = vi.fn(async () => result([{ n: 1 }]))
    await hooks.onQuery!(ctx(sql), next)
    await hooks.onQuery!(ctx(sql), next)
    expect(next).toHaveBeenCalledTimes(2)
    expect(cache.stats().queryCache.skipped[reason]).toBe(2)
    expect(cache.stats().queryCache.cached).toBe(0)
  })

  it('drops every cached result after a write whose tables it cannot name (DDL, CALL, unknown functions)', async () => {
    const cache = createCache()
    const hooks = queryCache(cache)
    const read = vi.fn(async () => result([{ id: 1 }]))
    await hooks.onQuery!(ctx('SELECT * FROM users'), read)
    await hooks.onQuery!(ctx('SELECT * FROM users'), read)
    expect(read).toHaveBeenCalledTimes(1)
    await hooks.onQuery!(ctx('CALL archive_users()'), async () => result([], 'CALL'))
    await hooks.onQuery!(ctx('SELECT * FROM users'), read)
    expect(read).toHaveBeenCalledTimes(2)
    expect(cache.stats().queryCache).toEqual({ cached: 3, skipped: { writes: 1, volatile: 0, tablesUnknown: 0, transaction: 0 } })
  })

  it('counts on a namespace view the same counters as on its cache', async () => {
    const cache = createCache()
    const hooks = queryCache(cache.namespace('sql'))
    await hooks.onQuery!(ctx('SELECT 1 FROM users'), async () => result([{ n: 1 }]))
    expect(cache.stats().queryCache.cached).toBe(1)
  })

  it('re-reads a table after a write to it succeeds, and keeps other tables cached', async () => {
    const hooks = queryCache(createCache())
    const users = vi.fn(async () => result([{ id: 1 }]))
    const orgs = vi.fn(async () => result([{ id: 9 }]))
    await hooks.onQuery!(ctx('SELECT u.* FROM users u JOIN members m ON m.user_id = u.id'), users)
    await hooks.onQuery!(ctx('SELECT * FROM orgs'), orgs)
    await hooks.onQuery!(ctx('UPDATE "public".members SET role = $1', ['admin']), async () => result([], 'UPDATE'))
    await hooks.onQuery!(ctx('SELECT u.* FROM users u JOIN members m ON m.user_id = u.id'), users)
    await hooks.onQuery!(ctx('SELECT * FROM orgs'), orgs)
    expect(users).toHaveBeenCalledTimes(2)
    expect(orgs).toHaveBeenCalledTimes(1)
  })

  it('does not invalidate when the write fails', async () => {
    const hooks = queryCache(createCache())
    const read = vi.fn(async () => result([{ id: 1 }]))
    await hooks.onQuery!(ctx('SELECT * FROM users'), read)
    await expect(hooks.onQuery!(ctx('DELETE FROM users'), () => Promise.reject(new Error('fk violation')))).rejects.toThrow()
    await hooks.onQuery!(ctx('SELECT * FROM users'), read)
    expect(read).toHaveBeenCalledTimes(1)
  })

  it('never caches inside a transaction or locking reads, and invalidates again after the transaction', async () => {
    const hooks = queryCache(createCache())
    const read = vi.fn(async () => result([{ id: 1 }]))
    await hooks.onQuery!(ctx('SELECT * FROM users', [], true), read)
    await hooks.onQuery!(ctx('SELECT * FROM users', [], true), read)
    await hooks.onQuery!(ctx('SELECT * FROM users FOR UPDATE'), read)
    await hooks.onQuery!(ctx('SELECT * FROM users FOR UPDATE'), read)
    expect(read).toHaveBeenCalledTimes(4)

    await hooks.onQuery!(ctx('SELECT * FROM users'), read) // cached now (5th call)
    await hooks.onTransaction!({ driver: 'fake', options: {}, attempt: 1, meta: {} }, async () => {
      await hooks.onQuery!(ctx('INSERT INTO users (id) VALUES ($1)', [2], true), async () => result([], 'INSERT'))
      // A read outside the transaction slips in before the commit and caches the old rows…
      await hooks.onQuery!(ctx('SELECT * FROM users'), read)
    })
    // …but the commit invalidates again.
    await hooks.onQuery!(ctx('SELECT * FROM users'), read)
    expect(read).toHaveBeenCalledTimes(7)
  })
})

describe('statementKind and statementTables', () => {
  it('classifies reads, writes and the rest', () => {
    expect(statementKind('  select 1')).toBe('read')
    expect(statementKind('WITH x AS (SELECT 1) SELECT * FROM x')).toBe('read')
    expect(statementKind('WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d')).toBe('write')
    expect(statementKind('/* hi */ insert into t values (1)')).toBe('write')
    expect(statementKind("SELECT 'update' FROM t")).toBe('read')
    expect(statementKind('CREATE TABLE t (id int)')).toBe('write')
    expect(statementKind('SELECT nextval($1)')).toBe('other')
    expect(statementKind('SET search_path = app')).toBe('other')
  })

  it('finds the tables of FROM, JOIN and write targets', () => {
    expect(statementTables('SELECT * FROM public.Users u LEFT JOIN "Orgs" o ON true')).toEqual(['users', 'Orgs'])
    expect(statementTables('TRUNCATE TABLE a, b')).toEqual(['a', 'b'])
    expect(statementTables('INSERT INTO logs (m) SELECT m FROM staging')).toEqual(['staging', 'logs'])
  })
})

describe('cached', () => {
  it('memoises an async function by the key of its arguments', async () => {
    const cache = createCache()
    const find = vi.fn(async (id: number) => ({ id }))
    const findCached = cached(find, cache, { key: (id) => `user:${id}`, tags: (id) => [`user:${id}`] })
    expect(await findCached(1)).toEqual({ id: 1 })
    expect(await findCached(1)).toEqual({ id: 1 })
    await findCached(2)
    expect(find).toHaveBeenCalledTimes(2)
    await cache.deleteByTag('user:1')
    await findCached(1)
    expect(find).toHaveBeenCalledTimes(3)
  })
})
