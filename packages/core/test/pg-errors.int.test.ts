import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PG_URL, uniqueName } from '../../../tooling/test-services/env'
import {
  AdminShutdownError,
  CheckViolationError,
  ConnectionError,
  type DatabaseError,
  DataError,
  DeadlockError,
  DuplicateTableError,
  ExclusionViolationError,
  ForeignKeyViolationError,
  isConnectionLoss,
  LockNotAvailableError,
  mapPgError,
  NotNullViolationError,
  QueryCanceledError,
  ReadOnlyTransactionError,
  SerializationFailureError,
  SQLSTATE_TABLE,
  SqlSyntaxError,
  type TesseraError,
  UndefinedColumnError,
  UndefinedFunctionError,
  UndefinedTableError,
  UniqueViolationError,
} from '../src/index'

const schema = uniqueName('errs')
const clients: pg.Client[] = []
let a: pg.Client
let b: pg.Client

async function connect(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: PG_URL })
  // An idle client whose backend dies emits 'error'; without a listener that would crash the run.
  client.on('error', () => {})
  await client.connect()
  clients.push(client)
  return client
}

/** Runs a statement that must fail and returns what mapPgError makes of the failure. */
async function failure(client: pg.Client, sql: string, params?: unknown[]): Promise<TesseraError> {
  try {
    await client.query(sql, params)
  } catch (error) {
    return mapPgError(error, { sql, params })
  }
  throw new Error(`expected ${sql} to fail`)
}

beforeAll(async () => {
  a = await connect()
  b = await connect()
  await a.query(`CREATE SCHEMA ${schema}`)
  await a.query(`
    CREATE TABLE ${schema}.users (
      id int PRIMARY KEY,
      email text NOT NULL CONSTRAINT users_email_key UNIQUE,
      age int CONSTRAINT users_age_check CHECK (age >= 0)
    );
    CREATE TABLE ${schema}.orders (id int PRIMARY KEY, user_id int NOT NULL CONSTRAINT orders_user_fkey REFERENCES ${schema}.users (id));
    CREATE TABLE ${schema}.bookings (id int PRIMARY KEY, area circle, CONSTRAINT bookings_no_overlap EXCLUDE USING gist (area WITH &&));
    CREATE TABLE ${schema}.accounts (id int PRIMARY KEY, balance int NOT NULL);
    INSERT INTO ${schema}.users (id, email, age) VALUES (1, 'a@example.com', 30);
    INSERT INTO ${schema}.bookings (id, area) VALUES (1, circle '((0,0),1)');
    INSERT INTO ${schema}.accounts (id, balance) VALUES (1, 100), (2, 100);
  `)
})

afterAll(async () => {
  await a?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  await Promise.allSettled(clients.map((client) => client.end()))
})

describe('constraint violations', () => {
  it('reports a duplicate key as UniqueViolationError naming the constraint', async () => {
    const sql = `INSERT INTO ${schema}.users (id, email) VALUES ($1, $2)`
    const error = await failure(a, sql, [2, 'a@example.com'])
    expect(error).toBeInstanceOf(UniqueViolationError)
    expect(error).toMatchObject({
      code: '23505',
      retryable: false,
      message: 'duplicate key value violates unique constraint "users_email_key"',
      schema,
      table: 'users',
      constraint: 'users_email_key',
      query: sql,
    })
    expect((error as DatabaseError).detail).toContain('(email)=(a@example.com)')
  })

  it('reports a missing referenced row as ForeignKeyViolationError', async () => {
    const error = await failure(a, `INSERT INTO ${schema}.orders (id, user_id) VALUES (1, 999)`)
    expect(error).toBeInstanceOf(ForeignKeyViolationError)
    expect(error).toMatchObject({ code: '23503', schema, table: 'orders', constraint: 'orders_user_fkey' })
  })

  it('reports a null in a NOT NULL column as NotNullViolationError naming the column', async () => {
    const error = await failure(a, `INSERT INTO ${schema}.users (id, email) VALUES (3, NULL)`)
    expect(error).toBeInstanceOf(NotNullViolationError)
    expect(error).toMatchObject({ code: '23502', schema, table: 'users', column: 'email' })
  })

  it('reports a failed CHECK as CheckViolationError', async () => {
    const error = await failure(a, `INSERT INTO ${schema}.users (id, email, age) VALUES (4, 'd@example.com', -1)`)
    expect(error).toBeInstanceOf(CheckViolationError)
    expect(error).toMatchObject({ code: '23514', schema, table: 'users', constraint: 'users_age_check' })
  })

  it('reports an overlapping EXCLUDE row as ExclusionViolationError', async () => {
    const error = await failure(a, `INSERT INTO ${schema}.bookings (id, area) VALUES (2, circle '((1,0),1)')`)
    expect(error).toBeInstanceOf(ExclusionViolationError)
    expect(error).toMatchObject({ code: '23P01', schema, table: 'bookings', constraint: 'bookings_no_overlap' })
  })
})

