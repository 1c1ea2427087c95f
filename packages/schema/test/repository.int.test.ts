import { tracingChannel } from 'node:diagnostics_channel'
import {
  NotFoundError,
  OptimisticLockError,
  type Provider,
  type QueryMessage,
  sql,
  UniqueViolationError,
  ValidationError,
} from '@tessera/core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  DuplicateKeyError,
  defineEntity,
  type InferEntity,
  integer,
  json,
  repository,
  text,
  timestamptz,
  uuid,
  varchar,
} from '../src/index'
import { PROVIDERS, providerPool, uniqueName } from './providers'

const schema = uniqueName('repo')

const User = defineEntity(
  'RepoUser',
  {
    id: uuid().primaryKey().generated('uuidv7'),
    email: varchar(320).unique(),
    name: text().nullable(),
    age: integer().nullable().min(0),
    rank: integer().default(0),
    tags: json<string[]>().nullable(),
    createdAt: timestamptz().createdAt(),
    updatedAt: timestamptz().updatedAt(),
    version: integer().version(),
  },
  { schema, table: 'users' },
)
type User = InferEntity<typeof User>

const hookLog: string[] = []
let failIn: 'beforeInsert' | 'afterWrite' | 'beforeDelete' | undefined

const Note = defineEntity(
  'RepoNote',
  {
    id: integer().primaryKey(),
    body: text(),
  },
  {
    schema,
    table: 'notes',
    hooks: {
      async beforeInsert(input, { queryable }) {
        // A write made by the hook itself joins the transaction, so it must vanish with a rollback too.
        await queryable?.query(sql`INSERT INTO ${sql.id([schema, 'audit'])} (message) VALUES (${`insert ${input.id}`})`)
        hookLog.push(`beforeInsert ${input.id}`)
        if (failIn === 'beforeInsert') throw new Error('beforeInsert refused')
        return { ...input, body: input.body.trim() }
      },
      afterWrite(row) {
        hookLog.push(`afterWrite ${row.id}`)
        if (failIn === 'afterWrite') throw new Error('afterWrite refused')
      },
      beforeDelete(key) {
        hookLog.push(`beforeDelete ${key.id}`)
        if (failIn === 'beforeDelete') throw new Error('beforeDelete refused')
      },
      afterLoad(row) {
        return { ...row, body: `[${row.body}]` }
      },
    },
  },
)

const Item = defineEntity(
  'RepoItem',
  {
    id: integer().primaryKey(),
    category: text(),
    score: integer().nullable(),
    label: text(),
  },
  { schema, table: 'items' },
)

