import { ConfigError, sql } from '@tessera/core'
import { describe, expect, it } from 'vitest'
import { createSchemaSql, defineEntity, defineView, diffSchema, integer, repository, text, timestamptz } from '../src/index'
import { PROVIDERS, useProviderWithSchemas } from './providers'

function entitiesIn(schema: string, where = sql`deleted_at IS NULL`) {
  const Account = defineEntity(
    'ViewAccount',
    { id: integer().primaryKey(), email: text(), deletedAt: timestamptz().nullable() },
    { schema, table: 'accounts' },
  )
  const ActiveAccount = defineView(
    'ActiveAccount',
    { id: integer().primaryKey(), email: text() },
    { schema, view: 'active_accounts', query: sql`SELECT id, email FROM ${sql.id([schema, 'accounts'])} WHERE ${where}` },
  )
  return { Account, ActiveAccount }
}

describe.each(PROVIDERS)('views as read-only entities on $name', (factory) => {
  const setup = useProviderWithSchemas(factory, 'views')

  async function create(schema: string) {
    const entities = entitiesIn(schema)
    for (const statement of createSchemaSql([entities.Account, entities.ActiveAccount])) await setup.db.query(statement)
    await repository(entities.Account, setup.db).insertMany([
      { id: 1, email: 'a@example.com' },
      { id: 2, email: 'b@example.com', deletedAt: new Date() },
      { id: 3, email: 'c@example.com' },
    ])
    return entities
  }

  it('reads through the view with findMany, findById, findOne and count', async () => {
    const { ActiveAccount } = await create(setup.freshSchema())
    const active = repository(ActiveAccount, setup.db)
    expect((await active.findMany({ orderBy: { id: 'asc' } })).rows).toEqual([
      { id: 1, email: 'a@example.com' },
      { id: 3, email: 'c@example.com' },
    ])
    expect(await active.findById(3)).toEqual({ id: 3, email: 'c@example.com' })
    expect(await active.findById(2)).toBeUndefined()
    expect(await active.count()).toBe(2)
  })

  it('refuses every write at run time with a ConfigError naming the view, inside a transaction too', async () => {
    const { ActiveAccount } = await create(setup.freshSchema())
    const active = repository(ActiveAccount, setup.db) as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>
    for (const method of ['insert', 'insertMany', 'update', 'updateMany', 'upsert', 'delete', 'deleteMany']) {
      await expect(active[method]?.({ id: 9, email: 'x' }, { email: 'y' })).rejects.toThrow(ConfigError)
    }
    await expect(active.insert?.({ id: 9, email: 'x' })).rejects.toThrow(/ActiveAccount is a view: insert\(\) cannot write to it/)
    await setup.db.transaction(async (tx) => {
      const inTx = repository(ActiveAccount, setup.db).withTransaction(tx) as unknown as Record<
        string,
        (...args: unknown[]) => Promise<unknown>
      >
      await expect(inTx.deleteMany?.({ id: 1 })).rejects.toThrow(ConfigError)
    })
  })

  it('round-trips: the diff is empty, a changed query replaces the view', async () => {
    const schema = setup.freshSchema()
    const { Account, ActiveAccount } = await create(schema)
    expect((await diffSchema([Account, ActiveAccount], setup.db)).changes).toEqual([])
    const changed = entitiesIn(schema, sql`deleted_at IS NULL AND email LIKE ${'%@example.com'}`)
    const diff = await diffSchema([changed.Account, changed.ActiveAccount], setup.db)
    expect(diff.changes.map((c) => c.kind)).toEqual(['dropView', 'createView'])
    for (const statement of diff.statements) await setup.db.query(statement)
    expect((await diffSchema([changed.Account, changed.ActiveAccount], setup.db)).changes).toEqual([])
  })

  it('refuses constraints, defaults and indexes on a view field', () => {
    expect(() =>
      defineView('BadView', { id: integer().primaryKey(), email: text().unique() }, { query: sql`SELECT 1 AS id, 'a' AS email` }),
    ).toThrow(/field email: \.unique\(\) has no meaning on a view/)
  })
})