describe('statement errors', () => {
  it('reports a syntax error with the position of the offending token', async () => {
    const sql = 'SELECT 1 FROM WHERE'
    const error = await failure(a, sql)
    expect(error).toBeInstanceOf(SqlSyntaxError)
    expect(error).toMatchObject({ code: '42601', position: sql.indexOf('WHERE') + 1, query: sql })
  })

  it('reports an unknown table as UndefinedTableError', async () => {
    const error = await failure(a, `SELECT * FROM ${schema}.no_such_table`)
    expect(error).toBeInstanceOf(UndefinedTableError)
    expect(error.code).toBe('42P01')
  })

  it('reports an unknown column as UndefinedColumnError', async () => {
    const error = await failure(a, `SELECT no_such_column FROM ${schema}.users`)
    expect(error).toBeInstanceOf(UndefinedColumnError)
    expect(error).toMatchObject({ code: '42703', position: 8 })
  })

  it('reports an unknown function as UndefinedFunctionError', async () => {
    const error = await failure(a, 'SELECT tessera_no_such_function(1)')
    expect(error).toBeInstanceOf(UndefinedFunctionError)
    expect(error.code).toBe('42883')
  })

  it('reports an existing table as DuplicateTableError', async () => {
    const error = await failure(a, `CREATE TABLE ${schema}.users (id int)`)
    expect(error).toBeInstanceOf(DuplicateTableError)
    expect(error.code).toBe('42P07')
  })

  it('reports division by zero as a DataError', async () => {
    const error = await failure(a, 'SELECT 1 / 0')
    expect(error).toBeInstanceOf(DataError)
    expect(error).toMatchObject({ code: '22012', message: 'division by zero', retryable: false })
  })

  it('reports bad input syntax as a DataError', async () => {
    const error = await failure(a, 'SELECT $1::int', ['not a number'])
    expect(error).toBeInstanceOf(DataError)
    expect(error.code).toBe('22P02')
  })
})

describe('transaction errors', () => {
  it('reports a write in a read-only transaction as ReadOnlyTransactionError', async () => {
    await a.query('BEGIN')
    try {
      await a.query('SET TRANSACTION READ ONLY')
      const error = await failure(a, `UPDATE ${schema}.accounts SET balance = 0`)
      expect(error).toBeInstanceOf(ReadOnlyTransactionError)
      expect(error).toMatchObject({ code: '25006', retryable: false })
    } finally {
      await a.query('ROLLBACK')
    }
  })

  it('reports a concurrent update under serializable as a retryable SerializationFailureError', async () => {
    await a.query('BEGIN ISOLATION LEVEL SERIALIZABLE')
    await b.query('BEGIN ISOLATION LEVEL SERIALIZABLE')
    try {
      // Both take their snapshot before either writes.
      await a.query(`SELECT balance FROM ${schema}.accounts WHERE id = 1`)
      await b.query(`SELECT balance FROM ${schema}.accounts WHERE id = 1`)
      await a.query(`UPDATE ${schema}.accounts SET balance = balance - 10 WHERE id = 1`)
      await a.query('COMMIT')
      const error = await failure(b, `UPDATE ${schema}.accounts SET balance = balance - 20 WHERE id = 1`)
      expect(error).toBeInstanceOf(SerializationFailureError)
      expect(error).toMatchObject({ code: '40001', retryable: true })
    } finally {
      await a.query('ROLLBACK')
      await b.query('ROLLBACK')
    }
  })

  it('reports a deadlock to one of the two transactions as a retryable DeadlockError', async () => {
    await a.query("SET deadlock_timeout = '10ms'")
    await b.query("SET deadlock_timeout = '10ms'")
    await a.query('BEGIN')
    await b.query('BEGIN')
    try {
      await a.query(`UPDATE ${schema}.accounts SET balance = balance + 1 WHERE id = 1`)
      await b.query(`UPDATE ${schema}.accounts SET balance = balance + 1 WHERE id = 2`)
      // Each now waits for the row the other holds: the server aborts one of them.
      const results = await Promise.allSettled([
        a.query(`UPDATE ${schema}.accounts SET balance = balance + 1 WHERE id = 2`),
        b.query(`UPDATE ${schema}.accounts SET balance = balance + 1 WHERE id = 1`),
      ])
      const failures = results.filter((result) => result.status === 'rejected')
      expect(failures).toHaveLength(1)
      const error = mapPgError((failures[0] as PromiseRejectedResult).reason)
      expect(error).toBeInstanceOf(DeadlockError)
      expect(error).toMatchObject({ code: '40P01', retryable: true })
    } finally {
      await a.query('ROLLBACK')
      await b.query('ROLLBACK')
      await a.query('RESET deadlock_timeout')
      await b.query('RESET deadlock_timeout')
    }
  })

  it('reports a row locked elsewhere under NOWAIT as a retryable LockNotAvailableError', async () => {
    await a.query('BEGIN')
    try {
      await a.query(`SELECT * FROM ${schema}.accounts WHERE id = 1 FOR UPDATE`)
      const error = await failure(b, `SELECT * FROM ${schema}.accounts WHERE id = 1 FOR UPDATE NOWAIT`)
      expect(error).toBeInstanceOf(LockNotAvailableError)
      expect(error).toMatchObject({ code: '55P03', retryable: true })
    } finally {
      await a.query('ROLLBACK')
    }
  })
})

