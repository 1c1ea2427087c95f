import { createHash } from 'node:crypto'
import { setTimeout } from 'node:timers/promises'
import {
  CHANNELS,
  ConfigError,
  describeValue,
  isSqlQuery,
  type Provider,
  type Queryable,
  type ReservedConnection,
  type SqlQuery,
  sql,
  type Transaction,
  traced,
} from '@tessera/core'
import { MigrationFailedError } from './migration-error'

/** A migration's id: numbers sort numerically, strings by code unit (`'001_init'` < `'002_users'`). Do not mix the two. */
export type MigrationId = string | number

/**
 * One direction of a migration: SQL text (may hold several statements, run with the simple protocol,
 * without parameters), a query built with the `sql` tag, or a function that gets the migration's transaction.
 */
export type MigrationStep = string | SqlQuery | ((tx: Transaction) => Promise<void>)

/**
 * One direction of a migration marked `transaction: false`: SQL text holding **one** statement (PostgreSQL runs
 * several statements of one text in an implicit transaction, which `CREATE INDEX CONCURRENTLY` refuses), a `sql`
 * query, or a function that gets the connection the migration runs on (the migrator's reserved connection; the
 * provider itself when it has no `connection`) and runs its statements one by one (each commits on its own).
 */
export type OutsideTransactionStep = string | SqlQuery | ((db: Queryable) => Promise<void>)

interface MigrationBase {
  /** Orders the migrations and identifies a migration in the migrations table. Unique. */
  id: MigrationId
  /** A short description, stored next to the id. */
  name: string
  /**
   * Overrides the computed checksum. Useful for function migrations whose source text changes under a
   * bundler or a formatter although their behaviour does not. Default: sha256 of the `up` text (see {@link migrationChecksum}).
   */
  checksum?: string | undefined
}

/** A migration run inside a transaction (the default): all of it applies, or none of it. */
export interface TransactionalMigration extends MigrationBase {
  /** Default: `true`. */
  transaction?: true | undefined
  /** What applying the migration runs. */
  up: MigrationStep
  /** What reverting it runs. Without it, `down()` refuses to pass this migration. */
  down?: MigrationStep | undefined
}

/**
 * A migration run outside any transaction, for statements PostgreSQL refuses inside one (`CREATE INDEX
 * CONCURRENTLY`, `DROP INDEX CONCURRENTLY`, `VACUUM`, `ALTER SYSTEM`). It runs on one connection reserved with `provider.connection`, which
 * holds the migrator's advisory lock at session level for the whole run and records the migration once the step
 * succeeded (so a pool of one connection is enough). A provider without `connection` falls back to holding the
 * lock in a transaction on a second connection (its pool needs two). If it
 * fails, what ran before the failing statement stays applied (`MigrationFailedError.outsideTransaction` is `true`):
 * write it so that running it again is safe (`IF NOT EXISTS`; an INVALID index left by a failed `CREATE INDEX
 * CONCURRENTLY` must be dropped first). Only with the migrator option `transaction: 'each'`.
 * @example { id: 8, name: 'index emails', transaction: false, up: 'CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email)' }
 */
export interface NonTransactionalMigration extends MigrationBase {
  transaction: false
  up: OutsideTransactionStep
  down?: OutsideTransactionStep | undefined
}

/**
 * A versioned migration.
 *
 * @example
 * const migrations: Migration[] = [
 *   { id: 1, name: 'create users', up: 'CREATE TABLE users (id uuid PRIMARY KEY, email text NOT NULL)', down: 'DROP TABLE users' },
 *   { id: 2, name: 'backfill', up: async (tx) => { await tx.query(sql`UPDATE users SET email = lower(email)`) } },
 *   { id: 3, name: 'index', transaction: false, up: 'CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email)' },
 * ]
 */
export type Migration = TransactionalMigration | NonTransactionalMigration

