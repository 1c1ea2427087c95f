import pg from 'pg'
import { describe, expect, it } from 'vitest'
import {
  AbortError,
  AdminShutdownError,
  AuthenticationError,
  CannotConnectNowError,
  CheckViolationError,
  ConfigError,
  ConnectionError,
  CrashShutdownError,
  DatabaseDroppedError,
  DatabaseError,
  DataError,
  DeadlockError,
  DiskFullError,
  DuplicateTableError,
  ExclusionViolationError,
  ForeignKeyViolationError,
  InsufficientPrivilegeError,
  InsufficientResourcesError,
  IntegrityConstraintError,
  InternalError,
  InvalidTransactionStateError,
  isConnectionLoss,
  isTesseraError,
  LockNotAvailableError,
  mapPgError,
  NotNullViolationError,
  ObjectStateError,
  OperatorInterventionError,
  OutOfMemoryError,
  ProgramLimitError,
  QueryCanceledError,
  ReadOnlyTransactionError,
  RestrictViolationError,
  SerializationFailureError,
  SQLSTATE_TABLE,
  SqlSyntaxError,
  SyntaxOrAccessError,
  SystemError,
  sqlStateInfo,
  TesseraError,
  TLS_FAILED,
  TLS_REFUSED,
  TooManyConnectionsError,
  TransactionResolutionUnknownError,
  TransactionRollbackError,
  UndefinedColumnError,
  UndefinedFunctionError,
  UndefinedTableError,
  UniqueViolationError,
} from '../src/index'

/** What node-postgres throws for an ErrorResponse: pg-protocol's DatabaseError with string fields. */
function pgError(code: string, message: string, fields: Record<string, string> = {}): Error {
  return Object.assign(new pg.DatabaseError(message, 100, 'error'), { severity: 'ERROR', code, ...fields })
}

/** The shape of postgres.js's PostgresError: field names taken from the protocol's field letters. */
class PostgresError extends Error {
  constructor(fields: Record<string, string>) {
    super(fields.message)
    this.name = 'PostgresError'
    Object.assign(this, fields)
  }
}

/** A Node socket error, as net.Socket emits it. */
function systemError(code: string, syscall = 'read'): Error {
  return Object.assign(new Error(`${syscall} ${code}`), { code, errno: -104, syscall })
}

// Written out independently of SQLSTATE_TABLE so a wrong row in the table fails here.
const EXPECTED: readonly [string, new (...args: never[]) => DatabaseError, boolean][] = [
  ['08000', ConnectionError, true],
  ['08001', ConnectionError, true],
  ['08003', ConnectionError, true],
  ['08004', ConnectionError, true],
  ['08006', ConnectionError, true],
  ['08007', TransactionResolutionUnknownError, false],
  ['08P01', ConnectionError, false],
  ['22012', DataError, false],
  ['22P02', DataError, false],
  ['23000', IntegrityConstraintError, false],
  ['23001', RestrictViolationError, false],
  ['23502', NotNullViolationError, false],
  ['23503', ForeignKeyViolationError, false],
  ['23505', UniqueViolationError, false],
  ['23514', CheckViolationError, false],
  ['23P01', ExclusionViolationError, false],
  ['25006', ReadOnlyTransactionError, false],
  ['25P02', InvalidTransactionStateError, false],
  ['28P01', AuthenticationError, false],
  ['40000', TransactionRollbackError, false],
  ['40001', SerializationFailureError, true],
  ['40P01', DeadlockError, true],
  ['42000', SyntaxOrAccessError, false],
  ['42601', SqlSyntaxError, false],
  ['42P01', UndefinedTableError, false],
  ['42703', UndefinedColumnError, false],
  ['42883', UndefinedFunctionError, false],
  ['42P07', DuplicateTableError, false],
  ['42501', InsufficientPrivilegeError, false],
  ['53000', InsufficientResourcesError, false],
  ['53100', DiskFullError, false],
  ['53200', OutOfMemoryError, false],
  ['53300', TooManyConnectionsError, true],
  ['54000', ProgramLimitError, false],
  ['55006', ObjectStateError, false],
  ['55P03', LockNotAvailableError, true],
  ['57000', OperatorInterventionError, false],
  ['57014', QueryCanceledError, false],
  ['57P01', AdminShutdownError, true],
  ['57P02', CrashShutdownError, true],
  ['57P03', CannotConnectNowError, true],
  ['57P04', DatabaseDroppedError, false],
  ['57P05', OperatorInterventionError, true],
  ['58030', SystemError, false],
  ['XX001', InternalError, false],
  ['0A000', DatabaseError, false],
  ['P0001', DatabaseError, false],
]

