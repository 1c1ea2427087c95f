import { tracingChannel } from 'node:diagnostics_channel'
import { CHANNELS } from '@tessera/core'
import { createMigrator, type Migration, type MigrationRunResult, type MigrationStatus, migrationLockKey } from '@tessera/schema'
import { SingleBar } from 'cli-progress'
import { usageError } from './cli-error'
import type { CommandContext, DatabaseOptions } from './command-context'
import { withDatabase } from './connect'
import { EXIT_CODES, type ExitCode } from './exit-codes'
import { selectDatabase } from './load-config'
import { withMigrationLock } from './migration-lock'
import { listMigrationFiles, loadMigrations, writeMigrationFiles } from './migrations-folder'

/** `migrate up` / `down` options. */
export interface MigrateRunOptions extends DatabaseOptions {
  /** `up`: apply up to and including this id. `down`: keep this id and those before it. */
  to?: string | undefined
  /** `down --all`: revert every applied migration. */
  all?: boolean | undefined
  /** How long to wait for another process's migration lock, in ms. Default: 0 (fail at once, exit code 4). */
  lockTimeout?: string | undefined
}

function qualifiedTable(context: CommandContext): string {
  const { schema, table } = context.config.migrations
  return schema === undefined ? table : `${schema}.${table}`
}

async function migratorFor(context: CommandContext) {
  const migrations = await loadMigrations(context.config.migrations.directory, context.config.loader)
  const { table, schema, transaction } = context.config.migrations
  return { migrations, options: { migrations, table, schema, transaction } }
}

