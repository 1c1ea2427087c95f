import { LockNotAvailableError, OptimisticLockError, sql } from '@tessera/core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  bigint,
  createSchemaSql,
  date,
  defineEntity,
  defineRelations,
  increment,
  integer,
  now,
  numeric,
  repository,
  text,
  timestamptz,
} from '../src/index'
import { issuePaths, PROVIDERS, uniqueName, useProviderWithSchemas } from './providers'

const schema = uniqueName('qp')

const ProductTable = defineEntity(
  'QpProduct',
  {
    id: integer().primaryKey(),
    sku: text().unique(),
    name: text(),
    category: text(),
    stock: integer(),
    sold: bigint().default(0n),
    price: numeric(10, 2),
    restockedOn: date().nullable(),
    seenAt: timestamptz().nullable(),
    updatedAt: timestamptz().updatedAt(),
    version: integer().version(),
  },
  { schema, table: 'products' },
)
const ReviewTable = defineEntity(
  'QpReview',
  { id: integer().primaryKey(), productId: integer().references(() => ProductTable.fields.id, { onDelete: 'cascade' }), stars: integer() },
  { schema, table: 'reviews' },
)
const { Product, Review } = defineRelations({ Product: ProductTable, Review: ReviewTable }, (r) => ({
  Product: { reviews: r.hasMany('Review') },
  Review: { product: r.belongsTo('Product') },
}))

const seed = [
  { id: 1, sku: 'a', name: 'Anvil', category: 'tools', stock: 5, price: '10.00' },
  { id: 2, sku: 'b', name: 'Bolt', category: 'tools', stock: 0, price: '0.50' },
  { id: 3, sku: 'c', name: 'Cup', category: 'kitchen', stock: 7, price: '3.25' },
]

