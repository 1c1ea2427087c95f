import { AbortError, describeValue, isTesseraError, TesseraError } from './errors'

/**
 * Every field a PostgreSQL error can carry, plus what Tessera adds. All but `message`/`code` are
 * optional because the server sends only the fields that apply (a unique violation has `table` and
 * `constraint`, a syntax error has `position`).
 */
/**
 * The fields PostgreSQL sends with an error or a notice (besides its code and message), under the names
 * `DatabaseError` and `Notice` use. For code that copies or compares them, e.g. wrapping a database error.
 */
export const SERVER_ERROR_FIELDS = [
  'severity',
  'detail',
  'hint',
  'position',
  'internalPosition',
  'internalQuery',
  'where',
  'schema',
  'table',
  'column',
  'dataType',
  'constraint',
  'file',
  'line',
  'routine',
] as const

export interface DatabaseErrorDetails {
  /** PostgreSQL's primary message, e.g. `duplicate key value violates unique constraint "users_email_key"`. Default: the condition name. */
  message?: string | undefined
  /** The SQLSTATE (5 characters). Default: the class's own code, e.g. `23505` for `UniqueViolationError`, `XX000` for `DatabaseError`. */
  code?: string | undefined
  /** Overrides the retryable flag. Default: the flag of `code` in {@link SQLSTATE_TABLE}. */
  retryable?: boolean | undefined
  /** `ERROR`, `FATAL` or `PANIC` (pg sends the possibly localised `S` field, postgres.js the English `V` field). */
  severity?: string | undefined
  /** Secondary message. May contain row values, e.g. `Key (email)=(a@example.com) already exists.` */
  detail?: string | undefined
  hint?: string | undefined
  /** 1-based character index into the query text where the error was found. */
  position?: number | undefined
  /** Like `position`, but into `internalQuery` (an internally generated command, e.g. in a PL/pgSQL function). */
  internalPosition?: number | undefined
  internalQuery?: string | undefined
  /** Call stack context, e.g. `PL/pgSQL function f() line 3 at RAISE`. */
  where?: string | undefined
  schema?: string | undefined
  table?: string | undefined
  column?: string | undefined
  /** Name of the data type involved. */
  dataType?: string | undefined
  constraint?: string | undefined
  /** Server source file that raised the error. */
  file?: string | undefined
  /** Line in that source file. */
  line?: number | undefined
  /** Server source routine that raised the error. */
  routine?: string | undefined
  /** A driver or network code when the error did not come from the server, e.g. `ECONNRESET`, `CONNECTION_CLOSED`. */
  driverCode?: string | undefined
  /** The SQL text that failed. Parameter values are never kept: they may be secrets. */
  query?: string | undefined
}

/**
 * An error reported by PostgreSQL (or the loss of the connection to it). `code` is the SQLSTATE
 * (also readable as `sqlState`); `retryable` comes from {@link SQLSTATE_TABLE}. Fields the server
 * did not send are `undefined`. Subclasses exist per SQLSTATE class and for the codes programs
 * usually branch on; {@link mapPgError} picks the most specific one.
 *
 * @example
 * try { await db.query('insert into users (email) values ($1)', [email]) }
 * catch (error) { if (error instanceof UniqueViolationError && error.constraint === 'users_email_key') … }
 */
export class DatabaseError extends TesseraError {
  /** The code used when the details give none. */
  static readonly defaultCode: string = 'XX000'

  /** The SQLSTATE, same as `code`. */
  readonly sqlState: string
  readonly severity: string | undefined
  readonly detail: string | undefined
  readonly hint: string | undefined
  readonly position: number | undefined
  readonly internalPosition: number | undefined
  readonly internalQuery: string | undefined
  readonly where: string | undefined
  readonly schema: string | undefined
  readonly table: string | undefined
  readonly column: string | undefined
  readonly dataType: string | undefined
  readonly constraint: string | undefined
  readonly file: string | undefined
  readonly line: number | undefined
  readonly routine: string | undefined
  /** Driver or network code (`ECONNRESET`, `CONNECTION_CLOSED`…) when the error did not come from the server. */
  readonly driverCode: string | undefined
  /** The SQL text that failed, when known. Parameter values are never kept. */
  readonly query: string | undefined

  constructor(details: DatabaseErrorDetails = {}, options: { cause?: unknown } = {}) {
    const code = details.code ?? new.target.defaultCode
    const info = sqlStateInfo(code)
    super(details.message ?? (info.condition ?? `database error ${code}`).replaceAll('_', ' '), {
      code,
      retryable: details.retryable ?? info.retryable,
      cause: options.cause,
    })
    this.sqlState = code
    this.severity = details.severity
    this.detail = details.detail
    this.hint = details.hint
    this.position = details.position
    this.internalPosition = details.internalPosition
    this.internalQuery = details.internalQuery
    this.where = details.where
    this.schema = details.schema
    this.table = details.table
    this.column = details.column
    this.dataType = details.dataType
    this.constraint = details.constraint
    this.file = details.file
    this.line = details.line
    this.routine = details.routine
    this.driverCode = details.driverCode
    this.query = details.query
  }
}

// Class 08 ------------------------------------------------------------------------------------------

/**
 * The connection failed or was lost (SQLSTATE class 08), or a network error (`ECONNRESET`,
 * `CONNECTION_CLOSED`…, then `code` is `08006` and `driverCode` says what happened). Retryable on a
 * new connection, except `08P01` (protocol violation: a bug, it would fail again) and `08007`
 * (transaction resolution unknown: the commit may have happened, so a blind retry could apply a
 * write twice). The outcome of a write in flight when a connection drops is unknown too: retry
 * only idempotent work. See also {@link isConnectionLoss}.
 */
export class ConnectionError extends DatabaseError {
  static override readonly defaultCode: string = '08006'
}

/**
 * The connection was lost after a statement that writes (a COMMIT, or a write outside a transaction) was sent and
 * before its reply came (08007): it may have been applied or not, and nobody can tell from here. Never retryable: a
 * blind retry could apply the write twice. Check the database (an idempotency key, a natural key) before running it
 * again. `cause` is the connection error that cut the reply.
 */
export class TransactionResolutionUnknownError extends ConnectionError {
  static override readonly defaultCode: string = '08007'
}

// Class 22 ------------------------------------------------------------------------------------------

/** A value was invalid for its type or operation (SQLSTATE class 22): division by zero, bad input syntax, out of range. Not retryable. */
export class DataError extends DatabaseError {
  static override readonly defaultCode: string = '22000'
}

// Class 23 ------------------------------------------------------------------------------------------

/** A constraint rejected the write (SQLSTATE class 23). `constraint`, `table` and `schema` name it when the server sends them. Not retryable. */
export class IntegrityConstraintError extends DatabaseError {
  static override readonly defaultCode: string = '23000'
}

