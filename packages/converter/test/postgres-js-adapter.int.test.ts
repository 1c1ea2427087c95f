import { ConversionError } from '@tessera/core'
import pg from 'pg'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PG_URL, uniqueName } from '../../../tooling/test-services/env'
import { createTypeRegistry, pgTypesFor, postgresJsTypesFor, Range, serializeParam } from '../src/index'

/*
 * postgresJsTypesFor as a user passes it to a raw postgres.js instance: values written through it must land in the
 * database as the same values node-postgres with serializeParam writes, and read back the same.
 */

const schema = uniqueName('pgjs_adapter')
const registry = createTypeRegistry()
let admin: pg.Client

/** A raw postgres.js instance with our types, `fetch_types` as given (the README example turns it off). */
function connect(fetchTypes: boolean): postgres.Sql {
  return postgres(PG_URL, { types: postgresJsTypesFor(registry), fetch_types: fetchTypes, max: 1, onnotice: () => {} })
}

beforeAll(async () => {
  admin = new pg.Client({ connectionString: PG_URL })
  await admin.connect()
  await admin.query(`CREATE SCHEMA ${schema}`)
  await admin.query(`CREATE TABLE ${schema}.docs (id serial PRIMARY KEY, j jsonb, k json, ja json[], jb jsonb[])`)
})

afterAll(async () => {
  await admin?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  await admin?.end()
})

describe.each([false, true])('postgresJsTypesFor on a raw postgres.js instance (fetch_types: %s)', (fetchTypes) => {
  let sql: postgres.Sql

  beforeAll(() => {
    sql = connect(fetchTypes)
  })
  afterAll(async () => {
    await sql?.end()
  })

  it('stores an object in json and jsonb columns as that object, not as a JSON string', async () => {
    const [row] = await sql.unsafe(
      `INSERT INTO ${schema}.docs (j, k) VALUES ($1, $2) RETURNING j, k, jsonb_typeof(j) AS jt, json_typeof(k) AS kt`,
      [{ a: 1 }, { a: 1 }] as never[],
    )
    expect(row).toEqual({ j: { a: 1 }, k: { a: 1 }, jt: 'object', kt: 'object' })
  })

  it('stores JSON text (what serializeParam writes) as the value it holds, not encoded a second time', async () => {
    const text = serializeParam({ a: 1 }) as string
    const [row] = await sql`INSERT INTO ${sql(`${schema}`)}.docs (j, k) VALUES (${text}, ${text}) RETURNING j, k, jsonb_typeof(j) AS jt`
    expect(row).toEqual({ j: { a: 1 }, k: { a: 1 }, jt: 'object' })
  })

  it('stores json[] and jsonb[] whose elements are objects, arrays and strings, one JSON value per element', async () => {
    const objects = [{ a: 1 }, { b: 'two' }]
    const mixed = [[1, 2], [3], 'a "quoted", {braced} string', null, { c: [null] }]
    const [row] = await sql.unsafe(
      `INSERT INTO ${schema}.docs (ja, jb) VALUES ($1, $2)
       RETURNING ja, jb, array_ndims(jb) AS dims, (SELECT string_agg(coalesce(jsonb_typeof(e), 'NULL'), ',') FROM unnest(jb) e) AS kinds`,
      [objects, mixed] as never[],
    )
    expect(row).toEqual({ ja: objects, jb: mixed, dims: 1, kinds: 'array,array,string,NULL,object' })
  })

  it('writes every value as node-postgres with serializeParam writes it', async () => {
    const samples: [string, unknown][] = [
      ['int4', 42],
      ['int8', 2n ** 63n - 1n],
      ['float8', -0],
      ['numeric', '12345678901234567890.5'],
      ['bool', false],
      ['text', 'a "quoted" \\ text'],
      ['timestamptz', new Date(Date.UTC(2024, 1, 29, 23, 59, 58, 987))],
      ['bytea', Buffer.from([0, 92, 34, 255])],
      [
        'int4[]',
        [
          [1, null],
          [3, 4],
        ],
      ],
      ['text[]', ['NULL', '', 'a,b', '{}', null]],
      ['jsonb', { nested: { list: [1, 'two'] } }],
      ['jsonb', '"already JSON text"'],
      ['interval', { years: 1, days: -3, milliseconds: 1.5 }],
      ['point', { x: 1.5, y: -2 }],
      ['int4range', new Range(1, 5)],
      ['tstzrange', new Range(new Date(Date.UTC(2024, 0, 1)), null)],
    ]
    for (const [type, value] of samples) {
      const viaPg = await admin.query({
        text: `SELECT $1::${type}::text AS t`,
        values: [serializeParam(value, 1)],
        types: pgTypesFor(registry),
      })
      const [viaPostgresJs] = await sql.unsafe(`SELECT $1::${type}::text AS t`, [value as never])
      expect(viaPostgresJs?.t, `${type} ${String(value)}`).toBe(viaPg.rows[0].t)
    }
  })

  it('reads arrays with the registry, NULL elements and all', async () => {
    const [row] = await sql`SELECT ARRAY[1, NULL]::int8[] AS ids, ARRAY['{"a":1}'::jsonb, NULL] AS docs, '{"1 day"}'::interval[] AS spans`
    expect(row).toEqual({
      ids: [1n, null],
      docs: [{ a: 1 }, null],
      spans: [{ years: 0, months: 0, days: 1, hours: 0, minutes: 0, seconds: 0, milliseconds: 0 }],
    })
  })

  it('refuses a value that cannot be sent with a ConversionError, before the statement runs', async () => {
    const loop: Record<string, unknown> = {}
    loop.self = loop
    await expect(sql.unsafe(`INSERT INTO ${schema}.docs (j) VALUES ($1)`, [loop as never])).rejects.toBeInstanceOf(ConversionError)
    await expect(sql.unsafe('SELECT $1::int4 AS n', [4.2 as never])).rejects.toThrow(/4\.2 is not a whole number/)
    const [count] = await sql.unsafe(`SELECT count(*)::int AS n FROM ${schema}.docs WHERE j ? 'self'`)
    expect(count?.n).toBe(0)
  })
})
