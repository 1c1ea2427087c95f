import { ConfigError, QueryCanceledError, sql, UndefinedTableError, UniqueViolationError } from '@tessera/core'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPgProvider } from '../src/index'
import { adminClient, backendsOf, closeAll, PG_URL, testProvider, uniqueName } from './helpers'

const schema = uniqueName('pgq')
const app = uniqueName('app')
let admin: pg.Client

beforeAll(async () => {
  admin = await adminClient()
  await admin.query(`CREATE SCHEMA ${schema}`)
  await admin.query(`CREATE TABLE ${schema}.users (id int PRIMARY KEY, email text UNIQUE NOT NULL, big int8, tags text[])`)
  await admin.query(`CREATE TYPE ${schema}.mood AS ENUM ('happy', 'sad')`)
})

afterAll(async () => {
  await closeAll()
  await admin.query(`DROP SCHEMA ${schema} CASCADE`)
  await admin.end()
})

describe('query', () => {
  it('never lends out a connection that a statement left inside a transaction', async () => {
    // With one connection, the second query gets whatever the first left behind. SAVEPOINT only works inside a
    // transaction block, so it succeeding would mean the leftover BEGIN leaked into the next borrower.
    const db = testProvider(app, { pool: { max: 1 } })
    await db.query('BEGIN')
    const error = await db.query('SAVEPOINT probe').catch((e) => e)
    expect(error).toMatchObject({ code: '25P01' })
    await db.query(`BEGIN; INSERT INTO ${schema}.users (id, email) VALUES (901, 'leftover@example.com')`)
    const { rows } = await admin.query(`SELECT count(*)::int AS n FROM ${schema}.users WHERE id = 901`)
    expect(rows[0].n).toBe(0)
    expect((await db.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
  })

  it('returns rows, rowCount, command and fields in the core shape', async () => {
    const db = testProvider(app)
    const result = await db.query(`SELECT 1::int AS one, 'x'::text AS two`)
    expect(result.rows).toEqual([{ one: 1, two: 'x' }])
    expect(result.rowCount).toBe(1)
    expect(result.command).toBe('SELECT')
    expect(result.fields).toEqual([
      { name: 'one', dataTypeID: 23, tableID: 0, columnID: 0 },
      { name: 'two', dataTypeID: 25, tableID: 0, columnID: 0 },
    ])
    const ddl = await db.query(`CREATE TEMP TABLE IF NOT EXISTS t_${schema} (a int)`)
    expect(ddl.rowCount).toBe(0)
  })

  it('accepts the sql tag and $n parameters, and reads int8 as bigint with the provider registry', async () => {
    const db = testProvider(app)
    await db.query(
      sql`INSERT INTO ${sql.id([schema, 'users'])} (id, email, big, tags) VALUES (${1}, ${'a@x'}, ${9007199254740993n}, ${['a', 'b c']})`,
    )
    const { rows } = await db.query(`SELECT id, email, big, tags FROM ${schema}.users WHERE id = $1`, [1])
    expect(rows).toEqual([{ id: 1, email: 'a@x', big: 9007199254740993n, tags: ['a', 'b c'] }])
  })

  it('leaves pg global type parsers untouched', async () => {
    const db = testProvider(app, { types: { int8: 'number', numeric: 'number' } })
    const before = [pg.types.getTypeParser(20), pg.types.getTypeParser(1700), pg.types.getTypeParser(1114)]
    const { rows } = await db.query('SELECT 5::int8 AS n, 1.5::numeric AS d')
    expect(rows).toEqual([{ n: 5, d: 1.5 }])
    expect([pg.types.getTypeParser(20), pg.types.getTypeParser(1700), pg.types.getTypeParser(1114)]).toEqual(before)
    expect(pg.types.getTypeParser(20)('5')).toBe('5')
  })

  it('maps server errors to typed errors with the sql text and without parameter values', async () => {
    const db = testProvider(app)
    await db.query(`INSERT INTO ${schema}.users (id, email) VALUES ($1, $2)`, [2, 'secret@example.com'])
    const error = await db.query(`INSERT INTO ${schema}.users (id, email) VALUES ($1, $2)`, [3, 'secret@example.com']).catch((e) => e)
    expect(error).toBeInstanceOf(UniqueViolationError)
    expect(error.constraint).toBe('users_email_key')
    expect(error.query).toContain(`INSERT INTO ${schema}.users`)
    expect(error.message).not.toContain('secret@example.com')
    await expect(db.query('SELECT * FROM no_such_table_here')).rejects.toBeInstanceOf(UndefinedTableError)
  })

  it('sets application_name, ISO DateStyle, the postgres IntervalStyle and UTF8 on every connection', async () => {
    const name = uniqueName('appname')
    const db = testProvider(name)
    const { rows } = await db.query(
      "SELECT current_setting('application_name') AS app, current_setting('DateStyle') AS ds, current_setting('IntervalStyle') AS istyle, current_setting('client_encoding') AS enc",
    )
    expect(rows[0]).toEqual({ app: name, ds: 'ISO, MDY', istyle: 'postgres', enc: 'UTF8' })
    expect((await backendsOf(admin, name)).length).toBe(1)
  })

  it('applies statementTimeoutMs on the server', async () => {
    const db = testProvider(app, { statementTimeoutMs: 50 })
    const { rows } = await db.query("SELECT current_setting('statement_timeout') AS t")
    expect(rows[0]).toEqual({ t: '50ms' })
    await expect(db.query('SELECT pg_sleep(5)')).rejects.toBeInstanceOf(QueryCanceledError)
  })

  it('reads arrays of a user enum as string arrays once the enum is named in options', async () => {
    const db = testProvider(app, { enums: [`${schema}.mood`] })
    const { rows } = await db.query(`SELECT ARRAY['happy','sad']::${schema}.mood[] AS moods, 'sad'::${schema}.mood AS one`)
    expect(rows[0]).toEqual({ moods: ['happy', 'sad'], one: 'sad' })
    expect(db.types.pendingNames()).not.toContain(`${schema}.mood`)
  })
})

describe('prepared statements', () => {
  async function preparedOf(db: ReturnType<typeof testProvider>): Promise<string[]> {
    const { rows } = await db.query<{ name: string }>('SELECT name FROM pg_prepared_statements ORDER BY name')
    return rows.map((row) => row.name)
  }

  it('prepares parameterised statements under a stable name per text', async () => {
    const db = testProvider(app, { pool: { max: 1 } })
    await db.query('SELECT $1::int AS a', [1])
    await db.query('SELECT $1::int AS a', [2])
    const names = await preparedOf(db)
    expect(names).toHaveLength(1)
    expect(names[0]).toMatch(/^tessera_[0-9a-f]{16}$/)
  })

  it('deallocates the least recently used statement beyond the cache size', async () => {
    const db = testProvider(app, { pool: { max: 1 }, preparedStatementCacheSize: 2 })
    for (let i = 0; i < 6; i++) await db.query(`SELECT $1::int + ${i} AS a`, [i])
    // Deallocation is queued behind the statement that evicted it; the next query sees its effect.
    await db.query('SELECT 1')
    expect(await preparedOf(db)).toHaveLength(2)
    // An evicted statement still runs (it is parsed again).
    await expect(db.query('SELECT $1::int + 0 AS a', [5])).resolves.toMatchObject({ rows: [{ a: 5 }] })
  })

  it('hands pg a Query of its own for a named statement, which pg does not copy as it copies a config object', async () => {
    const given: unknown[] = []
    class RecordingClient extends pg.Client {
      override query(...args: unknown[]): never {
        given.push(args[0])
        return (super.query as (...a: unknown[]) => never)(...args)
      }
    }
    const db = testProvider(app, { pool: { max: 1 }, Client: RecordingClient as never })
    await expect(db.query('SELECT $1::int + 1 AS n', [1])).resolves.toMatchObject({ rows: [{ n: 2 }] })
    const named = given.filter((statement) => typeof statement === 'object')
    expect(named).toHaveLength(1)
    expect(named[0]).toBeInstanceOf(pg.Query)
    expect(named[0]).toMatchObject({ text: 'SELECT $1::int + 1 AS n', values: ['1'], name: expect.stringMatching(/^tessera_/) })
  })

  it('prepares and reuses named statements alike through a compatible client without pg’s Query class', async () => {
    class NoQueryClassClient extends pg.Client {
      static Query = undefined
    }
    const results = []
    for (const Client of [pg.Client, NoQueryClassClient]) {
      const db = testProvider(app, { pool: { max: 1 }, Client: Client as never })
      const first = await db.query('SELECT $1::int + 1 AS n, $2::text AS s', [1, 'a'])
      const again = await db.query('SELECT $1::int + 1 AS n, $2::text AS s', [2, 'b'])
      results.push({ first, again, prepared: await preparedOf(db) })
    }
    expect(results[0]!.first.rows).toEqual([{ n: 2, s: 'a' }])
    expect(results[0]!.again.rows).toEqual([{ n: 3, s: 'b' }])
    expect(results[0]!.prepared).toHaveLength(1)
    expect(results[1]).toEqual(results[0])
  })

  it('prepares nothing with prepare: false, and uses the given name with a string', async () => {
    const db = testProvider(app, { pool: { max: 1 }, prepare: false })
    await db.query('SELECT $1::int AS a', [1])
    expect(await preparedOf(db)).toEqual([])
    await db.query('SELECT $1::int AS b', [1], { prepare: 'my_statement' })
    expect(await preparedOf(db)).toEqual(['my_statement'])
  })
})

describe('options', () => {
  it('rejects invalid options with one ConfigError listing every problem', () => {
    let error: unknown
    try {
      createPgProvider({
        connectionString: PG_URL,
        port: 0,
        pool: { max: 0, idleTimeoutMs: -1 },
        statementTimeoutMs: 1.5,
        preparedStatementCacheSize: -1,
        types: { int8: 'float' as 'number' },
        hooks: [{ onQeury: () => {} } as never],
        bogus: true,
      } as never)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(ConfigError)
    const problems = (error as ConfigError).problems.join('\n')
    for (const fragment of [
      'port',
      'pool.max',
      'pool.idleTimeoutMs',
      'statementTimeoutMs',
      'preparedStatementCacheSize',
      'int8',
      'onQeury',
      'bogus',
    ]) {
      expect(problems).toContain(fragment)
    }
  })

  it('lets separate fields win over the connection string', async () => {
    const db = testProvider(app, { database: 'postgres' })
    const { rows } = await db.query('SELECT current_database() AS db')
    expect(rows[0]).toEqual({ db: 'postgres' })
  })
})