function statusRows(migrations: readonly Migration[], status: MigrationStatus) {
  const applied = new Map(status.applied.map((m) => [m.id, m]))
  const changed = new Set(status.changed.map((m) => String(m.id)))
  const rows = migrations.map((migration) => {
    const record = applied.get(String(migration.id))
    const state = changed.has(String(migration.id)) ? 'changed' : record === undefined ? 'pending' : 'applied'
    return { id: String(migration.id), name: migration.name, status: state, appliedAt: record?.appliedAt, durationMs: record?.durationMs }
  })
  for (const record of status.unknown) {
    rows.push({ id: record.id, name: record.name, status: 'unknown', appliedAt: record.appliedAt, durationMs: record.durationMs })
  }
  return rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

/** `tessera migrate status`: a table of applied / pending / changed / unknown migrations. `--check` exits 3 when any is pending or changed. */
export async function migrateStatus(
  context: CommandContext,
  options: DatabaseOptions & { check?: boolean | undefined },
): Promise<ExitCode> {
  const database = selectDatabase(context.config, options.database, options.url)
  const { migrations, options: migratorOptions } = await migratorFor(context)
  const status = await withDatabase(database, (db) => createMigrator(db, migratorOptions).status())
  const rows = statusRows(migrations, status)
  const { output } = context
  const c = output.colors
  if (output.json) {
    output.printJson({ database: database.name, table: qualifiedTable(context), migrations: rows, changed: status.changed })
  } else if (rows.length === 0) {
    output.line(`no migrations in ${context.config.migrations.directory}`)
  } else {
    const paint = (state: string) =>
      state === 'applied' ? c.green(state) : state === 'pending' ? c.yellow(state) : state === 'changed' ? c.red(state) : c.magenta(state)
    output.table(
      ['id', 'name', 'status', 'applied at', 'ms'],
      rows.map((row) => [row.id, row.name, paint(row.status), row.appliedAt?.toISOString(), row.durationMs]),
    )
    const pending = rows.filter((row) => row.status === 'pending').length
    output.line(
      `${rows.filter((row) => row.status === 'applied').length} applied, ${pending} pending${status.changed.length > 0 ? `, ${status.changed.length} changed since applied (up and down refuse to run)` : ''}${status.unknown.length > 0 ? `, ${status.unknown.length} unknown (applied, not in the folder)` : ''}`,
    )
  }
  const needsWork = status.pending.length > 0 || status.changed.length > 0
  return options.check === true && needsWork ? EXIT_CODES.unhealthy : EXIT_CODES.ok
}

function lockTimeoutOf(value: string | undefined): number {
  if (value === undefined) return 0
  const ms = Number(value)
  if (!Number.isInteger(ms) || ms < 0)
    throw usageError(`--lock-timeout must be a whole number of milliseconds ≥ 0, got ${JSON.stringify(value)}`)
  return ms
}

/**
 * Shows each migration as it completes: a progress bar on an interactive stderr, else one line per migration
 * (on stderr in `--json` mode, so stdout stays one JSON document). Listens to `tessera:schema:migration`.
 */
function followProgress(context: CommandContext, total: number, direction: 'up' | 'down'): () => void {
  const { output } = context
  const c = output.colors
  const verb = direction === 'up' ? 'applied' : 'reverted'
  const bar =
    output.interactive && total > 0
      ? new SingleBar({
          stream: output.stderr,
          format: `${direction === 'up' ? 'migrating' : 'reverting'} [{bar}] {value}/{total} {migration}`,
          barCompleteChar: '#',
          barIncompleteChar: '-',
          hideCursor: true,
          clearOnComplete: false,
        })
      : undefined
  bar?.start(total, 0, { migration: '' })
  const started = new Map<unknown, number>()
  const handlers = {
    start(message: unknown) {
      started.set(message, performance.now())
      const m = message as { version: string; name?: string }
      bar?.update({ migration: `${m.version} ${m.name ?? ''}` })
    },
    end() {},
    asyncStart() {},
    asyncEnd(message: unknown) {
      const m = message as { version: string; name?: string; error?: unknown }
      if (m.error !== undefined) return
      const ms = Math.round(performance.now() - (started.get(message) ?? performance.now()))
      if (bar !== undefined) bar.increment(1, { migration: `${m.version} ${m.name ?? ''}` })
      else if (!output.json) output.line(`${c.green('✔')} ${verb} ${m.version} ${m.name ?? ''} ${c.dim(`(${ms} ms)`)}`)
    },
    error() {},
  }
  const channel = tracingChannel(CHANNELS.migration)
  channel.subscribe(handlers)
  return () => {
    channel.unsubscribe(handlers)
    bar?.stop()
  }
}

/** `tessera migrate up [--to id]` and `tessera migrate down [--to id | --all]`. */
export async function migrateRun(context: CommandContext, direction: 'up' | 'down', options: MigrateRunOptions): Promise<ExitCode> {
  const database = selectDatabase(context.config, options.database, options.url)
  const lockTimeoutMs = lockTimeoutOf(options.lockTimeout)
  if (options.all === true && options.to !== undefined) throw usageError('give --to <id> or --all, not both')
  const { migrations, options: migratorOptions } = await migratorFor(context)
  if (options.to !== undefined && !migrations.some((m) => String(m.id) === options.to)) {
    throw usageError(`--to ${options.to} names no migration of ${context.config.migrations.directory}`)
  }
  const { output } = context
  const result = await withDatabase(database, async (db) => {
    const migrator = createMigrator(db, migratorOptions)
    const migratorKey = migrationLockKey({ schema: migratorOptions.schema, table: migratorOptions.table })
    return withMigrationLock(db, { migratorKey, table: qualifiedTable(context), lockTimeoutMs, signal: context.signal }, async () => {
      const status = await migrator.status()
      const total =
        direction === 'up'
          ? status.pending.filter((m) => options.to === undefined || String(m.id) <= options.to).length
          : options.all === true
            ? status.applied.length
            : options.to === undefined
              ? Math.min(1, status.applied.length)
              : status.applied.filter((m) => m.id > (options.to as string)).length
      const stop = followProgress(context, total, direction)
      try {
        if (migratorOptions.transaction === 'all' || total === 0 || status.changed.length > 0) {
          // One transaction for the whole run (all or nothing, so it cannot stop in between), nothing to do, or an
          // edited migration the migrator refuses before running anything: one call.
          if (direction === 'up') return { ...(await migrator.up({ to: options.to })), interrupted: false }
          return { ...(await migrator.down({ to: options.all === true ? null : options.to })), interrupted: false }
        }
        // A migration to revert without a down step (or no longer in the folder): the migrator refuses the whole
        // run before reverting anything, with the list of them.
        const reverting = direction === 'down' ? [...status.applied].reverse().slice(0, total) : []
        if (reverting.some((record) => migrations.find((m) => String(m.id) === record.id)?.down === undefined)) {
          return { ...(await migrator.down({ to: options.all === true ? null : options.to })), interrupted: false }
        }
        // One migration per call, so that Ctrl-C stops the run between two migrations (never inside one).
        const done: MigrationRunResult['migrations'] = []
        const planned = direction === 'up' ? status.pending.slice(0, total).map((m) => String(m.id)) : []
        for (let step = 0; step < total; step++) {
          if (context.signal.aborted) return { migrations: done, interrupted: true }
          const result = direction === 'up' ? await migrator.up({ to: planned[step] }) : await migrator.down()
          done.push(...result.migrations)
        }
        return { migrations: done, interrupted: false }
      } finally {
        stop()
      }
    })
  })
  const done = result.migrations
  if (output.json) {
    output.printJson({
      database: database.name,
      direction,
      migrations: done.map((m) => ({ id: String(m.id), name: m.name, durationMs: m.durationMs })),
      ...(result.interrupted ? { interrupted: true } : {}),
    })
  } else if (result.interrupted) {
    output.line(
      `interrupted: ${direction === 'up' ? 'applied' : 'reverted'} ${done.length} migration${done.length === 1 ? '' : 's'} before Ctrl-C; run it again to go on`,
    )
  } else if (done.length === 0) {
    output.line(direction === 'up' ? 'nothing to apply: the database is up to date' : 'nothing to revert')
  } else {
    output.line(`${direction === 'up' ? 'applied' : 'reverted'} ${done.length} migration${done.length === 1 ? '' : 's'}`)
  }
  return result.interrupted ? EXIT_CODES.failed : EXIT_CODES.ok
}

/** `tessera migrate create <name>`: a new `.sql` migration with `-- tessera:up` and `-- tessera:down` sections. */
export async function migrateCreate(context: CommandContext, name: string): Promise<ExitCode> {
  const { directory } = context.config.migrations
  listMigrationFiles(directory) // refuses a folder with clashing ids before writing
  const [file] = writeMigrationFiles(directory, [{ name, up: '-- Write the statements of this migration here.' }])
  if (context.output.json) context.output.printJson({ file })
  else context.output.line(`created ${file}`)
  return EXIT_CODES.ok
}
