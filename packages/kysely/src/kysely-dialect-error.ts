import { TesseraError } from '@tessera/core'

/** Codes of {@link KyselyDialectError}. */
export type KyselyDialectErrorCode =
  | 'KYSELY_CONNECTION_NOT_PINNED'
  | 'KYSELY_CONNECTION_UNSUPPORTED'
  | 'KYSELY_TRANSACTION_UNSUPPORTED'
  | 'KYSELY_TRANSACTION_RERUN'
  | 'KYSELY_SAVEPOINT_UNKNOWN'
  | 'KYSELY_STREAM_UNSUPPORTED'
  | 'KYSELY_NOT_A_TESSERA_DIALECT'
  | 'KYSELY_MIGRATOR_NEEDS_CONNECTION'

/**
 * Something Kysely asked of the dialect that the Tessera queryable under it cannot do, or a Kysely call the dialect
 * cannot map (a second statement on `db.connection()` without `withConnection`). The message says what to do instead.
 * Errors of the statements themselves (`UniqueViolationError`, `ProviderClosedError`…) reach the caller unchanged.
 */
export class KyselyDialectError extends TesseraError {
  constructor(code: KyselyDialectErrorCode, message: string) {
    super(message, { code })
  }
}
