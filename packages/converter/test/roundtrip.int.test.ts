import fc from 'fast-check'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PG_URL, uniqueName } from '../../../tooling/test-services/env'
import { createTypeRegistry, type Interval, pgTypesFor, Range, TYPE_LOOKUP_SQL, type TypePolicies, type TypeRegistry } from '../src/index'
import { serializeParam } from '../src/serialize'

/*
 * Every supported type, end to end against PostgreSQL: a value is serialised with serializeParam, sent as
 * `SELECT $1::<type>`, and parsed back through the registry installed as pg's per-client `types`.
 */

// Extensions are database-wide, so this test gets a database of its own: creating or dropping citext
// here can never disturb a parallel run.
const database = uniqueName('converter_rt')
const DB_URL = (() => {
  const url = new URL(PG_URL)
  url.pathname = `/${database}`
  return url.toString()
})()
const RUNS = 40

// Known before tests are collected, so the pgvector test can say up front that it is skipped and why.
const vectorAvailable = await (async () => {
  const probe = new pg.Client({ connectionString: PG_URL })
  await probe.connect()
  try {
    const { rowCount } = await probe.query("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
    return rowCount === 1
  } finally {
    await probe.end()
  }
})()

async function connect(registry: TypeRegistry): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: DB_URL, types: pgTypesFor(registry) })
  await client.connect()
  // A zone with a half-hour offset (and LMT seconds offsets for old dates) exercises the offset parsing.
  await client.query("SET TIME ZONE 'America/St_Johns'")
  await registry.resolveNames(async (names) => (await client.query(TYPE_LOOKUP_SQL, [names])).rows)
  return client
}

let admin: pg.Client
let client: pg.Client

