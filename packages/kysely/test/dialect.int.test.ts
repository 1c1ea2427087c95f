import {
  ConfigError,
  isConnectionLoss,
  isTesseraError,
  type Provider,
  ProviderClosedError,
  type Queryable,
  QueryCanceledError,
  type QueryContext,
  UniqueViolationError,
} from '@tessera/core'
import { type Generated, Kysely, Migrator, sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { createTesseraDialect, KyselyDialectError, TesseraDialect, withConnection } from '../src/index'
import { PG_URL, PROVIDERS, useProvider } from './providers'

interface Database {
  person: { id: Generated<number>; first_name: string; last_name: string | null; email: string }
  pet: { id: Generated<number>; owner_id: number; name: string; species: string }
}

async function createTables(db: Kysely<Database>): Promise<void> {
  await db.schema
    .createTable('person')
    .addColumn('id', 'serial', (col) => col.primaryKey())
    .addColumn('first_name', 'text', (col) => col.notNull())
    .addColumn('last_name', 'text')
    .addColumn('email', 'text', (col) => col.notNull().unique())
    .execute()
  await db.schema
    .createTable('pet')
    .addColumn('id', 'serial', (col) => col.primaryKey())
    .addColumn('owner_id', 'integer', (col) => col.notNull().references('person.id').onDelete('cascade'))
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('species', 'text', (col) => col.notNull())
    .execute()
}

describe.each(PROVIDERS)('Kysely over the $name provider', (factory) => {
  const env = useProvider(factory, 'kysely_dialect')

  async function database(provider: Provider = env.provider): Promise<{ db: Kysely<Database>; schema: string }> {
    const schema = await env.freshSchema()
    const db = new Kysely<Database>({ dialect: createTesseraDialect({ queryable: provider }) }).withSchema(schema)
    await createTables(db)
    return { db, schema }
  }

  async function seed(db: Kysely<Database>): Promise<number> {
    const { id } = await db
      .insertInto('person')
      .values({ first_name: 'Jennifer', last_name: 'Aniston', email: 'jennifer@example.com' })
      .returning('id')
      .executeTakeFirstOrThrow()
    await db
      .insertInto('pet')
      .values([
        { owner_id: id, name: 'Catto', species: 'cat' },
        { owner_id: id, name: 'Doggo', species: 'dog' },
      ])
      .execute()
    return id
  }

  it('selects, inserts with returning, updates and deletes, with row counts', async () => {
    const { db } = await database()
    const id = await seed(db)
    const person = await db.selectFrom('person').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
    expect(person).toEqual({ id, first_name: 'Jennifer', last_name: 'Aniston', email: 'jennifer@example.com' })

    const updated = await db.updateTable('person').set({ last_name: 'Lawrence' }).where('id', '=', id).executeTakeFirstOrThrow()
    expect(updated.numUpdatedRows).toBe(1n)
    const deleted = await db.deleteFrom('pet').where('species', '=', 'dog').executeTakeFirstOrThrow()
    expect(deleted.numDeletedRows).toBe(1n)
    const inserted = await db.insertInto('pet').values({ owner_id: id, name: 'Hammo', species: 'hamster' }).executeTakeFirstOrThrow()
    expect(inserted.numInsertedOrUpdatedRows).toBe(1n)
    const names = await db.selectFrom('pet').select('name').orderBy('name').execute()
    expect(names.map((row) => row.name)).toEqual(['Catto', 'Hammo'])
  })

  it('joins and aggregates', async () => {
    const { db } = await database()
    await seed(db)
    const rows = await db
      .selectFrom('person')
      .innerJoin('pet', 'pet.owner_id', 'person.id')
      .select(['person.first_name', db.fn.count<string>('pet.id').as('pets')])
      .groupBy('person.first_name')
      .execute()
    // count() is int8: a bigint from Tessera's converter on both drivers.
    expect(rows).toEqual([{ first_name: 'Jennifer', pets: 2n }])
  })

  it('runs raw sql with parameters through the provider', async () => {
    const { db, schema } = await database()
    await seed(db)
    const result = await sql<{ name: string }>`SELECT name FROM ${sql.table(`${schema}.pet`)} WHERE species = ${'cat'}`.execute(db)
    expect(result.rows).toEqual([{ name: 'Catto' }])
  })

  it('passes every statement through the provider hooks', async () => {
    const seen: QueryContext[] = []
    const provider = env.open({
      hooks: {
        onQuery: (ctx, next) => {
          seen.push(ctx)
          return next(ctx)
        },
      },
    })
    const db = new Kysely<Database>({ dialect: new TesseraDialect({ queryable: provider }) })
    await db.selectNoFrom(sql<number>`1`.as('one')).execute()
    await db.transaction().execute((trx) => trx.selectNoFrom(sql<number>`2`.as('two')).execute())
    expect(seen.map((ctx) => [ctx.sql, ctx.transaction])).toEqual([
      ['select 1 as "one"', false],
      ['select 2 as "two"', true],
    ])
  })

  it('reaches the caller with the typed error of a failed statement', async () => {
    const { db } = await database()
    await seed(db)
    const error = await db
      .insertInto('person')
      .values({ first_name: 'Again', email: 'jennifer@example.com' })
      .execute()
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UniqueViolationError)
    expect((error as UniqueViolationError).constraint).toBe('person_email_key')
  })

  it('commits a transaction and rolls one back when its function throws, with the typed error', async () => {
    const { db } = await database()
    const committed = await db.transaction().execute(async (trx) => {
      await trx.insertInto('person').values({ first_name: 'Ada', email: 'ada@example.com' }).execute()
      return trx.selectFrom('person').select('first_name').executeTakeFirstOrThrow()
    })
    expect(committed.first_name).toBe('Ada')

    const error = await db
      .transaction()
      .execute(async (trx) => {
        await trx.insertInto('person').values({ first_name: 'Grace', email: 'grace@example.com' }).execute()
        await trx.insertInto('person').values({ first_name: 'Ada again', email: 'ada@example.com' }).execute()
      })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UniqueViolationError)
    const names = await db.selectFrom('person').select('first_name').execute()
    expect(names).toEqual([{ first_name: 'Ada' }])
  })

  it('sets the isolation level and access mode of a transaction', async () => {
    const { db } = await database()
    const modes = await db
      .transaction()
      .setIsolationLevel('serializable')
      .setAccessMode('read only')
      .execute(async (trx) => {
        const isolation = await sql<{ level: string }>`SELECT current_setting('transaction_isolation') AS level`.execute(trx)
        const readOnly = await sql<{ ro: string }>`SELECT current_setting('transaction_read_only') AS ro`.execute(trx)
        return [isolation.rows[0]?.level, readOnly.rows[0]?.ro]
      })
    expect(modes).toEqual(['serializable', 'on'])
    const error = await db
      .transaction()
      .setAccessMode('read only')
      .execute((trx) => trx.insertInto('person').values({ first_name: 'No', email: 'no@example.com' }).execute())
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ code: '25006' })
  })

  it('refuses an isolation level Tessera does not offer, with a ConfigError naming it', async () => {
    const { db } = await database()
    const error = await db
      .transaction()
      .setIsolationLevel('read uncommitted')
      .execute(() => Promise.resolve())
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message).toContain('isolation is "read uncommitted"')
  })

  it('runs controlled transactions with nested savepoints, rolled back and released', async () => {
    const { db } = await database()
    const trx = await db.startTransaction().execute()
    await trx.insertInto('person').values({ first_name: 'Outer', email: 'outer@example.com' }).execute()
    const afterOuter = await trx.savepoint('after_outer').execute()
    await afterOuter.insertInto('person').values({ first_name: 'Kept', email: 'kept@example.com' }).execute()
    const inner = await afterOuter.savepoint('inner').execute()
    await inner.insertInto('person').values({ first_name: 'Undone', email: 'undone@example.com' }).execute()
    // A failed statement inside the savepoint: rolling back to it makes the transaction usable again.
    await expect(inner.insertInto('person').values({ first_name: 'Dup', email: 'outer@example.com' }).execute()).rejects.toBeInstanceOf(
      UniqueViolationError,
    )
    const back = await inner.rollbackToSavepoint('inner').execute()
    // The savepoint stays after ROLLBACK TO, as in SQL: more work in it, then another rollback to it.
    await back.insertInto('person').values({ first_name: 'Also undone', email: 'also@example.com' }).execute()
    await back.rollbackToSavepoint('inner').execute()
    await back.releaseSavepoint('after_outer').execute()
    await trx.commit().execute()
    const names = await db.selectFrom('person').select('first_name').orderBy('id').execute()
    expect(names.map((row) => row.first_name)).toEqual(['Outer', 'Kept'])
  })

  it('rolls back a controlled transaction with open savepoints and says which savepoint names are open', async () => {
    const { db } = await database()
    const trx = await db.startTransaction().execute()
    const sp = await trx.savepoint('one').execute()
    await sp.insertInto('person').values({ first_name: 'Gone', email: 'gone@example.com' }).execute()
    const error = await sp
      .releaseSavepoint('two' as 'one')
      .execute()
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(KyselyDialectError)
    expect((error as Error).message).toBe('no open savepoint named "two" in this transaction (open: "one")')
    await sp.rollback().execute()
    expect(await db.selectFrom('person').selectAll().execute()).toEqual([])
  })

  it('streams through the provider stream, in chunks, and stops early without leaking', async () => {
    const { db } = await database()
    const { id } = await db
      .insertInto('person')
      .values({ first_name: 'P', email: 'p@example.com' })
      .returning('id')
      .executeTakeFirstOrThrow()
    await db
      .insertInto('pet')
      .values(Array.from({ length: 250 }, (_, n) => ({ owner_id: id, name: `pet ${n}`, species: 'cat' })))
      .execute()
    const names: string[] = []
    for await (const pet of db.selectFrom('pet').select('name').orderBy('id').stream(40)) names.push(pet.name)
    expect(names).toHaveLength(250)
    expect(names[249]).toBe('pet 249')
    let taken = 0
    for await (const _ of db.selectFrom('pet').selectAll().stream(10)) {
      if (++taken === 15) break
    }
    expect(env.provider.stats().inUse).toBe(0)
  })

  it('streams inside a transaction with a cursor on the transaction connection', async () => {
    const { db } = await database()
    const { id } = await db
      .insertInto('person')
      .values({ first_name: 'P', email: 'p@example.com' })
      .returning('id')
      .executeTakeFirstOrThrow()
    const count = await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('pet')
        .values(Array.from({ length: 25 }, (_, n) => ({ owner_id: id, name: `pet ${n}`, species: 'dog' })))
        .execute()
      let seen = 0
      // Rows inserted by this very transaction: only its own connection sees them.
      for await (const _ of trx.selectFrom('pet').selectAll().where('species', '=', 'dog').stream(7)) seen++
      return seen
    })
    expect(count).toBe(25)
  })

  it('ends a stream with the typed error of a row that fails mid-way and frees its connection', async () => {
    const provider = env.open()
    const db = new Kysely<Database>({ dialect: createTesseraDialect({ queryable: provider }) })
    const seen: number[] = []
    const error = await (async () => {
      const series = sql<{ g: number }>`(SELECT g FROM generate_series(1, 60) g)`.as('s')
      const query = db.selectFrom(series).select(sql<number>`100 / (30 - s.g)`.as('n'))
      for await (const row of query.stream(10)) seen.push(row.n)
    })().catch((e: unknown) => e)
    expect(error).toMatchObject({ code: '22012' })
    expect(isTesseraError(error)).toBe(true)
    expect(seen.length).toBeLessThan(30)
    expect(provider.stats().inUse).toBe(0)
    expect((await db.selectNoFrom(sql<number>`1`.as('one')).executeTakeFirstOrThrow()).one).toBe(1)
  })

  it('cancels a statement past its timeout with QueryCanceledError and rolls the transaction back', async () => {
    const { db } = await database()
    const error = await db
      .transaction()
      .execute(async (trx) => {
        await trx.insertInto('person').values({ first_name: 'Slow', email: 'slow@example.com' }).execute()
        await sql`SET LOCAL statement_timeout = 50`.execute(trx)
        await sql`SELECT pg_sleep(5)`.execute(trx)
      })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(QueryCanceledError)
    expect(await db.selectFrom('person').selectAll().execute()).toEqual([])
  })

  it('refuses to run a Kysely transaction body twice when an onTransaction hook calls next() again', async () => {
    const provider = env.open({
      hooks: {
        onTransaction: async (_ctx, next) => {
          await next()
          return next()
        },
      },
    })
    const db = new Kysely<Database>({ dialect: createTesseraDialect({ queryable: provider }) })
    const error = await db
      .transaction()
      .execute((trx) => trx.selectNoFrom(sql<number>`1`.as('one')).execute())
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(KyselyDialectError)
    expect((error as KyselyDialectError).code).toBe('KYSELY_TRANSACTION_RERUN')
    expect(provider.stats().inUse).toBe(0)
  })

  it('runs Kysely migrations with its Migrator inside withConnection (its advisory lock needs one session)', async () => {
    const provider = await env.freshDatabase()
    const schema = 'app'
    await provider.query('CREATE SCHEMA app')
    const db = new Kysely<Database>({ dialect: createTesseraDialect({ queryable: provider }) })
    const migrator = (conn: Kysely<Database>) =>
      new Migrator({
        db: conn,
        migrationTableSchema: schema,
        provider: {
          getMigrations: async () => ({
            '001_person': {
              up: (k: Kysely<unknown>) =>
                k.schema
                  .withSchema(schema)
                  .createTable('person')
                  .addColumn('id', 'serial', (c) => c.primaryKey())
                  .execute(),
              down: (k: Kysely<unknown>) => k.schema.withSchema(schema).dropTable('person').execute(),
            },
            '002_email': {
              up: (k: Kysely<unknown>) => k.schema.withSchema(schema).alterTable('person').addColumn('email', 'text').execute(),
              down: (k: Kysely<unknown>) => k.schema.withSchema(schema).alterTable('person').dropColumn('email').execute(),
            },
          }),
        },
      })
    // Outside withConnection the migrator is refused before it takes its lock, so nothing is left locked.
    const refused = await migrator(db).migrateToLatest()
    expect(refused.error).toMatchObject({ code: 'KYSELY_MIGRATOR_NEEDS_CONNECTION' })
    const { error, results } = await withConnection(db, (conn) => migrator(conn).migrateToLatest())
    expect(error).toBeUndefined()
    expect(results?.map((r) => [r.migrationName, r.status])).toEqual([
      ['001_person', 'Success'],
      ['002_email', 'Success'],
    ])
    const down = await withConnection(db, (conn) => migrator(conn).migrateDown())
    expect(down.results?.map((r) => [r.migrationName, r.direction, r.status])).toEqual([['002_email', 'Down', 'Success']])
  })

  it('introspects tables and columns', async () => {
    const provider = await env.freshDatabase()
    const { schema } = { schema: 'public' }
    const db = new Kysely<Database>({ dialect: createTesseraDialect({ queryable: provider }) })
    await createTables(db)
    const tables = (await db.introspection.getTables()).filter((table) => table.schema === schema)
    expect(tables.map((table) => table.name).sort()).toEqual(['person', 'pet'])
    const person = tables.find((table) => table.name === 'person')
    expect(person?.columns.map((c) => [c.name, c.dataType, c.isNullable, c.hasDefaultValue])).toEqual([
      ['id', 'int4', false, true],
      ['first_name', 'text', false, false],
      ['last_name', 'text', true, false],
      ['email', 'text', false, false],
    ])
  })

  it('runs over a Tessera transaction: its db.transaction() is a savepoint, rolled back alone', async () => {
    const { db, schema } = await database()
    await env.provider.transaction(async (tx) => {
      const inTx = new Kysely<Database>({ dialect: createTesseraDialect({ queryable: tx }) }).withSchema(schema)
      await inTx.insertInto('person').values({ first_name: 'Outer', email: 'outer@example.com' }).execute()
      const error = await inTx
        .transaction()
        .execute(async (trx) => {
          await trx.insertInto('person').values({ first_name: 'Inner', email: 'inner@example.com' }).execute()
          await trx.insertInto('person').values({ first_name: 'Dup', email: 'outer@example.com' }).execute()
        })
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(UniqueViolationError)
      const modes = await inTx
        .transaction()
        .setIsolationLevel('serializable')
        .execute(() => Promise.resolve())
        .catch((e: unknown) => e)
      expect(modes).toMatchObject({ code: 'KYSELY_TRANSACTION_UNSUPPORTED' })
      // Streams over the transaction itself read with a cursor on its connection.
      const streamed: string[] = []
      for await (const person of inTx.selectFrom('person').select('first_name').stream(1)) streamed.push(person.first_name)
      expect(streamed).toEqual(['Outer'])
    })
    const names = await db.selectFrom('person').select('first_name').execute()
    expect(names).toEqual([{ first_name: 'Outer' }])
  })

  it('gives the provider ProviderClosedError to Kysely callers after close(), and destroy() leaves the provider open', async () => {
    const provider = env.open()
    const db = new Kysely<Database>({ dialect: createTesseraDialect({ queryable: provider }) })
    await db.destroy()
    expect((await provider.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
    const again = new Kysely<Database>({ dialect: createTesseraDialect({ queryable: provider }) })
    await provider.close()
    await expect(again.selectNoFrom(sql<number>`1`.as('one')).execute()).rejects.toBeInstanceOf(ProviderClosedError)
    await expect(again.transaction().execute(() => Promise.resolve())).rejects.toBeInstanceOf(ProviderClosedError)
  })

  it('rejects the commit of a Kysely transaction that close() cut, with a typed error, and close() returns', async () => {
    const provider = env.open()
    const db = new Kysely<Database>({ dialect: createTesseraDialect({ queryable: provider }) })
    const trx = await db.startTransaction().execute()
    await trx.selectNoFrom(sql<number>`1`.as('one')).execute()
    await provider.close({ timeoutMs: 100 })
    const error = await trx
      .commit()
      .execute()
      .catch((e: unknown) => e)
    // A connection loss on every driver (the COMMIT's outcome is reported as unknown: 08007).
    expect(isConnectionLoss(error)).toBe(true)
    await trx.rollback().execute()
  })

  it('gives a ConnectionError when the transaction backend is killed, and leaves the pool usable', async () => {
    const provider = env.open()
    const db = new Kysely<Database>({ dialect: createTesseraDialect({ queryable: provider }) })
    const error = await db
      .transaction()
      .execute(async (trx) => {
        const { rows } = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(trx)
        await env.provider.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid])
        await sql`SELECT 1`.execute(trx)
      })
      .catch((e: unknown) => e)
    expect(isConnectionLoss(error)).toBe(true)
    expect((await db.selectNoFrom(sql<number>`1`.as('one')).executeTakeFirstOrThrow()).one).toBe(1)
  })

  it('refuses a second statement on db.connection() and points to withConnection', async () => {
    const { db } = await database()
    const error = await db
      .connection()
      .execute(async (conn) => {
        await conn.selectFrom('person').selectAll().execute()
        await conn.selectFrom('person').selectAll().execute()
      })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(KyselyDialectError)
    expect((error as KyselyDialectError).code).toBe('KYSELY_CONNECTION_NOT_PINNED')
    expect((error as Error).message).toContain('withConnection(db, fn)')
  })

  it('says withConnection needs a queryable with connection() when given one without it', async () => {
    const plain: Queryable = { query: env.provider.query.bind(env.provider) as Queryable['query'] }
    const db = new Kysely<Database>({ dialect: createTesseraDialect({ queryable: plain }) })
    const error = await withConnection(db, (conn) => conn.selectNoFrom(sql<number>`1`.as('one')).execute()).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(KyselyDialectError)
    expect((error as KyselyDialectError).code).toBe('KYSELY_CONNECTION_UNSUPPORTED')
  })

  it('keeps session state across the statements of withConnection, transactions included, on one backend', async () => {
    const db = new Kysely<Database>({ dialect: createTesseraDialect({ queryable: env.provider }) })
    const seen = await withConnection(db, async (conn) => {
      const pid = async (on: Kysely<Database>) => (await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(on)).rows[0]?.pid
      const first = await pid(conn)
      // Session-level (is_local false): lasts past this statement, on this connection only.
      await sql`SELECT set_config('application_name', 'kysely-pinned', false)`.execute(conn)
      const inTransaction = await conn.transaction().execute((trx) => pid(trx))
      const { rows } = await sql<{ name: string }>`SELECT current_setting('application_name') AS name`.execute(conn)
      return { first, inTransaction, last: await pid(conn), name: rows[0]?.name }
    })
    expect(seen.name).toBe('kysely-pinned')
    expect(seen.inTransaction).toBe(seen.first)
    expect(seen.last).toBe(seen.first)
  })

  it('passes the signal and timeout of withConnection to connection(), and refuses a Kysely instance of another dialect', async () => {
    const seen: unknown[] = []
    const inner = env.provider as Queryable & { connection: (fn: unknown, options?: unknown) => Promise<unknown> }
    const recording = {
      query: inner.query.bind(inner),
      connection: (fn: unknown, options?: unknown) => {
        seen.push(options)
        return inner.connection(fn)
      },
    }
    const db = new Kysely<Database>({ dialect: createTesseraDialect({ queryable: recording as Queryable }) })
    const signal = new AbortController().signal
    await withConnection(db, (conn) => conn.selectNoFrom(sql<number>`1`.as('one')).execute(), { signal, timeoutMs: 1_000 })
    expect(seen).toEqual([{ signal, timeoutMs: 1_000 }])

    const { PostgresDialect } = await import('kysely')
    const pg = await import('pg')
    const pool = new pg.default.Pool({ connectionString: PG_URL, max: 1 })
    const other = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
    const error = await withConnection(other, () => Promise.resolve()).catch((e: unknown) => e)
    await other.destroy()
    expect(error).toMatchObject({ code: 'KYSELY_NOT_A_TESSERA_DIALECT' })
  })

  it('retries a Tessera transaction with Kysely inside on a serialization failure and commits once', async () => {
    const { db, schema } = await database()
    await db.insertInto('person').values({ first_name: 'Counter', last_name: '0', email: 'c@example.com' }).execute()
    let attempts = 0
    const bump = () =>
      env.provider.transaction(
        async (tx) => {
          attempts++
          const trxDb = new Kysely<Database>({ dialect: createTesseraDialect({ queryable: tx }) }).withSchema(schema)
          const row = await trxDb.selectFrom('person').select('last_name').executeTakeFirstOrThrow()
          await new Promise((resolve) => setTimeout(resolve, 50))
          await trxDb
            .updateTable('person')
            .set({ last_name: String(Number(row.last_name) + 1) })
            .execute()
        },
        { isolation: 'serializable', retry: { maxAttempts: 5, baseDelayMs: 5 } },
      )
    await Promise.all([bump(), bump()])
    const row = await db.selectFrom('person').select('last_name').executeTakeFirstOrThrow()
    expect(row.last_name).toBe('2')
    expect(attempts).toBeGreaterThan(2)
  })
})