/** Options of {@link createMigrator}. */
export interface MigratorOptions {
  /** The migrations, in any order: they are sorted by id. */
  migrations: readonly Migration[]
  /** Name of the table that records applied migrations. Default: `'tessera_migrations'`. */
  table?: string | undefined
  /**
   * Schema that holds the migrations table. When set, it is created if missing and every migration runs with
   * `SET LOCAL search_path` to this schema (then `public`), so unqualified names in migrations land there.
   * Default: none (the connection's search_path).
   */
  schema?: string | undefined
  /**
   * `'each'`: every migration runs in its own transaction and is recorded in it, so a failure leaves the
   * earlier ones applied. `'all'`: one transaction for the whole `up()`/`down()` call, all or nothing.
   * Default: `'each'`.
   */
  transaction?: 'each' | 'all' | undefined
}

/** A migration recorded in the migrations table. */
export interface AppliedMigration {
  id: string
  name: string
  checksum: string
  appliedAt: Date
  durationMs: number
}

/** An applied migration whose current definition no longer matches what was applied. */
export interface ChangedMigration {
  id: MigrationId
  name: string
  /** The checksum recorded when it was applied. */
  appliedChecksum: string
  /** The checksum of the definition now. */
  currentChecksum: string
}

/** What {@link Migrator.status} reports. */
export interface MigrationStatus {
  /** Applied migrations, in id order, as recorded. */
  applied: AppliedMigration[]
  /** Migrations not applied yet, in the order `up()` would apply them. */
  pending: Migration[]
  /** Applied migrations whose checksum changed since: `up()` and `down()` refuse to run while this is not empty. */
  changed: ChangedMigration[]
  /** Ids recorded as applied that no migration in the list has (applied by a newer release, or removed). */
  unknown: AppliedMigration[]
}

/** What {@link Migrator.up} and {@link Migrator.down} did. */
export interface MigrationRunResult {
  /** The migrations this call applied (`up`) or reverted (`down`), in the order it ran them. Others may have been run by a concurrent migrator. */
  migrations: { id: MigrationId; name: string; durationMs: number }[]
}

/** Runs versioned migrations; see {@link createMigrator}. */
export interface Migrator {
  /** Which migrations are applied, pending or changed. Reads only; creates nothing. */
  status(): Promise<MigrationStatus>
  /**
   * Applies pending migrations in id order, up to and including `to` (default: all).
   * @throws ConfigError when an applied migration's checksum changed, before anything runs.
   */
  up(options?: { to?: MigrationId | undefined }): Promise<MigrationRunResult>
  /**
   * Reverts applied migrations in reverse id order, keeping those with an id ≤ `to`. `to: null` reverts
   * everything; omitted, only the latest applied migration is reverted.
   * @throws ConfigError when a migration to revert has no `down` (or is unknown), or a checksum changed, before anything runs.
   */
  down(options?: { to?: MigrationId | null | undefined }): Promise<MigrationRunResult>
}

/**
 * The checksum recorded for a migration: sha256 (hex) of its `up` step's text: the SQL string itself,
 * a `sql` query's text followed by its JSON-encoded values, or `String(fn)` (the function's source) for a
 * function. A function migration's checksum therefore changes when its source is reformatted or minified
 * differently: pin it with `checksum` when that is expected.
 */
export function migrationChecksum(migration: { up: MigrationStep | OutsideTransactionStep; checksum?: string | undefined }): string {
  if (migration.checksum !== undefined) return migration.checksum
  return createHash('sha256').update(stepText(migration.up)).digest('hex')
}

function stepText(step: MigrationStep | OutsideTransactionStep): string {
  if (typeof step === 'string') return step
  if (isSqlQuery(step))
    return `${step.text}\n${JSON.stringify(step.values, (_key, value) => (typeof value === 'bigint' ? `${value}n` : value))}`
  return String(step)
}

function compareIds(a: MigrationId, b: MigrationId): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b
  const left = String(a)
  const right = String(b)
  return left < right ? -1 : left > right ? 1 : 0
}

function isStep(step: unknown): step is MigrationStep | OutsideTransactionStep {
  return typeof step === 'string' || typeof step === 'function' || isSqlQuery(step)
}

