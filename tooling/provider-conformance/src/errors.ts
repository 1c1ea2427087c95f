import {
  CheckViolationError,
  type DatabaseError,
  DataError,
  ForeignKeyViolationError,
  isTesseraError,
  NotNullViolationError,
  QueryCanceledError,
  ReadOnlyTransactionError,
  SqlSyntaxError,
  UndefinedColumnError,
  UndefinedTableError,
  UniqueViolationError,
} from '@tessera/core'
import { beforeAll, describe, expect } from 'vitest'
import type { ConformanceContext } from './context'
import { rejectionOf } from './helpers'

/** A parameter value that must never show up in an error message. */
const SECRET = 'secret-c0nformance-value'

/** Checks the parts every mapped database error shares, and returns it typed. */
function expectDatabaseError<E extends DatabaseError>(error: unknown, ErrorClass: abstract new (...args: never[]) => E, code: string): E {
  expect(isTesseraError(error), `expected a TesseraError, got ${String(error)}`).toBe(true)
  expect(error).toBeInstanceOf(ErrorClass)
  const typed = error as E
  expect(typed.code).toBe(code)
  expect(typed.sqlState).toBe(code)
  expect(typed.message.length).toBeGreaterThan(0)
  expect(typed.message).not.toContain(SECRET)
  return typed
}

/** Each cheaply provokable SQLSTATE rejects with the same class, code and fields on every provider. */
export function describeErrors(ctx: ConformanceContext): void {
  describe('errors', () => {
    let parent = ''
    let child = ''

    beforeAll(async () => {
      parent = `${ctx.schema}.parent`
      child = `${ctx.schema}.child`
      await ctx.admin(`CREATE TABLE ${parent} (id int PRIMARY KEY)`)
      await ctx.admin(`
        CREATE TABLE ${child} (
          id int PRIMARY KEY,
          parent_id int REFERENCES ${parent} (id),
          email text UNIQUE,
          qty int NOT NULL CHECK (qty >= 0)
        )`)
      await ctx.admin(`INSERT INTO ${parent} VALUES (1)`)
      await ctx.admin(`INSERT INTO ${child} (id, parent_id, email, qty) VALUES (1, 1, $1, 1)`, [SECRET])
    })

    ctx.test(
      'a duplicate key rejects with UniqueViolationError naming the constraint and table, without the value in its message',
      async () => {
        const { provider } = await ctx.open()
        const error = await rejectionOf(provider.query(`INSERT INTO ${child} (id, email, qty) VALUES ($1, $2, $3)`, [2, SECRET, 1]))
        const typed = expectDatabaseError(error, UniqueViolationError, '23505')
        expect(typed.constraint).toBe('child_email_key')
        expect(typed.table).toBe('child')
        expect(typed.schema).toBe(ctx.schema)
        expect(typed.retryable).toBe(false)
        expect(typed.query).toContain('INSERT INTO')
      },
    )

    ctx.test('a missing referenced row rejects with ForeignKeyViolationError naming the constraint', async () => {
      const { provider } = await ctx.open()
      const error = await rejectionOf(
        provider.query(`INSERT INTO ${child} (id, parent_id, email, qty) VALUES ($1, $2, $3, $4)`, [3, 999, SECRET + 'x', 1]),
      )
      const typed = expectDatabaseError(error, ForeignKeyViolationError, '23503')
      expect(typed.constraint).toBe('child_parent_id_fkey')
      expect(typed.table).toBe('child')
    })

    ctx.test('a NULL in a NOT NULL column rejects with NotNullViolationError naming the column', async () => {
      const { provider } = await ctx.open()
      const error = await rejectionOf(provider.query(`INSERT INTO ${child} (id, email, qty) VALUES ($1, $2, $3)`, [4, SECRET + 'y', null]))
      const typed = expectDatabaseError(error, NotNullViolationError, '23502')
      expect(typed.column).toBe('qty')
      expect(typed.table).toBe('child')
    })

    ctx.test('a failed CHECK rejects with CheckViolationError naming the constraint', async () => {
      const { provider } = await ctx.open()
      const error = await rejectionOf(provider.query(`INSERT INTO ${child} (id, email, qty) VALUES ($1, $2, $3)`, [5, SECRET + 'z', -1]))
      const typed = expectDatabaseError(error, CheckViolationError, '23514')
      expect(typed.constraint).toBe('child_qty_check')
      expect(typed.table).toBe('child')
    })

    ctx.test('SQL that does not parse rejects with SqlSyntaxError pointing at the offending token', async () => {
      const { provider } = await ctx.open()
      const text = 'SELECT id FROM WHERE id = $1'
      const error = await rejectionOf(provider.query(text, [SECRET]))
      const typed = expectDatabaseError(error, SqlSyntaxError, '42601')
      expect(typed.position).toBe(text.indexOf('WHERE') + 1)
    })

    ctx.test('an unknown table rejects with UndefinedTableError', async () => {
      const { provider } = await ctx.open()
      const error = await rejectionOf(provider.query(`SELECT * FROM ${ctx.schema}.no_such_table WHERE id = $1`, [SECRET]))
      expectDatabaseError(error, UndefinedTableError, '42P01')
    })

    ctx.test('an unknown column rejects with UndefinedColumnError', async () => {
      const { provider } = await ctx.open()
      const error = await rejectionOf(provider.query(`SELECT no_such_column FROM ${parent} WHERE id = $1`, [1]))
      expectDatabaseError(error, UndefinedColumnError, '42703')
    })

    ctx.test('division by zero rejects with DataError 22012', async () => {
      const { provider } = await ctx.open()
      const error = await rejectionOf(provider.query('SELECT 1 / $1::int AS v', [0]))
      expectDatabaseError(error, DataError, '22012')
    })

    ctx.test('text that is not a number rejects with DataError 22P02', async () => {
      const { provider } = await ctx.open()
      const error = await rejectionOf(provider.query("SELECT 'twelve'::int AS v"))
      expectDatabaseError(error, DataError, '22P02')
    })

    ctx.test('a write in a read-only transaction rejects with ReadOnlyTransactionError', async () => {
      const { provider } = await ctx.open()
      const error = await rejectionOf(
        provider.transaction((tx) => tx.query(`INSERT INTO ${parent} (id) VALUES ($1)`, [100]), { readOnly: true }),
      )
      expectDatabaseError(error, ReadOnlyTransactionError, '25006')
      expect(await ctx.admin(`SELECT id FROM ${parent} WHERE id = 100`)).toEqual([])
    })

    ctx.test('a statement past statementTimeoutMs rejects with QueryCanceledError', async () => {
      const { provider } = await ctx.open({ statementTimeoutMs: 50 })
      const error = await rejectionOf(provider.query('SELECT pg_sleep(5)'))
      const typed = expectDatabaseError(error, QueryCanceledError, '57014')
      expect(typed.retryable).toBe(false)
      const after = await provider.query('SELECT 1 AS v')
      expect(after.rows).toEqual([{ v: 1 }])
    })

    ctx.test('keeps the driver error as the cause', async () => {
      const { provider } = await ctx.open()
      const error = await rejectionOf(provider.query(`SELECT * FROM ${ctx.schema}.no_such_table`))
      expect((error as Error).cause).toBeDefined()
    })
  })
}