describe('operator intervention', () => {
  it('reports a statement_timeout as a QueryCanceledError that is not retryable', async () => {
    const client = await connect()
    await client.query('SET statement_timeout = 50')
    const error = await failure(client, 'SELECT pg_sleep(5)')
    expect(error).toBeInstanceOf(QueryCanceledError)
    expect(error).toMatchObject({ code: '57014', retryable: false })
    expect(isConnectionLoss(error)).toBe(false)
  })

  it('reports a terminated backend as lost, retryable on a new connection', async () => {
    const victim = new pg.Client({ connectionString: PG_URL })
    const events: unknown[] = []
    const ended = new Promise<void>((resolve) => victim.once('end', () => resolve()))
    victim.on('error', (error) => events.push(error))
    await victim.connect()
    clients.push(victim)
    const { rows } = await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
    await a.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid])
    await ended

    // node-postgres hands the server's FATAL 57P01 to the idle client's 'error' event…
    const announced = mapPgError(events[0])
    expect(announced).toBeInstanceOf(AdminShutdownError)
    expect(announced).toMatchObject({ code: '57P01', retryable: true, severity: 'FATAL' })
    expect(isConnectionLoss(announced)).toBe(true)

    // …and fails the next query with a code-less "not queryable" Error, which maps to ConnectionError.
    const error = await failure(victim, 'SELECT 1')
    expect(error).toBeInstanceOf(ConnectionError)
    expect(error).toMatchObject({ code: '08006', retryable: true })
    expect(isConnectionLoss(error)).toBe(true)
  })
})

describe('SQLSTATE_TABLE against the server', () => {
  it('names every condition as PL/pgSQL knows it, with the same SQLSTATE', async () => {
    const entries = Object.entries(SQLSTATE_TABLE)
    // RAISE takes condition names, so each row is checked by the server's own name → code table.
    const blocks = entries
      .map(
        ([, row]) =>
          `BEGIN RAISE ${row.condition}; EXCEPTION WHEN OTHERS OR query_canceled OR assert_failure THEN ` +
          `cond_name := '${row.condition}'; code := SQLSTATE; RETURN NEXT; END;`,
      )
      .join('\n')
    await a.query(
      `CREATE FUNCTION ${schema}.raise_all() RETURNS TABLE (cond_name text, code text) LANGUAGE plpgsql AS $$
       BEGIN
       ${blocks}
       END $$`,
    )
    const { rows } = await a.query<{ cond_name: string; code: string }>(`SELECT * FROM ${schema}.raise_all()`)
    expect(rows).toHaveLength(entries.length)
    // A few names belong to two codes (null_value_not_allowed is 22004 and 39004): RAISE picks one of them.
    const namesakes = new Map<string, string[]>()
    for (const [code, row] of entries) namesakes.set(row.condition, [...(namesakes.get(row.condition) ?? []), code])
    for (const [index, [code, row]] of entries.entries()) {
      const raised = rows[index]
      expect(raised?.cond_name).toBe(row.condition)
      expect(namesakes.get(row.condition)).toContain(raised?.code)
      if (namesakes.get(row.condition)?.length === 1) expect(raised?.code).toBe(code)
    }
  })
})
