import { type Provider, sql, ValidationError } from '@tessera/core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createSchemaSql, defineEntity, integer, json, repository } from '../src/index'
import { PROVIDERS, providerPool, uniqueName } from './providers'

describe.each(PROVIDERS)('json writes on $name', (factory) => {
  const pool = providerPool(factory)
  const schema = uniqueName('json_write')
  const Doc = defineEntity('JsonWriteDoc', { id: integer().primaryKey(), body: json<unknown>() }, { schema, table: 'docs' })
  let db: Provider

  beforeAll(async () => {
    db = pool.open()
    for (const statement of createSchemaSql([Doc])) await db.query(statement)
  })

  afterAll(async () => {
    await db.query(sql`DROP SCHEMA IF EXISTS ${sql.id(schema)} CASCADE`)
    await pool.closeAll()
  })

  beforeEach(async () => {
    await db.query(sql`TRUNCATE ${sql.id([schema, 'docs'])}`)
  })

  it('refuses NaN, a Map or a dropped value with the path, and stores nothing', async () => {
    const docs = repository(Doc, db)
    await expect(docs.insert({ id: 1, body: { ratio: Number.NaN } })).rejects.toThrow(ValidationError)
    await expect(docs.insert({ id: 1, body: { seen: new Map([['a', 1]]) } })).rejects.toThrow(/body\.seen/)
    await expect(docs.insertMany([{ id: 2, body: { f: () => 1 } }], { validate: false })).rejects.toThrow(/body\.f/)
    expect(await docs.count()).toBe(0)
  })

  it('refuses them in an update too, leaving the stored document as it was', async () => {
    const docs = repository(Doc, db)
    await docs.insert({ id: 1, body: { ratio: 0.5 } })
    await expect(docs.update(1, { body: { ratio: Number.POSITIVE_INFINITY } })).rejects.toThrow(/body\.ratio/)
    expect(await docs.findById(1)).toEqual({ id: 1, body: { ratio: 0.5 } })
  })
})
