import { Range } from '@tessera/converter'
import { type Provider, sql, ValidationError } from '@tessera/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  cidr,
  citext,
  createSchemaSql,
  defineEntity,
  diffSchema,
  doublePrecision,
  inet,
  integer,
  interval,
  introspectSchema,
  range,
  real,
  repository,
  smallint,
  time,
  timestamp,
  tsvector,
} from '../src/index'
import { useOwnDatabase } from './own-database'
import { PROVIDERS, providerPool, uniqueName } from './providers'

// citext is an extension, which is database-wide: this file gets a database of its own, so creating it can never
// disturb a parallel run (the user's side: `CREATE EXTENSION citext` once per database, which createSchemaSql and
// diffSchema emit).
const DB_URL = useOwnDatabase('schema_types')

function entityIn(schema: string) {
  return defineEntity(
    'TypedRow',
    {
      id: integer().primaryKey(),
      small: smallint(),
      ratio: real(),
      precise: doublePrecision(),
      localTime: timestamp(),
      opensAt: time(),
      duration: interval(),
      address: inet(),
      network: cidr(),
      email: citext().unique(),
      document: tsvector().nullable(),
      seats: range('int4range'),
      ids: range('int8range').nullable(),
      prices: range('numrange').nullable(),
      during: range('tstzrange').nullable(),
      days: range('daterange').nullable(),
    },
    { schema, table: 'typed_rows' },
  )
}

const row = {
  id: 1,
  small: -32768,
  ratio: 1.5,
  precise: 0.1,
  localTime: new Date('2024-05-01T10:30:00.123Z'),
  opensAt: '09:15:30.5',
  duration: { years: 1, months: 2, days: 3, hours: 4, minutes: 5, seconds: 6, milliseconds: 789 },
  address: '10.0.0.1/8',
  network: '2001:db8::/32',
  email: 'Ada@Example.com',
  document: "'cat':2 'fat':1",
  seats: new Range(1, 10),
  ids: new Range(-(2n ** 63n), null),
  prices: new Range('1.50', '99.99', '[]'),
  during: new Range(new Date('2024-01-01T00:00:00Z'), new Date('2024-02-01T00:00:00Z')),
  days: new Range('2024-01-01', '2024-01-31', '[]'),
}

/** What each provider reads back (the same on both: discrete ranges come back canonical, `[)`). */
const expected = {
  ...row,
  opensAt: '09:15:30.5',
  ratio: 1.5,
  days: new Range('2024-01-01', '2024-02-01', '[)'),
}

const readings = new Map<string, unknown>()

describe.each(PROVIDERS)('column types on $name', (factory) => {
  const pool = providerPool(factory)
  const schema = uniqueName('types')
  const Typed = entityIn(schema)
  let db: Provider

  beforeAll(async () => {
    db = pool.open({ connectionString: DB_URL })
    for (const statement of createSchemaSql([Typed])) await db.query(statement)
  })

  afterAll(async () => {
    await db.query(sql`DROP SCHEMA IF EXISTS ${sql.id(schema)} CASCADE`)
    await pool.closeAll()
  })

  it('writes and reads every type with the value shapes the README documents', async () => {
    const repo = repository(Typed, db)
    const inserted = await repo.insert(row)
    expect(inserted).toEqual(expected)
    const found = await repo.findById(1)
    expect(found).toEqual(expected)
    expect(found?.localTime).toBeInstanceOf(Date)
    expect(found?.seats).toBeInstanceOf(Range)
    readings.set(factory.name, found)
  })

  it('compares citext case-insensitively (the unique constraint and filters)', async () => {
    const repo = repository(Typed, db)
    expect((await repo.findOne({ email: 'ADA@EXAMPLE.COM' }))?.id).toBe(1)
    await expect(repo.insert({ ...row, id: 2, email: 'ada@example.COM' })).rejects.toThrow(/unique|duplicate/i)
  })

  it('leaves nothing to change: define → create → introspect → diff is empty', async () => {
    const diff = await diffSchema([Typed], db)
    expect(diff.changes).toEqual([])
    expect(diff.skipped).toEqual([])
    const live = (await introspectSchema(db, schema)).get('typed_rows')
    expect(Object.fromEntries(live?.columns.map((c) => [c.name, c.type]) ?? [])).toMatchObject({
      small: 'smallint',
      ratio: 'real',
      precise: 'double precision',
      local_time: 'timestamp without time zone',
      opens_at: 'time without time zone',
      duration: 'interval',
      address: 'inet',
      network: 'cidr',
      email: 'citext',
      document: 'tsvector',
      seats: 'int4range',
      during: 'tstzrange',
      days: 'daterange',
    })
  })

  it('refuses values of the wrong shape before sending them, naming each field', async () => {
    const repo = repository(Typed, db)
    const error = await repo
      .insert({
        ...row,
        id: 3,
        small: 40_000,
        ratio: '1.5' as unknown as number,
        localTime: '2024-05-01' as unknown as Date,
        opensAt: '25:00',
        duration: { weeks: 1 } as never,
        address: '10.0.0.300',
        network: '10.0.0.1/8',
        seats: new Range(10, 1),
        during: new Range('2024-01-01' as unknown as Date, null),
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      )
    expect(error).toBeInstanceOf(ValidationError)
    expect((error as ValidationError).issues.map((i) => i.path.join('.')).sort()).toEqual(
      ['address', 'duration', 'during', 'localTime', 'network', 'opensAt', 'ratio', 'seats', 'small'].sort(),
    )
    expect(await repo.count()).toBe(1)
  })
})

describe('column types across drivers', () => {
  it('reads the same values through pg and postgres.js', () => {
    if (readings.size < 2) return
    const [first, second] = [...readings.values()]
    expect(second).toEqual(first)
  })
})
