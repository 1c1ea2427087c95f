import { createHash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { ConfigError, type Provider, sql } from '@tessera/core'
import { describe, expect, it } from 'vitest'
import { createMigrator, type Migration, MigrationFailedError } from '../src/index'
import { useOwnDatabase } from './own-database'
import { PROVIDERS, useProviderWithSchemas } from './providers'

// CREATE INDEX CONCURRENTLY waits for every transaction of its database: neighbours' long ones in the shared test
// database would hold these tests up, so they get a database of their own.
const DB_URL = useOwnDatabase('mig_notx')

/** The advisory lock key the migrator derives for `schema.tessera_migrations`, as pg_locks splits it. */
function lockParts(schema: string): { classid: number; objid: number } {
  const key = createHash('sha256').update(`tessera:migrations:${schema}.tessera_migrations`).digest().readBigUInt64BE(0)
  return { classid: Number(key >> 32n), objid: Number(key & 0xffffffffn) }
}

/** `provider` as a queryable without `connection()`: the migrator falls back to a lock transaction on a second connection. */
function withoutConnection(provider: Provider): Provider {
  return new Proxy(provider, {
    get(target, property) {
      if (property === 'connection') return undefined
      const value: unknown = Reflect.get(target, property, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

/** Polls `check` until it returns a value other than undefined, for up to 10 s. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const value = await check()
    if (value !== undefined) return value
    await sleep(50)
  }
  throw new Error(`timed out waiting for ${what}`)
}

describe.each(PROVIDERS)('migrations outside a transaction on $name', (factory) => {
  const setup = useProviderWithSchemas(factory, 'mig_notx', { connectionString: DB_URL })

  function tableMigration(schema: string): Migration {
    return {
      id: 1,
      name: 'users',
      up: `CREATE TABLE ${schema}.users (id int PRIMARY KEY, email text NOT NULL); INSERT INTO ${schema}.users VALUES (1, 'a'), (2, 'a')`,
    }
  }

  /** Migration 2: an index built CONCURRENTLY, which PostgreSQL refuses inside a transaction. */
  function concurrentIndexMigration(schema: string): Migration {
    return {
      id: 2,
      name: 'index emails',
      transaction: false,
      up: `CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON ${schema}.users (email)`,
      down: `DROP INDEX CONCURRENTLY IF EXISTS ${schema}.users_email_idx`,
    }
  }

  async function indexState(schema: string, name: string): Promise<{ valid: boolean } | undefined> {
    const { rows } = await setup.db.query<{ valid: boolean }>(
      sql`SELECT x.indisvalid AS valid FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace WHERE n.nspname = ${schema} AND i.relname = ${name}`,
    )
    return rows[0]
  }

  it('runs CREATE INDEX CONCURRENTLY (refused inside a transaction) and records it', async () => {
    const schema = setup.freshSchema()
    const migrator = createMigrator(setup.db, {
      schema,
      migrations: [tableMigration(schema), concurrentIndexMigration(schema)],
    })
    expect((await migrator.up()).migrations.map((m) => m.id)).toEqual([1, 2])
    expect(await indexState(schema, 'users_email_idx')).toEqual({ valid: true })
    expect((await migrator.status()).pending).toEqual([])

    expect((await migrator.down()).migrations.map((m) => m.id)).toEqual([2])
    expect(await indexState(schema, 'users_email_idx')).toBeUndefined()
    expect((await migrator.status()).pending.map((m) => m.id)).toEqual([2])
  })

  async function lockHolders(schema: string): Promise<number> {
    const { classid, objid } = lockParts(schema)
    const { rows } = await setup.db.query<{ n: number }>(
      sql`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = ${classid}::oid AND objid = ${objid}::oid`,
    )
    return rows[0]?.n ?? 0
  }

  it('holds the advisory lock at session level on the very connection the step runs on', async () => {
    const schema = setup.freshSchema()
    const { classid, objid } = lockParts(schema)
    let holders: { pid: number; mine: boolean }[] = []
    let searchPath = ''
    const migrator = createMigrator(setup.db, {
      schema,
      migrations: [
        {
          id: 1,
          name: 'look at the lock',
          transaction: false,
          up: async (db) => {
            const { rows } = await db.query<{ pid: number; mine: boolean }>(
              sql`SELECT pid, pid = pg_backend_pid() AS mine FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = ${classid}::oid AND objid = ${objid}::oid`,
            )
            holders = rows
            searchPath = (await db.query<{ name: string }>('SELECT current_schema() AS name')).rows[0]?.name ?? ''
          },
        },
      ],
    })
    await migrator.up()
    expect(holders).toHaveLength(1)
    expect(holders[0]?.mine).toBe(true)
    // The schema option's search_path applies to it too (reset with the session afterwards).
    expect(searchPath).toBe(schema)
    expect(await lockHolders(schema)).toBe(0)
    expect((await migrator.status()).applied.map((a) => a.id)).toEqual(['1'])
  })

  it('without connection(): holds the advisory lock while the step runs, on another session', async () => {
    const schema = setup.freshSchema()
    const { classid, objid } = lockParts(schema)
    let holders: { pid: number; mine: boolean }[] = []
    const migrator = createMigrator(withoutConnection(setup.db), {
      schema,
      migrations: [
        {
          id: 1,
          name: 'look at the lock',
          transaction: false,
          up: async (db) => {
            const { rows } = await db.query<{ pid: number; mine: boolean }>(
              sql`SELECT pid, pid = pg_backend_pid() AS mine FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = ${classid}::oid AND objid = ${objid}::oid`,
            )
            holders = rows
          },
        },
      ],
    })
    await migrator.up()
    expect(holders).toHaveLength(1)
    expect(holders[0]?.mine).toBe(false)
  })

  it('applies a non-transactional migration once when two migrators race', async () => {
    const schema = setup.freshSchema()
    const migrations: Migration[] = [
      tableMigration(schema),
      {
        id: 2,
        name: 'count runs',
        transaction: false,
        up: async (db) => {
          await db.query(`CREATE TABLE IF NOT EXISTS ${schema}.runs (n int)`)
          await db.query(`INSERT INTO ${schema}.runs VALUES (1)`)
          await db.query(`CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON ${schema}.users (email)`)
        },
      },
    ]
    const other = setup.open()
    const results = await Promise.all([
      createMigrator(setup.db, { schema, migrations }).up(),
      createMigrator(other, { schema, migrations }).up(),
    ])
    expect(results.flatMap((r) => r.migrations.map((m) => m.id)).sort()).toEqual([1, 2])
    const { rows } = await setup.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${schema}.runs`)
    expect(rows[0]?.n).toBe('1')
  })

  it('reports a failed non-transactional migration by name, with what may have stayed applied, and records nothing', async () => {
    const schema = setup.freshSchema()
    const migrator = createMigrator(setup.db, {
      schema,
      migrations: [
        tableMigration(schema),
        {
          id: 2,
          name: 'unique emails',
          transaction: false,
          up: `CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON ${schema}.users (email)`,
        },
      ],
    })
    const error = await migrator.up().then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(MigrationFailedError)
    const failed = error as MigrationFailedError
    expect(failed.migrationId).toBe(2)
    expect(failed.migrationName).toBe('unique emails')
    expect(failed.outsideTransaction).toBe(true)
    expect(failed.message).toMatch(/^migration 2 \(unique emails\) failed going up: .*could not create unique index/)
    expect(failed.message).toMatch(/ran outside a transaction: the statements before the failing one stay applied .*INVALID index/)
    // What stayed behind is exactly what the message warns of: PostgreSQL leaves the failed index INVALID.
    expect(await indexState(schema, 'users_email_key')).toEqual({ valid: false })
    const status = await migrator.status()
    expect(status.applied.map((a) => a.id)).toEqual(['1'])
    expect(status.pending.map((m) => m.id)).toEqual([2])
  })

  it('runs a non-transactional migration (and its down) on a provider whose pool holds one connection', async () => {
    const schema = setup.freshSchema()
    const single = setup.open({ pool: { max: 1 } })
    const migrator = createMigrator(single, {
      schema,
      migrations: [tableMigration(schema), concurrentIndexMigration(schema)],
    })
    expect((await migrator.up()).migrations.map((m) => m.id)).toEqual([1, 2])
    expect(await indexState(schema, 'users_email_idx')).toEqual({ valid: true })
    expect((await migrator.status()).pending).toEqual([])
    expect((await migrator.down()).migrations.map((m) => m.id)).toEqual([2])
    expect(await indexState(schema, 'users_email_idx')).toBeUndefined()
    expect(single.stats()).toMatchObject({ max: 1, timeouts: 0 })
  })

  it('a second migrator waits for the lock held by a running non-transactional migration, then finds nothing to do', async () => {
    const schema = setup.freshSchema()
    let release: () => void = () => undefined
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    let started: () => void = () => undefined
    const running = new Promise<void>((resolve) => {
      started = resolve
    })
    let runs = 0
    const migrations: Migration[] = [
      tableMigration(schema),
      {
        id: 2,
        name: 'slow index',
        transaction: false,
        up: async (db) => {
          runs++
          started()
          await gate
          await db.query(`CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON ${schema}.users (email)`)
        },
      },
    ]
    const first = createMigrator(setup.open({ pool: { max: 1 } }), { schema, migrations }).up()
    await running
    let secondSettled = false
    const second = createMigrator(setup.open({ pool: { max: 1 } }), { schema, migrations })
      .up()
      .finally(() => {
        secondSettled = true
      })
    await sleep(300)
    expect(secondSettled).toBe(false)
    release()
    // The second migrator's polls hold no snapshot, so the first one's concurrent index build does not wait for it.
    expect((await first).migrations.map((m) => m.id)).toEqual([1, 2])
    expect((await second).migrations).toEqual([])
    expect(runs).toBe(1)
    expect(await indexState(schema, 'users_email_idx')).toEqual({ valid: true })
  })

  it('a backend killed during CREATE INDEX CONCURRENTLY: MigrationFailedError naming it and the INVALID index left, and the lock is free for the next run', async () => {
    const schema = setup.freshSchema()
    const migrations: Migration[] = [
      tableMigration(schema),
      {
        id: 2,
        name: 'index emails',
        transaction: false,
        up: async (db) => {
          // Safe to run again: a leftover INVALID index of a failed build is dropped first.
          await db.query(`DROP INDEX CONCURRENTLY IF EXISTS ${schema}.users_email_idx`)
          await db.query(`CREATE INDEX CONCURRENTLY users_email_idx ON ${schema}.users (email)`)
        },
      },
    ]
    const migrator = createMigrator(setup.db, { schema, migrations })
    await migrator.up({ to: 1 })
    const admin = setup.open({ pool: { max: 1 } })
    let outcome: unknown
    await admin.transaction(async (tx) => {
      // A writer's lock on the table: the build creates its INVALID index, then waits for this transaction.
      await tx.query(`LOCK TABLE ${schema}.users IN ROW EXCLUSIVE MODE`)
      const run = migrator.up().then(
        () => undefined,
        (e: unknown) => e,
      )
      const pid = await eventually('the index build to wait', async () => {
        const { rows } = await setup.db.query<{ pid: number }>(
          sql`SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE ${`CREATE INDEX CONCURRENTLY users_email_idx ON ${schema}.%`}`,
        )
        return rows[0]?.pid
      })
      expect(await indexState(schema, 'users_email_idx')).toEqual({ valid: false })
      await setup.db.query(sql`SELECT pg_terminate_backend(${pid})`)
      outcome = await run
    })
    expect(outcome).toBeInstanceOf(MigrationFailedError)
    const failed = outcome as MigrationFailedError
    expect(failed.migrationId).toBe(2)
    expect(failed.outsideTransaction).toBe(true)
    expect(failed.message).toMatch(/^migration 2 \(index emails\) failed going up: /)
    expect(failed.message).toMatch(/INVALID index to drop\); nothing was recorded/)
    expect(await indexState(schema, 'users_email_idx')).toEqual({ valid: false })
    // The lock died with the session; nothing was recorded.
    await eventually('the advisory lock to be released', async () => ((await lockHolders(schema)) === 0 ? true : undefined))
    expect((await migrator.status()).pending.map((m) => m.id)).toEqual([2])
    // The next run takes the lock, drops the leftover and builds the index.
    expect((await migrator.up()).migrations.map((m) => m.id)).toEqual([2])
    expect(await indexState(schema, 'users_email_idx')).toEqual({ valid: true })
  })

  it('releases the session lock after a failed non-transactional migration', async () => {
    const schema = setup.freshSchema()
    const migrator = createMigrator(setup.db, {
      schema,
      migrations: [{ id: 1, name: 'broken', transaction: false, up: 'CREATE INDEX CONCURRENTLY nope ON missing_table (c)' }],
    })
    await expect(migrator.up()).rejects.toThrow(MigrationFailedError)
    expect(await lockHolders(schema)).toBe(0)
  })

  it('without connection(): refuses to run a non-transactional migration on a pool of one connection, before anything runs', async () => {
    const schema = setup.freshSchema()
    const single = withoutConnection(setup.open({ pool: { max: 1 } }))
    const migrator = createMigrator(single, {
      schema,
      migrations: [{ id: 1, name: 'concurrently', transaction: false, up: `CREATE TABLE ${schema}.never (id int)` }],
    })
    await expect(migrator.up()).rejects.toThrow(
      /1 \(concurrently\) run outside a transaction, which needs a pool of at least 2 connections/,
    )
    expect((await migrator.status()).applied).toEqual([])
  })

  it("refuses a non-transactional migration under transaction: 'all', before anything runs", () => {
    expect(() =>
      createMigrator(setup.db, {
        transaction: 'all',
        migrations: [{ id: 1, name: 'concurrently', transaction: false, up: 'CREATE INDEX CONCURRENTLY i ON t (c)' }],
      }),
    ).toThrow(ConfigError)
    expect(() =>
      createMigrator(setup.db, {
        transaction: 'all',
        migrations: [{ id: 1, name: 'concurrently', transaction: false, up: 'CREATE INDEX CONCURRENTLY i ON t (c)' }],
      }),
    ).toThrow(/migrations\[0\] \(concurrently\) runs outside a transaction .* use 'each'/)
  })
})
