import type { Queryable } from '@tessera/core'
import { describe, expectTypeOf, it } from 'vitest'
import { bigint, defineEntity, defineRelations, increment, integer, now, numeric, repository, text, timestamptz } from '../src/index'

const ItemTable = defineEntity('TypedQpItem', {
  id: integer().primaryKey(),
  name: text(),
  stock: integer(),
  sold: bigint(),
  price: numeric(8, 2),
  seenAt: timestamptz().nullable(),
})
const NoteTable = defineEntity('TypedQpNote', {
  id: integer().primaryKey(),
  itemId: integer().references(() => ItemTable.fields.id),
  body: text(),
})
const { Item } = defineRelations({ Item: ItemTable, Note: NoteTable }, (r) => ({ Item: { notes: r.hasMany('Note') } }))

declare const db: Queryable
const items = repository(Item, db)

describe('query power types', () => {
  it('types a projection as a Pick of the row, keeping loaded relations', async () => {
    const page = await items.findMany({ select: ['id', 'name'] })
    expectTypeOf(page.rows).toEqualTypeOf<{ id: number; name: string }[]>()
    const one = await items.findById(1, { select: ['name'], with: { notes: true } })
    expectTypeOf(one?.notes).toEqualTypeOf<{ id: number; itemId: number; body: string }[] | undefined>()
    // @ts-expect-error stock was not selected
    void one?.stock
    // @ts-expect-error not a field
    await items.findMany({ select: ['nope'] })
  })

  it('types aggregate rows by group fields and aggregate names', async () => {
    const rows = await items.aggregate({
      groupBy: ['name'],
      aggregates: { n: { count: '*' }, total: { sum: 'stock' }, latest: { max: 'seenAt' } },
      having: { n: { gt: 1 } },
    })
    expectTypeOf(rows).toEqualTypeOf<({ name: string } & { n: number; total: string | null; latest: Date | null })[]>()
    // @ts-expect-error having names result columns only
    await items.aggregate({ aggregates: { n: { count: '*' } }, having: { stock: 1 } })
  })

  it('offers increment on number fields and now on Date fields only', async () => {
    await items.update(1, { stock: increment(-1), sold: increment(1n), seenAt: now() })
    // @ts-expect-error text is not incremented
    await items.update(1, { name: increment(1) })
    // @ts-expect-error now() on an integer
    await items.update(1, { stock: now() })
  })

  it('types returning rows, doNothing upserts and relation filters', async () => {
    expectTypeOf(await items.updateMany({ stock: 0 }, { stock: 1 }, { returning: true })).toEqualTypeOf<
      { id: number; name: string; stock: number; sold: bigint; price: string; seenAt: Date | null }[]
    >()
    expectTypeOf(await items.deleteMany({ stock: 0 })).toEqualTypeOf<number>()
    const maybe = await items.upsert({ id: 1, name: 'a', stock: 1, sold: 0n, price: '1.00' }, { doNothing: true })
    expectTypeOf(maybe).toEqualTypeOf<
      { id: number; name: string; stock: number; sold: bigint; price: string; seenAt: Date | null } | undefined
    >()
    await items.findMany({ where: { notes: { some: { body: { ilike: '%x%' } } } } })
    // @ts-expect-error Note has no field stars
    await items.findMany({ where: { notes: { some: { stars: 1 } } } })
    await items.findMany({ lock: 'update', skipLocked: true })
    // @ts-expect-error not a lock strength
    await items.findMany({ lock: 'exclusive' })
  })
})
