import { ConversionError } from '@tessera/core'
import fc from 'fast-check'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PG_URL, uniqueName } from '../../../tooling/test-services/env'
import { createTypeRegistry, pgTypesFor, Range, serializeParam, serializeParams } from '../src/index'

const schema = uniqueName('serialize')
let client: pg.Client

/** Sends `values` serialised by us (pg passes strings through untouched) and returns the rows. */
async function query<R extends pg.QueryResultRow>(sql: string, values: readonly unknown[]): Promise<R[]> {
  const result = await client.query<R>(sql, serializeParams(values))
  return result.rows
}

/** The text elements PostgreSQL reads from the array we sent, in order (SQL NULL as `null`). */
async function elements(values: readonly unknown[]): Promise<(string | null)[]> {
  const rows = await query<{ e: string | null }>('SELECT e FROM unnest($1::text[]) WITH ORDINALITY AS t(e, n) ORDER BY n', [values])
  return rows.map((row) => row.e)
}

const HOSTILE = [
  '',
  'NULL',
  'null',
  ' NULL ',
  '"',
  '""',
  '\\',
  '\\"',
  'a,b',
  '{',
  '}',
  '{a,b}',
  '{{}}',
  ' leading',
  'trailing ',
  'tab\tnew\nline\rcr\vvt\fff',
  "it's",
  'é ü 中文 🎉',
  '\u00a0nbsp',
  '[1,2)',
  'ab"cd\\ef',
]

beforeAll(async () => {
  client = new pg.Client({ connectionString: PG_URL })
  client.on('error', () => {})
  await client.connect()
  await client.query(`CREATE SCHEMA ${schema}`)
  await client.query(`SET search_path TO ${schema}`)
})

afterAll(async () => {
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  await client.end()
})