function validateOptions(options: MigratorOptions): void {
  const problems: string[] = []
  if (typeof options !== 'object' || options === null || !Array.isArray(options.migrations)) {
    throw new ConfigError('expected { migrations: Migration[] }', { subject: 'migrator options' })
  }
  if (options.table !== undefined && (typeof options.table !== 'string' || options.table === '')) {
    problems.push(`table must be a non-empty string, got ${describeValue(options.table)}`)
  }
  if (options.schema !== undefined && (typeof options.schema !== 'string' || options.schema === '')) {
    problems.push(`schema must be a non-empty string, got ${describeValue(options.schema)}`)
  }
  if (options.transaction !== undefined && options.transaction !== 'each' && options.transaction !== 'all') {
    problems.push(`transaction is ${describeValue(options.transaction)}; accepted: 'each', 'all'`)
  }
  const seen = new Set<string>()
  let idType: string | undefined
  options.migrations.forEach((migration, index) => {
    const label = `migrations[${index}]`
    if (typeof migration !== 'object' || migration === null) {
      problems.push(`${label} is ${describeValue(migration)}; expected { id, name, up, down? }`)
      return
    }
    const { id } = migration
    if (!(typeof id === 'string' && id !== '') && !(typeof id === 'number' && Number.isFinite(id))) {
      problems.push(`${label}.id is ${describeValue(id)}; accepted: a non-empty string or a finite number`)
    } else {
      if (idType !== undefined && typeof id !== idType)
        problems.push(`${label}.id ${describeValue(id)} is a ${typeof id}, the others are ${idType}s: do not mix the two`)
      idType ??= typeof id
      if (seen.has(String(id))) problems.push(`${label}.id ${describeValue(id)} is used by another migration`)
      seen.add(String(id))
    }
    if (typeof migration.name !== 'string') problems.push(`${label}.name must be a string, got ${describeValue(migration.name)}`)
    if (!isStep(migration.up))
      problems.push(`${label}.up is ${describeValue(migration.up)}; accepted: SQL text, a sql\`\` query or an async function (tx) => {}`)
    if (migration.down !== undefined && !isStep(migration.down)) {
      problems.push(
        `${label}.down is ${describeValue(migration.down)}; accepted: SQL text, a sql\`\` query or an async function (tx) => {}`,
      )
    }
    if (migration.checksum !== undefined && (typeof migration.checksum !== 'string' || migration.checksum === '')) {
      problems.push(`${label}.checksum must be a non-empty string, got ${describeValue(migration.checksum)}`)
    }
    const transaction = (migration as { transaction?: unknown }).transaction
    if (transaction !== undefined && transaction !== true && transaction !== false) {
      problems.push(`${label}.transaction is ${describeValue(transaction)}; accepted: true (the default) or false`)
    }
    if (transaction === false && options.transaction === 'all') {
      problems.push(
        `${label} (${String(migration.name)}) runs outside a transaction (transaction: false), which the migrator option transaction: 'all' cannot hold; use 'each'`,
      )
    }
  })
  if (problems.length > 0) throw new ConfigError(problems, { subject: 'migrator options' })
}

/**
 * The advisory-lock key a migrator with these options takes (a signed 64-bit integer as text, derived from the
 * migrations table's qualified name), so that a tool can tell whether another process is migrating
 * (`pg_locks`) before it starts. Defaults: `table` `'tessera_migrations'`, `schema` none.
 * @example migrationLockKey({ schema: 'app' }) // '6063319099310999745'
 */
export function migrationLockKey(options: { schema?: string | undefined; table?: string | undefined } = {}): string {
  const digest = createHash('sha256')
    .update(`tessera:migrations:${options.schema ?? ''}.${options.table ?? 'tessera_migrations'}`)
    .digest()
  return digest.readBigInt64BE(0).toString()
}

interface AppliedRow {
  id: string
  name: string
  checksum: string
  applied_at: Date | string
  duration_ms: number | string
}

