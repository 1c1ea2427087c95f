import { type Provider, sql, ValidationError } from '@tessera/core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createSchemaSql, defineEntity, integer, numeric, repository, validateSync } from '../src/index'
import { PROVIDERS, providerPool, uniqueName } from './providers'

const Price = defineEntity('NumericPrice', { id: integer().primaryKey(), amount: numeric(6, 2), whole: numeric(3).nullable() })

describe('numeric(p, s) validation', () => {
  it.each([
    ['9999.99', true],
    ['-9999.99', true],
    ['12.340', true],
    ['0.5', true],
    ['0009.10', true],
    ['9999.999', false],
    ['12.345', false],
    ['10000', false],
    ['0.001', false],
  ])('%s in numeric(6, 2): %s', (amount, ok) => {
    expect(validateSync(Price, { id: 1, amount }).ok).toBe(ok)
  })

  it('names the rounding it refuses', () => {
    const result = validateSync(Price, { id: 1, amount: '12.345', whole: '1.5' })
    expect(result.ok ? [] : result.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['amount', 'has 3 digits after the point; numeric(6, 2) keeps 2 (it would be rounded)'],
      ['whole', 'has 1 digit after the point; numeric(3, 0) keeps 0 (it would be rounded)'],
    ])
  })
})

describe.each(PROVIDERS)('numeric(p, s) writes on $name', (factory) => {
  const pool = providerPool(factory)
  const schema = uniqueName('numeric_fields')
  const Stored = defineEntity('NumericStored', { id: integer().primaryKey(), amount: numeric(6, 2) }, { schema, table: 'prices' })
  let db: Provider

  beforeAll(async () => {
    db = pool.open()
    for (const statement of createSchemaSql([Stored])) await db.query(statement)
  })

  afterAll(async () => {
    await db.query(sql`DROP SCHEMA IF EXISTS ${sql.id(schema)} CASCADE`)
    await pool.closeAll()
  })

  beforeEach(async () => {
    await db.query(sql`TRUNCATE ${sql.id([schema, 'prices'])}`)
  })

  it('refuses a value the server would round up past the precision, before sending it', async () => {
    await expect(repository(Stored, db).insert({ id: 1, amount: '9999.999' })).rejects.toThrow(ValidationError)
  })

  it('refuses a value the server would round, instead of storing another number', async () => {
    await expect(repository(Stored, db).insert({ id: 1, amount: '12.345' })).rejects.toThrow(ValidationError)
    expect(await repository(Stored, db).count()).toBe(0)
  })

  it('stores what fits exactly', async () => {
    expect(await repository(Stored, db).insert({ id: 1, amount: '9999.99' })).toEqual({ id: 1, amount: '9999.99' })
    expect(await repository(Stored, db).insert({ id: 2, amount: '12.340' })).toEqual({ id: 2, amount: '12.34' })
  })
})