/** A unique index or constraint rejected a duplicate key (23505). `detail` shows the key. */
export class UniqueViolationError extends IntegrityConstraintError {
  static override readonly defaultCode: string = '23505'
}

/** A foreign key found no referenced row, or a referenced row is still referenced (23503). */
export class ForeignKeyViolationError extends IntegrityConstraintError {
  static override readonly defaultCode: string = '23503'
}

/** A NOT NULL column received a null (23502). `column` names it. */
export class NotNullViolationError extends IntegrityConstraintError {
  static override readonly defaultCode: string = '23502'
}

/** A CHECK constraint failed (23514). */
export class CheckViolationError extends IntegrityConstraintError {
  static override readonly defaultCode: string = '23514'
}

/** An EXCLUDE constraint found a conflicting row (23P01). */
export class ExclusionViolationError extends IntegrityConstraintError {
  static override readonly defaultCode: string = '23P01'
}

/** A RESTRICT foreign-key action refused to change a referenced row (23001). */
export class RestrictViolationError extends IntegrityConstraintError {
  static override readonly defaultCode: string = '23001'
}

// Class 25 ------------------------------------------------------------------------------------------

/** The statement is not allowed in the current transaction state (SQLSTATE class 25), e.g. `in_failed_sql_transaction` (25P02). Not retryable. */
export class InvalidTransactionStateError extends DatabaseError {
  static override readonly defaultCode: string = '25000'
}

/** A write was attempted in a read-only transaction or on a hot standby (25006). */
export class ReadOnlyTransactionError extends InvalidTransactionStateError {
  static override readonly defaultCode: string = '25006'
}

// Class 28 ------------------------------------------------------------------------------------------

/** The server refused the login (SQLSTATE class 28): wrong password (28P01), no pg_hba.conf entry, unknown role. Not retryable. */
export class AuthenticationError extends DatabaseError {
  static override readonly defaultCode: string = '28000'
}

// Class 40 ------------------------------------------------------------------------------------------

/** The server rolled the transaction back (SQLSTATE class 40). Only the two subclasses below are retryable. */
export class TransactionRollbackError extends DatabaseError {
  static override readonly defaultCode: string = '40000'
}

/** A serializable or repeatable-read transaction conflicted with a concurrent one (40001). Retryable: run the whole transaction again. */
export class SerializationFailureError extends TransactionRollbackError {
  static override readonly defaultCode: string = '40001'
}

/** The server broke a deadlock by aborting this transaction (40P01). Retryable: run the whole transaction again. */
export class DeadlockError extends TransactionRollbackError {
  static override readonly defaultCode: string = '40P01'
}

// Class 42 ------------------------------------------------------------------------------------------

/** The statement is invalid or not permitted (SQLSTATE class 42). Not retryable: the SQL or the schema must change. */
export class SyntaxOrAccessError extends DatabaseError {
  static override readonly defaultCode: string = '42000'
}

/** The SQL does not parse (42601). `position` points at the offending character (1-based). */
export class SqlSyntaxError extends SyntaxOrAccessError {
  static override readonly defaultCode: string = '42601'
}

/** A table, view or other relation does not exist (42P01). */
export class UndefinedTableError extends SyntaxOrAccessError {
  static override readonly defaultCode: string = '42P01'
}

/** A column does not exist (42703). */
export class UndefinedColumnError extends SyntaxOrAccessError {
  static override readonly defaultCode: string = '42703'
}

/** No function matches the name and argument types (42883). */
export class UndefinedFunctionError extends SyntaxOrAccessError {
  static override readonly defaultCode: string = '42883'
}

/** A table (or other relation) with that name already exists (42P07). */
export class DuplicateTableError extends SyntaxOrAccessError {
  static override readonly defaultCode: string = '42P07'
}

/** The role lacks a privilege the statement needs (42501). */
export class InsufficientPrivilegeError extends SyntaxOrAccessError {
  static override readonly defaultCode: string = '42501'
}

// Class 53 ------------------------------------------------------------------------------------------

/** The server ran short of a resource (SQLSTATE class 53). Only `TooManyConnectionsError` is retryable. */
export class InsufficientResourcesError extends DatabaseError {
  static override readonly defaultCode: string = '53000'
}

/** The server's disk is full (53100). Not retryable: someone has to free space. */
export class DiskFullError extends InsufficientResourcesError {
  static override readonly defaultCode: string = '53100'
}

/** The server ran out of memory (53200). Not retryable: the same statement would likely need the same memory. */
export class OutOfMemoryError extends InsufficientResourcesError {
  static override readonly defaultCode: string = '53200'
}

/** `max_connections` (or a role/database connection limit) is reached (53300). Retryable: connections come free. */
export class TooManyConnectionsError extends InsufficientResourcesError {
  static override readonly defaultCode: string = '53300'
}

// Class 54, 55 --------------------------------------------------------------------------------------

/** A statement exceeded an implementation limit (SQLSTATE class 54): too complex, too many columns or arguments. Not retryable. */
export class ProgramLimitError extends DatabaseError {
  static override readonly defaultCode: string = '54000'
}

/** An object is not in the state the statement needs (SQLSTATE class 55), e.g. in use. Only `LockNotAvailableError` is retryable. */
export class ObjectStateError extends DatabaseError {
  static override readonly defaultCode: string = '55000'
}

/** A lock could not be taken: `NOWAIT`, or `lock_timeout` expired (55P03). Retryable: the holder will let go. */
export class LockNotAvailableError extends ObjectStateError {
  static override readonly defaultCode: string = '55P03'
}

// Class 57 ------------------------------------------------------------------------------------------

/**
 * An operator or the server itself stopped the statement or the session (SQLSTATE class 57). The
 * shutdown codes 57P01–57P03 and `idle_session_timeout` (57P05) end the session and are retryable on
 * a new connection; {@link isConnectionLoss} is true for them even though they are not `ConnectionError`s.
 */
export class OperatorInterventionError extends DatabaseError {
  static override readonly defaultCode: string = '57000'
}

/**
 * The statement was canceled (57014): `statement_timeout`, `pg_cancel_backend` or a client-side
 * cancel. Not retryable: the same statement would hit the same timeout.
 */
export class QueryCanceledError extends OperatorInterventionError {
  static override readonly defaultCode: string = '57014'
}

/** The session was terminated by an administrator (`pg_terminate_backend`) or a fast shutdown (57P01). The connection is gone; retryable on a new one. */
export class AdminShutdownError extends OperatorInterventionError {
  static override readonly defaultCode: string = '57P01'
}

/** The server is restarting after another backend crashed (57P02). The connection is gone; retryable on a new one. */
export class CrashShutdownError extends OperatorInterventionError {
  static override readonly defaultCode: string = '57P02'
}

/** The server is starting up, shutting down or in recovery and refused the connection (57P03). Retryable a little later. */
export class CannotConnectNowError extends OperatorInterventionError {
  static override readonly defaultCode: string = '57P03'
}

