import { ConfigError, ConnectionReleasedError, DataError, type QueryContext, type QueryResult, sql, TimeoutError } from '@tessera/core'
import { describe, expect } from 'vitest'
import type { ConformanceContext } from './context'

/** A result without the field details that differ by statement only in their type ids. */
function summary(result: QueryResult): { command: string; rowCount: number; rows: unknown[]; fields: string[] } {
  return { command: result.command, rowCount: result.rowCount, rows: result.rows, fields: result.fields.map((field) => field.name) }
}

/** `provider.queryMulti`: every result of a text of several statements, the same on every driver. */
export function describeMultiStatement(ctx: ConformanceContext): void {
  describe('queryMulti', () => {
    ctx.test('returns one result per statement, with the command and row count of each: mixed SELECT, INSERT, UPDATE, DELETE', async () => {
      const { provider } = await ctx.open()
      const table = await ctx.createTable('id int PRIMARY KEY, name text')
      const results = await provider.queryMulti(
        `SELECT 1 AS a, 'x' AS b; INSERT INTO ${table} VALUES (1, 'a'), (2, 'b'); UPDATE ${table} SET name = 'c'; ` +
          `SELECT id FROM ${table} ORDER BY id; DELETE FROM ${table} WHERE id = 1; SET LOCAL statement_timeout = 0; SELECT 2 AS n WHERE false`,
      )
      expect(results.map(summary)).toEqual([
        { command: 'SELECT', rowCount: 1, rows: [{ a: 1, b: 'x' }], fields: ['a', 'b'] },
        { command: 'INSERT', rowCount: 2, rows: [], fields: [] },
        { command: 'UPDATE', rowCount: 2, rows: [], fields: [] },
        { command: 'SELECT', rowCount: 2, rows: [{ id: 1 }, { id: 2 }], fields: ['id'] },
        { command: 'DELETE', rowCount: 1, rows: [], fields: [] },
        { command: 'SET', rowCount: 0, rows: [], fields: [] },
        { command: 'SELECT', rowCount: 0, rows: [], fields: ['n'] },
      ])
      // query() keeps answering with the last result only.
      expect(summary(await provider.query('SELECT 1 AS a; SELECT 2 AS b'))).toEqual({
        command: 'SELECT',
        rowCount: 1,
        rows: [{ b: 2 }],
        fields: ['b'],
      })
    })

    ctx.test('gives a single statement one result, skips empty statements, and an empty text has none', async () => {
      const { provider } = await ctx.open()
      expect((await provider.queryMulti('SELECT 1 AS n')).map(summary)).toEqual([
        { command: 'SELECT', rowCount: 1, rows: [{ n: 1 }], fields: ['n'] },
      ])
      const skipped = await provider.queryMulti('SELECT 1 AS n;; ; SELECT 2 AS n;')
      expect(skipped.map((result) => result.rows)).toEqual([[{ n: 1 }], [{ n: 2 }]])
      expect(await provider.queryMulti('')).toEqual([])
      expect((await provider.queryMulti(sql`SELECT 3 AS n; SELECT 4 AS m`)).map((result) => result.rows)).toEqual([[{ n: 3 }], [{ m: 4 }]])
    })

    ctx.test('an error in the second statement rejects with its DataError and rolls back the first statement', async () => {
      const { provider } = await ctx.open()
      const table = await ctx.createTable('id int PRIMARY KEY')
      const failure = await provider
        .queryMulti(`INSERT INTO ${table} VALUES (1); SELECT 1 / 0; INSERT INTO ${table} VALUES (2)`)
        .catch((error: unknown) => error)
      expect(failure).toBeInstanceOf(DataError)
      expect((failure as DataError).sqlState).toBe('22012')
      expect(await ctx.admin(`SELECT count(*)::int AS n FROM ${table}`)).toEqual([{ n: 0 }])
      // The session is usable afterwards.
      expect((await provider.queryMulti('SELECT 1 AS n; SELECT 2 AS n')).length).toBe(2)
    })

    ctx.test('refuses parameters and bad options with a ConfigError, sending nothing', async () => {
      const { provider } = await ctx.open()
      await expect(provider.queryMulti(sql`SELECT ${1}::int; SELECT 2`)).rejects.toThrow(ConfigError)
      await expect(provider.queryMulti(sql`SELECT ${1}::int; SELECT 2`)).rejects.toThrow(/takes no parameters/)
      await expect(provider.queryMulti('SELECT 1', { timeoutMs: -1 })).rejects.toThrow(/timeoutMs must be/)
    })

    ctx.test('rowMode array, a timeout that cancels on the server, and onQuery hooks seeing the whole text', async () => {
      const seen: QueryContext[] = []
      const { provider } = await ctx.open({
        hooks: {
          onQuery: async (hookContext, next) => {
            seen.push(hookContext)
            return next()
          },
        },
      })
      const arrays = await provider.queryMulti('SELECT 1 AS a, 2 AS a; SELECT 3 AS b', { rowMode: 'array' })
      expect(arrays.map((result) => result.rows)).toEqual([[[1, 2]], [[3]]])
      expect(seen.map((hookContext) => [hookContext.operation, hookContext.sql, hookContext.params])).toEqual([
        ['query', 'SELECT 1 AS a, 2 AS a; SELECT 3 AS b', []],
      ])
      const started = Date.now()
      await expect(provider.queryMulti('SELECT 1; SELECT pg_sleep(5)', { timeoutMs: 200 })).rejects.toThrow(TimeoutError)
      expect(Date.now() - started).toBeLessThan(3_000)
      expect((await provider.queryMulti('SELECT 1 AS n; SELECT 2 AS n')).length).toBe(2)
    })

    ctx.test('renames the columns of every result with columnNames, and reports a failure to onError once', async () => {
      const errors: Array<{ operation: string; sql: string | undefined }> = []
      const { provider } = await ctx.open({
        columnNames: (column) => column.toUpperCase(),
        hooks: { onError: (_error, errorContext) => void errors.push({ operation: errorContext.operation, sql: errorContext.sql }) },
      })
      const results = await provider.queryMulti('SELECT 1 AS a; SELECT 2 AS b')
      expect(results.map((result) => [result.rows, result.fields.map((field) => field.name)])).toEqual([
        [[{ A: 1 }], ['A']],
        [[{ B: 2 }], ['B']],
      ])
      await expect(provider.queryMulti('SELECT 1; SELECT 1 / 0')).rejects.toThrow(DataError)
      expect(errors).toEqual([{ operation: 'query', sql: 'SELECT 1; SELECT 1 / 0' }])
    })

    ctx.test('runs inside a transaction (rolled back with it) and on a reserved connection (its SET stays on the session)', async () => {
      const seen: boolean[] = []
      const { provider } = await ctx.open({
        hooks: {
          onQuery: (hookContext, next) => {
            if (hookContext.sql.includes('; ')) seen.push(hookContext.transaction)
            return next()
          },
        },
      })
      const table = await ctx.createTable('id int PRIMARY KEY')
      const failure = await provider
        .transaction(async (tx) => {
          const results = await tx.queryMulti(`INSERT INTO ${table} VALUES (1); SELECT count(*)::int AS n FROM ${table}`)
          expect(results.map((result) => [result.command, result.rowCount])).toEqual([
            ['INSERT', 1],
            ['SELECT', 1],
          ])
          expect(results[1]!.rows).toEqual([{ n: 1 }])
          throw new Error('roll back')
        })
        .catch((error: unknown) => error)
      expect((failure as Error).message).toBe('roll back')
      expect(await ctx.admin(`SELECT count(*)::int AS n FROM ${table}`)).toEqual([{ n: 0 }])
      await expect(provider.transaction((tx) => tx.queryMulti(`INSERT INTO ${table} VALUES (1); SELECT 1 / 0`))).rejects.toThrow(DataError)
      expect(await ctx.admin(`SELECT count(*)::int AS n FROM ${table}`)).toEqual([{ n: 0 }])

      const reserved = await provider.connection(async (connection) => {
        const results = await connection.queryMulti("SET application_name = 'multi_reserved'; SHOW application_name")
        expect(results.map((result) => result.command)).toEqual(['SET', 'SHOW'])
        return (await connection.query('SHOW application_name')).rows
      })
      expect(reserved).toEqual([{ application_name: 'multi_reserved' }])
      expect(seen).toEqual([true, true, false])
      let escaped: { queryMulti(text: string): Promise<unknown> } | undefined
      await provider.connection(async (connection) => {
        escaped = connection
      })
      await expect(escaped!.queryMulti('SELECT 1; SELECT 2')).rejects.toThrow(ConnectionReleasedError)
    })
  })
}