describe('SQLSTATE_TABLE', () => {
  it.each(Object.entries(SQLSTATE_TABLE))('maps %s to the class and retryable flag of its row', (code, row) => {
    const error = mapPgError(pgError(code, `failure ${code}`))
    expect(error).toBeInstanceOf(DatabaseError)
    expect(error.constructor.name).toBe(row.errorClass)
    expect(error.code).toBe(code)
    expect((error as DatabaseError).sqlState).toBe(code)
    expect(error.retryable).toBe(row.retryable)
    expect(error.message).toBe(`failure ${code}`)
  })

  it.each(EXPECTED)('maps %s to %o with retryable %s', (code, ErrorClass, retryable) => {
    const error = mapPgError(pgError(code, 'boom'))
    expect(error).toBeInstanceOf(ErrorClass)
    expect(error.constructor).toBe(ErrorClass)
    expect(error.retryable).toBe(retryable)
  })

  it('names conditions as the PostgreSQL manual does', () => {
    expect(SQLSTATE_TABLE['23505']?.condition).toBe('unique_violation')
    expect(SQLSTATE_TABLE['40P01']?.condition).toBe('deadlock_detected')
    expect(SQLSTATE_TABLE['57014']?.condition).toBe('query_canceled')
    expect(SQLSTATE_TABLE['08001']?.condition).toBe('sqlclient_unable_to_establish_sqlconnection')
  })

  it('covers every code of the PostgreSQL 15 classes Tessera types', () => {
    const perClass = new Map<string, number>()
    for (const code of Object.keys(SQLSTATE_TABLE)) perClass.set(code.slice(0, 2), (perClass.get(code.slice(0, 2)) ?? 0) + 1)
    // Counts of the PostgreSQL 15 appendix (errcodes.txt); the integration test checks each name against the server.
    expect(Object.fromEntries(perClass)).toMatchObject({
      '08': 7,
      '22': 69,
      '23': 7,
      '25': 12,
      '28': 2,
      '40': 5,
      '42': 44,
      '53': 5,
      '54': 4,
      '55': 5,
      '57': 7,
      '58': 4,
      XX: 3,
    })
  })

  it('cannot be changed at run time', () => {
    expect(Object.isFrozen(SQLSTATE_TABLE)).toBe(true)
    expect(() => {
      ;(SQLSTATE_TABLE as Record<string, unknown>)['23505'] = { condition: 'x', errorClass: 'DatabaseError', retryable: true }
    }).toThrow(TypeError)
    expect(() => {
      ;(SQLSTATE_TABLE['40001'] as { retryable: boolean }).retryable = false
    }).toThrow(TypeError)
    expect(sqlStateInfo('40001').retryable).toBe(true)
  })
})

describe('sqlStateInfo', () => {
  it('describes a known code', () => {
    expect(sqlStateInfo('40P01')).toEqual({ code: '40P01', condition: 'deadlock_detected', errorClass: 'DeadlockError', retryable: true })
  })
  it('falls back on the class of a code missing from the table', () => {
    expect(sqlStateInfo('23999')).toEqual({ code: '23999', condition: undefined, errorClass: 'IntegrityConstraintError', retryable: false })
    expect(sqlStateInfo('08999')).toMatchObject({ errorClass: 'ConnectionError', retryable: true })
    expect(sqlStateInfo('QQ123')).toMatchObject({ errorClass: 'DatabaseError', retryable: false })
  })
  it('does not treat inherited object keys as codes', () => {
    expect(sqlStateInfo('constructor')).toMatchObject({ condition: undefined, errorClass: 'DatabaseError' })
  })
})