beforeAll(async () => {
  admin = new pg.Client({ connectionString: PG_URL })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${database}`)
  const setup = new pg.Client({ connectionString: DB_URL })
  await setup.connect()
  try {
    await setup.query(`CREATE TYPE mood AS ENUM ('sad', 'ok', 'so so', 'a"b,c', 'NULL')`)
    await setup.query('CREATE EXTENSION citext')
    if (vectorAvailable) await setup.query('CREATE EXTENSION vector')
  } finally {
    await setup.end()
  }
  const registry = createTypeRegistry()
  registry.registerEnum('mood')
  client = await connect(registry)
})

afterAll(async () => {
  await client?.end()
  await admin?.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
  await admin?.end()
})

async function select(type: string, value: unknown, on: pg.Client = client): Promise<unknown> {
  const result = await on.query(`SELECT $1::${type} AS v`, [serializeParam(value, 1)])
  return result.rows[0].v
}

interface TypeCase {
  type: string
  values: fc.Arbitrary<unknown>
  edges: unknown[]
  /** What PostgreSQL gives back for a value sent, when it normalises it. Default: the value itself. */
  expected?: (sent: never) => unknown
  /** Whether arrays of it are tested too. Default: true. */
  arrays?: boolean
}

const nonNul = (s: string) => !s.includes('\u0000')
const text = fc.string({ unit: 'grapheme', maxLength: 40 }).filter(nonNul)
const pad = (n: number, width: number) => String(n).padStart(width, '0')

const decimal = fc
  .tuple(fc.boolean(), fc.bigInt({ min: 0n, max: 10n ** 40n }), fc.integer({ min: 0, max: 20 }))
  .map(([negative, digits, scale]) => {
    const raw = digits.toString().padStart(scale + 1, '0')
    const whole = raw.slice(0, raw.length - scale)
    const fraction = raw.slice(raw.length - scale)
    const zero = digits === 0n
    return `${negative && !zero ? '-' : ''}${whole}${scale > 0 ? `.${fraction}` : ''}`
  })

// Years 4713 BC … 9999 AD as PostgreSQL writes dates.
const dateText = fc
  .tuple(fc.integer({ min: -4712, max: 9999 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 28 }))
  .map(([year, month, day]) => `${pad(year <= 0 ? 1 - year : year, 4)}-${pad(month, 2)}-${pad(day, 2)}${year <= 0 ? ' BC' : ''}`)

// Every instant both a Date and PostgreSQL hold: 4713 BC to the end of the Date range.
const instant = fc.date({ min: new Date(Date.UTC(-4712, 0, 1)), max: new Date(8.64e15), noInvalidDate: true })

const fraction = fc.integer({ min: 0, max: 999_999 }).map((micros) => (micros === 0 ? '' : `.${pad(micros, 6).replace(/0+$/, '')}`))
const clock = fc
  .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59 }), fraction)
  .map(([h, m, s, f]) => `${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)}${f}`)
const offset = fc
  .tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 15 }), fc.constantFrom(0, 30, 45))
  .map(([sign, h, m]) => (h === 0 && m === 0 ? '+00' : `${sign}${pad(h, 2)}${m ? `:${pad(m, 2)}` : ''}`))

/** An interval the way PostgreSQL stores it (months, days, microseconds), as its output splits it. */
const interval = fc
  .tuple(fc.integer({ min: -100_000, max: 100_000 }), fc.integer({ min: -100_000, max: 100_000 }), fc.integer({ min: -1e15, max: 1e15 }))
  .map(([months, days, micros]): Interval => normaliseInterval(months, days, micros))

function normaliseInterval(totalMonths: number, days: number, micros: number): Interval {
  const z = (n: number) => n || 0
  return {
    years: z(Math.trunc(totalMonths / 12)),
    months: z(totalMonths % 12),
    days: z(days),
    hours: z(Math.trunc(micros / 3_600_000_000)),
    minutes: z(Math.trunc((micros % 3_600_000_000) / 60_000_000)),
    seconds: z(Math.trunc((micros % 60_000_000) / 1_000_000)),
    milliseconds: z((micros % 1_000_000) / 1000),
  }
}

const byte = fc.integer({ min: 0, max: 255 })
const hex = (bytes: number[]) => bytes.map((b) => b.toString(16).padStart(2, '0')).join(':')

/** Ordered distinct pair, for range bounds. */
const ordered = <T>(values: fc.Arbitrary<T>, compare: (a: T, b: T) => number) =>
  fc
    .tuple(values, values)
    .filter(([a, b]) => compare(a, b) !== 0)
    .map(([a, b]) => (compare(a, b) < 0 ? [a, b] : [b, a]) as [T, T])

/** Ranges of a discrete type: PostgreSQL writes them as `[lower,upper)`, so only those are generated. */
function discreteRange<T>(values: fc.Arbitrary<T>, compare: (a: T, b: T) => number): fc.Arbitrary<Range<T>> {
  return fc.oneof(
    ordered(values, compare).map(([a, b]) => new Range(a, b, '[)')),
    values.map((a) => new Range<T>(a, null)),
    values.map((b) => new Range<T>(null, b)),
    fc.constant(Range.empty<T>()),
  )
}

function continuousRange<T>(values: fc.Arbitrary<T>, compare: (a: T, b: T) => number): fc.Arbitrary<Range<T>> {
  const bounds = fc.constantFrom('[)' as const, '[]' as const, '(]' as const, '()' as const)
  return fc.oneof(
    fc.tuple(ordered(values, compare), bounds).map(([[a, b], k]) => new Range(a, b, k)),
    fc.tuple(values, bounds).map(([a, k]) => new Range<T>(a, null, k)),
    fc.tuple(values, bounds).map(([b, k]) => new Range<T>(null, b, k)),
    fc.constant(new Range<T>(null, null)),
    fc.constant(Range.empty<T>()),
  )
}

const compareNumber = (a: number | bigint, b: number | bigint) => (a < b ? -1 : a > b ? 1 : 0)
const compareDecimal = (a: string, b: string) => compareNumber(Number(a), Number(b)) || (a === b ? 0 : a < b ? -1 : 1)
const compareDate = (a: Date, b: Date) => a.getTime() - b.getTime()
const dateKey = (d: string) =>
  (d.endsWith(' BC') ? -Number(d.slice(0, 4)) * 1e4 : Number(d.slice(0, 4)) * 1e4) + Number(d.slice(5, 7)) * 100 + Number(d.slice(8, 10))
const compareDateText = (a: string, b: string) => dateKey(a) - dateKey(b)

const cases: TypeCase[] = [
  { type: 'bool', values: fc.boolean(), edges: [true, false] },
  { type: 'int2', values: fc.integer({ min: -32768, max: 32767 }), edges: [-32768, 32767, 0] },
  { type: 'int4', values: fc.integer(), edges: [-2147483648, 2147483647, 0] },
  {
    type: 'int8',
    values: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    edges: [-(2n ** 63n), 2n ** 63n - 1n, 0n, 9007199254740993n],
  },
  { type: 'oid', values: fc.integer({ min: 0, max: 4294967295 }), edges: [0, 4294967295] },
  {
    type: 'float4',
    values: fc.float(),
    edges: [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, Math.fround(3.4e38), Math.fround(1e-45)],
    // float4 text is the shortest that identifies the float4; compare as float4.
    expected: (sent: number) => Math.fround(sent),
  },
  {
    type: 'float8',
    values: fc.double(),
    edges: [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, Number.MAX_VALUE, Number.MIN_VALUE, 0.1],
  },
  {
    type: 'numeric',
    values: decimal,
    edges: ['NaN', 'Infinity', '-Infinity', '0', '0.000000000000000000000000000001', '-123456789012345678901234567890.123456789'],
  },
  { type: 'text', values: text, edges: ['', 'NULL', 'a"b', 'c\\d', '{}', 'a,b', ' x ', '日本語 🎉'] },
  { type: 'varchar', values: text, edges: ['', 'NULL'] },
  { type: 'bpchar', values: text.map((s) => s.trimEnd()), edges: ['x', 'a b'] },
  { type: 'name', values: fc.string({ maxLength: 63 }).filter(nonNul), edges: ['', 'pg_class'] },
  { type: 'citext', values: text, edges: ['MiXeD', ''] },
  { type: 'mood', values: fc.constantFrom('sad', 'ok', 'so so', 'a"b,c', 'NULL'), edges: ['NULL', 'a"b,c'] },
  {
    type: 'bytea',
    values: fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
    edges: [Buffer.alloc(0), Buffer.from([0, 92, 34, 255])],
  },
  { type: 'uuid', values: fc.uuid(), edges: ['00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff'] },
  {
    type: 'json',
    values: fc.jsonValue().map((v) => ({ v })),
    edges: [{}, { a: [1, 'b"c', null, { d: true }] }],
    expected: (sent: unknown) => JSON.parse(JSON.stringify(sent)),
  },
  {
    type: 'jsonb',
    values: fc
      .jsonValue()
      .filter((v) => !JSON.stringify(v).includes('\\u0000'))
      .map((v) => ({ v })),
    edges: [{}, { 'key with "quotes"': ['x', 1.5, -2, null] }],
    expected: (sent: unknown) => JSON.parse(JSON.stringify(sent)),
  },
  { type: 'date', values: dateText, edges: ['infinity', '-infinity', '0001-01-01 BC', '4713-01-01 BC', '5874897-12-31', '2024-02-29'] },
  { type: 'time', values: clock, edges: ['00:00:00', '23:59:59.999999', '24:00:00'] },
  {
    type: 'timetz',
    values: fc.tuple(clock, offset).map(([c, o]) => c + o),
    edges: ['00:00:00+00', '12:34:56.789-03:30', '23:59:59+15:59'],
  },
  {
    type: 'timestamp',
    values: instant,
    edges: [
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      new Date(Date.UTC(-4712, 0, 1)),
      new Date('0001-01-01T00:00:00Z'),
      new Date(0),
    ],
  },
  {
    type: 'timestamptz',
    values: instant,
    edges: [
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      new Date('1850-01-01T00:00:00Z'),
      new Date('2024-03-10T06:30:00.001Z'),
      new Date(8.64e15),
    ],
  },
  {
    type: 'interval',
    values: interval,
    edges: [
      normaliseInterval(0, 0, 0),
      normaliseInterval(-14, 3, -14_706_789_000),
      normaliseInterval(0, 0, -1),
      normaliseInterval(1, -1, 3_600_000_000_123),
    ],
  },
  {
    type: 'inet',
    values: fc
      .tuple(fc.array(byte, { minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 32 }))
      .map(([b, n]) => `${b.join('.')}${n === 32 ? '' : `/${n}`}`),
    edges: ['::1', '2001:db8::1/64', '0.0.0.0/0'],
  },
  {
    type: 'cidr',
    values: fc.tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 32 })).map(([address, n]) => {
      const masked = n === 0 ? 0 : (address >>> (32 - n)) << (32 - n)
      return `${[24, 16, 8, 0].map((s) => (masked >>> s) & 255).join('.')}/${n}`
    }),
    edges: ['2001:db8::/32', '10.0.0.0/8'],
  },
  { type: 'macaddr', values: fc.array(byte, { minLength: 6, maxLength: 6 }).map(hex), edges: ['00:00:00:00:00:00', 'ff:ff:ff:ff:ff:ff'] },
  { type: 'macaddr8', values: fc.array(byte, { minLength: 8, maxLength: 8 }).map(hex), edges: ['08:00:2b:01:02:03:04:05'] },
  {
    type: 'point',
    values: fc.record({ x: fc.double(), y: fc.double() }),
    edges: [
      { x: 0, y: -0 },
      { x: Number.NaN, y: Number.POSITIVE_INFINITY },
      { x: 1.5, y: -2 },
    ],
  },
  {
    type: 'bit(8)',
    values: fc.array(fc.constantFrom('0', '1'), { minLength: 8, maxLength: 8 }).map((b) => b.join('')),
    edges: ['00000000', '11111111'],
  },
  { type: 'varbit', values: fc.array(fc.constantFrom('0', '1'), { maxLength: 70 }).map((b) => b.join('')), edges: ['', '1'] },
  {
    type: 'int4range',
    values: discreteRange(fc.integer(), compareNumber),
    edges: [Range.empty(), new Range(null, null), new Range(-2147483648, 2147483647)],
  },
  {
    type: 'int8range',
    values: discreteRange(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), compareNumber),
    edges: [new Range(-(2n ** 63n), 2n ** 63n - 1n), new Range(null, 0n)],
  },
  {
    type: 'numrange',
    values: continuousRange(decimal, compareDecimal),
    edges: [new Range('1.5', '1.5', '[]'), new Range('-Infinity', 'Infinity'), new Range(null, '0.000001', '(]')],
  },
  {
    type: 'daterange',
    values: discreteRange(dateText, compareDateText),
    edges: [new Range('2020-01-01', 'infinity'), new Range('-infinity', '0001-01-01 BC')],
  },
  {
    type: 'tsrange',
    values: continuousRange(instant, compareDate),
    edges: [new Range(new Date(0), new Date(1), '[]'), new Range<Date | number>(Number.NEGATIVE_INFINITY, new Date(0))],
  },
  {
    type: 'tstzrange',
    values: continuousRange(instant, compareDate),
    edges: [new Range<Date | number>(new Date('1850-01-01T00:00:00Z'), Number.POSITIVE_INFINITY, '(]')],
  },
]

const expectedOf = (c: TypeCase, value: unknown): unknown => {
  if (value === null) return null
  if (Array.isArray(value) && c.type !== 'json' && c.type !== 'jsonb') return value.map((v) => expectedOf(c, v))
  return c.expected ? (c.expected as (v: unknown) => unknown)(value) : value
}

const actualOf = (c: TypeCase, value: unknown): unknown => {
  if (c.type !== 'float4' || value === null) return value
  if (Array.isArray(value)) return value.map((v) => actualOf(c, v))
  return Math.fround(value as number)
}

/** 1-D arrays with NULLs, and 2-D arrays, of one type's values. */
const arraysOf = <T>(values: fc.Arbitrary<T>) =>
  fc.oneof(
    fc.array(fc.option(values, { nil: null }), { maxLength: 6 }),
    fc
      .tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }))
      .chain(([rows, cols]) =>
        fc.array(fc.array(fc.option(values, { nil: null }), { minLength: cols, maxLength: cols }), { minLength: rows, maxLength: rows }),
      ),
  )

describe('round trip through PostgreSQL', () => {
  it.each(cases.map((c) => [c.type, c] as const))('reads back every %s value it sends', async (_name, c) => {
    for (const value of c.edges)
      expect(actualOf(c, await select(c.type, value)), `edge value ${String(value)}`).toEqual(expectedOf(c, value))
    await fc.assert(
      fc.asyncProperty(c.values, async (value) => {
        expect(actualOf(c, await select(c.type, value))).toEqual(expectedOf(c, value))
      }),
      { numRuns: RUNS },
    )
  })

  it.each(cases.filter((c) => c.arrays !== false).map((c) => [c.type, c] as const))(
    'reads back arrays of %s, with NULL elements and two dimensions',
    async (_name, c) => {
      expect(await select(`${c.type}[]`, [])).toEqual([])
      const edges = [...c.edges, null]
      expect(actualOf(c, await select(`${c.type}[]`, edges))).toEqual(expectedOf(c, edges))
      await fc.assert(
        fc.asyncProperty(arraysOf(c.values), async (value) => {
          expect(actualOf(c, await select(`${c.type}[]`, value))).toEqual(expectedOf(c, value))
        }),
        { numRuns: RUNS },
      )
    },
  )

  it('reads box[], whose elements PostgreSQL separates with ";"', async () => {
    const result = await client.query("SELECT ARRAY['(1,1),(0,0)'::box, '(3,4),(-1,2)'::box, NULL] AS v")
    expect(result.rows[0].v).toEqual(['(1,1),(0,0)', '(3,4),(-1,2)', null])
  })

  it('reads arrays with custom lower bounds as plain JS arrays', async () => {
    const result = await client.query("SELECT '[0:1]={1,2}'::int4[] AS a, '[-1:0][2:3]={{a,b},{c,NULL}}'::text[] AS b")
    expect(result.rows[0]).toEqual({
      a: [1, 2],
      b: [
        ['a', 'b'],
        ['c', null],
      ],
    })
  })

  it.skipIf(!vectorAvailable)(
    vectorAvailable
      ? 'reads pgvector vectors back as number[]'
      : 'reads pgvector vectors back as number[] (SKIPPED: the vector extension is not available on this server)',
    async () => {
      const registry = createTypeRegistry()
      const own = await connect(registry)
      try {
        await fc.assert(
          fc.asyncProperty(
            fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 16 }),
            async (vector) => {
              const back = (
                await own.query('SELECT $1::vector AS v, ARRAY[$1::vector, NULL] AS a', [JSON.stringify(vector.map((x) => x || 0))])
              ).rows[0]
              expect(back.v.map(Math.fround)).toEqual(vector.map((x) => x || 0))
              expect(back.a[0]).toEqual(back.v)
              expect(back.a[1]).toBeNull()
            },
          ),
          { numRuns: RUNS },
        )
      } finally {
        await own.end()
      }
    },
  )
})

describe('interval styles', () => {
  const edges = [
    normaliseInterval(0, 0, 0),
    normaliseInterval(0, 0, 60_000_000),
    normaliseInterval(14, 3, 14_706_000_000),
    normaliseInterval(-14, -3, -14_706_789_000),
    normaliseInterval(-10, 3, 14_706_000_000),
    normaliseInterval(0, -1, 1_000_000),
    normaliseInterval(0, 0, -500_000),
    normaliseInterval(0, 0, 1),
  ]

  it.each(['postgres', 'postgres_verbose', 'iso_8601'])('reads every interval the server writes in IntervalStyle %s', async (style) => {
    const own = await connect(createTypeRegistry())
    try {
      await own.query(`SET IntervalStyle = ${style}`)
      for (const value of edges) expect(await select('interval', value, own), JSON.stringify(value)).toEqual(value)
      await fc.assert(
        fc.asyncProperty(interval, async (value) => {
          expect(await select('interval', value, own)).toEqual(value)
        }),
        { numRuns: RUNS },
      )
    } finally {
      await own.end()
    }
  })

  it("reads postgres_verbose's '@ 0' and '… ago' text as the server writes it", async () => {
    const own = await connect(createTypeRegistry())
    try {
      await own.query('SET IntervalStyle = postgres_verbose')
      const { rows } = await own.query(
        "SELECT '0'::interval::text AS zero_text, '0'::interval AS zero, '-1 year -2 mons -3 days -04:05:06'::interval::text AS ago_text, '-1 year -2 mons -3 days -04:05:06'::interval AS ago",
      )
      expect(rows[0].zero_text).toBe('@ 0')
      expect(rows[0].zero).toEqual(normaliseInterval(0, 0, 0))
      expect(rows[0].ago_text).toBe('@ 1 year 2 mons 3 days 4 hours 5 mins 6 secs ago')
      expect(rows[0].ago).toEqual(normaliseInterval(-14, -3, -14_706_000_000))
    } finally {
      await own.end()
    }
  })
})

describe('non-default policies against PostgreSQL', () => {
  const policies: TypePolicies = {
    int8: 'number',
    numeric: 'number',
    date: 'Date',
    timestamp: 'string',
    bytea: 'Uint8Array',
    interval: 'iso',
  }
  let other: pg.Client

  beforeAll(async () => {
    other = await connect(createTypeRegistry(policies))
  })
  afterAll(async () => {
    await other?.end()
  })

  it("reads int8 as number and refuses one that would lose digits with the 'number' policy", async () => {
    expect(await select('int8', 9007199254740991n, other)).toBe(9007199254740991)
    await expect(select('int8', 9007199254740993n, other)).rejects.toThrow(/"9007199254740993" to number.*safe integer/)
  })

  it("reads dates as UTC-midnight Dates and back with the 'Date' policy", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.date({ min: new Date(Date.UTC(-4712, 0, 1)), max: new Date(Date.UTC(9999, 11, 31)), noInvalidDate: true }),
        async (d) => {
          const midnight = new Date(Math.floor(d.getTime() / 86_400_000) * 86_400_000)
          expect(await select('date', midnight, other)).toEqual(midnight)
        },
      ),
      { numRuns: RUNS },
    )
    expect(await select('date', Number.POSITIVE_INFINITY, other)).toBe(Number.POSITIVE_INFINITY)
  })

  it("keeps microseconds of timestamps with the 'string' policy", async () => {
    const back = await other.query("SELECT '2024-01-02 03:04:05.123456'::timestamp AS v")
    expect(back.rows[0].v).toBe('2024-01-02 03:04:05.123456')
  })

  it("reads intervals as ISO 8601 text with the 'iso' policy", async () => {
    expect(await select('interval', { years: 1, months: 2, days: 3, hours: 4, minutes: 5, seconds: 6, milliseconds: 789 }, other)).toBe(
      'P1Y2M3DT4H5M6.789S',
    )
    await other.query('SET intervalstyle = iso_8601')
    const iso = await other.query("SELECT '-1 year -2 mons +3 days -04:05:06.789'::interval AS v")
    await other.query('RESET intervalstyle')
    expect(iso.rows[0].v).toBe('P-1Y-2M3DT-4H-5M-6.789S')
  })

  it('reads bytea as a plain Uint8Array and numeric as number with those policies', async () => {
    const back = await select('bytea', Buffer.from([1, 2, 3]), other)
    expect(back).toBeInstanceOf(Uint8Array)
    expect(Buffer.isBuffer(back)).toBe(false)
    expect(await select('numeric', '1.5', other)).toBe(1.5)
  })
})

describe('driver globals', () => {
  it("leaves node-postgres' global pg.types parsers as they were", async () => {
    const fresh = new pg.Client({ connectionString: PG_URL })
    await fresh.connect()
    try {
      const { rows } = await fresh.query("SELECT 42::int8 AS a, '2024-01-02'::date AS d, '{1,2}'::int8[] AS e, 1.5::numeric AS n")
      expect(rows[0].a).toBe('42')
      expect(rows[0].d).toBeInstanceOf(Date)
      expect(rows[0].e).toEqual(['1', '2'])
      expect(rows[0].n).toBe('1.5')
      expect(pg.types.getTypeParser(20)('7')).toBe('7')
    } finally {
      await fresh.end()
    }
  })
})
