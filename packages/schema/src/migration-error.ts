import { TesseraError } from '@tessera/core'

/** Which migration failed, and in which direction. */
export interface MigrationFailure {
  readonly id: number | string
  readonly name: string
  readonly direction: 'up' | 'down'
  /** The migration was marked `transaction: false`. Default: `false`. */
  readonly outsideTransaction?: boolean | undefined
  /** Outside a transaction: the step itself completed, recording it failed. Default: `false`. */
  readonly stepCompleted?: boolean | undefined
}

function whatStays(failure: MigrationFailure): string {
  if (failure.outsideTransaction !== true) return 'its transaction was rolled back'
  if (failure.stepCompleted === true) {
    return 'it ran outside a transaction and completed, but was not recorded as applied: it stays applied; make it safe to run again or record it by hand'
  }
  return 'it ran outside a transaction: the statements before the failing one stay applied (a failed CREATE INDEX CONCURRENTLY leaves an INVALID index to drop); nothing was recorded'
}

/**
 * A migration's `up` or `down` step failed. Names the migration, so a run of many says which one to fix, and says
 * what may have been applied: nothing for a migration in a transaction (rolled back), the statements before the
 * failing one for a `transaction: false` migration (`outsideTransaction`). The error the step raised (a database
 * error with its SQLSTATE…) is the `cause`, and its `retryable` carries over.
 *
 * @example
 * try { await migrator.up() } catch (error) { if (error instanceof MigrationFailedError) console.error(error.migrationId, error.cause) }
 */
export class MigrationFailedError extends TesseraError {
  readonly migrationId: number | string
  readonly migrationName: string
  readonly direction: 'up' | 'down'
  /** The migration ran outside a transaction, so part of it may be applied (see the message). */
  readonly outsideTransaction: boolean

  constructor(failure: MigrationFailure, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause)
    super(`migration ${failure.id} (${failure.name}) failed going ${failure.direction}: ${reason}; ${whatStays(failure)}`, {
      code: 'MIGRATION_FAILED',
      retryable: cause instanceof TesseraError && cause.retryable,
      cause,
    })
    this.migrationId = failure.id
    this.migrationName = failure.name
    this.direction = failure.direction
    this.outsideTransaction = failure.outsideTransaction === true
  }
}
