import { sql } from '@tessera/core'
import { describe, expect, it } from 'vitest'
import {
  bigint,
  createMigrator,
  defineEntity,
  diffSchema,
  enumOf,
  integer,
  introspectSchema,
  numeric,
  text,
  timestamptz,
  uuid,
  varchar,
} from '../src/index'
import { PROVIDERS, useProviderWithSchemas } from './providers'

function entitiesIn(schema: string) {
  const Author = defineEntity(
    'DiffAuthor',
    {
      id: uuid().primaryKey().generated('uuidv4'),
      email: varchar(320).unique(),
      name: text(),
      status: enumOf(['active', 'banned']).default('active'),
      age: integer()
        .nullable()
        .check((c) => sql`${c} >= ${0}`)
        .index(),
      createdAt: timestamptz().createdAt(),
    },
    { schema, table: 'authors' },
  )
  const Book = defineEntity(
    'DiffBook',
    {
      id: integer().primaryKey().generated('identity'),
      authorId: uuid().references(() => Author.fields.id, { onDelete: 'cascade' }),
      title: text(),
      price: numeric(10, 2).default('0'),
    },
    { schema, table: 'books', indexes: [{ fields: ['authorId', 'title'], unique: true }] },
  )
  return [Author, Book] as const
}

describe.each(PROVIDERS)('diffSchema on $name', (factory) => {
  const setup = useProviderWithSchemas(factory, 'diff')
  const freshSchema = setup.freshSchema

  it('creates everything in an empty database, writes nothing itself, and is empty once applied', async () => {
    const schema = freshSchema()
    const entities = entitiesIn(schema)
    const diff = await diffSchema(entities, setup.db)
    expect(diff.changes.map((c) => c.kind)).toEqual([
      'createSchema',
      'createTable',
      'createTable',
      'createIndex',
      'createIndex',
      'addForeignKey',
    ])
    expect(diff.skipped).toEqual([])
    const { rows } = await setup.db.query(sql`SELECT 1 FROM pg_namespace WHERE nspname = ${schema}`)
    expect(rows).toEqual([])

    await createMigrator(setup.db, { migrations: [{ id: 1, name: 'initial', up: diff.up }], schema }).up()
    const again = await diffSchema(entities, setup.db)
    expect(again.changes).toEqual([])
    expect(again.skipped).toEqual([])
  })

  it('brings an older hand-made shape to the definitions, destructive steps only when asked', async () => {
    const schema = freshSchema()
    const q = (text: string) => setup.db.query(text.replaceAll('S.', `"${schema}".`), undefined, { prepare: false })
    await setup.db.query(sql`CREATE SCHEMA ${sql.id(schema)}`)
    await q(`CREATE TABLE S.authors (id uuid PRIMARY KEY, email text, name text NOT NULL DEFAULT 'x', legacy text, age bigint)`)
    await q(`INSERT INTO S.authors (id, email, name, legacy, age) VALUES (gen_random_uuid(), 'a@b.c', 'Ann', 'old', 41)`)
    await q(`CREATE INDEX authors_legacy_idx ON S.authors (legacy)`)
    const entities = entitiesIn(schema)

    const diff = await diffSchema(entities, setup.db)
    const described = diff.changes.map((c) => c.description)
    expect(described).toEqual(
      expect.arrayContaining([
        `create table ${schema}.books`,
        `add column ${schema}.authors.status`,
        `add column ${schema}.authors.created_at`,
        `forbid NULL in ${schema}.authors.email (fails if it holds NULLs)`,
        `drop default of ${schema}.authors.name`,
        `add unique (email) on ${schema}.authors`,
        `add check authors_age_check on ${schema}.authors`,
        `create index authors_age_idx on ${schema}.authors`,
        `drop index authors_legacy_idx on ${schema}.authors`,
        `add foreign key books_author_id_fkey on ${schema}.books`,
      ]),
    )
    expect(diff.changes.every((c) => !c.destructive)).toBe(true)
    expect(diff.skipped.map((c) => c.description).sort()).toEqual([
      `change type of ${schema}.authors.age from bigint to integer`,
      `change type of ${schema}.authors.email from text to character varying(320)`,
      `drop column ${schema}.authors.legacy`,
    ])

    await setup.db.query(diff.up, undefined, { prepare: false })
    const safe = await diffSchema(entities, setup.db)
    expect(safe.changes).toEqual([])
    expect(safe.skipped).toHaveLength(3)

    const destructive = await diffSchema(entities, setup.db, { destructive: true })
    expect(destructive.up).toContain(`-- DESTRUCTIVE: drop column ${schema}.authors.legacy\nALTER TABLE`)
    await setup.db.query(destructive.up, undefined, { prepare: false })

    const after = await diffSchema(entities, setup.db, { destructive: true })
    expect(after.changes).toEqual([])
    expect(after.skipped).toEqual([])
    const { rows } = await setup.db.query<{ email: string; age: number; status: string }>(
      `SELECT email, age, status FROM "${schema}".authors`,
    )
    expect(rows).toEqual([{ email: 'a@b.c', age: 41, status: 'active' }])
  })

  it('widens numeric, varchar and integer columns without a destructive step, keeping the values', async () => {
    const schema = freshSchema()
    await setup.db.query(sql`CREATE SCHEMA ${sql.id(schema)}`)
    await setup.db.query(
      `CREATE TABLE "${schema}".prices (id integer PRIMARY KEY, amount numeric(6,2) NOT NULL, code varchar(10) NOT NULL, qty integer NOT NULL, rate numeric(8,2) NOT NULL)`,
    )
    await setup.db.query(`INSERT INTO "${schema}".prices VALUES (1, 9999.99, 'abc', 7, 123456.78)`)
    const Price = defineEntity(
      'DiffPrice',
      { id: integer().primaryKey(), amount: numeric(8, 2), code: varchar(20), qty: bigint(), rate: numeric(6, 2) },
      { schema, table: 'prices' },
    )
    const diff = await diffSchema([Price], setup.db)
    expect(diff.changes.map((c) => [c.description, c.destructive])).toEqual([
      [`change type of ${schema}.prices.amount from numeric(6,2) to numeric(8,2) (widening: every value is kept)`, false],
      [`change type of ${schema}.prices.code from character varying(10) to character varying(20) (widening: every value is kept)`, false],
      [`change type of ${schema}.prices.qty from integer to bigint (widening: every value is kept)`, false],
    ])
    expect(diff.skipped.map((c) => c.description)).toEqual([`change type of ${schema}.prices.rate from numeric(8,2) to numeric(6,2)`])
    await setup.db.query(diff.up, undefined, { prepare: false })
    const { rows } = await setup.db.query(`SELECT amount, code, qty FROM "${schema}".prices`)
    expect(rows).toEqual([{ amount: '9999.99', code: 'abc', qty: 7n }])
  })

  it('drops tables no entity defines only with dropUnknownTables and destructive, and never the migrations table', async () => {
    const schema = freshSchema()
    const entities = entitiesIn(schema)
    await setup.db.query((await diffSchema(entities, setup.db)).up, undefined, { prepare: false })
    await setup.db.query(`CREATE TABLE "${schema}".stray (id int)`, undefined, { prepare: false })
    await setup.db.query(`CREATE TABLE "${schema}".tessera_migrations (id text)`, undefined, { prepare: false })
    expect((await diffSchema(entities, setup.db, { destructive: true })).changes).toEqual([])
    const dropping = await diffSchema(entities, setup.db, { destructive: true, dropUnknownTables: true })
    expect(dropping.changes.map((c) => c.sql)).toEqual([`DROP TABLE "${schema}"."stray"`])
  })

  it('reads tables, columns, keys, indexes and foreign keys from the catalog', async () => {
    const schema = freshSchema()
    await setup.db.query((await diffSchema(entitiesIn(schema), setup.db)).up, undefined, { prepare: false })
    const tables = await introspectSchema(setup.db, schema)
    const books = tables.get('books')
    expect(books?.primaryKey).toEqual(['id'])
    expect(books?.columns.find((c) => c.name === 'id')).toMatchObject({ type: 'integer', identity: true, nullable: false })
    expect(books?.columns.find((c) => c.name === 'price')).toMatchObject({ type: 'numeric(10,2)', default: "'0'::numeric" })
    expect(books?.foreignKeys).toEqual([
      {
        name: 'books_author_id_fkey',
        columns: ['author_id'],
        referencedSchema: schema,
        referencedTable: 'authors',
        referencedColumns: ['id'],
        onDelete: 'cascade',
        onUpdate: 'no action',
      },
    ])
    expect(books?.indexes.find((i) => !i.primary)).toMatchObject({ columns: ['author_id', 'title'], unique: true, method: 'btree' })
  })
})
