import { createPgProvider, type PgProvider } from '@tessera/provider-pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PG_URL } from '../../../tooling/test-services/env'
import { type Cache, createCache } from '../src/create-cache'
import { queryCache } from '../src/query-cache'
import { Connections, deleteKeys, uniqueName } from './redis-support'

// A real provider-pg with queryCache in its hooks, against the real PostgreSQL (own schema) and Redis (own key
// prefix). A second provider without the cache (admin) changes rows behind the cache's back: a cached read still
// shows the old rows, so "served from the cache" is proven by what comes back, not by counting calls.

const schema = uniqueName('query_cache')
const items = `${schema}.items`
const labels = `${schema}.labels`
const keyPrefix = `${uniqueName('query-cache')}:`
// Goes to the server directly: no hooks, so no cache.
const admin = createPgProvider({ connectionString: PG_URL, applicationName: 'tessera-test-admin', pool: { max: 1 } })
const connections = new Connections()
const redis = connections.open()
const providers: PgProvider[] = []
const caches: Cache[] = []

beforeAll(async () => {
  await admin.query(`CREATE SCHEMA ${schema}`)
  await admin.query(`CREATE TABLE ${items} (id int PRIMARY KEY, name text NOT NULL)`)
  await admin.query(`CREATE TABLE ${labels} (id int PRIMARY KEY, label text NOT NULL)`)
})

afterAll(async () => {
  await Promise.all(providers.map((provider) => provider.close({ timeoutMs: 2_000 })))
  await Promise.all(caches.map((cache) => cache.close()))
  await deleteKeys(redis, keyPrefix)
  await connections.closeAll()
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  await admin.close({ timeoutMs: 2_000 })
})

/** A provider whose reads go through a fresh cache namespace (L1 + Redis), so tests never share entries. */
function cachedProvider(): { db: PgProvider; cache: Cache } {
  const cache = createCache({ namespace: uniqueName('qc'), l2: { redis, keyPrefix }, ttlMs: 60_000 })
  const db = createPgProvider({
    connectionString: PG_URL,
    applicationName: 'tessera-test-query-cache',
    pool: { max: 2 },
    hooks: [queryCache(cache)],
  })
  caches.push(cache)
  providers.push(db)
  return { db, cache }
}

/** Replaces the rows of both tables, bypassing the provider and its cache. */
async function seed(itemRows: [number, string][], labelRows: [number, string][] = []): Promise<void> {
  await admin.query(`TRUNCATE ${items}, ${labels}`)
  for (const [id, name] of itemRows) await admin.query(`INSERT INTO ${items} (id, name) VALUES ($1, $2)`, [id, name])
  for (const [id, label] of labelRows) await admin.query(`INSERT INTO ${labels} (id, label) VALUES ($1, $2)`, [id, label])
}

async function names(db: PgProvider): Promise<string[]> {
  const result = await db.query<{ name: string }>(`SELECT id, name FROM ${items} ORDER BY id`)
  return result.rows.map((row) => row.name)
}