/** The database of this session was dropped (57P04). The connection is gone. Not retryable. */
export class DatabaseDroppedError extends OperatorInterventionError {
  static override readonly defaultCode: string = '57P04'
}

// Class 58, XX --------------------------------------------------------------------------------------

/** An error outside PostgreSQL itself, such as an I/O error (SQLSTATE class 58). Not retryable. */
export class SystemError extends DatabaseError {
  static override readonly defaultCode: string = '58000'
}

/** An internal server error or detected corruption (SQLSTATE class XX). Not retryable. */
export class InternalError extends DatabaseError {
  static override readonly defaultCode: string = 'XX000'
}

// The SQLSTATE table --------------------------------------------------------------------------------

const ERROR_CLASSES = {
  DatabaseError,
  ConnectionError,
  TransactionResolutionUnknownError,
  DataError,
  IntegrityConstraintError,
  UniqueViolationError,
  ForeignKeyViolationError,
  NotNullViolationError,
  CheckViolationError,
  ExclusionViolationError,
  RestrictViolationError,
  InvalidTransactionStateError,
  ReadOnlyTransactionError,
  AuthenticationError,
  TransactionRollbackError,
  SerializationFailureError,
  DeadlockError,
  SyntaxOrAccessError,
  SqlSyntaxError,
  UndefinedTableError,
  UndefinedColumnError,
  UndefinedFunctionError,
  DuplicateTableError,
  InsufficientPrivilegeError,
  InsufficientResourcesError,
  DiskFullError,
  OutOfMemoryError,
  TooManyConnectionsError,
  ProgramLimitError,
  ObjectStateError,
  LockNotAvailableError,
  OperatorInterventionError,
  QueryCanceledError,
  AdminShutdownError,
  CrashShutdownError,
  CannotConnectNowError,
  DatabaseDroppedError,
  SystemError,
  InternalError,
} as const

/** The name of a {@link DatabaseError} class, as used in {@link SQLSTATE_TABLE}. */
export type DatabaseErrorClassName = keyof typeof ERROR_CLASSES

/** One row of {@link SQLSTATE_TABLE}. */
export interface SqlStateEntry {
  /** The condition name of the PostgreSQL manual (also usable in PL/pgSQL), e.g. `unique_violation`. */
  readonly condition: string
  /** The class {@link mapPgError} creates for this code. */
  readonly errorClass: DatabaseErrorClassName
  /** Whether running the operation again (on a new connection, or the whole transaction) may succeed. */
  readonly retryable: boolean
}

/**
 * Every error code of the PostgreSQL 15 manual, appendix A "PostgreSQL Error Codes" (warning and
 * success classes 00–02 left out), keyed by SQLSTATE. Codes of classes without their own
 * {@link DatabaseError} subclass (0A feature_not_supported, P0 PL/pgSQL…) map to `DatabaseError`.
 *
 * Retryable: class 08 except 08P01 and 08007; 40001, 40P01; 53300; 55P03; 57P01–57P03 and 57P05.
 */