describe.each(PROVIDERS)('repository on $name', (factory) => {
  const pool = providerPool(factory)
  let db: Provider

  beforeAll(async () => {
    db = pool.open()
    await db.query(sql`CREATE SCHEMA ${sql.id(schema)}`)
    await db.query(
      `CREATE TABLE "${schema}".users (id uuid PRIMARY KEY, email varchar(320) NOT NULL CONSTRAINT users_email_key UNIQUE, name text, age integer,
        rank integer NOT NULL DEFAULT 0, tags jsonb, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, version integer NOT NULL)`,
    )
    await db.query(`CREATE TABLE "${schema}".notes (id integer PRIMARY KEY, body text NOT NULL)`)
    await db.query(`CREATE TABLE "${schema}".audit (message text NOT NULL)`)
    await db.query(`CREATE TABLE "${schema}".items (id integer PRIMARY KEY, category text NOT NULL, score integer, label text NOT NULL)`)
  })

  afterAll(async () => {
    await db.query(sql`DROP SCHEMA IF EXISTS ${sql.id(schema)} CASCADE`)
    await pool.closeAll()
  })

  beforeEach(async () => {
    await db.query(`TRUNCATE "${schema}".users, "${schema}".notes, "${schema}".audit, "${schema}".items`)
    hookLog.length = 0
    failIn = undefined
  })

  async function countRows(table: string): Promise<number> {
    const { rows } = await db.query<{ n: number }>(sql`SELECT count(*)::int AS n FROM ${sql.id([schema, table])}`)
    return rows[0]?.n ?? -1
  }

  describe('insert and read', () => {
    it('inserts a row with generated id, timestamps and version and returns it mapped to fields', async () => {
      const users = repository(User, db)
      const ada = await users.insert({ email: 'ada@example.com', name: 'Ada', tags: ['math', 'engines'] })
      expect(ada).toMatchObject({ email: 'ada@example.com', name: 'Ada', age: null, rank: 0, tags: ['math', 'engines'], version: 1 })
      expect(ada.id).toMatch(/^[0-9a-f-]{36}$/)
      expect(ada.createdAt).toBeInstanceOf(Date)
      expect(await users.findById(ada.id)).toEqual(ada)
      expect(await users.findById('00000000-0000-0000-0000-000000000000')).toBeUndefined()
    })

    it('rejects invalid input with every issue listed and writes nothing', async () => {
      const users = repository(User, db)
      const error = await users.insert({ email: null, age: -1, nickname: 'x' } as never).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ValidationError)
      expect((error as ValidationError).issues.map((i) => i.path.join('.')).sort()).toEqual(['age', 'email', 'nickname'])
      expect(await countRows('users')).toBe(0)
    })

    it('reports a duplicate email as a UniqueViolationError naming the constraint and the field', async () => {
      const users = repository(User, db)
      await users.insert({ email: 'dup@example.com' })
      const error = await users.insert({ email: 'dup@example.com' }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(UniqueViolationError)
      expect(error).toBeInstanceOf(DuplicateKeyError)
      expect((error as DuplicateKeyError).constraint).toBe('users_email_key')
      expect((error as DuplicateKeyError).fields).toEqual(['email'])
      expect((error as Error).message).toContain('RepoUser: email')
    })

    it('finds with where operators, counts and checks existence', async () => {
      const users = repository(User, db)
      await users.insertMany([
        { email: 'a@x.io', name: 'Ann', age: 17 },
        { email: 'b@x.io', name: 'Bob', age: 30 },
        { email: 'c@y.io', name: null, age: 45 },
        { email: 'd@y.io', name: 'Dee', age: null },
      ])
      const emails = async (where: Parameters<typeof users.count>[0]) =>
        (await users.findMany({ where, orderBy: { email: 'asc' } })).rows.map((u) => u.email)

      expect(await emails({ age: { gte: 18 } })).toEqual(['b@x.io', 'c@y.io'])
      expect(await emails({ age: { between: [17, 30] }, email: { like: '%@x.io' } })).toEqual(['a@x.io', 'b@x.io'])
      expect(await emails({ name: null })).toEqual(['c@y.io'])
      expect(await emails({ name: { isNotNull: true }, age: { ne: 17 } })).toEqual(['b@x.io'])
      expect(await emails({ email: { in: ['a@x.io', 'd@y.io', 'zz'] } })).toEqual(['a@x.io', 'd@y.io'])
      expect(await emails({ email: { notIn: ['a@x.io'] }, name: { ilike: 'd%' } })).toEqual(['d@y.io'])
      expect(await emails({ or: [{ age: { lt: 18 } }, { age: null }] })).toEqual(['a@x.io', 'd@y.io'])
      expect(await emails({ not: { email: { like: '%@x.io' } } })).toEqual(['c@y.io', 'd@y.io'])
      expect(await emails({ email: { in: [] } })).toEqual([])

      expect(await users.count()).toBe(4)
      expect(await users.count({ age: { gt: 20 } })).toBe(2)
      expect(await users.exists({ email: 'c@y.io' })).toBe(true)
      expect(await users.exists({ email: 'nobody' })).toBe(false)
      expect((await users.findOne({ name: 'Bob' }))?.email).toBe('b@x.io')
      expect(await users.findOne({ name: 'Nobody' })).toBeUndefined()
    })

    it('refuses unknown fields in where and orderBy with a ValidationError and sends no SQL', async () => {
      const users = repository(User, db)
      const sent: string[] = []
      const channel = tracingChannel<unknown, QueryMessage>('tessera:query')
      const subscriber = { start: (m: QueryMessage) => sent.push(m.sql), end() {}, asyncStart() {}, asyncEnd() {}, error() {} }
      channel.subscribe(subscriber)
      try {
        await expect(users.findMany({ where: { "email\" = '' OR TRUE --": 'x' } as never })).rejects.toBeInstanceOf(ValidationError)
        await expect(users.findMany({ orderBy: { password: 'asc' } as never })).rejects.toBeInstanceOf(ValidationError)
        await expect(users.count({ age: { near: 3 } } as never)).rejects.toBeInstanceOf(ValidationError)
      } finally {
        channel.unsubscribe(subscriber)
      }
      expect(sent).toEqual([])
    })
  })

  describe('insertMany', () => {
    it('inserts 100,000 rows in one transaction split under the 65,535-parameter limit', async () => {
      const items = repository(Item, db)
      const rows = Array.from({ length: 100_000 }, (_, i) => ({
        id: i + 1,
        category: `c${i % 7}`,
        score: i % 13 === 0 ? null : i,
        label: `item ${i}`,
      }))
      const inserted = await items.insertMany(rows, { returning: false })
      expect(inserted).toBe(100_000)
      expect(await countRows('items')).toBe(100_000)
      expect(await items.findById(99_999)).toEqual({ id: 99_999, category: `c${99_998 % 7}`, score: 99_998, label: 'item 99998' })
    })

    it('writes nothing when a row of the last chunk fails in the database', async () => {
      const items = repository(Item, db)
      const rows = Array.from({ length: 40_000 }, (_, i) => ({ id: i + 1, category: 'c', score: i, label: 'x' }))
      rows.push({ id: 1, category: 'dup', score: 0, label: 'x' })
      await expect(items.insertMany(rows, { returning: false })).rejects.toBeInstanceOf(UniqueViolationError)
      expect(await countRows('items')).toBe(0)
    })

    it('validates every row first and reports issues with the row index', async () => {
      const users = repository(User, db)
      const error = await users
        .insertMany([{ email: 'ok@x.io' }, { email: 'x', age: -5 }, { name: 'no email' } as never])
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ValidationError)
      expect((error as ValidationError).issues.map((i) => i.path.join('.'))).toEqual(['1.age', '2.email'])
      expect(await countRows('users')).toBe(0)
    })

    it('skips validation with validate: false, leaving the database constraints in charge', async () => {
      const users = repository(User, db)
      expect(await users.insertMany([{ email: 'x', age: -5 }], { returning: false, validate: false })).toBe(1)
      await expect(users.insertMany([{ email: null } as never], { validate: false })).rejects.toThrow(/null value in column "email"/)
      expect(await countRows('users')).toBe(1)
    })

    it('returns the inserted rows mapped, in input order', async () => {
      const users = repository(User, db)
      const result = await users.insertMany([{ email: '1@x.io' }, { email: '2@x.io', age: 3 }])
      expect(result.map((u) => [u.email, u.age, u.version])).toEqual([
        ['1@x.io', null, 1],
        ['2@x.io', 3, 1],
      ])
    })
  })

  describe('findMany pages', () => {
    it('returns every row exactly once across keyset pages when sort values repeat', async () => {
      const items = repository(Item, db)
      await items.insertMany(
        Array.from({ length: 37 }, (_, i) => ({
          id: 1000 - i * 7,
          category: ['a', 'b', 'c'][i % 3] as string,
          score: i % 4 === 0 ? null : i % 5,
          label: 'x',
        })),
      )
      for (const orderBy of [{ category: 'asc' }, { score: 'desc' }, { score: 'asc', category: 'desc' }] as const) {
        const all = (await items.findMany({ orderBy })).rows.map((r) => r.id)
        const paged: number[] = []
        let after: string | undefined
        for (let page = 0; page < 50; page++) {
          const result = await items.findMany({ orderBy, limit: 4, after })
          paged.push(...result.rows.map((r) => r.id))
          after = result.nextCursor
          if (after === undefined) break
        }
        expect(paged).toHaveLength(37)
        expect(new Set(paged).size).toBe(37)
        expect(paged).toEqual(all)
      }
    })

    it('keeps microsecond timestamps exact in cursors', async () => {
      const users = repository(User, db)
      for (let i = 0; i < 6; i++) await users.insert({ email: `${i}@t.io` })
      // Same millisecond, different microseconds: a cursor holding a JavaScript Date would repeat or skip rows.
      await db.query(
        `UPDATE "${schema}".users SET created_at = '2024-01-01 00:00:00.123'::timestamptz + (substr(email, 1, 1)::int * interval '1 microsecond')`,
      )
      const seen: string[] = []
      let after: string | undefined
      do {
        const page = await users.findMany({ orderBy: { createdAt: 'asc' }, limit: 2, after })
        seen.push(...page.rows.map((u) => u.email))
        after = page.nextCursor
      } while (after !== undefined)
      expect(seen).toEqual(['0@t.io', '1@t.io', '2@t.io', '3@t.io', '4@t.io', '5@t.io'])
    })

    it('supports limit/offset and refuses a cursor made for another ordering', async () => {
      const items = repository(Item, db)
      await items.insertMany(Array.from({ length: 5 }, (_, i) => ({ id: i + 1, category: 'a', score: i, label: 'x' })))
      const page = await items.findMany({ orderBy: { score: 'desc' }, limit: 2, offset: 1 })
      expect(page.rows.map((r) => r.id)).toEqual([4, 3])
      expect(page.nextCursor).toBeTypeOf('string')
      await expect(items.findMany({ orderBy: { score: 'asc' }, after: page.nextCursor })).rejects.toBeInstanceOf(ValidationError)
      await expect(items.findMany({ after: 'not-a-cursor' })).rejects.toBeInstanceOf(ValidationError)
      const last = await items.findMany({ limit: 10 })
      expect(last.rows).toHaveLength(5)
      expect(last.nextCursor).toBeUndefined()
    })
  })

  describe('update, upsert, delete', () => {
    it('updates with the expected version, bumps it and sets updatedAt', async () => {
      const users = repository(User, db)
      const ada = await users.insert({ email: 'ada@x.io' })
      await new Promise((resolve) => setTimeout(resolve, 5))
      const updated = await users.update(ada.id, { name: 'Ada', version: ada.version })
      expect(updated).toMatchObject({ name: 'Ada', version: 2, email: 'ada@x.io' })
      expect(updated.updatedAt.getTime()).toBeGreaterThan(ada.updatedAt.getTime())
      expect(updated.createdAt).toEqual(ada.createdAt)

      await expect(users.update(ada.id, { name: 'stale', version: 1 })).rejects.toBeInstanceOf(OptimisticLockError)
      await expect(users.update(ada.id, { name: 'by option' }, { expectedVersion: 2 })).resolves.toMatchObject({ version: 3 })
      await expect(users.update(ada.id, { age: -3 })).rejects.toBeInstanceOf(ValidationError)
      await expect(users.update('00000000-0000-0000-0000-000000000000', { name: 'x' })).rejects.toBeInstanceOf(NotFoundError)
      expect(await users.findById(ada.id)).toMatchObject({ name: 'by option', version: 3 })
    })

    it('updates without a version check when no expected version is given: the last write wins', async () => {
      const users = repository(User, db)
      const row = await users.insert({ email: 'lww@x.io' })
      // Two writers read version 1; neither passes it, so neither is checked.
      await users.update(row.id, { name: 'first' })
      const last = await users.update(row.id, { name: 'second' })
      expect(last).toMatchObject({ name: 'second', version: 3 })
      expect(await users.findById(row.id)).toMatchObject({ name: 'second', version: 3 })
      // The same stale write with its version is refused.
      await expect(users.update(row.id, { name: 'stale', version: row.version })).rejects.toBeInstanceOf(OptimisticLockError)
    })

    it('lets exactly one of two concurrent updates with the same expected version win', async () => {
      const users = repository(User, db)
      const other = repository(User, pool.open())
      const row = await users.insert({ email: 'race@x.io' })
      const results = await Promise.allSettled([
        users.update(row.id, { name: 'first', version: row.version }),
        other.update(row.id, { name: 'second', version: row.version }),
      ])
      const won = results.filter((r) => r.status === 'fulfilled')
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
      expect(won).toHaveLength(1)
      expect(lost).toHaveLength(1)
      expect(lost[0]?.reason).toBeInstanceOf(OptimisticLockError)
      expect(await users.findById(row.id)).toMatchObject({ version: 2 })
    })

    it('updates and deletes many rows by filter and reports the counts', async () => {
      const users = repository(User, db)
      await users.insertMany([
        { email: 'a@x.io', age: 10 },
        { email: 'b@x.io', age: 20 },
        { email: 'c@x.io', age: 30 },
      ])
      expect(await users.updateMany({ age: { gte: 20 } }, { name: 'grown' })).toBe(2)
      const grown = (await users.findMany({ where: { name: 'grown' } })).rows
      expect(grown.map((u) => u.version)).toEqual([2, 2])
      expect(await users.deleteMany({ name: 'grown' })).toBe(2)
      expect(await users.count()).toBe(1)
    })

    it('upserts on the primary key and on unique fields', async () => {
      const users = repository(User, db)
      const first = await users.upsert({ email: 'up@x.io', name: 'one' }, { conflict: { fields: ['email'] } })
      const second = await users.upsert({ email: 'up@x.io', name: 'two' }, { conflict: { fields: ['email'] } })
      expect(second).toMatchObject({ id: first.id, name: 'two', version: 2 })
      const third = await users.upsert({ id: first.id, email: 'up@x.io', name: 'three' })
      expect(third).toMatchObject({ id: first.id, name: 'three', version: 3 })
      const named = await users.upsert({ email: 'up@x.io', name: 'four' }, { conflict: { constraint: 'users_email_key' } })
      expect(named).toMatchObject({ id: first.id, name: 'four', createdAt: first.createdAt })
      expect(await users.count()).toBe(1)
    })

    it('deletes by id and says whether a row was there', async () => {
      const users = repository(User, db)
      const row = await users.insert({ email: 'gone@x.io' })
      expect(await users.delete(row.id)).toBe(true)
      expect(await users.delete(row.id)).toBe(false)
    })
  })

  describe('hooks and transactions', () => {
    it('runs beforeInsert, afterWrite and afterLoad in order and applies their changes', async () => {
      const notes = repository(Note, db)
      const note = await notes.insert({ id: 1, body: '  hello  ' })
      expect(note).toEqual({ id: 1, body: '[hello]' })
      expect(hookLog).toEqual(['beforeInsert 1', 'afterWrite 1'])
      expect(await notes.findById(1)).toEqual({ id: 1, body: '[hello]' })
      expect((await notes.findMany()).rows).toEqual([{ id: 1, body: '[hello]' }])
      expect(await countRows('audit')).toBe(1)
    })

    it('rolls back the write, and the hook’s own writes, when a hook throws', async () => {
      const notes = repository(Note, db)
      failIn = 'beforeInsert'
      await expect(notes.insert({ id: 1, body: 'x' })).rejects.toThrow('beforeInsert refused')
      failIn = 'afterWrite'
      await expect(notes.insert({ id: 2, body: 'x' })).rejects.toThrow('afterWrite refused')
      await expect(
        notes.insertMany([
          { id: 3, body: 'x' },
          { id: 4, body: 'y' },
        ]),
      ).rejects.toThrow('afterWrite refused')
      expect(await countRows('notes')).toBe(0)
      expect(await countRows('audit')).toBe(0)

      failIn = undefined
      await notes.insert({ id: 5, body: 'x' })
      failIn = 'beforeDelete'
      await expect(notes.delete(5)).rejects.toThrow('beforeDelete refused')
      await expect(notes.deleteMany({ id: 5 })).rejects.toThrow('beforeDelete refused')
      expect(await countRows('notes')).toBe(1)
    })

    it('runs beforeDelete for every row deleteMany removes', async () => {
      const notes = repository(Note, db)
      await notes.insertMany([
        { id: 1, body: 'a' },
        { id: 2, body: 'b' },
        { id: 3, body: 'c' },
      ])
      hookLog.length = 0
      expect(await notes.deleteMany({ id: { in: [1, 3] } })).toBe(2)
      expect(hookLog.sort()).toEqual(['beforeDelete 1', 'beforeDelete 3'])
      expect(await countRows('notes')).toBe(1)
    })

    it('keeps nothing of a write whose hook threw when the caller catches the error and commits', async () => {
      const notes = repository(Note, db)
      await db.transaction(async (tx) => {
        const inTx = notes.withTransaction(tx)
        await inTx.insert({ id: 1, body: 'kept' })
        failIn = 'afterWrite'
        await expect(inTx.insert({ id: 2, body: 'x' })).rejects.toThrow('afterWrite refused')
        await expect(inTx.insertMany([{ id: 3, body: 'x' }])).rejects.toThrow('afterWrite refused')
        await expect(inTx.upsert({ id: 4, body: 'x' })).rejects.toThrow('afterWrite refused')
        await expect(inTx.update(1, { body: 'changed' })).rejects.toThrow('afterWrite refused')
        await expect(inTx.updateMany({ id: 1 }, { body: 'changed' })).rejects.toThrow('afterWrite refused')
        failIn = 'beforeInsert'
        await expect(inTx.insert({ id: 5, body: 'x' })).rejects.toThrow('beforeInsert refused')
        failIn = undefined
        // The transaction is still usable after the failed writes.
        await inTx.insert({ id: 6, body: 'also kept' })
      })
      expect((await notes.findMany()).rows.map((n) => [n.id, n.body])).toEqual([
        [1, '[kept]'],
        [6, '[also kept]'],
      ])
      // One audit row per kept insert: the failed inserts' hook writes went with their savepoints.
      expect(await countRows('audit')).toBe(2)
    })

    it('joins a caller’s transaction with withTransaction, so its rollback undoes the writes', async () => {
      const users = repository(User, db)
      await expect(
        db.transaction(async (tx) => {
          const inTx = users.withTransaction(tx)
          await inTx.insert({ email: 'tx@x.io' })
          expect(await inTx.count()).toBe(1)
          expect(await users.count()).toBe(0)
          throw new Error('abort')
        }),
      ).rejects.toThrow('abort')
      expect(await users.count()).toBe(0)

      await db.transaction(async (tx) => {
        await repository(User, tx).insert({ email: 'kept@x.io' })
      })
      expect(await users.count()).toBe(1)
    })
  })
})

// Keeps the inferred row type in use: a compile error here means InferEntity changed shape.
const _typed: Pick<User, 'email' | 'version'> = { email: 'x', version: 1 }
void _typed
