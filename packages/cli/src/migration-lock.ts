import { createHash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Provider, Queryable } from '@tessera/core'
import { CliError } from './cli-error'
import { EXIT_CODES } from './exit-codes'

/** A session holding an advisory lock, from `pg_locks` and `pg_stat_activity`. */
export interface LockHolder {
  pid: number
  applicationName: string
  clientAddress: string | null
  /** When its current transaction (or else its session) started. */
  since: Date | null
}

/** Another process holds the migration lock: exit code 4. */
export class MigrationLockedError extends CliError {
  readonly holders: readonly LockHolder[]

  constructor(table: string, holders: readonly LockHolder[], waitedMs: number) {
    const who =
      holders.length === 0
        ? 'a session that released it just now'
        : holders
            .map(
              (h) =>
                `pid ${h.pid}${h.applicationName === '' ? '' : ` "${h.applicationName}"`}${h.clientAddress === null ? '' : ` from ${h.clientAddress}`}${h.since === null ? '' : ` since ${h.since.toISOString()}`}`,
            )
            .join(', ')
    super(
      `another process is migrating (${who} holds the migration lock of ${table}); waited ${waitedMs} ms. Try again when it is done, or wait longer with --lock-timeout <ms>`,
      { code: 'MIGRATION_LOCKED', exitCode: EXIT_CODES.locked },
    )
    this.holders = holders
  }
}

/**
 * The key of the lock that the CLI holds for a whole `migrate up` / `down` run, so that two CLIs never interleave.
 * It is not the migrator's own key: the migrator takes that one per migration on another connection, and would wait
 * for ours forever.
 */
export function cliLockKey(migratorKey: string): string {
  return createHash('sha256').update(`tessera:cli:migrate:${migratorKey}`).digest().readBigInt64BE(0).toString()
}

/** The other sessions holding the advisory lock `key` in this database. */
export async function lockHolders(db: Queryable, key: string): Promise<LockHolder[]> {
  const { rows } = await db.query<{
    pid: number
    application_name: string | null
    client_addr: string | null
    since: Date | string | null
  }>(
    `SELECT a.pid, a.application_name, a.client_addr::text AS client_addr, coalesce(a.xact_start, a.backend_start) AS since
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND ((l.classid::bigint << 32) | l.objid::bigint) = $1::bigint
        AND l.pid <> pg_backend_pid()
      ORDER BY a.pid`,
    [key],
  )
  return rows.map((row) => ({
    pid: Number(row.pid),
    applicationName: row.application_name ?? '',
    clientAddress: row.client_addr,
    since: row.since === null ? null : new Date(row.since),
  }))
}

/** Options of {@link withMigrationLock}. */
export interface MigrationLockOptions {
  /** The migrator's lock key (`migrationLockKey` of `@tessera/schema`). */
  migratorKey: string
  /** The migrations table, for the message. */
  table: string
  /** How long to wait for another process to finish. `0`: fail at once. */
  lockTimeoutMs: number
  signal?: AbortSignal | undefined
}

/**
 * Runs `fn` while this process holds the CLI's migration lock (a session-level advisory lock on one reserved
 * connection) and no other session holds the migrator's own lock (an application migrating at start-up). Polls
 * with `pg_try_advisory_lock`, never waiting inside a statement (a waiting statement would hold a snapshot that a
 * `CREATE INDEX CONCURRENTLY` migration of the holder waits for). After `lockTimeoutMs` it throws
 * {@link MigrationLockedError} naming the holders.
 */
export async function withMigrationLock<T>(db: Provider, options: MigrationLockOptions, fn: () => Promise<T>): Promise<T> {
  const key = cliLockKey(options.migratorKey)
  return db.connection(async (connection) => {
    const started = performance.now()
    for (let attempt = 0; ; attempt++) {
      const { rows } = await connection.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock('${key}'::bigint) AS locked`, undefined, {
        prepare: false,
      })
      let holders: LockHolder[]
      if (rows[0]?.locked === true) {
        holders = await lockHolders(connection, options.migratorKey)
        if (holders.length === 0) break
        await connection.query(`SELECT pg_advisory_unlock('${key}'::bigint)`, undefined, { prepare: false })
      } else {
        holders = await lockHolders(connection, key)
      }
      const waitedMs = Math.round(performance.now() - started)
      if (waitedMs >= options.lockTimeoutMs) throw new MigrationLockedError(options.table, holders, waitedMs)
      await sleep(Math.min(50 * 2 ** attempt, 500, Math.max(1, options.lockTimeoutMs - waitedMs)), undefined, {
        signal: options.signal,
      }).catch((error: unknown) => {
        if (options.signal?.aborted !== true) throw error
        throw new CliError(
          `interrupted (Ctrl-C) after waiting ${Math.round(performance.now() - started)} ms for the migration lock of ${options.table}; nothing was run`,
          {
            code: 'INTERRUPTED',
            exitCode: EXIT_CODES.failed,
            cause: error,
          },
        )
      })
    }
    try {
      return await fn()
    } finally {
      await connection.query(`SELECT pg_advisory_unlock('${key}'::bigint)`, undefined, { prepare: false }).catch(() => undefined)
    }
  })
}
