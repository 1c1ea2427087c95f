import { TesseraError } from '@tessera/core'

/** Which migration failed, and in which direction. */
export interface MigrationFailure {
  readonly id: number | string
  readonly name: string
  readonly direction: 'up' | 'down'
}

/**
 * A migration's `up` or `down` step failed; its transaction was rolled back. Names the migration, so a run of many
 * says which one to fix; the error the step raised (a database error with its SQLSTATE…) is the `cause`, and its
 * `retryable` carries over.
 *
 * @example
 * try { await migrator.up() } catch (error) { if (error instanceof MigrationFailedError) console.error(error.migrationId, error.cause) }
 */
export class MigrationFailedError extends TesseraError {
  readonly migrationId: number | string
  readonly migrationName: string
  readonly direction: 'up' | 'down'

  constructor(failure: MigrationFailure, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause)
    super(`migration ${failure.id} (${failure.name}) failed going ${failure.direction}: ${reason}`, {
      code: 'MIGRATION_FAILED',
      retryable: cause instanceof TesseraError && cause.retryable,
      cause,
    })
    this.migrationId = failure.id
    this.migrationName = failure.name
    this.direction = failure.direction
  }
}