describe('mapPgError with node-postgres errors', () => {
  it('keeps every field PostgreSQL sent, numbers as numbers', () => {
    const raw = pgError('23505', 'duplicate key value violates unique constraint "users_email_key"', {
      detail: 'Key (email)=(a@example.com) already exists.',
      hint: 'a hint',
      position: '12',
      internalPosition: '3',
      internalQuery: 'select 1',
      where: 'PL/pgSQL function f() line 3',
      schema: 'public',
      table: 'users',
      column: 'email',
      dataType: 'text',
      constraint: 'users_email_key',
      file: 'nbtinsert.c',
      line: '664',
      routine: '_bt_check_unique',
    })
    const error = mapPgError(raw, { sql: 'insert into users (email) values ($1)', params: ['a@example.com'] })
    expect(error).toBeInstanceOf(UniqueViolationError)
    expect(error).toMatchObject({
      message: 'duplicate key value violates unique constraint "users_email_key"',
      code: '23505',
      sqlState: '23505',
      severity: 'ERROR',
      detail: 'Key (email)=(a@example.com) already exists.',
      hint: 'a hint',
      position: 12,
      internalPosition: 3,
      internalQuery: 'select 1',
      where: 'PL/pgSQL function f() line 3',
      schema: 'public',
      table: 'users',
      column: 'email',
      dataType: 'text',
      constraint: 'users_email_key',
      file: 'nbtinsert.c',
      line: 664,
      routine: '_bt_check_unique',
      driverCode: undefined,
      query: 'insert into users (email) values ($1)',
    })
    expect(error.cause).toBe(raw)
  })

  it('leaves fields the server did not send undefined', () => {
    const error = mapPgError(pgError('22012', 'division by zero')) as DatabaseError
    expect(error).toBeInstanceOf(DataError)
    expect(error.table).toBeUndefined()
    expect(error.constraint).toBeUndefined()
    expect(error.position).toBeUndefined()
    expect(error.query).toBeUndefined()
  })

  it('never puts parameter values in the message or the logged JSON', () => {
    const secret = 'hunter2-secret'
    const error = mapPgError(pgError('22P02', 'invalid input syntax for type integer: "x"'), {
      sql: 'select $1::int',
      params: [secret],
    })
    expect(error.message).not.toContain(secret)
    expect(JSON.stringify(error)).not.toContain(secret)
    expect(error.toJSON()).toMatchObject({ code: '22P02', query: 'select $1::int' })
  })
})

describe('mapPgError with postgres.js errors', () => {
  it('reads the snake_case fields of a PostgresError', () => {
    const raw = new PostgresError({
      severity_local: 'ERREUR',
      severity: 'ERROR',
      code: '23503',
      message: 'insert or update on table "orders" violates foreign key constraint "orders_user_id_fkey"',
      detail: 'Key (user_id)=(7) is not present in table "users".',
      hint: 'h',
      position: '5',
      internal_position: '2',
      internal_query: 'iq',
      where: 'w',
      schema_name: 'shop',
      table_name: 'orders',
      column_name: 'user_id',
      'data type_name': 'int4',
      constraint_name: 'orders_user_id_fkey',
      file: 'ri_triggers.c',
      line: '2596',
      routine: 'ri_ReportViolation',
    })
    const error = mapPgError(raw)
    expect(error).toBeInstanceOf(ForeignKeyViolationError)
    expect(error).toMatchObject({
      message: 'insert or update on table "orders" violates foreign key constraint "orders_user_id_fkey"',
      code: '23503',
      severity: 'ERROR',
      detail: 'Key (user_id)=(7) is not present in table "users".',
      hint: 'h',
      position: 5,
      internalPosition: 2,
      internalQuery: 'iq',
      where: 'w',
      schema: 'shop',
      table: 'orders',
      column: 'user_id',
      dataType: 'int4',
      constraint: 'orders_user_id_fkey',
      file: 'ri_triggers.c',
      line: 2596,
      routine: 'ri_ReportViolation',
    })
    expect(error.cause).toBe(raw)
  })

  it('accepts the other spellings of the data type field', () => {
    const a = mapPgError(new PostgresError({ code: '22003', message: 'm', datatype_name: 'int2' })) as DatabaseError
    const b = mapPgError(new PostgresError({ code: '22003', message: 'm', data_type: 'int8' })) as DatabaseError
    expect(a.dataType).toBe('int2')
    expect(b.dataType).toBe('int8')
  })

  it('falls back on severity_local when severity is missing', () => {
    const error = mapPgError(new PostgresError({ code: '57P01', message: 'terminating connection', severity_local: 'FATAL' }))
    expect(error).toBeInstanceOf(AdminShutdownError)
    expect((error as DatabaseError).severity).toBe('FATAL')
  })

  it('maps a code missing from the table by its class', () => {
    const error = mapPgError(new PostgresError({ code: '23999', message: 'future violation' }))
    expect(error.constructor).toBe(IntegrityConstraintError)
    expect(error.code).toBe('23999')
    expect(error.retryable).toBe(false)
    const connection = mapPgError(pgError('08999', 'future connection problem'))
    expect(connection.constructor).toBe(ConnectionError)
    expect(connection.retryable).toBe(true)
    const other = mapPgError(pgError('QQ999', 'from an unknown class'))
    expect(other.constructor).toBe(DatabaseError)
  })
})