function toApplied(row: AppliedRow): AppliedMigration {
  return {
    id: row.id,
    name: row.name,
    checksum: row.checksum,
    appliedAt: row.applied_at instanceof Date ? row.applied_at : new Date(row.applied_at),
    durationMs: Number(row.duration_ms),
  }
}

/**
 * Creates a migrator over `provider`. Migrations are applied in id order and recorded in `table` (id, name,
 * checksum, applied_at, duration_ms). Each run takes a transaction-scoped advisory lock
 * (`pg_advisory_xact_lock`) inside the very transaction that applies and records a migration, then checks
 * again that the migration is still pending: two processes migrating the same database at once apply every
 * migration exactly once. Each migration is published on the `tessera:schema:migration` tracing channel.
 *
 * Defaults: `table` `'tessera_migrations'`, `transaction` `'each'` (one transaction per migration).
 * Statements PostgreSQL refuses inside a transaction (`CREATE INDEX CONCURRENTLY`) go in a migration marked
 * `transaction: false` (see {@link NonTransactionalMigration}): it runs outside any transaction on one reserved
 * connection that holds the lock at session level (`pg_try_advisory_lock`, polled) and records it.
 *
 * @throws ConfigError listing every invalid option or migration (duplicate ids, missing `up`…).
 * @example
 * const migrator = createMigrator(db, { migrations, schema: 'app' })
 * const { pending, changed } = await migrator.status()
 * await migrator.up()
 * await migrator.down({ to: 3 }) // reverts everything after migration 3
 */
