import { type Provider, sql } from '@tessera/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSchemaSql, defineEntity, integer, repository } from '../src/index'
import { PROVIDERS, providerPool, uniqueName } from './providers'

describe.each(PROVIDERS)('deleteMany with a beforeDelete hook on $name', (factory) => {
  const pool = providerPool(factory)
  const schema = uniqueName('delete_chunks')
  let seen = 0
  const hooks = {
    beforeDelete() {
      seen++
    },
  }
  const Single = defineEntity('ChunkSingle', { id: integer().primaryKey() }, { schema, table: 'single', hooks })
  const Pair = defineEntity('ChunkPair', { a: integer(), b: integer() }, { schema, table: 'pair', primaryKey: ['a', 'b'], hooks })
  let db: Provider

  beforeAll(async () => {
    db = pool.open()
    for (const statement of createSchemaSql([Single, Pair])) await db.query(statement)
  })

  afterAll(async () => {
    await db.query(sql`DROP SCHEMA IF EXISTS ${sql.id(schema)} CASCADE`)
    await pool.closeAll()
  })

  it('deletes more rows than one statement has parameters for, running the hook for each', async () => {
    const count = 65_536
    await repository(Single, db).insertMany(
      Array.from({ length: count }, (_, i) => ({ id: i })),
      { returning: false },
    )
    seen = 0
    expect(await repository(Single, db).deleteMany({ id: { gte: 0 } })).toBe(count)
    expect(seen).toBe(count)
    expect(await repository(Single, db).count()).toBe(0)
  })

  it('deletes as many composite-key rows, with one parameter per key field', async () => {
    const count = 32_768
    await repository(Pair, db).insertMany(
      Array.from({ length: count }, (_, i) => ({ a: i, b: -i })),
      { returning: false },
    )
    seen = 0
    expect(await repository(Pair, db).deleteMany({ a: { gte: 0 } })).toBe(count)
    expect(seen).toBe(count)
    expect(await repository(Pair, db).count()).toBe(0)
  })
})