describe('serialised parameters read back by PostgreSQL 15', () => {
  it('keeps every hostile string in a text[] element-identical', async () => {
    expect(await elements(HOSTILE)).toEqual(HOSTILE)
  })

  it('keeps NULL elements NULL and the string NULL a string', async () => {
    expect(await elements(['NULL', null, undefined, 'x'])).toEqual(['NULL', null, null, 'x'])
  })

  it('keeps arbitrary strings element-identical', async () => {
    // PostgreSQL text cannot hold NUL; everything else must survive.
    const text = fc.string({ unit: 'grapheme', maxLength: 20 }).filter((s) => !s.includes('\u0000'))
    await fc.assert(
      fc.asyncProperty(fc.array(fc.option(text, { nil: null }), { maxLength: 10 }), async (values) => {
        expect(await elements(values)).toEqual(values)
      }),
      { numRuns: 100 },
    )
  })

  it('sends multi-dimensional arrays with their shape', async () => {
    const [row] = await query<{ same: boolean; dims: string }>(
      'SELECT $1::int[] = ARRAY[[1,2,3],[4,NULL,6]] AS same, array_dims($1::int[]) AS dims',
      [
        [
          [1, 2, 3],
          [4, null, 6],
        ],
      ],
    )
    expect(row).toEqual({ same: true, dims: '[1:2][1:3]' })
    const [text] = await query<{ t: string }>('SELECT $1::text[]::text AS t', [
      [
        ['a b', 'NULL'],
        ['"', ''],
      ],
    ])
    expect(text?.t).toBe('{{"a b","NULL"},{"\\"",""}}')
  })

  it('sends an empty array and arrays with an empty dimension as an empty array', async () => {
    const [row] = await query<{ a: number; b: number }>('SELECT cardinality($1::int[]) AS a, cardinality($2::int[]) AS b', [[], [[], []]])
    expect(row).toEqual({ a: 0, b: 0 })
  })

  it('sends numbers, bigints and booleans that compare equal on the server', async () => {
    const [row] = await query<Record<string, boolean>>(
      `SELECT $1::int4 = 42 AS int, $2::int8 = 9223372036854775807 AS big, $3::float8 = 0.1 AS float,
              $4::numeric = 12345678901234567890.5 AS num, $5::bool AS yes, NOT $6::bool AS no,
              $7::float8 = 'NaN' AS nan, $8::float8 = '-Infinity' AS neginf, $9::int4 = 0 AS negzero`,
      [42, 2n ** 63n - 1n, 0.1, '12345678901234567890.5', true, false, Number.NaN, Number.NEGATIVE_INFINITY, -0],
    )
    expect(Object.values(row ?? {})).toEqual(Array(9).fill(true))
  })

  it('lets an integer column reject NaN on the server when no hint is given', async () => {
    await expect(query('SELECT $1::int4', [Number.NaN])).rejects.toThrow(/invalid input syntax for type integer/)
  })

  it('sends Buffers as bytea, alone and in arrays', async () => {
    const bytes = Buffer.from([0, 1, 0x5c, 0x22, 0x7b, 0xff])
    const [row] = await query<{ b: Buffer; hex: string; arr: string }>(
      "SELECT $1::bytea AS b, encode($1::bytea, 'hex') AS hex, (SELECT string_agg(encode(x, 'hex'), ',') FROM unnest($2::bytea[]) x) AS arr",
      [bytes, [bytes, Buffer.from('hi')]],
    )
    expect(row?.b.equals(bytes)).toBe(true)
    expect(row?.hex).toBe('00015c227bff')
    expect(row?.arr).toBe('00015c227bff,6869')
  })

  it('sends Dates to the millisecond, in timestamptz, timestamp and arrays', async () => {
    const date = new Date(Date.UTC(2024, 1, 29, 23, 59, 58, 987))
    const [row] = await query<{ same: boolean; epoch: string; wall: string; arr: boolean }>(
      `SELECT $1::timestamptz = '2024-02-29 23:59:58.987+00' AS same,
              (extract(epoch FROM $1::timestamptz) * 1000)::bigint::text AS epoch,
              $1::timestamp::text AS wall,
              $2::timestamptz[] = ARRAY[$1::timestamptz, NULL] AS arr`,
      [date, [date, null]],
    )
    expect(row).toEqual({ same: true, epoch: String(date.getTime()), wall: '2024-02-29 23:59:58.987', arr: true })
  })

  it('sends BC dates and years past 9999 as the same instant', async () => {
    const bc = new Date(Date.UTC(2000, 2, 15, 12))
    bc.setUTCFullYear(-43)
    const far = new Date('+012345-06-07T08:09:10.111Z')
    const [row] = await query<{ bc: string; far: string }>(
      'SELECT (extract(epoch FROM $1::timestamptz) * 1000)::bigint::text AS bc, (extract(epoch FROM $2::timestamptz) * 1000)::bigint::text AS far',
      [bc, far],
    )
    expect(row).toEqual({ bc: String(bc.getTime()), far: String(far.getTime()) })
  })

  it("sends ±Infinity (the parser's ±infinity timestamps) as infinity", async () => {
    const [row] = await query<{ pos: boolean; neg: boolean }>(
      "SELECT $1::timestamptz = 'infinity' AS pos, $2::timestamp = '-infinity' AS neg",
      [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY],
    )
    expect(row).toEqual({ pos: true, neg: true })
  })

  it('sends objects as JSON that keeps unicode, quotes and backslashes', async () => {
    const value = { name: 'Zoë "the \\ one" 🎉', tags: ['a,b', '{x}', null], nested: { n: 1.5, ok: true } }
    const [row] = await query<{ j: unknown; same: boolean }>('SELECT $1::jsonb AS j, $1::jsonb = $2::jsonb AS same', [
      value,
      JSON.stringify(value),
    ])
    expect(row?.j).toEqual(value)
    expect(row?.same).toBe(true)
  })

  it('sends arrays of objects as jsonb[]', async () => {
    const [row] = await query<{ names: string }>("SELECT string_agg(e->>'name', '|') AS names FROM unnest($1::jsonb[]) e", [
      [{ name: 'a "q"' }, { name: 'b\\c' }],
    ])
    expect(row?.names).toBe('a "q"|b\\c')
  })

  it('sends an array as JSON with a jsonb hint', async () => {
    const text = serializeParam([1, 'two', { three: 3 }], 1, { hint: 'jsonb' })
    const result = await client.query<{ j: unknown }>('SELECT $1::jsonb AS j', [text])
    expect(result.rows[0]?.j).toEqual([1, 'two', { three: 3 }])
  })

  it('sends json[] and jsonb[] elements that are arrays, strings and objects as one JSON value each', async () => {
    const values = [[1, 2], 'a "quoted", {braced} \\ string', { a: [null] }, [], 'NULL', null, 0, true]
    const types = pgTypesFor(createTypeRegistry())
    for (const hint of ['json[]', 'jsonb[]']) {
      const result = await client.query<{ back: unknown[]; dims: number; kinds: string }>({
        text: `SELECT $1::${hint} AS back, array_ndims($1::${hint}) AS dims,
                      (SELECT string_agg(coalesce(${hint.slice(0, -2)}_typeof(e), 'SQL NULL'), ',') FROM unnest($1::${hint}) e) AS kinds`,
        values: [serializeParam(values, 1, { hint })],
        types,
      })
      expect(result.rows[0]).toEqual({ back: values, dims: 1, kinds: 'array,string,object,array,string,SQL NULL,number,boolean' })
    }
  })

  it('round-trips any list of JSON values through a jsonb[] parameter', async () => {
    const types = pgTypesFor(createTypeRegistry())
    // PostgreSQL text cannot hold NUL, and JSON has no -0.
    const json = fc
      .jsonValue()
      .filter((value) => !JSON.stringify(value).includes('\\u0000'))
      .map((value) => JSON.parse(JSON.stringify(value)) as unknown)
    await fc.assert(
      fc.asyncProperty(fc.array(json, { maxLength: 5 }), async (values) => {
        const result = await client.query({
          text: 'SELECT $1::jsonb[] AS back',
          values: [serializeParam(values, 1, { hint: 'jsonb[]' })],
          types,
        })
        expect(result.rows[0].back).toEqual(values)
      }),
      { numRuns: 100 },
    )
  })

  it('sends ranges that the server reads as the same range', async () => {
    const [row] = await query<Record<string, boolean>>(
      `SELECT $1::int4range = '[1,5)' AS a, $2::int4range = 'empty' AS b, $3::numrange = '(,2.5]' AS c,
              $4::tstzrange = tstzrange('2024-01-01 00:00:00.5+00', NULL, '[)') AS d, $5::int8range = '(,)' AS e,
              $6::int4range[] = ARRAY['[1,2)'::int4range, 'empty'] AS f`,
      [
        new Range(1, 5),
        Range.empty(),
        new Range(null, '2.5', '(]'),
        new Range(new Date(Date.UTC(2024, 0, 1, 0, 0, 0, 500)), null),
        new Range(null, null),
        [new Range(1, 2), Range.empty()],
      ],
    )
    expect(Object.values(row ?? {})).toEqual(Array(6).fill(true))
  })

  it('sends interval objects that equal the same interval on the server', async () => {
    const [row] = await query<Record<string, boolean>>(
      `SELECT $1::interval = '1 year 2 mons'::interval AS a,
              $2::interval = '-1 years +3 days -04:05:06.789'::interval AS b,
              $3::interval = '0'::interval AS c,
              $4::interval = '1.5 ms'::interval AS d`,
      [
        { years: 1, months: 2 },
        { years: -1, months: 0, days: 3, hours: -4, minutes: -5, seconds: -6, milliseconds: -789 },
        { years: 0, months: 0, days: 0, hours: 0, minutes: 0, seconds: 0, milliseconds: 0 },
        { milliseconds: 1.5 },
      ],
    )
    expect(Object.values(row ?? {})).toEqual(Array(4).fill(true))
  })

  it('sends points that the server reads as the same point', async () => {
    const [row] = await query<{ same: boolean }>("SELECT $1::point ~= '(1.5,-2)'::point AS same", [{ x: 1.5, y: -2 }])
    expect(row?.same).toBe(true)
  })

  it('refuses a circular object before anything is sent', async () => {
    const node: Record<string, unknown> = { name: 'loop' }
    node.self = node
    const table = `${schema}.sent`
    await client.query(`CREATE TABLE ${table} (doc jsonb)`)
    let thrown: unknown
    try {
      await client.query(`INSERT INTO ${table} (doc) VALUES ($1)`, serializeParams([node]))
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(ConversionError)
    expect((thrown as ConversionError).position).toBe(1)
    const count = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`)
    expect(count.rows[0]?.n).toBe('0')
  })
})