export function createMigrator(provider: Provider, options: MigratorOptions): Migrator {
  validateOptions(options)
  const table = options.table ?? 'tessera_migrations'
  const schema = options.schema
  const mode = options.transaction ?? 'each'
  const migrations = [...options.migrations].sort((a, b) => compareIds(a.id, b.id))
  const checksums = new Map(migrations.map((m) => [String(m.id), migrationChecksum(m)]))
  const byId = new Map(migrations.map((m) => [String(m.id), m]))
  const tableId = sql.id(schema === undefined ? [table] : [schema, table])
  const key = migrationLockKey({ schema, table })
  /** `transaction: false` migrations run on one reserved connection; without `connection`, see {@link runStep}. */
  const reserves = typeof (provider as Partial<Provider>).connection === 'function'

  /**
   * Takes the transaction-scoped advisory lock, polling `pg_try_advisory_xact_lock` with a parameterless statement
   * rather than waiting inside one: a waiting statement holds a snapshot, and so does the unnamed portal a
   * parameterised one leaves behind, while `CREATE INDEX CONCURRENTLY` run by the holder (a `transaction: false`
   * migration) waits for every transaction with a snapshot: a deadlock PostgreSQL cannot see.
   */
  async function lock(tx: Queryable): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const { rows } = await tx.query<{ locked: boolean }>(`SELECT pg_try_advisory_xact_lock('${key}'::bigint) AS locked`, undefined, {
        prepare: false,
      })
      if (rows[0]?.locked === true) return
      await setTimeout(Math.min(10 * 2 ** attempt, 250))
    }
  }

  /**
   * Takes the session-level advisory lock on a reserved connection, polled with `pg_try_advisory_lock` for the same
   * reason as {@link lock}: a statement waiting for the lock would hold a snapshot that the holder's
   * `CREATE INDEX CONCURRENTLY` waits for.
   */
  async function sessionLock(connection: ReservedConnection): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const { rows } = await connection.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock('${key}'::bigint) AS locked`, undefined, {
        prepare: false,
      })
      if (rows[0]?.locked === true) return
      await setTimeout(Math.min(10 * 2 ** attempt, 250))
    }
  }

  async function tableExists(q: Queryable): Promise<boolean> {
    const name = schema === undefined ? sql.id(table).text : `${sql.id(schema).text}.${sql.id(table).text}`
    const { rows } = await q.query<{ found: boolean }>(sql`SELECT to_regclass(${name}) IS NOT NULL AS found`)
    return rows[0]?.found === true
  }

  async function readApplied(q: Queryable): Promise<AppliedMigration[]> {
    if (!(await tableExists(q))) return []
    const { rows } = await q.query<AppliedRow>(sql`SELECT id, name, checksum, applied_at, duration_ms FROM ${tableId}`)
    return rows.map(toApplied).sort((a, b) => compareIds(idOf(a.id), idOf(b.id)))
  }

  /** Recorded ids are text; the defined migration's id keeps numbers sorting numerically. */
  function idOf(recorded: string): MigrationId {
    return byId.get(recorded)?.id ?? recorded
  }

  async function ensureTable(): Promise<void> {
    // Under the lock: two processes racing on CREATE TABLE IF NOT EXISTS can still collide in pg_type.
    await provider.transaction(async (tx) => {
      await lock(tx)
      if (schema !== undefined) await tx.query(sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`)
      await tx.query(
        sql`CREATE TABLE IF NOT EXISTS ${tableId} (id text PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), duration_ms integer NOT NULL)`,
      )
    })
  }

  function computeStatus(applied: AppliedMigration[]): MigrationStatus {
    const appliedIds = new Set(applied.map((a) => a.id))
    const changed: ChangedMigration[] = []
    const unknown: AppliedMigration[] = []
    for (const record of applied) {
      const migration = byId.get(record.id)
      if (migration === undefined) {
        unknown.push(record)
        continue
      }
      const current = checksums.get(record.id) as string
      if (current !== record.checksum)
        changed.push({ id: migration.id, name: migration.name, appliedChecksum: record.checksum, currentChecksum: current })
    }
    const pending = migrations.filter((m) => !appliedIds.has(String(m.id)))
    return { applied, pending, changed, unknown }
  }

  function refuseChanged(status: MigrationStatus): void {
    if (status.changed.length === 0) return
    const names = status.changed.map((c) => `${c.id} (${c.name})`).join(', ')
    throw new ConfigError(
      status.changed.map(
        (c) =>
          `migration ${c.id} (${c.name}) was changed after it was applied: checksum ${c.appliedChecksum.slice(0, 12)}… recorded, ${c.currentChecksum.slice(0, 12)}… now`,
      ),
      {
        subject: `migrations: applied migration${status.changed.length === 1 ? '' : 's'} ${names} changed; restore the applied version or add a new migration`,
      },
    )
  }

  /**
   * Runs one direction of `migration`: in `tx`, or, for a `transaction: false` migration, on the provider, one
   * statement at a time, while `tx` (holding the advisory lock) waits to record it.
   */
  async function runStep(tx: Transaction, migration: Migration, direction: 'up' | 'down'): Promise<void> {
    const outsideTransaction = migration.transaction === false
    const failure = { id: migration.id, name: migration.name, direction, outsideTransaction }
    try {
      if (migration.transaction === false) {
        // The lock transaction must hold no snapshot while the step runs: CREATE INDEX CONCURRENTLY waits for every
        // transaction with one. The unnamed portal of its last parameterised statement keeps one until another
        // statement replaces it; a parameterless simple-protocol statement does, and leaves none behind.
        await tx.query('SELECT 1', undefined, { prepare: false })
        const step = (direction === 'up' ? migration.up : migration.down) as OutsideTransactionStep
        if (typeof step === 'function') await step(provider)
        else if (typeof step === 'string') await provider.query(step, undefined, { prepare: false })
        else await provider.query(step)
        return
      }
      const step = (direction === 'up' ? migration.up : migration.down) as MigrationStep
      if (schema !== undefined) await tx.query(sql`SELECT set_config('search_path', ${`${sql.id(schema).text}, public`}, true)`)
      if (typeof step === 'function') await step(tx)
      else if (typeof step === 'string') await tx.query(step, undefined, { prepare: false })
      else await tx.query(step)
    } catch (error) {
      throw new MigrationFailedError(failure, error)
    }
  }

  /**
   * Without `provider.connection`, a `transaction: false` migration needs two connections at once (the lock
   * transaction and the step): with a pool of one the step would wait for a connection until the acquire timeout.
   * Refused up front, before anything runs. With it, the lock, the step and the record share one connection.
   */
  function refuseSmallPool(plan: readonly Migration[]): void {
    if (reserves) return
    const outside = plan.filter((m) => m.transaction === false)
    if (outside.length === 0) return
    const max = typeof provider.stats === 'function' ? provider.stats().max : undefined
    if (typeof max !== 'number' || max >= 2) return
    throw new ConfigError(
      `migration${outside.length === 1 ? '' : 's'} ${outside.map((m) => `${m.id} (${m.name})`).join(', ')} run outside a transaction, which needs a pool of at least 2 connections (the advisory lock holds one); this provider has max ${max}`,
      { subject: 'migrations outside a transaction (nothing was run)' },
    )
  }

  /** Applies one migration in `tx` unless another migrator already did; returns the duration, or undefined when skipped. */
  async function applyOne(tx: Transaction, migration: Migration): Promise<number | undefined> {
    await lock(tx)
    const { rows } = await tx.query(sql`SELECT 1 FROM ${tableId} WHERE id = ${String(migration.id)}`)
    if (rows.length > 0) return undefined
    const message = { version: String(migration.id), name: migration.name, direction: 'up' as const }
    return traced(CHANNELS.migration, message, async () => {
      const started = performance.now()
      await runStep(tx, migration, 'up')
      const durationMs = Math.round(performance.now() - started)
      await tx.query(
        sql`INSERT INTO ${tableId} (id, name, checksum, duration_ms) VALUES (${String(migration.id)}, ${migration.name}, ${checksums.get(String(migration.id))}, ${durationMs})`,
      )
      return durationMs
    })
  }

  async function revertOne(tx: Transaction, migration: Migration): Promise<number | undefined> {
    await lock(tx)
    const { rows } = await tx.query(sql`SELECT 1 FROM ${tableId} WHERE id = ${String(migration.id)}`)
    if (rows.length === 0) return undefined
    const message = { version: String(migration.id), name: migration.name, direction: 'down' as const }
    return traced(CHANNELS.migration, message, async () => {
      const started = performance.now()
      await runStep(tx, migration, 'down')
      await tx.query(sql`DELETE FROM ${tableId} WHERE id = ${String(migration.id)}`)
      return Math.round(performance.now() - started)
    })
  }

  /**
   * Runs a `transaction: false` migration on one reserved connection: takes the session-level advisory lock, checks
   * the migration is still to run, runs the step statement by statement, records it on the same connection, and
   * unlocks in `finally` (the session reset unlocks too; a lost session's locks die with it). Returns the duration,
   * or undefined when another migrator already ran it.
   */
  function runReserved(migration: NonTransactionalMigration, direction: 'up' | 'down'): Promise<number | undefined> {
    const id = String(migration.id)
    const failure = { id: migration.id, name: migration.name, direction, outsideTransaction: true }
    return provider.connection(async (connection) => {
      await sessionLock(connection)
      try {
        const { rows } = await connection.query(sql`SELECT 1 FROM ${tableId} WHERE id = ${id}`)
        const recorded = rows.length > 0
        if (recorded === (direction === 'up')) return undefined // already applied (up) or already reverted (down)
        const message = { version: id, name: migration.name, direction }
        return await traced(CHANNELS.migration, message, async () => {
          const started = performance.now()
          try {
            if (schema !== undefined)
              await connection.query(sql`SELECT set_config('search_path', ${`${sql.id(schema).text}, public`}, false)`)
            const step = (direction === 'up' ? migration.up : migration.down) as OutsideTransactionStep
            if (typeof step === 'function') await step(connection)
            else if (typeof step === 'string') await connection.query(step, undefined, { prepare: false })
            else await connection.query(step)
          } catch (error) {
            throw new MigrationFailedError(failure, error)
          }
          const durationMs = Math.round(performance.now() - started)
          try {
            if (direction === 'up') {
              await connection.query(
                sql`INSERT INTO ${tableId} (id, name, checksum, duration_ms) VALUES (${id}, ${migration.name}, ${checksums.get(id)}, ${durationMs})`,
              )
            } else await connection.query(sql`DELETE FROM ${tableId} WHERE id = ${id}`)
          } catch (error) {
            throw new MigrationFailedError({ ...failure, stepCompleted: true }, error)
          }
          return durationMs
        })
      } finally {
        // A lost session cannot answer; its locks went with it, and the reset unlocks a live one anyway.
        await connection.query(`SELECT pg_advisory_unlock('${key}'::bigint)`, undefined, { prepare: false }).catch(() => undefined)
      }
    })
  }

  async function run(
    plan: readonly Migration[],
    step: (tx: Transaction, migration: Migration) => Promise<number | undefined>,
  ): Promise<MigrationRunResult> {
    const done: MigrationRunResult['migrations'] = []
    if (mode === 'all') {
      await provider.transaction(async (tx) => {
        for (const migration of plan) {
          const durationMs = await step(tx, migration)
          if (durationMs !== undefined) done.push({ id: migration.id, name: migration.name, durationMs })
        }
      })
      return { migrations: done }
    }
    for (const migration of plan) {
      if (reserves && migration.transaction === false) {
        const durationMs = await runReserved(migration, step === applyOne ? 'up' : 'down')
        if (durationMs !== undefined) done.push({ id: migration.id, name: migration.name, durationMs })
        continue
      }
      const durationMs = await provider
        .transaction((tx) => step(tx, migration))
        .catch((error: unknown) => {
          if (migration.transaction === false && !(error instanceof MigrationFailedError)) {
            // The step ran and committed on its own; recording it (or the lock transaction's commit) failed.
            throw new MigrationFailedError(
              {
                id: migration.id,
                name: migration.name,
                direction: step === applyOne ? 'up' : 'down',
                outsideTransaction: true,
                stepCompleted: true,
              },
              error,
            )
          }
          throw error
        })
      if (durationMs !== undefined) done.push({ id: migration.id, name: migration.name, durationMs })
    }
    return { migrations: done }
  }

  return {
    async status() {
      return computeStatus(await readApplied(provider))
    },

    async up(upOptions = {}) {
      const { to } = upOptions
      if (to !== undefined && !byId.has(String(to))) {
        throw new ConfigError(`up({ to: ${describeValue(to)} }) names no migration`, { subject: 'migration target' })
      }
      await ensureTable()
      const status = computeStatus(await readApplied(provider))
      refuseChanged(status)
      const plan = status.pending.filter((m) => to === undefined || compareIds(m.id, to) <= 0)
      refuseSmallPool(plan)
      return run(plan, applyOne)
    },

    async down(downOptions = {}) {
      const status = computeStatus(await readApplied(provider))
      refuseChanged(status)
      const applied = [...status.applied].reverse()
      let toRevert: AppliedMigration[]
      if (downOptions.to === undefined) toRevert = applied.slice(0, 1)
      else if (downOptions.to === null) toRevert = applied
      else {
        const to = downOptions.to
        if (!byId.has(String(to)))
          throw new ConfigError(`down({ to: ${describeValue(to)} }) names no migration`, { subject: 'migration target' })
        toRevert = applied.filter((record) => compareIds(idOf(record.id), to) > 0)
      }
      const problems: string[] = []
      const plan: Migration[] = []
      for (const record of toRevert) {
        const migration = byId.get(record.id)
        if (migration === undefined)
          problems.push(`migration ${record.id} (${record.name}) is applied but not in the migration list, so it cannot be reverted`)
        else if (migration.down === undefined) problems.push(`migration ${migration.id} (${migration.name}) has no down step`)
        else plan.push(migration)
      }
      if (problems.length > 0) {
        throw new ConfigError(problems, { subject: 'down migration (nothing was reverted)' })
      }
      refuseSmallPool(plan)
      return run(plan, revertOne)
    },
  }
}
