import { type Provider, type Queryable, sql } from '@tessera/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSchemaSql, defineEntity, type FieldMap, integer, repository, text } from '../src/index'
import { PROVIDERS, providerPool, uniqueName } from './providers'

/** An entity of `columns` columns: an integer key and text fields. */
function wideEntity(schema: string, columns: number) {
  const fields: FieldMap = { id: integer().primaryKey() }
  for (let i = 1; i < columns; i++) fields[`c${i}`] = text()
  return defineEntity(`Chunked${columns}`, fields, { schema, table: `chunked_${columns}` })
}

function rowsOf(count: number, columns: number): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = new Array(count)
  for (let r = 0; r < count; r++) {
    const row: Record<string, unknown> = { id: r + 1 }
    for (let i = 1; i < columns; i++) row[`c${i}`] = 'v'
    rows[r] = row
  }
  return rows
}

describe.each(PROVIDERS)('insertMany chunks on $name', (factory) => {
  const pool = providerPool(factory)
  const schema = uniqueName('chunking')
  // Column counts where 65,535 / columns rows make a chunk of 65,534 or 65,535 parameters: over postgres.js's 65,533.
  const WIDTHS = [2, 3, 5, 7] as const
  const entities = new Map(WIDTHS.map((width) => [width, wideEntity(schema, width)]))
  let db: Provider

  beforeAll(async () => {
    db = pool.open()
    for (const statement of createSchemaSql([...entities.values()])) await db.query(statement)
  })

  afterAll(async () => {
    await db.query(sql`DROP SCHEMA IF EXISTS ${sql.id(schema)} CASCADE`)
    await pool.closeAll()
  })

  it.each(WIDTHS)('inserts full chunks of %i columns under the driver’s declared parameter limit', async (width) => {
    const entity = entities.get(width) as ReturnType<typeof wideEntity>
    const count = Math.floor(65_535 / width) + 1
    expect(await repository(entity, db).insertMany(rowsOf(count, width) as never, { returning: false })).toBe(count)
    expect(await repository(entity, db).count()).toBe(count)
  })

  it('sizes chunks by the maxParameters of the queryable it runs on', async () => {
    const sizes: number[] = []
    const declaringTen: Queryable = {
      maxParameters: 10,
      query: (text, params, options) => {
        sizes.push(params?.length ?? 0)
        return db.query(text, params, options)
      },
    }
    const entity = entities.get(3) as ReturnType<typeof wideEntity>
    await db.query(sql`TRUNCATE ${sql.id([schema, 'chunked_3'])}`)
    await repository(entity, declaringTen).insertMany(rowsOf(7, 3) as never, { returning: false })
    expect(sizes).toEqual([9, 9, 3])
    expect(await repository(entity, db).count()).toBe(7)
  })
})
