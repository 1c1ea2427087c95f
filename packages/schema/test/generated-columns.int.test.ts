import { sql, UniqueViolationError, ValidationError } from '@tessera/core'
import { describe, expect, it } from 'vitest'
import {
  createSchemaSql,
  defineEntity,
  diffSchema,
  integer,
  introspectSchema,
  numeric,
  repository,
  text,
  timestamptz,
  tsvector,
} from '../src/index'
import { issuePaths, PROVIDERS, useProviderWithSchemas } from './providers'

function entitiesIn(schema: string, expression = sql`${sql.id('quantity')} * ${sql.id('unit_price')}`) {
  const Line = defineEntity(
    'GeneratedLine',
    {
      id: integer().primaryKey(),
      title: text(),
      quantity: integer(),
      unitPrice: numeric(10, 2),
      total: numeric().generatedAs(expression),
      search: tsvector().generatedAs(sql`to_tsvector('simple', ${sql.id('title')})`),
    },
    { schema, table: 'lines' },
  )
  const Account = defineEntity(
    'IndexedAccount',
    { id: integer().primaryKey(), email: text(), deletedAt: timestamptz().nullable() },
    {
      schema,
      table: 'accounts',
      indexes: [
        { expressions: [sql`lower(${sql.id('email')})`], unique: true, where: sql`${sql.id('deleted_at')} IS NULL` },
        { fields: ['email'], unique: true, where: sql`${sql.id('deleted_at')} IS NULL`, name: 'accounts_live_email_key' },
      ],
    },
  )
  return { Line, Account }
}

describe.each(PROVIDERS)('generated columns and expression / partial unique indexes on $name', (factory) => {
  const setup = useProviderWithSchemas(factory, 'generated')

  async function create(schema: string) {
    const entities = entitiesIn(schema)
    for (const statement of createSchemaSql([entities.Line, entities.Account])) await setup.db.query(statement)
    return entities
  }

  it('computes a generated column on insert and update, and reads it back', async () => {
    const { Line } = await create(setup.freshSchema())
    const lines = repository(Line, setup.db)
    const inserted = await lines.insert({ id: 1, title: 'Blue Paint', quantity: 3, unitPrice: '2.50' })
    expect(inserted.total).toBe('7.50')
    expect(inserted.search).toBe("'blue':1 'paint':2")
    const updated = await lines.update(1, { quantity: 4 })
    expect(updated?.total).toBe('10.00')
    expect((await lines.findById(1))?.total).toBe('10.00')
  })

  it('refuses a value for a generated column on insert and update, naming it, and writes nothing', async () => {
    const { Line } = await create(setup.freshSchema())
    const lines = repository(Line, setup.db)
    const row = { id: 1, title: 't', quantity: 1, unitPrice: '1.00', total: '99' } as never
    expect(await issuePaths(lines.insert(row))).toEqual(['total'])
    await lines.insert({ id: 1, title: 't', quantity: 1, unitPrice: '1.00' })
    expect(await issuePaths(lines.update(1, { total: '5' } as never))).toEqual(['total'])
    // With validation off a generated value is still never sent (PostgreSQL would refuse it).
    await lines.insertMany([{ id: 2, title: 'u', quantity: 2, unitPrice: '1.00', total: '99' } as never], { validate: false })
    expect((await lines.findById(2))?.total).toBe('2.00')
    await expect(lines.insert({ id: 3, title: 'v', quantity: 1, unitPrice: '1.00', total: '1' } as never)).rejects.toThrow(ValidationError)
  })

  it('upserts without writing the generated column', async () => {
    const { Line } = await create(setup.freshSchema())
    const lines = repository(Line, setup.db)
    await lines.insert({ id: 1, title: 't', quantity: 1, unitPrice: '1.00' })
    const row = await lines.upsert({ id: 1, title: 't', quantity: 5, unitPrice: '1.00' })
    expect(row.total).toBe('5.00')
  })

  it('enforces an expression unique index (lower(email)) only among rows that are not deleted', async () => {
    const { Account } = await create(setup.freshSchema())
    const accounts = repository(Account, setup.db)
    await accounts.insert({ id: 1, email: 'Ada@example.com' })
    await expect(accounts.insert({ id: 2, email: 'ada@EXAMPLE.com' })).rejects.toThrow(UniqueViolationError)
    await accounts.update(1, { deletedAt: new Date() })
    await accounts.insert({ id: 2, email: 'ada@EXAMPLE.com' })
    await accounts.insert({ id: 3, email: 'Ada@example.com', deletedAt: new Date() })
    expect(await accounts.count()).toBe(3)
  })

  it('round-trips through introspection: the diff is empty; a changed expression is a destructive re-add', async () => {
    const schema = setup.freshSchema()
    const { Line, Account } = await create(schema)
    expect((await diffSchema([Line, Account], setup.db)).changes).toEqual([])
    const live = (await introspectSchema(setup.db, schema)).get('lines')
    expect(live?.columns.find((c) => c.name === 'total')).toMatchObject({
      generated: '((quantity)::numeric * unit_price)',
      default: undefined,
    })
    const indexes = (await introspectSchema(setup.db, schema)).get('accounts')?.indexes.map((i) => i.definition)
    expect(indexes).toContain(
      `CREATE UNIQUE INDEX accounts_lower_email_key ON ${schema}.accounts USING btree (lower(email)) WHERE (deleted_at IS NULL)`,
    )

    const changed = entitiesIn(schema, sql`${sql.id('quantity')} * ${sql.id('unit_price')} * ${2}`)
    const diff = await diffSchema([changed.Line, changed.Account], setup.db)
    expect(diff.changes).toEqual([])
    expect(diff.skipped.map((c) => c.description)).toEqual([
      `change the generation expression of ${schema}.lines.total: drop the column`,
      `change the generation expression of ${schema}.lines.total: add it again`,
    ])
    const applied = await diffSchema([changed.Line, changed.Account], setup.db, { destructive: true })
    for (const statement of applied.statements) await setup.db.query(statement)
    expect((await diffSchema([changed.Line, changed.Account], setup.db)).changes).toEqual([])
  })
})
