import { type Kysely, type MigrationLockOptions, PostgresAdapter } from 'kysely'
import { KyselyDialectError } from './kysely-dialect-error'
import { isInsideWithConnection } from './with-connection'

/**
 * Kysely's PostgreSQL adapter, with one guard: Kysely's `Migrator` takes a session-level advisory lock through
 * `db.connection()`, which needs one held connection. Outside `withConnection` the lock would be taken on one pooled
 * connection (and kept there) and released on another, so the migrator is refused before anything runs.
 */
export class TesseraAdapter extends PostgresAdapter {
  // biome-ignore lint/suspicious/noExplicitAny: Kysely's DialectAdapter declares Kysely<any> here.
  override async acquireMigrationLock(db: Kysely<any>, options: MigrationLockOptions): Promise<void> {
    if (!isInsideWithConnection()) {
      throw new KyselyDialectError(
        'KYSELY_MIGRATOR_NEEDS_CONNECTION',
        "Kysely's Migrator locks with a session advisory lock on db.connection(), which this dialect can hold only inside withConnection: run withConnection(db, (conn) => new Migrator({ db: conn, provider }).migrateToLatest())",
      )
    }
    await super.acquireMigrationLock(db, options)
  }
}
