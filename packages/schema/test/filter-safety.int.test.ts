import { type Provider, sql } from '@tessera/core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createSchemaSql, defineEntity, integer, repository, text } from '../src/index'
import { issuePaths, PROVIDERS, providerPool, uniqueName } from './providers'

describe.each(PROVIDERS)('filters with undefined on $name', (factory) => {
  const pool = providerPool(factory)
  const schema = uniqueName('filter_safety')
  const Account = defineEntity(
    'SafetyAccount',
    { id: integer().primaryKey(), email: text(), team: integer().nullable() },
    { schema, table: 'accounts' },
  )
  const Audited = defineEntity(
    'SafetyAudited',
    { id: integer().primaryKey(), body: text() },
    { schema, table: 'audited', hooks: { beforeDelete() {} } },
  )
  let db: Provider

  beforeAll(async () => {
    db = pool.open()
    for (const statement of createSchemaSql([Account, Audited])) await db.query(statement)
  })

  afterAll(async () => {
    await db.query(sql`DROP SCHEMA IF EXISTS ${sql.id(schema)} CASCADE`)
    await pool.closeAll()
  })

  beforeEach(async () => {
    await db.query(sql`TRUNCATE ${sql.id([schema, 'accounts'])}, ${sql.id([schema, 'audited'])}`)
    await repository(Account, db).insertMany([
      { id: 1, email: 'a@x.io', team: 1 },
      { id: 2, email: 'b@x.io', team: 1 },
      { id: 3, email: 'c@x.io', team: null },
    ])
    await repository(Audited, db).insertMany([
      { id: 1, body: 'a' },
      { id: 2, body: 'b' },
    ])
  })

  it('refuses deleteMany({ id: undefined }) naming the field, and deletes nothing', async () => {
    const accounts = repository(Account, db)
    expect(await issuePaths(accounts.deleteMany({ id: undefined }))).toEqual(['where.id'])
    expect(await issuePaths(repository(Audited, db).deleteMany({ id: undefined }))).toEqual(['where.id'])
    expect(await accounts.count()).toBe(3)
    expect(await repository(Audited, db).count()).toBe(2)
  })

  it('refuses updateMany with an undefined field and changes nothing', async () => {
    const accounts = repository(Account, db)
    expect(await issuePaths(accounts.updateMany({ team: undefined }, { email: 'hijacked' }))).toEqual(['where.team'])
    expect(await accounts.count({ email: 'hijacked' })).toBe(0)
  })

  it('refuses findOne({ email: undefined }) instead of returning some row', async () => {
    const accounts = repository(Account, db)
    expect(await issuePaths(accounts.findOne({ email: undefined }))).toEqual(['where.email'])
    expect(await issuePaths(accounts.findOne(undefined as never))).toEqual(['where'])
  })

  it('refuses undefined operands, list items and nested groups, with their paths', async () => {
    const accounts = repository(Account, db)
    expect(await issuePaths(accounts.deleteMany({ id: { eq: undefined } }))).toEqual(['where.id.eq'])
    expect(await issuePaths(accounts.deleteMany({ id: { in: undefined } }))).toEqual(['where.id.in'])
    expect(await issuePaths(accounts.count({ id: { in: [1, undefined as never] } }))).toEqual(['where.id.in.1'])
    expect(await issuePaths(accounts.findMany({ where: { or: [{ id: 1 }, { email: undefined }] } }))).toEqual(['where.or.1.email'])
    expect(await issuePaths(accounts.exists({ and: [undefined as never] }))).toEqual(['where.and.0'])
    expect(await issuePaths(accounts.deleteMany({ not: undefined }))).toEqual(['where.not'])
    expect(await accounts.count()).toBe(3)
  })

  it('needs { all: true } for a bulk write without a field condition', async () => {
    const accounts = repository(Account, db)
    expect(await issuePaths(accounts.deleteMany({}))).toEqual(['where'])
    expect(await issuePaths(accounts.deleteMany({ and: [] }))).toEqual(['where'])
    expect(await issuePaths(accounts.updateMany({}, { email: 'all' }))).toEqual(['where'])
    expect(await issuePaths(repository(Audited, db).deleteMany({}))).toEqual(['where'])
    expect(await accounts.count()).toBe(3)

    expect(await accounts.updateMany({}, { email: 'all' }, { all: true })).toBe(3)
    expect(await accounts.deleteMany({}, { all: true })).toBe(3)
    expect(await repository(Audited, db).deleteMany({}, { all: true })).toBe(2)
    expect(await accounts.count()).toBe(0)
  })

  it('still reads every row when findMany or count is given no filter', async () => {
    const accounts = repository(Account, db)
    expect((await accounts.findMany()).rows).toHaveLength(3)
    expect(await accounts.count()).toBe(3)
    expect(await accounts.findOne({})).toMatchObject({ id: 1 })
  })
})