export const SQLSTATE_TABLE: Readonly<Record<string, SqlStateEntry>> = freezeTable({
  // Class 03: SQL Statement Not Yet Complete
  '03000': { condition: 'sql_statement_not_yet_complete', errorClass: 'DatabaseError', retryable: false },
  // Class 08: Connection Exception
  '08000': { condition: 'connection_exception', errorClass: 'ConnectionError', retryable: true },
  '08003': { condition: 'connection_does_not_exist', errorClass: 'ConnectionError', retryable: true },
  '08006': { condition: 'connection_failure', errorClass: 'ConnectionError', retryable: true },
  '08001': { condition: 'sqlclient_unable_to_establish_sqlconnection', errorClass: 'ConnectionError', retryable: true },
  '08004': { condition: 'sqlserver_rejected_establishment_of_sqlconnection', errorClass: 'ConnectionError', retryable: true },
  '08007': { condition: 'transaction_resolution_unknown', errorClass: 'TransactionResolutionUnknownError', retryable: false },
  '08P01': { condition: 'protocol_violation', errorClass: 'ConnectionError', retryable: false },
  // Class 09: Triggered Action Exception
  '09000': { condition: 'triggered_action_exception', errorClass: 'DatabaseError', retryable: false },
  // Class 0A: Feature Not Supported
  '0A000': { condition: 'feature_not_supported', errorClass: 'DatabaseError', retryable: false },
  // Class 0B: Invalid Transaction Initiation
  '0B000': { condition: 'invalid_transaction_initiation', errorClass: 'DatabaseError', retryable: false },
  // Class 0F: Locator Exception
  '0F000': { condition: 'locator_exception', errorClass: 'DatabaseError', retryable: false },
  '0F001': { condition: 'invalid_locator_specification', errorClass: 'DatabaseError', retryable: false },
  // Class 0L: Invalid Grantor
  '0L000': { condition: 'invalid_grantor', errorClass: 'DatabaseError', retryable: false },
  '0LP01': { condition: 'invalid_grant_operation', errorClass: 'DatabaseError', retryable: false },
  // Class 0P: Invalid Role Specification
  '0P000': { condition: 'invalid_role_specification', errorClass: 'DatabaseError', retryable: false },
  // Class 0Z: Diagnostics Exception
  '0Z000': { condition: 'diagnostics_exception', errorClass: 'DatabaseError', retryable: false },
  '0Z002': { condition: 'stacked_diagnostics_accessed_without_active_handler', errorClass: 'DatabaseError', retryable: false },
  // Class 20: Case Not Found
  '20000': { condition: 'case_not_found', errorClass: 'DatabaseError', retryable: false },
  // Class 21: Cardinality Violation
  '21000': { condition: 'cardinality_violation', errorClass: 'DatabaseError', retryable: false },
  // Class 22: Data Exception
  '22000': { condition: 'data_exception', errorClass: 'DataError', retryable: false },
  '2202E': { condition: 'array_subscript_error', errorClass: 'DataError', retryable: false },
  '22021': { condition: 'character_not_in_repertoire', errorClass: 'DataError', retryable: false },
  '22008': { condition: 'datetime_field_overflow', errorClass: 'DataError', retryable: false },
  '22012': { condition: 'division_by_zero', errorClass: 'DataError', retryable: false },
  '22005': { condition: 'error_in_assignment', errorClass: 'DataError', retryable: false },
  '2200B': { condition: 'escape_character_conflict', errorClass: 'DataError', retryable: false },
  '22022': { condition: 'indicator_overflow', errorClass: 'DataError', retryable: false },
  '22015': { condition: 'interval_field_overflow', errorClass: 'DataError', retryable: false },
  '2201E': { condition: 'invalid_argument_for_logarithm', errorClass: 'DataError', retryable: false },
  '22014': { condition: 'invalid_argument_for_ntile_function', errorClass: 'DataError', retryable: false },
  '22016': { condition: 'invalid_argument_for_nth_value_function', errorClass: 'DataError', retryable: false },
  '2201F': { condition: 'invalid_argument_for_power_function', errorClass: 'DataError', retryable: false },
  '2201G': { condition: 'invalid_argument_for_width_bucket_function', errorClass: 'DataError', retryable: false },
  '22018': { condition: 'invalid_character_value_for_cast', errorClass: 'DataError', retryable: false },
  '22007': { condition: 'invalid_datetime_format', errorClass: 'DataError', retryable: false },
  '22019': { condition: 'invalid_escape_character', errorClass: 'DataError', retryable: false },
  '2200D': { condition: 'invalid_escape_octet', errorClass: 'DataError', retryable: false },
  '22025': { condition: 'invalid_escape_sequence', errorClass: 'DataError', retryable: false },
  '22P06': { condition: 'nonstandard_use_of_escape_character', errorClass: 'DataError', retryable: false },
  '22010': { condition: 'invalid_indicator_parameter_value', errorClass: 'DataError', retryable: false },
  '22023': { condition: 'invalid_parameter_value', errorClass: 'DataError', retryable: false },
  '22013': { condition: 'invalid_preceding_or_following_size', errorClass: 'DataError', retryable: false },
  '2201B': { condition: 'invalid_regular_expression', errorClass: 'DataError', retryable: false },
  '2201W': { condition: 'invalid_row_count_in_limit_clause', errorClass: 'DataError', retryable: false },
  '2201X': { condition: 'invalid_row_count_in_result_offset_clause', errorClass: 'DataError', retryable: false },
  '2202H': { condition: 'invalid_tablesample_argument', errorClass: 'DataError', retryable: false },
  '2202G': { condition: 'invalid_tablesample_repeat', errorClass: 'DataError', retryable: false },
  '22009': { condition: 'invalid_time_zone_displacement_value', errorClass: 'DataError', retryable: false },
  '2200C': { condition: 'invalid_use_of_escape_character', errorClass: 'DataError', retryable: false },
  '2200G': { condition: 'most_specific_type_mismatch', errorClass: 'DataError', retryable: false },
  '22004': { condition: 'null_value_not_allowed', errorClass: 'DataError', retryable: false },
  '22002': { condition: 'null_value_no_indicator_parameter', errorClass: 'DataError', retryable: false },
  '22003': { condition: 'numeric_value_out_of_range', errorClass: 'DataError', retryable: false },
  '2200H': { condition: 'sequence_generator_limit_exceeded', errorClass: 'DataError', retryable: false },
  '22026': { condition: 'string_data_length_mismatch', errorClass: 'DataError', retryable: false },
  '22001': { condition: 'string_data_right_truncation', errorClass: 'DataError', retryable: false },
  '22011': { condition: 'substring_error', errorClass: 'DataError', retryable: false },
  '22027': { condition: 'trim_error', errorClass: 'DataError', retryable: false },
  '22024': { condition: 'unterminated_c_string', errorClass: 'DataError', retryable: false },
  '2200F': { condition: 'zero_length_character_string', errorClass: 'DataError', retryable: false },
  '22P01': { condition: 'floating_point_exception', errorClass: 'DataError', retryable: false },
  '22P02': { condition: 'invalid_text_representation', errorClass: 'DataError', retryable: false },
  '22P03': { condition: 'invalid_binary_representation', errorClass: 'DataError', retryable: false },
  '22P04': { condition: 'bad_copy_file_format', errorClass: 'DataError', retryable: false },
  '22P05': { condition: 'untranslatable_character', errorClass: 'DataError', retryable: false },
  '22P07': { condition: 'datum_version_mismatch', errorClass: 'DataError', retryable: false },
  '2200L': { condition: 'not_an_xml_document', errorClass: 'DataError', retryable: false },
  '2200M': { condition: 'invalid_xml_document', errorClass: 'DataError', retryable: false },
  '2200N': { condition: 'invalid_xml_content', errorClass: 'DataError', retryable: false },
  '2200S': { condition: 'invalid_xml_comment', errorClass: 'DataError', retryable: false },
  '2200T': { condition: 'invalid_xml_processing_instruction', errorClass: 'DataError', retryable: false },
  '22030': { condition: 'duplicate_json_object_key_value', errorClass: 'DataError', retryable: false },
  '22031': { condition: 'invalid_argument_for_sql_json_datetime_function', errorClass: 'DataError', retryable: false },
  '22032': { condition: 'invalid_json_text', errorClass: 'DataError', retryable: false },
  '22033': { condition: 'invalid_sql_json_subscript', errorClass: 'DataError', retryable: false },
  '22034': { condition: 'more_than_one_sql_json_item', errorClass: 'DataError', retryable: false },
  '22035': { condition: 'no_sql_json_item', errorClass: 'DataError', retryable: false },
  '22036': { condition: 'non_numeric_sql_json_item', errorClass: 'DataError', retryable: false },
  '22037': { condition: 'non_unique_keys_in_a_json_object', errorClass: 'DataError', retryable: false },
  '22038': { condition: 'singleton_sql_json_item_required', errorClass: 'DataError', retryable: false },
  '22039': { condition: 'sql_json_array_not_found', errorClass: 'DataError', retryable: false },
  '2203A': { condition: 'sql_json_member_not_found', errorClass: 'DataError', retryable: false },
  '2203B': { condition: 'sql_json_number_not_found', errorClass: 'DataError', retryable: false },
  '2203C': { condition: 'sql_json_object_not_found', errorClass: 'DataError', retryable: false },
  '2203D': { condition: 'too_many_json_array_elements', errorClass: 'DataError', retryable: false },
  '2203E': { condition: 'too_many_json_object_members', errorClass: 'DataError', retryable: false },
  '2203F': { condition: 'sql_json_scalar_required', errorClass: 'DataError', retryable: false },
  '2203G': { condition: 'sql_json_item_cannot_be_cast_to_target_type', errorClass: 'DataError', retryable: false },
  // Class 23: Integrity Constraint Violation
  '23000': { condition: 'integrity_constraint_violation', errorClass: 'IntegrityConstraintError', retryable: false },
  '23001': { condition: 'restrict_violation', errorClass: 'RestrictViolationError', retryable: false },
  '23502': { condition: 'not_null_violation', errorClass: 'NotNullViolationError', retryable: false },
  '23503': { condition: 'foreign_key_violation', errorClass: 'ForeignKeyViolationError', retryable: false },
  '23505': { condition: 'unique_violation', errorClass: 'UniqueViolationError', retryable: false },
  '23514': { condition: 'check_violation', errorClass: 'CheckViolationError', retryable: false },
  '23P01': { condition: 'exclusion_violation', errorClass: 'ExclusionViolationError', retryable: false },
  // Class 24: Invalid Cursor State
  '24000': { condition: 'invalid_cursor_state', errorClass: 'DatabaseError', retryable: false },
  // Class 25: Invalid Transaction State
  '25000': { condition: 'invalid_transaction_state', errorClass: 'InvalidTransactionStateError', retryable: false },
  '25001': { condition: 'active_sql_transaction', errorClass: 'InvalidTransactionStateError', retryable: false },
  '25002': { condition: 'branch_transaction_already_active', errorClass: 'InvalidTransactionStateError', retryable: false },
  '25008': { condition: 'held_cursor_requires_same_isolation_level', errorClass: 'InvalidTransactionStateError', retryable: false },
  '25003': { condition: 'inappropriate_access_mode_for_branch_transaction', errorClass: 'InvalidTransactionStateError', retryable: false },
  '25004': {
    condition: 'inappropriate_isolation_level_for_branch_transaction',
    errorClass: 'InvalidTransactionStateError',
    retryable: false,
  },
  '25005': { condition: 'no_active_sql_transaction_for_branch_transaction', errorClass: 'InvalidTransactionStateError', retryable: false },
  '25006': { condition: 'read_only_sql_transaction', errorClass: 'ReadOnlyTransactionError', retryable: false },
  '25007': { condition: 'schema_and_data_statement_mixing_not_supported', errorClass: 'InvalidTransactionStateError', retryable: false },
  '25P01': { condition: 'no_active_sql_transaction', errorClass: 'InvalidTransactionStateError', retryable: false },
  '25P02': { condition: 'in_failed_sql_transaction', errorClass: 'InvalidTransactionStateError', retryable: false },
  '25P03': { condition: 'idle_in_transaction_session_timeout', errorClass: 'InvalidTransactionStateError', retryable: false },
  // Class 26: Invalid SQL Statement Name
  '26000': { condition: 'invalid_sql_statement_name', errorClass: 'DatabaseError', retryable: false },
  // Class 27: Triggered Data Change Violation
  '27000': { condition: 'triggered_data_change_violation', errorClass: 'DatabaseError', retryable: false },
  // Class 28: Invalid Authorization Specification
  '28000': { condition: 'invalid_authorization_specification', errorClass: 'AuthenticationError', retryable: false },
  '28P01': { condition: 'invalid_password', errorClass: 'AuthenticationError', retryable: false },
  // Class 2B: Dependent Privilege Descriptors Still Exist
  '2B000': { condition: 'dependent_privilege_descriptors_still_exist', errorClass: 'DatabaseError', retryable: false },
  '2BP01': { condition: 'dependent_objects_still_exist', errorClass: 'DatabaseError', retryable: false },
  // Class 2D: Invalid Transaction Termination
  '2D000': { condition: 'invalid_transaction_termination', errorClass: 'DatabaseError', retryable: false },
  // Class 2F: SQL Routine Exception
  '2F000': { condition: 'sql_routine_exception', errorClass: 'DatabaseError', retryable: false },
  '2F005': { condition: 'function_executed_no_return_statement', errorClass: 'DatabaseError', retryable: false },
  '2F002': { condition: 'modifying_sql_data_not_permitted', errorClass: 'DatabaseError', retryable: false },
  '2F003': { condition: 'prohibited_sql_statement_attempted', errorClass: 'DatabaseError', retryable: false },
  '2F004': { condition: 'reading_sql_data_not_permitted', errorClass: 'DatabaseError', retryable: false },
  // Class 34: Invalid Cursor Name
  '34000': { condition: 'invalid_cursor_name', errorClass: 'DatabaseError', retryable: false },
  // Class 38: External Routine Exception
  '38000': { condition: 'external_routine_exception', errorClass: 'DatabaseError', retryable: false },
  '38001': { condition: 'containing_sql_not_permitted', errorClass: 'DatabaseError', retryable: false },
  '38002': { condition: 'modifying_sql_data_not_permitted', errorClass: 'DatabaseError', retryable: false },
  '38003': { condition: 'prohibited_sql_statement_attempted', errorClass: 'DatabaseError', retryable: false },
  '38004': { condition: 'reading_sql_data_not_permitted', errorClass: 'DatabaseError', retryable: false },
  // Class 39: External Routine Invocation Exception
  '39000': { condition: 'external_routine_invocation_exception', errorClass: 'DatabaseError', retryable: false },
  '39001': { condition: 'invalid_sqlstate_returned', errorClass: 'DatabaseError', retryable: false },
  '39004': { condition: 'null_value_not_allowed', errorClass: 'DatabaseError', retryable: false },
  '39P01': { condition: 'trigger_protocol_violated', errorClass: 'DatabaseError', retryable: false },
  '39P02': { condition: 'srf_protocol_violated', errorClass: 'DatabaseError', retryable: false },
  '39P03': { condition: 'event_trigger_protocol_violated', errorClass: 'DatabaseError', retryable: false },
  // Class 3B: Savepoint Exception
  '3B000': { condition: 'savepoint_exception', errorClass: 'DatabaseError', retryable: false },
  '3B001': { condition: 'invalid_savepoint_specification', errorClass: 'DatabaseError', retryable: false },
  // Class 3D: Invalid Catalog Name
  '3D000': { condition: 'invalid_catalog_name', errorClass: 'DatabaseError', retryable: false },
  // Class 3F: Invalid Schema Name
  '3F000': { condition: 'invalid_schema_name', errorClass: 'DatabaseError', retryable: false },
  // Class 40: Transaction Rollback
  '40000': { condition: 'transaction_rollback', errorClass: 'TransactionRollbackError', retryable: false },
  '40002': { condition: 'transaction_integrity_constraint_violation', errorClass: 'TransactionRollbackError', retryable: false },
  '40001': { condition: 'serialization_failure', errorClass: 'SerializationFailureError', retryable: true },
  '40003': { condition: 'statement_completion_unknown', errorClass: 'TransactionRollbackError', retryable: false },
  '40P01': { condition: 'deadlock_detected', errorClass: 'DeadlockError', retryable: true },
  // Class 42: Syntax Error or Access Rule Violation
  '42000': { condition: 'syntax_error_or_access_rule_violation', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42601': { condition: 'syntax_error', errorClass: 'SqlSyntaxError', retryable: false },
  '42501': { condition: 'insufficient_privilege', errorClass: 'InsufficientPrivilegeError', retryable: false },
  '42846': { condition: 'cannot_coerce', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42803': { condition: 'grouping_error', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42P20': { condition: 'windowing_error', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42P19': { condition: 'invalid_recursion', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42830': { condition: 'invalid_foreign_key', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42602': { condition: 'invalid_name', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42622': { condition: 'name_too_long', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42939': { condition: 'reserved_name', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42804': { condition: 'datatype_mismatch', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42P18': { condition: 'indeterminate_datatype', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42P21': { condition: 'collation_mismatch', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42P22': { condition: 'indeterminate_collation', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42809': { condition: 'wrong_object_type', errorClass: 'SyntaxOrAccessError', retryable: false },
  '428C9': { condition: 'generated_always', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42703': { condition: 'undefined_column', errorClass: 'UndefinedColumnError', retryable: false },
  '42883': { condition: 'undefined_function', errorClass: 'UndefinedFunctionError', retryable: false },
  '42P01': { condition: 'undefined_table', errorClass: 'UndefinedTableError', retryable: false },
  '42P02': { condition: 'undefined_parameter', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42704': { condition: 'undefined_object', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42701': { condition: 'duplicate_column', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42P03': { condition: 'duplicate_cursor', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42P04': { condition: 'duplicate_database', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42723': { condition: 'duplicate_function', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42P05': { condition: 'duplicate_prepared_statement', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42P06': { condition: 'duplicate_schema', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42P07': { condition: 'duplicate_table', errorClass: 'DuplicateTableError', retryable: false },
  '42712': { condition: 'duplicate_alias', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42710': { condition: 'duplicate_object', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42702': { condition: 'ambiguous_column', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42725': { condition: 'ambiguous_function', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42P08': { condition: 'ambiguous_parameter', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42P09': { condition: 'ambiguous_alias', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42P10': { condition: 'invalid_column_reference', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42611': { condition: 'invalid_column_definition', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42P11': { condition: 'invalid_cursor_definition', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42P12': { condition: 'invalid_database_definition', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42P13': { condition: 'invalid_function_definition', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42P14': { condition: 'invalid_prepared_statement_definition', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42P15': { condition: 'invalid_schema_definition', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42P16': { condition: 'invalid_table_definition', errorClass: 'SyntaxOrAccessError', retryable: false },
  '42P17': { condition: 'invalid_object_definition', errorClass: 'SyntaxOrAccessError', retryable: false },
  // Class 44: WITH CHECK OPTION Violation
  '44000': { condition: 'with_check_option_violation', errorClass: 'DatabaseError', retryable: false },
  // Class 53: Insufficient Resources
  '53000': { condition: 'insufficient_resources', errorClass: 'InsufficientResourcesError', retryable: false },
  '53100': { condition: 'disk_full', errorClass: 'DiskFullError', retryable: false },
  '53200': { condition: 'out_of_memory', errorClass: 'OutOfMemoryError', retryable: false },
  '53300': { condition: 'too_many_connections', errorClass: 'TooManyConnectionsError', retryable: true },
  '53400': { condition: 'configuration_limit_exceeded', errorClass: 'InsufficientResourcesError', retryable: false },
  // Class 54: Program Limit Exceeded
  '54000': { condition: 'program_limit_exceeded', errorClass: 'ProgramLimitError', retryable: false },
  '54001': { condition: 'statement_too_complex', errorClass: 'ProgramLimitError', retryable: false },
  '54011': { condition: 'too_many_columns', errorClass: 'ProgramLimitError', retryable: false },
  '54023': { condition: 'too_many_arguments', errorClass: 'ProgramLimitError', retryable: false },
  // Class 55: Object Not In Prerequisite State
  '55000': { condition: 'object_not_in_prerequisite_state', errorClass: 'ObjectStateError', retryable: false },
  '55006': { condition: 'object_in_use', errorClass: 'ObjectStateError', retryable: false },
  '55P02': { condition: 'cant_change_runtime_param', errorClass: 'ObjectStateError', retryable: false },
  '55P03': { condition: 'lock_not_available', errorClass: 'LockNotAvailableError', retryable: true },
  '55P04': { condition: 'unsafe_new_enum_value_usage', errorClass: 'ObjectStateError', retryable: false },
  // Class 57: Operator Intervention
  '57000': { condition: 'operator_intervention', errorClass: 'OperatorInterventionError', retryable: false },
  '57014': { condition: 'query_canceled', errorClass: 'QueryCanceledError', retryable: false },
  '57P01': { condition: 'admin_shutdown', errorClass: 'AdminShutdownError', retryable: true },
  '57P02': { condition: 'crash_shutdown', errorClass: 'CrashShutdownError', retryable: true },
  '57P03': { condition: 'cannot_connect_now', errorClass: 'CannotConnectNowError', retryable: true },
  '57P04': { condition: 'database_dropped', errorClass: 'DatabaseDroppedError', retryable: false },
  '57P05': { condition: 'idle_session_timeout', errorClass: 'OperatorInterventionError', retryable: true },
  // Class 58: System Error (errors external to PostgreSQL itself)
  '58000': { condition: 'system_error', errorClass: 'SystemError', retryable: false },
  '58030': { condition: 'io_error', errorClass: 'SystemError', retryable: false },
  '58P01': { condition: 'undefined_file', errorClass: 'SystemError', retryable: false },
  '58P02': { condition: 'duplicate_file', errorClass: 'SystemError', retryable: false },
  // Class 72: Snapshot Failure
  '72000': { condition: 'snapshot_too_old', errorClass: 'DatabaseError', retryable: false },
  // Class F0: Configuration File Error
  F0000: { condition: 'config_file_error', errorClass: 'DatabaseError', retryable: false },
  F0001: { condition: 'lock_file_exists', errorClass: 'DatabaseError', retryable: false },
  // Class HV: Foreign Data Wrapper Error (SQL/MED)
  HV000: { condition: 'fdw_error', errorClass: 'DatabaseError', retryable: false },
  HV005: { condition: 'fdw_column_name_not_found', errorClass: 'DatabaseError', retryable: false },
  HV002: { condition: 'fdw_dynamic_parameter_value_needed', errorClass: 'DatabaseError', retryable: false },
  HV010: { condition: 'fdw_function_sequence_error', errorClass: 'DatabaseError', retryable: false },
  HV021: { condition: 'fdw_inconsistent_descriptor_information', errorClass: 'DatabaseError', retryable: false },
  HV024: { condition: 'fdw_invalid_attribute_value', errorClass: 'DatabaseError', retryable: false },
  HV007: { condition: 'fdw_invalid_column_name', errorClass: 'DatabaseError', retryable: false },
  HV008: { condition: 'fdw_invalid_column_number', errorClass: 'DatabaseError', retryable: false },
  HV004: { condition: 'fdw_invalid_data_type', errorClass: 'DatabaseError', retryable: false },
  HV006: { condition: 'fdw_invalid_data_type_descriptors', errorClass: 'DatabaseError', retryable: false },
  HV091: { condition: 'fdw_invalid_descriptor_field_identifier', errorClass: 'DatabaseError', retryable: false },
  HV00B: { condition: 'fdw_invalid_handle', errorClass: 'DatabaseError', retryable: false },
  HV00C: { condition: 'fdw_invalid_option_index', errorClass: 'DatabaseError', retryable: false },
  HV00D: { condition: 'fdw_invalid_option_name', errorClass: 'DatabaseError', retryable: false },
  HV090: { condition: 'fdw_invalid_string_length_or_buffer_length', errorClass: 'DatabaseError', retryable: false },
  HV00A: { condition: 'fdw_invalid_string_format', errorClass: 'DatabaseError', retryable: false },
  HV009: { condition: 'fdw_invalid_use_of_null_pointer', errorClass: 'DatabaseError', retryable: false },
  HV014: { condition: 'fdw_too_many_handles', errorClass: 'DatabaseError', retryable: false },
  HV001: { condition: 'fdw_out_of_memory', errorClass: 'DatabaseError', retryable: false },
  HV00P: { condition: 'fdw_no_schemas', errorClass: 'DatabaseError', retryable: false },
  HV00J: { condition: 'fdw_option_name_not_found', errorClass: 'DatabaseError', retryable: false },
  HV00K: { condition: 'fdw_reply_handle', errorClass: 'DatabaseError', retryable: false },
  HV00Q: { condition: 'fdw_schema_not_found', errorClass: 'DatabaseError', retryable: false },
  HV00R: { condition: 'fdw_table_not_found', errorClass: 'DatabaseError', retryable: false },
  HV00L: { condition: 'fdw_unable_to_create_execution', errorClass: 'DatabaseError', retryable: false },
  HV00M: { condition: 'fdw_unable_to_create_reply', errorClass: 'DatabaseError', retryable: false },
  HV00N: { condition: 'fdw_unable_to_establish_connection', errorClass: 'DatabaseError', retryable: false },
  // Class P0: PL/pgSQL Error
  P0000: { condition: 'plpgsql_error', errorClass: 'DatabaseError', retryable: false },
  P0001: { condition: 'raise_exception', errorClass: 'DatabaseError', retryable: false },
  P0002: { condition: 'no_data_found', errorClass: 'DatabaseError', retryable: false },
  P0003: { condition: 'too_many_rows', errorClass: 'DatabaseError', retryable: false },
  P0004: { condition: 'assert_failure', errorClass: 'DatabaseError', retryable: false },
  // Class XX: Internal Error
  XX000: { condition: 'internal_error', errorClass: 'InternalError', retryable: false },
  XX001: { condition: 'data_corrupted', errorClass: 'InternalError', retryable: false },
  XX002: { condition: 'index_corrupted', errorClass: 'InternalError', retryable: false },
})

function freezeTable(rows: Record<string, SqlStateEntry>): Readonly<Record<string, SqlStateEntry>> {
  for (const row of Object.values(rows)) Object.freeze(row)
  return Object.freeze(rows)
}

/** Subclass per two-character SQLSTATE class, for codes missing from the table (a newer server's). */
const CLASS_FALLBACK: Readonly<Record<string, DatabaseErrorClassName>> = {
  '08': 'ConnectionError',
  '22': 'DataError',
  '23': 'IntegrityConstraintError',
  '25': 'InvalidTransactionStateError',
  '28': 'AuthenticationError',
  '40': 'TransactionRollbackError',
  '42': 'SyntaxOrAccessError',
  '53': 'InsufficientResourcesError',
  '54': 'ProgramLimitError',
  '55': 'ObjectStateError',
  '57': 'OperatorInterventionError',
  '58': 'SystemError',
  XX: 'InternalError',
}

/** What {@link sqlStateInfo} knows about a code. */
export interface SqlStateInfo {
  readonly code: string
  /** The condition name, `undefined` for a code not in {@link SQLSTATE_TABLE}. */
  readonly condition: string | undefined
  readonly errorClass: DatabaseErrorClassName
  readonly retryable: boolean
}

/**
 * Looks a SQLSTATE up in {@link SQLSTATE_TABLE}. A code missing from the table falls back on its
 * two-character class (`23999` → `IntegrityConstraintError`, retryable only in class 08); an
 * unknown class gives `DatabaseError`, not retryable.
 *
 * @example sqlStateInfo('40P01') // { code: '40P01', condition: 'deadlock_detected', errorClass: 'DeadlockError', retryable: true }
 */
export function sqlStateInfo(code: string): SqlStateInfo {
  const entry = Object.hasOwn(SQLSTATE_TABLE, code) ? SQLSTATE_TABLE[code] : undefined
  if (entry) return { code, condition: entry.condition, errorClass: entry.errorClass, retryable: entry.retryable }
  const classCode = code.slice(0, 2)
  const errorClass = (Object.hasOwn(CLASS_FALLBACK, classCode) ? CLASS_FALLBACK[classCode] : undefined) ?? 'DatabaseError'
  return { code, condition: undefined, errorClass, retryable: classCode === '08' }
}

/**
 * True when the connection that raised `error` is gone or was never established, so it must be
 * discarded (a pool should not hand it out again): class 08 (including network errors mapped by
 * {@link mapPgError}), the session-ending codes 57P01–57P05 and 25P03
 * (`idle_in_transaction_session_timeout`), and any error the server sent with severity `FATAL` or
 * `PANIC` (such as a failed login). Accepts a raw driver error too (it is mapped first).
 */
export function isConnectionLoss(error: unknown): boolean {
  const mapped = isTesseraError(error) ? error : mapPgError(error)
  if (!/^[0-9A-Z]{5}$/.test(mapped.code)) return false
  if (mapped.code.startsWith('08') || SESSION_ENDING_CODES.has(mapped.code)) return true
  const severity = (mapped as { severity?: unknown }).severity
  return severity === 'FATAL' || severity === 'PANIC'
}

const SESSION_ENDING_CODES: ReadonlySet<string> = new Set(['57P01', '57P02', '57P03', '57P04', '57P05', '25P03'])

// mapPgError ----------------------------------------------------------------------------------------

/** What {@link mapPgError} may know about the failed statement. */
export interface MapPgErrorContext {
  /** The SQL text; kept as the error's `query`. */
  sql?: string | undefined
  /** The parameters. Accepted for convenience but never stored or printed: they may be secrets. */
  params?: readonly unknown[] | undefined
  /** The server being connected to (`db1:5432`, a socket path): named in a connection failure's message. */
  target?: string | undefined
}

/** The `driverCode` of the {@link ConnectionError} for a server that refused TLS (`sslmode=require` on a server without it). */
export const TLS_REFUSED = 'TLS_REFUSED'

/** The `driverCode` of the {@link ConnectionError} for a TLS negotiation the server broke off. */
export const TLS_FAILED = 'TLS_FAILED'

/** node-postgres' messages for a TLS negotiation that failed, as plain `Error`s without a code. */
const TLS_MESSAGES: Readonly<Record<string, string>> = {
  'The server does not support SSL connections': TLS_REFUSED,
  'There was an error establishing an SSL connection': TLS_FAILED,
}

/** Node and postgres.js codes of a lost or unreachable connection. */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
])

/** node-postgres raises these as plain `Error`s without a code. */
const NETWORK_MESSAGES: readonly string[] = [
  'Connection terminated unexpectedly',
  'Connection terminated',
  'Connection terminated due to connection timeout',
  'timeout expired',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
]

/**
 * Turns whatever a driver threw into a {@link TesseraError}, the same way for node-postgres and
 * postgres.js:
 *
 * - an error with a SQLSTATE (`pg`'s `DatabaseError`, postgres.js's `PostgresError`) → the
 *   {@link DatabaseError} subclass of {@link SQLSTATE_TABLE}, with every field the server sent and
 *   PostgreSQL's own message;
 * - a network error (`ECONNRESET`, `ECONNREFUSED`, `EPIPE`, `ETIMEDOUT`, `EHOSTUNREACH`…, pg's
 *   "Connection terminated unexpectedly" / "timeout expired", postgres.js `CONNECTION_CLOSED`,
 *   `CONNECTION_ENDED`, `CONNECTION_DESTROYED`, `CONNECT_TIMEOUT`) → a retryable
 *   {@link ConnectionError} with code `08006` and `driverCode` set to the driver's code (undefined
 *   for pg's code-less messages). A connect timeout is a `ConnectionError` too, not a `TimeoutError`:
 *   like a refused connection, the server was never reached;
 * - an `AbortError` (name `AbortError`) → core's {@link AbortError};
 * - a Tessera error → itself, unchanged;
 * - anything else → a `TesseraError` with code `UNKNOWN`.
 *
 * The original error is always the `cause`. Parameter values never appear in the result.
 */
export function mapPgError(error: unknown, context: MapPgErrorContext = {}): TesseraError {
  if (isTesseraError(error)) return error
  if (typeof error !== 'object' || error === null) return unknownError(error)
  const fields = error as Record<string, unknown>
  if (fields.name === 'AbortError') return new AbortError('query', { cause: error })

  const tlsCode =
    typeof fields.message === 'string' && Object.hasOwn(TLS_MESSAGES, fields.message) ? TLS_MESSAGES[fields.message] : undefined
  if (tlsCode !== undefined) {
    // Not retryable: the server answers the same way every time until its configuration changes.
    return new ConnectionError(
      {
        message: naming(messageOf(fields, 'TLS negotiation failed'), context.target),
        code: '08001',
        retryable: false,
        driverCode: tlsCode,
      },
      { cause: error },
    )
  }

  const driverCode = networkCode(fields)
  if (driverCode !== undefined || isNetworkMessage(fields.message)) {
    return new ConnectionError(
      {
        message: naming(networkMessage(fields), context.target),
        code: '08006',
        retryable: true,
        driverCode,
        query: context.sql,
      },
      { cause: error },
    )
  }

  const sqlState = sqlStateOf(fields)
  if (sqlState === undefined) return unknownError(error)
  const ErrorClass = ERROR_CLASSES[sqlStateInfo(sqlState).errorClass]
  return new ErrorClass(
    {
      message: messageOf(fields, `database error ${sqlState}`),
      code: sqlState,
      severity: text(fields.severity) ?? text(fields.severity_local),
      detail: text(fields.detail),
      hint: text(fields.hint),
      position: integer(fields.position),
      internalPosition: integer(fields.internalPosition ?? fields.internal_position),
      internalQuery: text(fields.internalQuery ?? fields.internal_query),
      where: text(fields.where),
      schema: text(fields.schema ?? fields.schema_name),
      table: text(fields.table ?? fields.table_name),
      column: text(fields.column ?? fields.column_name),
      // postgres.js names the field 'data type_name' (with a space); accept the likely spellings.
      dataType: text(fields.dataType ?? fields['data type_name'] ?? fields.data_type_name ?? fields.datatype_name ?? fields.data_type),
      constraint: text(fields.constraint ?? fields.constraint_name),
      file: text(fields.file),
      line: integer(fields.line),
      routine: text(fields.routine),
      query: context.sql,
    },
    { cause: error },
  )
}

function networkCode(fields: Record<string, unknown>): string | undefined {
  const code = text(fields.code)
  if (code !== undefined && isNetworkFailure(code, fields)) return code
  // Node 20 reports a refused connection to every address of a host as an AggregateError.
  if (Array.isArray(fields.errors)) {
    for (const inner of fields.errors) {
      const innerFields = typeof inner === 'object' && inner !== null ? (inner as Record<string, unknown>) : {}
      const innerCode = text(innerFields.code)
      if (innerCode !== undefined && isNetworkFailure(innerCode, innerFields)) return innerCode
    }
  }
  return undefined
}

/**
 * A code of a lost or unreachable connection: one of {@link NETWORK_CODES}, or any system error of opening a
 * socket (`ENOENT`: no socket file in that directory, `EACCES`: no permission on it).
 */
function isNetworkFailure(code: string, fields: Record<string, unknown>): boolean {
  return NETWORK_CODES.has(code) || (fields.syscall === 'connect' && /^E[A-Z]+$/.test(code))
}

/** The message of a network failure; an AggregateError's (empty in Node 20) is made of its errors' messages. */
function networkMessage(fields: Record<string, unknown>): string {
  const own = text(fields.message)
  if (own !== undefined && own !== '') return own
  if (Array.isArray(fields.errors)) {
    const inner = fields.errors
      .map((entry) => (typeof entry === 'object' && entry !== null ? text((entry as Record<string, unknown>).message) : undefined))
      .filter((message): message is string => message !== undefined && message !== '')
    if (inner.length > 0) return inner.join('; ')
  }
  return 'connection to the database failed'
}

/** The message, naming the server when it does not already. */
function naming(message: string, target: string | undefined): string {
  return target === undefined || message.includes(target) ? message : `${message} (server ${target})`
}

function isNetworkMessage(message: unknown): boolean {
  return typeof message === 'string' && NETWORK_MESSAGES.includes(message)
}

function sqlStateOf(fields: Record<string, unknown>): string | undefined {
  const code = text(fields.code)
  if (code === undefined || !/^[0-9A-Z]{5}$/.test(code)) return undefined
  // Node system errors (EPERM, EBUSY…) also have 5 capital letters, but carry errno/syscall.
  if (fields.syscall !== undefined || fields.errno !== undefined) return undefined
  return code
}

function unknownError(error: unknown): TesseraError {
  const message = error instanceof Error ? error.message : `unexpected non-error thrown: ${describeValue(error)}`
  return new TesseraError(message || 'unknown error', { code: 'UNKNOWN', cause: error })
}

function messageOf(fields: Record<string, unknown>, fallback: string): string {
  const message = text(fields.message)
  return message === undefined || message === '' ? fallback : message
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}

function integer(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value)) return value
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value)
  return undefined
}