describe('mapPgError with network errors', () => {
  const cases: [string, Error, string | undefined][] = [
    ['ECONNRESET', systemError('ECONNRESET'), 'ECONNRESET'],
    ['ECONNREFUSED', systemError('ECONNREFUSED', 'connect'), 'ECONNREFUSED'],
    ['EPIPE', systemError('EPIPE', 'write'), 'EPIPE'],
    ['ETIMEDOUT', systemError('ETIMEDOUT', 'connect'), 'ETIMEDOUT'],
    ['EHOSTUNREACH', systemError('EHOSTUNREACH', 'connect'), 'EHOSTUNREACH'],
    [
      'AggregateError of refused addresses',
      Object.assign(new AggregateError([systemError('ECONNREFUSED', 'connect'), systemError('ECONNREFUSED', 'connect')]), {}),
      'ECONNREFUSED',
    ],
    ['pg "Connection terminated unexpectedly"', new Error('Connection terminated unexpectedly'), undefined],
    ['pg "Connection terminated"', new Error('Connection terminated'), undefined],
    ['pg "timeout expired"', new Error('timeout expired'), undefined],
    ['pg "not queryable"', new Error('Client has encountered a connection error and is not queryable'), undefined],
    ...['CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT'].map((code): [string, Error, string] => [
      `postgres.js ${code}`,
      Object.assign(new Error(`write ${code} 127.0.0.1:5432`), { code, errno: code, address: '127.0.0.1', port: 5432 }),
      code,
    ]),
  ]

  it.each(cases)('turns %s into a retryable ConnectionError', (_name, raw, driverCode) => {
    const error = mapPgError(raw, { sql: 'select 1' })
    expect(error).toBeInstanceOf(ConnectionError)
    expect(error).toMatchObject({ code: '08006', sqlState: '08006', retryable: true, driverCode, query: 'select 1' })
    // Node 20's AggregateError has no message of its own: the addresses' messages say what was tried.
    expect(error.message).toBe(raw.message || 'connect ECONNREFUSED; connect ECONNREFUSED')
    expect(error.cause).toBe(raw)
    expect(isConnectionLoss(error)).toBe(true)
    expect(isConnectionLoss(raw)).toBe(true)
  })

  it.each([
    ['ENOENT (no socket file in the directory)', 'ENOENT', 'connect ENOENT /no/such/dir/.s.PGSQL.5432'],
    ['EACCES (no permission on the socket)', 'EACCES', 'connect EACCES /var/run/postgresql/.s.PGSQL.5432'],
  ])('turns a socket %s into a retryable ConnectionError naming the socket', (_name, code, message) => {
    const raw = Object.assign(new Error(message), { code, errno: -2, syscall: 'connect', address: message.split(' ')[2] })
    const error = mapPgError(raw)
    expect(error).toBeInstanceOf(ConnectionError)
    expect(error).toMatchObject({ code: '08006', driverCode: code, retryable: true, message })
    expect(error.cause).toBe(raw)
  })

  it('names the server being connected to when the driver message does not', () => {
    const error = mapPgError(new Error('Connection terminated unexpectedly'), { target: 'db1:5432' })
    expect(error.message).toBe('Connection terminated unexpectedly (server db1:5432)')
    const named = mapPgError(systemError('ECONNREFUSED', 'connect'), { target: 'connect' })
    expect(named.message).toBe('connect ECONNREFUSED')
  })

  it("turns pg's TLS refusal into a ConnectionError that is not retryable", () => {
    const raw = new Error('The server does not support SSL connections')
    const error = mapPgError(raw, { target: '127.0.0.1:5432' })
    expect(error).toBeInstanceOf(ConnectionError)
    expect(error).toMatchObject({ code: '08001', driverCode: TLS_REFUSED, retryable: false })
    expect(error.message).toBe('The server does not support SSL connections (server 127.0.0.1:5432)')
    expect(error.cause).toBe(raw)
    const broken = mapPgError(new Error('There was an error establishing an SSL connection'))
    expect(broken).toMatchObject({ code: '08001', driverCode: TLS_FAILED, retryable: false })
  })

  it('does not mistake a five-letter system error for a SQLSTATE', () => {
    const error = mapPgError(systemError('EPERM', 'open'))
    expect(error).not.toBeInstanceOf(DatabaseError)
    expect(error.code).toBe('UNKNOWN')
  })

  it('does not take a file error for a connection failure', () => {
    const error = mapPgError(systemError('ENOENT', 'open'))
    expect(error).not.toBeInstanceOf(ConnectionError)
    expect(error.code).toBe('UNKNOWN')
  })
})

