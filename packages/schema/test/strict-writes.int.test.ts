import { type Provider, sql } from '@tessera/core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { boolean, createSchemaSql, defineEntity, integer, repository, text, timestamptz, validateSync } from '../src/index'
import { issuePaths, PROVIDERS, providerPool, uniqueName } from './providers'

describe.each(PROVIDERS)('repository writes on $name', (factory) => {
  const pool = providerPool(factory)
  const schema = uniqueName('strict_writes')
  const Profile = defineEntity(
    'StrictProfile',
    { id: integer().primaryKey(), name: text(), active: boolean(), seenAt: timestamptz().nullable() },
    { schema, table: 'profiles' },
  )
  let db: Provider

  beforeAll(async () => {
    db = pool.open()
    for (const statement of createSchemaSql([Profile])) await db.query(statement)
  })

  afterAll(async () => {
    await db.query(sql`DROP SCHEMA IF EXISTS ${sql.id(schema)} CASCADE`)
    await pool.closeAll()
  })

  beforeEach(async () => {
    await db.query(sql`TRUNCATE ${sql.id([schema, 'profiles'])}`)
  })

  it('refuse a value of another type than the field’s instead of converting it silently', async () => {
    const profiles = repository(Profile, db)
    const loose = { id: '1', name: 42, active: 'yes', seenAt: 1_700_000_000_000 } as never
    expect(await issuePaths(profiles.insert(loose))).toEqual(['id', 'name', 'active', 'seenAt'])
    expect(await issuePaths(profiles.insertMany([loose]))).toEqual(['0.id', '0.name', '0.active', '0.seenAt'])
    expect(await profiles.count()).toBe(0)
    await profiles.insert({ id: 1, name: 'Ann', active: true, seenAt: null })
    expect(await issuePaths(profiles.update(1, { name: 42 } as never))).toEqual(['name'])
    expect(await issuePaths(profiles.updateMany({ id: 1 }, { active: 'no' } as never))).toEqual(['active'])
    expect(await issuePaths(profiles.upsert({ id: 1, name: 'Ann', active: 1 } as never))).toEqual(['active'])
    expect(await profiles.findById(1)).toEqual({ id: 1, name: 'Ann', active: true, seenAt: null })
  })

  it('convert form input when made with coerce: true, also in a transaction', async () => {
    const profiles = repository(Profile, db, { coerce: true })
    const row = await profiles.insert({ id: '1', name: 42, active: 'yes', seenAt: 1_700_000_000_000 } as never)
    expect(row).toEqual({ id: 1, name: '42', active: true, seenAt: new Date(1_700_000_000_000) })
    await db.transaction(async (tx) => {
      expect(await profiles.withTransaction(tx).update(1, { active: 'false' } as never)).toMatchObject({ active: false })
    })
  })

  it('leave validate() coercing by default, strict with coerce: false', () => {
    expect(validateSync(Profile, { id: '1', name: 'a', active: 't' })).toMatchObject({ ok: true, value: { id: 1, active: true } })
    expect(validateSync(Profile, { id: '1', name: 'a', active: true }, { coerce: false }).ok).toBe(false)
  })
})
