import fc from 'fast-check'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PG_URL, uniqueName } from '../../../tooling/test-services/env.ts'
import { type SqlQuery, sql } from '../src/index'

const schema = uniqueName('sqlid')
const client = new pg.Client({ connectionString: PG_URL })

async function run<R extends pg.QueryResultRow = Record<string, unknown>>(query: SqlQuery): Promise<R[]> {
  const result = await client.query<R>(query.toQuery())
  return result.rows
}

/** Names a hostile or careless user might pick: any Unicode, quotes, spaces, keywords, emoji. */
const identifier = fc
  .oneof(
    fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 15 }),
    fc.string({ unit: fc.constantFrom('"', "'", ' ', '.', ';', '-', '$', '\\', 'a', 'A'), minLength: 1, maxLength: 20 }),
    fc.constantFrom('select', 'SELECT', 'user', 'table', 'order', '"', '""', 'a"b', ' ', 'Ünïcødé', '🦄🌈', '$1', "'; DROP TABLE x; --"),
  )
  .filter((name) => !name.includes('\0') && Buffer.byteLength(name, 'utf8') <= 63)

/** Text values that would break a statement if they were pasted into it. */
const injections = [
  "'; DROP TABLE users; --",
  "' OR '1'='1",
  '"; DROP SCHEMA public CASCADE; --',
  '$1',
  '$$ dollar $$',
  '$tag$ tagged $tag$',
  "E'\\x41'",
  '\\',
  "\\'",
  '/* comment */ --',
  '🦄 ünïcødé',
  '',
]

beforeAll(async () => {
  await client.connect()
  await client.query(sql`CREATE SCHEMA ${sql.id(schema)}`.toQuery())
})

afterAll(async () => {
  try {
    await client.query(sql`DROP SCHEMA IF EXISTS ${sql.id(schema)} CASCADE`.toQuery())
  } finally {
    await client.end()
  }
})

describe('sql against PostgreSQL', () => {
  it('creates tables and columns whose names come back from the catalog exactly as given', async () => {
    await fc.assert(
      fc.asyncProperty(identifier, identifier, async (table, column) => {
        const qualified = sql.id([schema, table])
        await run(sql`CREATE TABLE ${qualified} (${sql.id(column)} text, "n" int)`)
        try {
          const tables = await run<{ relname: string }>(
            sql`SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = ${schema} AND c.relkind = 'r'`,
          )
          expect(tables.map((row) => row.relname)).toEqual([table])
          const columns = await run<{ column_name: string }>(
            sql`SELECT column_name FROM information_schema.columns
                WHERE table_schema = ${schema} AND table_name = ${table} ORDER BY ordinal_position`,
          )
          expect(columns.map((row) => row.column_name)).toEqual([column, 'n'])
          // The quoted names also work for reading and writing rows.
          await run(sql`INSERT INTO ${qualified} (${sql.id(column)}, n) VALUES (${column}, ${1})`)
          const rows = await run<{ value: string }>(sql`SELECT ${sql.id(column)} AS value FROM ${qualified}`)
          expect(rows).toEqual([{ value: column }])
        } finally {
          await run(sql`DROP TABLE ${qualified}`)
        }
      }),
      { numRuns: 50 },
    )
  })

  it('stores values that look like SQL injection unchanged', async () => {
    const table = sql.id([schema, 'injection'])
    await run(sql`CREATE TABLE ${table} (id int PRIMARY KEY, body text NOT NULL)`)
    await run(sql`INSERT INTO ${table} (id, body) VALUES ${sql.values(injections.map((body, i) => [i, body]))}`)
    const rows = await run<{ body: string }>(sql`SELECT body FROM ${table} ORDER BY id`)
    expect(rows.map((row) => row.body)).toEqual(injections)
    const tables = await run<{ count: string }>(sql`SELECT count(*) AS count FROM pg_catalog.pg_namespace WHERE nspname = ${schema}`)
    expect(tables).toEqual([{ count: '1' }])
  })

  it('round-trips any text value through a parameter', async () => {
    const table = sql.id([schema, 'texts'])
    await run(sql`CREATE TABLE ${table} (id serial PRIMARY KEY, body text NOT NULL)`)
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'binary' }).filter((text) => !text.includes('\0')),
        async (text) => {
          const [inserted] = await run<{ id: number }>(sql`INSERT INTO ${table} (body) VALUES (${text}) RETURNING id`)
          const rows = await run<{ body: string }>(sql`SELECT body FROM ${table} WHERE id = ${inserted!.id}`)
          expect(rows).toEqual([{ body: text }])
        },
      ),
      { numRuns: 50 },
    )
  })

  it('runs dollar-quoted text, joins and nested fragments as written', async () => {
    const condition = sql`x > ${1} AND ${sql`x < ${sql.join(
      [4, 5].map((n) => sql`${n}::int`),
      sql` + `,
    )}`}`
    const rows = await run<{ quoted: string; tagged: string; picked: number[] }>(
      sql`SELECT $$it's $1$$ AS quoted, $tag$ $2 and $1 $tag$ AS tagged,
             (SELECT array_agg(x ORDER BY x) FROM generate_series(${0}::int, ${10}::int) AS x WHERE ${condition}) AS picked`,
    )
    expect(rows).toEqual([{ quoted: "it's $1", tagged: ' $2 and $1 ', picked: [2, 3, 4, 5, 6, 7, 8] }])
  })
})