describe('queryCache on provider-pg', () => {
  it('answers a repeated SELECT from the cache: a change made behind its back is not seen', async () => {
    await seed([
      [1, 'ada'],
      [2, 'grace'],
    ])
    const { db, cache } = cachedProvider()
    expect(await names(db)).toEqual(['ada', 'grace'])
    await admin.query(`UPDATE ${items} SET name = 'changed behind the cache' WHERE id = 1`)
    expect(await names(db)).toEqual(['ada', 'grace'])
    expect(cache.stats().hits).toBe(1)
    // The same statement with other parameters is another entry, read from the server.
    const byId = await db.query<{ name: string }>(`SELECT name FROM ${items} WHERE id = $1`, [1])
    expect(byId.rows).toEqual([{ name: 'changed behind the cache' }])
  })

  it.each([
    ['an INSERT', `INSERT INTO ${items} (id, name) VALUES (3, 'edsger')`, ['ada', 'barbara', 'edsger']],
    ['an UPDATE', `UPDATE ${items} SET name = 'alan' WHERE id = 2`, ['ada', 'alan']],
    ['a DELETE', `DELETE FROM ${items} WHERE id = 2`, ['ada']],
  ])('invalidates the table’s cached reads after %s through the provider', async (_verb, write, expected) => {
    await seed([
      [1, 'ada'],
      [2, 'grace'],
    ])
    const { db } = cachedProvider()
    expect(await names(db)).toEqual(['ada', 'grace'])
    await admin.query(`UPDATE ${items} SET name = 'barbara' WHERE id = 2`)
    expect(await names(db)).toEqual(['ada', 'grace']) // still cached
    await db.query(write)
    expect(await names(db)).toEqual(expected)
  })

  it('does not cache SELECTs inside a transaction, nor keep what they read', async () => {
    await seed([[1, 'ada']])
    const { db, cache } = cachedProvider()
    const sql = `SELECT name FROM ${items} WHERE id = 1`
    const seenInTransaction = await db.transaction(async (tx) => {
      const first = await tx.query<{ name: string }>(sql)
      // Committed by another connection: READ COMMITTED shows it to the next statement, unless it came from a cache.
      await admin.query(`UPDATE ${items} SET name = 'grace' WHERE id = 1`)
      const second = await tx.query<{ name: string }>(sql)
      return [first.rows[0]?.name, second.rows[0]?.name]
    })
    expect(seenInTransaction).toEqual(['ada', 'grace'])
    await admin.query(`UPDATE ${items} SET name = 'barbara' WHERE id = 1`)
    expect((await db.query<{ name: string }>(sql)).rows).toEqual([{ name: 'barbara' }])
    expect(cache.stats().hits).toBe(0)
  })

  it('leaves cached reads of another table alone when a table is written', async () => {
    await seed([[1, 'ada']], [[1, 'red']])
    const { db } = cachedProvider()
    const labelSql = `SELECT label FROM ${labels} WHERE id = 1`
    expect((await db.query(labelSql)).rows).toEqual([{ label: 'red' }])
    expect(await names(db)).toEqual(['ada'])
    await admin.query(`UPDATE ${labels} SET label = 'blue' WHERE id = 1`)
    await db.query(`UPDATE ${items} SET name = 'grace' WHERE id = 1`)
    expect(await names(db)).toEqual(['grace'])
    expect((await db.query(labelSql)).rows).toEqual([{ label: 'red' }]) // still the cached result
  })

  it('never serves nextval() from the cache: each call gets a new id', async () => {
    const { db, cache } = cachedProvider()
    await admin.query(`CREATE SEQUENCE ${schema}.ids`)
    const sql = `SELECT nextval('${schema}.ids') AS id`
    const first = await db.query<{ id: string }>(sql)
    const second = await db.query<{ id: string }>(sql)
    expect(Number(second.rows[0]?.id)).toBe(Number(first.rows[0]?.id) + 1)
    expect(cache.stats().queryCache.skipped.writes).toBe(2)
    expect(cache.stats().hits).toBe(0)
  })

  it('never serves pg_try_advisory_lock() from the cache: a second session is refused the lock', async () => {
    const { db, cache } = cachedProvider()
    const key = Math.floor(Math.random() * 1_000_000_000)
    const sql = 'SELECT pg_try_advisory_lock($1::bigint) AS locked'
    // The pool has two connections: hold one in a transaction so the other statement runs on a second session.
    const answers = await db.transaction(async (tx) => {
      const held = await tx.query<{ locked: boolean }>(sql, [key])
      const other = await db.query<{ locked: boolean }>(sql, [key])
      const again = await db.query<{ locked: boolean }>(sql, [key])
      return [held.rows[0]?.locked, other.rows[0]?.locked, again.rows[0]?.locked]
    })
    await db.query('SELECT pg_advisory_unlock_all()')
    expect(answers).toEqual([true, false, false])
    expect(cache.stats().hits).toBe(0)
  })

  it('never serves now() or clock_timestamp() from the cache: time moves on', async () => {
    const { db, cache } = cachedProvider()
    const times = async (sql: string): Promise<[number, number]> => {
      const first = await db.query<{ at: Date }>(sql)
      await new Promise((resolve) => setTimeout(resolve, 5))
      const second = await db.query<{ at: Date }>(sql)
      return [first.rows[0]?.at.getTime() ?? 0, second.rows[0]?.at.getTime() ?? 0]
    }
    for (const sql of ['SELECT now() AS at', 'SELECT clock_timestamp() AS at', `SELECT coalesce(max(now()), now()) AS at FROM ${items}`]) {
      const [first, second] = await times(sql)
      expect(second, sql).toBeGreaterThan(first)
    }
    expect(cache.stats().hits).toBe(0)
    expect(cache.stats().queryCache.skipped.volatile).toBe(6)
  })

  it('does not cache a read through a function it cannot see into, and drops everything after DDL', async () => {
    await seed([[1, 'ada']])
    const { db, cache } = cachedProvider()
    await admin.query(
      `CREATE FUNCTION ${schema}.item_name(int) RETURNS text LANGUAGE sql STABLE AS $$ SELECT name FROM ${items} WHERE id = $1 $$`,
    )
    const viaFunction = `SELECT ${schema}.item_name(1) AS name`
    expect((await db.query(viaFunction)).rows).toEqual([{ name: 'ada' }])
    await admin.query(`UPDATE ${items} SET name = 'grace' WHERE id = 1`)
    expect((await db.query(viaFunction)).rows).toEqual([{ name: 'grace' }])
    expect(cache.stats().queryCache.skipped.tablesUnknown).toBe(2)

    expect(await names(db)).toEqual(['grace'])
    await admin.query(`UPDATE ${items} SET name = 'barbara' WHERE id = 1`)
    expect(await names(db)).toEqual(['grace']) // cached
    await db.query(`ALTER TABLE ${items} ADD COLUMN note text`)
    expect(await names(db)).toEqual(['barbara'])
  })
})