describe('mapPgError with other errors', () => {
  it('passes Tessera errors through unchanged', () => {
    const config = new ConfigError('bad')
    const unique = new UniqueViolationError({ constraint: 'k' })
    expect(mapPgError(config)).toBe(config)
    expect(mapPgError(unique)).toBe(unique)
  })

  it('turns an AbortError into core AbortError', () => {
    const raw = new DOMException('This operation was aborted', 'AbortError')
    const error = mapPgError(raw)
    expect(error).toBeInstanceOf(AbortError)
    expect(error.code).toBe('ABORTED')
    expect(error.cause).toBe(raw)
  })

  it('wraps anything unrecognised in an UNKNOWN TesseraError', () => {
    const raw = new TypeError('callback is not a function')
    const error = mapPgError(raw)
    expect(error).toBeInstanceOf(TesseraError)
    expect(error).not.toBeInstanceOf(DatabaseError)
    expect(error).toMatchObject({ code: 'UNKNOWN', retryable: false, message: 'callback is not a function' })
    expect(error.cause).toBe(raw)
    const thrown = mapPgError('oops')
    expect(thrown.code).toBe('UNKNOWN')
    expect(thrown.message).toBe('unexpected non-error thrown: "oops"')
    expect(thrown.cause).toBe('oops')
  })
})

describe('DatabaseError', () => {
  it('takes a details object and defaults code, message and retryable from the class', () => {
    const error = new DeadlockError({ table: 't' })
    expect(error).toMatchObject({ code: '40P01', sqlState: '40P01', message: 'deadlock detected', retryable: true, table: 't' })
    expect(error.name).toBe('DeadlockError')
    expect(isTesseraError(error)).toBe(true)
  })

  it('takes retryable from the table for the given code unless overridden', () => {
    expect(new DatabaseError({ code: '40001' }).retryable).toBe(true)
    expect(new DatabaseError({ code: '40001', retryable: false }).retryable).toBe(false)
    expect(new DatabaseError({ code: '23505' }).message).toBe('unique violation')
  })

  it('forms a hierarchy a catch block can test at any level', () => {
    const error = mapPgError(pgError('57P01', 'terminating connection due to administrator command'))
    expect(error).toBeInstanceOf(AdminShutdownError)
    expect(error).toBeInstanceOf(OperatorInterventionError)
    expect(error).toBeInstanceOf(DatabaseError)
    expect(error).toBeInstanceOf(TesseraError)
    expect(error).not.toBeInstanceOf(ConnectionError)
    expect(mapPgError(pgError('23505', 'dup'))).toBeInstanceOf(IntegrityConstraintError)
    expect(mapPgError(pgError('40001', 'ser'))).toBeInstanceOf(TransactionRollbackError)
  })
})

describe('isConnectionLoss', () => {
  it('is true for class 08, session-ending codes and FATAL errors', () => {
    expect(isConnectionLoss(pgError('08P01', 'protocol violation'))).toBe(true)
    for (const code of ['57P01', '57P02', '57P03', '57P04', '57P05', '25P03']) expect(isConnectionLoss(pgError(code, 'gone'))).toBe(true)
    expect(isConnectionLoss(pgError('28P01', 'password authentication failed', { severity: 'FATAL' }))).toBe(true)
  })

  it('is false for statement errors and non-database errors', () => {
    expect(isConnectionLoss(pgError('23505', 'dup'))).toBe(false)
    expect(isConnectionLoss(pgError('57014', 'canceling statement due to statement timeout'))).toBe(false)
    expect(isConnectionLoss(pgError('40001', 'could not serialize'))).toBe(false)
    expect(isConnectionLoss(new ConfigError('bad'))).toBe(false)
    expect(isConnectionLoss(new Error('something else'))).toBe(false)
  })
})