describe.each(PROVIDERS)('query power on $name', (factory) => {
  const setup = useProviderWithSchemas(factory, 'qp')

  beforeAll(async () => {
    await setup.db.query(sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`)
    for (const statement of createSchemaSql([ProductTable, ReviewTable])) await setup.db.query(statement)
  })
  afterAll(async () => {
    await setup.db.query(sql`DROP SCHEMA IF EXISTS ${sql.id(schema)} CASCADE`)
  })
  beforeEach(async () => {
    await setup.db.query(sql`TRUNCATE ${sql.id([schema, 'products'])} CASCADE`)
    await repository(Product, setup.db).insertMany(seed)
    await repository(Review, setup.db).insertMany([
      { id: 1, productId: 1, stars: 5 },
      { id: 2, productId: 1, stars: 2 },
      { id: 3, productId: 3, stars: 4 },
    ])
  })

  it('reads only the selected fields', async () => {
    const products = repository(Product, setup.db)
    const page = await products.findMany({ select: ['id', 'name'], orderBy: { id: 'asc' }, limit: 2 })
    expect(page.rows).toEqual([
      { id: 1, name: 'Anvil' },
      { id: 2, name: 'Bolt' },
    ])
    expect(page.nextCursor).toBeDefined()
    const withReviews = await products.findById(1, { select: ['name'], with: { reviews: { orderBy: { stars: 'asc' } } } })
    expect(withReviews?.name).toBe('Anvil')
    expect(withReviews?.reviews.map((r) => r.stars)).toEqual([2, 5])
    expect(Object.keys(withReviews ?? {}).sort()).toEqual(['name', 'reviews'])
    expect(await issuePaths(products.findMany({ select: ['name', 'nope' as 'name'] }))).toEqual(['select.1'])
  })

  it('aggregates with groupBy, having and ordering', async () => {
    const products = repository(Product, setup.db)
    const rows = await products.aggregate({
      groupBy: ['category'],
      aggregates: {
        n: { count: '*' },
        stock: { sum: 'stock' },
        cheapest: { min: 'price' },
        average: { avg: 'price' },
        last: { max: 'name' },
      },
      having: { n: { gte: 1 } },
      orderBy: { n: 'desc' },
    })
    expect(rows).toEqual([
      { category: 'tools', n: 2, stock: '5', cheapest: '0.50', average: '5.2500000000000000', last: 'Bolt' },
      { category: 'kitchen', n: 1, stock: '7', cheapest: '3.25', average: '3.2500000000000000', last: 'Cup' },
    ])
    const filtered = await products.aggregate({
      where: { stock: { gt: 0 } },
      aggregates: { n: { count: 'id' }, kinds: { countDistinct: 'category' } },
    })
    expect(filtered).toEqual([{ n: 2, kinds: 2 }])
    const having = await products.aggregate({ groupBy: ['category'], aggregates: { n: { count: '*' } }, having: { n: { gt: 1 } } })
    expect(having).toEqual([{ category: 'tools', n: 2 }])
    expect(await issuePaths(products.aggregate({ aggregates: { s: { sum: 'name' } } }))).toEqual(['aggregates.s.sum'])
    expect(
      await issuePaths(products.aggregate({ groupBy: ['category'], aggregates: { n: { count: '*' } }, having: { n: undefined } })),
    ).toEqual(['having.n'])
  })

  it('filters by related rows with some, none and every (EXISTS)', async () => {
    const products = repository(Product, setup.db)
    const ids = async (where: Parameters<typeof products.findMany>[0]) =>
      (await products.findMany({ ...where, orderBy: { id: 'asc' } })).rows.map((p) => p.id)
    expect(await ids({ where: { reviews: { some: { stars: { gte: 4 } } } } })).toEqual([1, 3])
    expect(await ids({ where: { reviews: { none: {} } } })).toEqual([2])
    expect(await ids({ where: { reviews: { every: { stars: { gte: 4 } } } } })).toEqual([2, 3])
    expect(await ids({ where: { category: 'tools', reviews: { some: {} } }, with: { reviews: true } })).toEqual([1])
    expect(await repository(Review, setup.db).count({ product: { some: { category: 'kitchen' } } })).toBe(1)
    expect(await products.updateMany({ reviews: { none: {} } }, { stock: 1 })).toBe(1)
    expect(await issuePaths(products.findMany({ where: { reviews: { some: { stars: undefined } } } }))).toEqual([
      'where.reviews.some.stars',
    ])
    expect(await issuePaths(products.deleteMany({ reviews: { some: { stars: { in: [undefined] } } } } as never))).toEqual([
      'where.reviews.some.stars.in.0',
    ])
    expect(await issuePaths(products.findMany({ where: { reviews: { any: {} } } as never }))).toEqual(['where.reviews'])
  })

  it('locks rows: skipLocked leaves out rows another transaction holds, noWait fails at once', async () => {
    const other = setup.open({ pool: { max: 1 } })
    let release: () => void = () => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    let locked: () => void = () => {}
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve
    })
    const holder = other.transaction(async (tx) => {
      await repository(Product, tx).findById(1, { lock: 'update' })
      locked()
      await held
    })
    await isLocked
    try {
      const free = await setup.db.transaction((tx) =>
        repository(Product, tx).findMany({ lock: 'update', skipLocked: true, orderBy: { id: 'asc' } }),
      )
      expect(free.rows.map((p) => p.id)).toEqual([2, 3])
      const withReviews = await setup.db.transaction((tx) =>
        repository(Product, tx).findMany({
          lock: 'share',
          skipLocked: true,
          with: { reviews: true },
          select: ['id'],
          orderBy: { id: 'asc' },
        }),
      )
      expect(withReviews.rows.map((p) => [p.id, p.reviews.length])).toEqual([
        [2, 0],
        [3, 1],
      ])
      const error = await setup.db
        .transaction((tx) => repository(Product, tx).findOne({ id: 1 }, { lock: 'share', noWait: true }))
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(LockNotAvailableError)
      expect(await issuePaths(repository(Product, setup.db).findMany({ lock: 'update', skipLocked: true, noWait: true }))).toEqual([
        'noWait',
      ])
    } finally {
      release()
      await holder
    }
  })

  it('increments and sets now() in the database, atomically under concurrency', async () => {
    const products = repository(Product, setup.db)
    await Promise.all(Array.from({ length: 10 }, () => products.update(1, { stock: increment(-1), sold: increment(1n) })))
    const after = await products.findById(1)
    expect(after?.stock).toBe(-5)
    expect(after?.sold).toBe(10n)
    expect(after?.version).toBe(11)
    const before = Date.now()
    // A date field takes now() at run time; its type (text) cannot tell it from a text field, hence the cast.
    const seen = await products.update(2, { seenAt: now(), restockedOn: now() as never })
    expect(seen.seenAt?.getTime()).toBeGreaterThan(before - 60_000)
    expect(seen.restockedOn).toMatch(/^\d{4}-\d{2}-\d{2}$/)
    expect(await products.updateMany({ category: 'tools' }, { stock: increment(10) })).toBe(2)
    expect(await issuePaths(products.update(1, { name: increment(1) as never }))).toEqual(['name'])
    expect(await issuePaths(products.update(1, { stock: now() as never }))).toEqual(['stock'])
  })

  it('upserts with doNothing or a chosen set of fields to update', async () => {
    const products = repository(Product, setup.db)
    const skipped = await products.upsert({ id: 1, sku: 'a', name: 'Other', category: 'x', stock: 1, price: '1.00' }, { doNothing: true })
    expect(skipped).toBeUndefined()
    expect((await products.findById(1))?.name).toBe('Anvil')
    const inserted = await products.upsert({ id: 9, sku: 'z', name: 'Zip', category: 'x', stock: 1, price: '1.00' }, { doNothing: true })
    expect(inserted?.name).toBe('Zip')
    const updated = await products.upsert(
      { id: 1, sku: 'a', name: 'Renamed', category: 'changed', stock: 99, price: '1.00' },
      { conflict: { fields: ['sku'] }, update: ['stock'] },
    )
    expect(updated).toMatchObject({ name: 'Anvil', category: 'tools', stock: 99, version: 2 })
    expect(await issuePaths(products.upsert(seed[0] as never, { conflict: { fields: ['sku'] }, update: ['sku'] }))).toEqual(['update.0'])
  })

  it('insertMany with on-conflict skips or updates conflicting rows', async () => {
    const products = repository(Product, setup.db)
    const rows = [
      { id: 1, sku: 'a', name: 'Anvil 2', category: 'tools', stock: 50, price: '11.00' },
      { id: 4, sku: 'd', name: 'Dish', category: 'kitchen', stock: 2, price: '4.00' },
    ]
    const inserted = await products.insertMany(rows, { onConflict: { doNothing: true } })
    expect(inserted.map((p) => p.id)).toEqual([4])
    expect(
      await products.insertMany(rows, { onConflict: { conflict: { fields: ['sku'] }, update: ['stock', 'price'] }, returning: false }),
    ).toBe(2)
    expect(await products.findById(1)).toMatchObject({ name: 'Anvil', stock: 50, price: '11.00' })
  })

  it('updateMany and deleteMany return the rows with returning: true', async () => {
    const products = repository(Product, setup.db)
    const updated = await products.updateMany({ category: 'tools' }, { stock: 3 }, { returning: true })
    expect(updated.map((p) => [p.id, p.stock]).sort()).toEqual([
      [1, 3],
      [2, 3],
    ])
    const deleted = await products.deleteMany({ category: 'kitchen' }, { returning: true })
    expect(deleted.map((p) => p.name)).toEqual(['Cup'])
    expect(await products.count()).toBe(2)
  })

  it('deletes with a version check: a stale version is an OptimisticLockError and deletes nothing', async () => {
    const products = repository(Product, setup.db)
    await products.update(1, { stock: 4 })
    await expect(products.delete(1, { expectedVersion: 1 })).rejects.toBeInstanceOf(OptimisticLockError)
    expect(await products.count({ id: 1 })).toBe(1)
    expect(await products.delete(1, { expectedVersion: 2 })).toBe(true)
    expect(await products.delete(1, { expectedVersion: 2 })).toBe(false)
    expect(await issuePaths(products.delete(2, { expectedVersion: null as never }))).toEqual(['expectedVersion'])
  })
})
