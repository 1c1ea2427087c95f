import { ConfigError, OptimisticLockError, sql } from '@tessera/core'
import { afterAll, beforeAll, beforeEach, describe, expect, expectTypeOf, it } from 'vitest'
import { createSchemaSql, defineEntity, defineRelations, integer, repository, text, timestamptz } from '../src/index'
import { issuePaths, PROVIDERS, uniqueName, useProviderWithSchemas } from './providers'

const schema = uniqueName('soft')

const ListTable = defineEntity('SoftList', { id: integer().primaryKey(), name: text() }, { schema, table: 'lists' })
const CardTable = defineEntity(
  'SoftCard',
  {
    id: integer().primaryKey(),
    listId: integer().references(() => ListTable.fields.id),
    title: text(),
    updatedAt: timestamptz().updatedAt(),
    deletedAt: timestamptz().deletedAt(),
    version: integer().version(),
  },
  { schema, table: 'cards' },
)
const { List, Card } = defineRelations({ List: ListTable, Card: CardTable }, (r) => ({ List: { cards: r.hasMany('Card') } }))

describe.each(PROVIDERS)('soft delete on $name', (factory) => {
  const setup = useProviderWithSchemas(factory, 'soft')

  beforeAll(async () => {
    await setup.db.query(sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`)
    for (const statement of createSchemaSql([ListTable, CardTable])) await setup.db.query(statement)
  })
  afterAll(async () => {
    await setup.db.query(sql`DROP SCHEMA IF EXISTS ${sql.id(schema)} CASCADE`)
  })
  beforeEach(async () => {
    await setup.db.query(sql`TRUNCATE ${sql.id([schema, 'lists'])} CASCADE`)
    await repository(List, setup.db).insertMany([
      { id: 1, name: 'todo' },
      { id: 2, name: 'done' },
    ])
    await repository(Card, setup.db).insertMany([
      { id: 1, listId: 1, title: 'a' },
      { id: 2, listId: 1, title: 'b' },
      { id: 3, listId: 2, title: 'c' },
    ])
  })

  it('delete sets deletedAt, and reads leave the row out unless withDeleted', async () => {
    const cards = repository(Card, setup.db)
    expect(await cards.delete(1)).toBe(true)
    expect(await cards.delete(1)).toBe(false)
    const { rows } = await setup.db.query<{ deleted_at: Date | null; version: number }>(
      sql`SELECT deleted_at, version FROM ${sql.id([schema, 'cards'])} WHERE id = 1`,
    )
    expect(rows[0]?.deleted_at).toBeInstanceOf(Date)
    expect(rows[0]?.version).toBe(2)
    expect(await cards.findById(1)).toBeUndefined()
    expect((await cards.findById(1, { withDeleted: true }))?.deletedAt).toBeInstanceOf(Date)
    expect((await cards.findMany()).rows.map((c) => c.id)).toEqual([2, 3])
    expect((await cards.findMany({ withDeleted: true })).rows.map((c) => c.id)).toEqual([1, 2, 3])
    expect(await cards.findOne({ title: 'a' })).toBeUndefined()
    expect(await cards.count()).toBe(2)
    expect(await cards.count({}, { withDeleted: true })).toBe(3)
    expect(await cards.exists({ id: 1 })).toBe(false)
    expect(await cards.aggregate({ aggregates: { n: { count: '*' } } })).toEqual([{ n: 2 }])
    await expect(cards.update(1, { title: 'x' })).rejects.toThrow(/not found|no row/i)
    expect(await cards.updateMany({ listId: 1 }, { title: 'z' })).toBe(1)
  })

  it('leaves deleted rows out of loaded relations and relation filters', async () => {
    const cards = repository(Card, setup.db)
    await cards.deleteMany({ listId: 2 })
    const lists = repository(List, setup.db)
    const loaded = await lists.findMany({ with: { cards: true }, orderBy: { id: 'asc' } })
    expect(loaded.rows.map((l) => l.cards.map((c) => c.id))).toEqual([[1, 2], []])
    const all = await lists.findById(2, { with: { cards: { withDeleted: true } } })
    expect(all?.cards.map((c) => c.id)).toEqual([3])
    expect((await lists.findMany({ where: { cards: { none: {} } } })).rows.map((l) => l.id)).toEqual([2])
  })

  it('restore clears deletedAt; hardDelete removes the row for good', async () => {
    const cards = repository(Card, setup.db)
    await cards.delete(2)
    const restored = await cards.restore(2)
    expect(restored).toMatchObject({ id: 2, deletedAt: null, version: 3 })
    expect(await cards.restore(2)).toBeUndefined()
    expect(await cards.hardDelete(2)).toBe(true)
    expect(await cards.findById(2, { withDeleted: true })).toBeUndefined()
    await cards.delete(3)
    expect(await cards.hardDeleteMany({ id: 3 })).toBe(1)
    expect(await cards.count({}, { withDeleted: true })).toBe(1)
  })

  it('checks the version on a soft delete and returns soft-deleted rows', async () => {
    const cards = repository(Card, setup.db)
    await expect(cards.delete(1, { expectedVersion: 7 })).rejects.toBeInstanceOf(OptimisticLockError)
    const deleted = await cards.deleteMany({ listId: 1 }, { returning: true })
    expect(deleted.map((c) => c.deletedAt instanceof Date)).toEqual([true, true])
  })

  it('refuses deletedAt in a patch and restore on an entity without soft delete', async () => {
    const cards = repository(Card, setup.db)
    expect(await issuePaths(cards.update(1, { deletedAt: null } as never))).toEqual(['deletedAt'])
    expect(await issuePaths(repository(List, setup.db).restore(1))).toEqual([''])
  })
})

describe('deletedAt()', () => {
  it('is nullable, optional on insert and not part of an update patch', () => {
    type Card = typeof Card
    expectTypeOf<import('../src/index').InferEntity<Card>['deletedAt']>().toEqualTypeOf<Date | null>()
    expectTypeOf<import('../src/index').InferUpdate<Card>>().not.toHaveProperty('deletedAt')
  })

  it('needs a timestamptz field, one per entity', () => {
    expect(() =>
      defineEntity('SoftBad', { id: integer().primaryKey(), a: timestamptz().deletedAt(), b: timestamptz().deletedAt() }),
    ).toThrow(ConfigError)
  })
})
