import { tracingChannel } from 'node:diagnostics_channel'
import { CHANNELS, ConfigError, type MigrationMessage, sql } from '@tessera/core'
import { describe, expect, it } from 'vitest'
import { createMigrator, type Migration, MigrationFailedError, migrationChecksum } from '../src/index'
import { PROVIDERS, useProviderWithSchemas } from './providers'

describe.each(PROVIDERS)('migrations on $name', (factory) => {
  const setup = useProviderWithSchemas(factory, 'mig')
  const freshSchema = setup.freshSchema

  async function tables(schema: string): Promise<string[]> {
    const { rows } = await setup.db.query<{ table_name: string }>(
      sql`SELECT table_name FROM information_schema.tables WHERE table_schema = ${schema} ORDER BY table_name`,
    )
    return rows.map((r) => r.table_name)
  }

  const base: Migration[] = [
    { id: 1, name: 'users', up: 'CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL)', down: 'DROP TABLE users' },
    {
      id: 2,
      name: 'posts',
      up: sql`CREATE TABLE posts (id int PRIMARY KEY, user_id int REFERENCES users (id))`,
      down: sql`DROP TABLE posts`,
    },
    {
      id: 10,
      name: 'seed',
      up: async (tx) => {
        await tx.query(sql`INSERT INTO users (id, email) VALUES (${1}, ${'a@example.com'})`)
      },
      down: async (tx) => {
        await tx.query(sql`DELETE FROM users WHERE id = ${1}`)
      },
    },
  ]

  it('applies pending migrations in id order and records them with checksum and duration', async () => {
    const schema = freshSchema()
    const migrator = createMigrator(setup.db, { migrations: [base[2]!, base[0]!, base[1]!], schema })
    expect((await migrator.status()).pending.map((m) => m.id)).toEqual([1, 2, 10])

    const result = await migrator.up()
    expect(result.migrations.map((m) => m.id)).toEqual([1, 2, 10])
    expect(await tables(schema)).toEqual(['posts', 'tessera_migrations', 'users'])

    const status = await migrator.status()
    expect(status.pending).toEqual([])
    expect(status.changed).toEqual([])
    expect(status.applied.map((a) => [a.id, a.name, a.checksum])).toEqual(base.map((m) => [String(m.id), m.name, migrationChecksum(m)]))
    expect(status.applied[0]!.appliedAt).toBeInstanceOf(Date)
    expect(status.applied[0]!.durationMs).toBeGreaterThanOrEqual(0)

    expect((await migrator.up()).migrations).toEqual([])
  })

  it('stops at the `to` migration and continues later', async () => {
    const schema = freshSchema()
    const migrator = createMigrator(setup.db, { migrations: base, schema })
    await migrator.up({ to: 2 })
    expect((await migrator.status()).pending.map((m) => m.id)).toEqual([10])
    await migrator.up()
    expect((await migrator.status()).pending).toEqual([])
  })

  it('reverts in reverse order with down({ to }), one step by default, everything with to: null', async () => {
    const schema = freshSchema()
    const migrator = createMigrator(setup.db, { migrations: base, schema })
    await migrator.up()

    expect((await migrator.down()).migrations.map((m) => m.id)).toEqual([10])
    const { rows } = await setup.db.query(sql`SELECT count(*)::int AS n FROM ${sql.id([schema, 'users'])}`)
    expect(rows[0]).toEqual({ n: 0 })

    await migrator.up()
    expect((await migrator.down({ to: 1 })).migrations.map((m) => m.id)).toEqual([10, 2])
    expect(await tables(schema)).toEqual(['tessera_migrations', 'users'])

    await migrator.down({ to: null })
    expect(await tables(schema)).toEqual(['tessera_migrations'])
    expect((await migrator.status()).applied).toEqual([])
  })

  it('refuses to revert past a migration without down, before reverting anything', async () => {
    const schema = freshSchema()
    const migrations: Migration[] = [{ id: 1, name: 'irreversible', up: 'CREATE TABLE a (id int)' }, base[0]!]
    migrations[1] = { ...base[0]!, id: 2 }
    const migrator = createMigrator(setup.db, { migrations, schema })
    await migrator.up()

    const error = await migrator.down({ to: null }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConfigError)
    expect(String((error as Error).message)).toContain('migration 1 (irreversible) has no down step')
    expect(await tables(schema)).toEqual(['a', 'tessera_migrations', 'users'])
    expect((await migrator.status()).applied).toHaveLength(2)
  })

  it('refuses to run when an applied migration changed, naming it, before anything runs', async () => {
    const schema = freshSchema()
    await createMigrator(setup.db, { migrations: base.slice(0, 1), schema }).up()
    const edited: Migration[] = [{ ...base[0]!, up: 'CREATE TABLE users (id bigint PRIMARY KEY)' }, base[1]!]
    const migrator = createMigrator(setup.db, { migrations: edited, schema })

    const status = await migrator.status()
    expect(status.changed.map((c) => c.id)).toEqual([1])
    const error = await migrator.up().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message).toContain('migration 1 (users) was changed after it was applied')
    expect(await tables(schema)).toEqual(['tessera_migrations', 'users'])
  })

  it('rolls back a failing migration and keeps the ones before it (one transaction each)', async () => {
    const schema = freshSchema()
    const migrations: Migration[] = [base[0]!, { id: 2, name: 'broken', up: 'CREATE TABLE b (id int); SELECT * FROM missing_table' }]
    const migrator = createMigrator(setup.db, { migrations, schema })
    const error = await migrator.up().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MigrationFailedError)
    expect(error).toMatchObject({ migrationId: 2, migrationName: 'broken', direction: 'up', cause: { code: '42P01' } })
    expect((error as Error).message).toMatch(/^migration 2 \(broken\) failed going up: .*missing_table/)
    expect(await tables(schema)).toEqual(['tessera_migrations', 'users'])
    expect((await migrator.status()).pending.map((m) => m.id)).toEqual([2])
  })

  it("applies nothing when one migration fails with transaction: 'all'", async () => {
    const schema = freshSchema()
    const migrations: Migration[] = [base[0]!, { id: 2, name: 'broken', up: 'SELECT * FROM missing_table' }]
    const migrator = createMigrator(setup.db, { migrations, schema, transaction: 'all' })
    await expect(migrator.up()).rejects.toThrow(/missing_table/)
    expect(await tables(schema)).toEqual(['tessera_migrations'])
  })

  it('applies every migration exactly once when two processes migrate at the same time', async () => {
    const schema = freshSchema()
    const other = setup.open()
    await setup.db.query(sql`CREATE SCHEMA ${sql.id(schema)}`)
    await setup.db.query(sql`CREATE TABLE ${sql.id([schema, 'runs'])} (migration int NOT NULL)`)
    const migrations: Migration[] = Array.from({ length: 8 }, (_, i) => ({
      id: i + 1,
      name: `step ${i + 1}`,
      up: async (tx) => {
        await tx.query(sql`SELECT pg_sleep(0.02)`)
        await tx.query(`INSERT INTO runs (migration) VALUES (${i + 1})`)
      },
    }))
    const first = createMigrator(setup.db, { migrations, schema })
    const second = createMigrator(other, { migrations, schema })

    const [a, b] = await Promise.all([first.up(), second.up()])

    const ids = [...a.migrations, ...b.migrations].map((m) => m.id).sort((x, y) => Number(x) - Number(y))
    expect(ids).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    const { rows } = await setup.db.query<{ migration: number; n: number }>(
      sql`SELECT migration, count(*)::int AS n FROM ${sql.id([schema, 'runs'])} GROUP BY migration ORDER BY migration`,
    )
    expect(rows).toEqual(migrations.map((m) => ({ migration: m.id, n: 1 })))
  })

  it('publishes each migration on tessera:schema:migration', async () => {
    const schema = freshSchema()
    const seen: MigrationMessage[] = []
    const channel = tracingChannel<unknown, MigrationMessage>(CHANNELS.migration)
    const subscriber = {
      start: (message: MigrationMessage) => seen.push(message),
      end() {},
      asyncStart() {},
      asyncEnd() {},
      error() {},
    }
    channel.subscribe(subscriber)
    try {
      const migrator = createMigrator(setup.db, { migrations: base.slice(0, 2), schema })
      await migrator.up()
      await migrator.down()
    } finally {
      channel.unsubscribe(subscriber)
    }
    expect(seen.map((m) => [m.version, m.name, m.direction])).toEqual([
      ['1', 'users', 'up'],
      ['2', 'posts', 'up'],
      ['2', 'posts', 'down'],
    ])
  })

  it('rejects duplicate ids, mixed id types and missing up steps together', () => {
    const error = (() => {
      try {
        createMigrator(setup.db, {
          migrations: [
            { id: 1, name: 'a', up: 'SELECT 1' },
            { id: 1, name: 'b', up: 'SELECT 1' },
            { id: '3', name: 'c', up: 'SELECT 1' },
            { id: 4, name: 'd' } as unknown as Migration,
          ],
        })
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).problems).toHaveLength(3)
  })
})

describe('migrationChecksum', () => {
  it('is the sha256 of the SQL text, of the function source, or the pinned value', () => {
    expect(migrationChecksum({ up: 'SELECT 1' })).toBe('e004ebd5b5532a4b85984a62f8ad48a81aa3460c1ca07701f386135d72cdecf5')
    const fn = async () => {}
    expect(migrationChecksum({ up: fn })).toHaveLength(64)
    expect(migrationChecksum({ up: fn })).not.toBe(migrationChecksum({ up: async () => undefined }))
    expect(migrationChecksum({ up: 'SELECT 1', checksum: 'v1' })).toBe('v1')
  })
})
