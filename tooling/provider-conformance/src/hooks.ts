import { type ConnectionInfo, type ErrorContext, type Hooks, isTesseraError, type QueryContext, sql, TesseraError } from '@tessera/core'
import { describe, expect } from 'vitest'
import type { ConformanceContext } from './context'
import { collect, rejectionOf, waitFor } from './helpers'

/** Every declared hook point fires, with the same context, on every provider. */
export function describeHooks(ctx: ConformanceContext): void {
  describe('hooks', () => {
    ctx.test('onQuery sees the SQL, parameters, driver and operation of each statement', async () => {
      const seen: QueryContext[] = []
      const hooks: Hooks = {
        onQuery: (queryContext, next) => {
          seen.push(queryContext)
          return next()
        },
      }
      const { provider } = await ctx.open({ hooks })
      const result = await provider.query('SELECT $1::int4 AS v', [42])
      expect(result.rows).toEqual([{ v: 42 }])
      await provider.transaction((tx) => tx.query('SELECT $1::text AS w', ['in tx']))
      const own = seen.filter((queryContext) => queryContext.sql.includes('AS v') || queryContext.sql.includes('AS w'))
      expect(own.map((queryContext) => [queryContext.sql, queryContext.params, queryContext.operation, queryContext.transaction])).toEqual([
        ['SELECT $1::int4 AS v', [42], 'query', false],
        ['SELECT $1::text AS w', ['in tx'], 'query', true],
      ])
      expect(own[0]?.driver).toBe(provider.driver)
      expect(own[0]?.attempt).toBe(1)
    })

    ctx.test(
      'onQuery sees a sql-tag query rendered with $n placeholders, and batch and stream statements with their operation',
      async () => {
        const seen: QueryContext[] = []
        const { provider } = await ctx.open({
          hooks: {
            onQuery: (queryContext, next) => {
              seen.push(queryContext)
              return next()
            },
          },
        })
        await provider.query(sql`SELECT ${1}::int4 AS tagged, ${'b'}::text AS second`)
        await provider.batch([{ sql: 'SELECT 1 AS batched_one' }, { sql: 'SELECT $1::int4 AS batched_two', params: [2] }])
        await collect(provider.stream('SELECT n AS streamed FROM generate_series(1, 3) AS n'))
        const described = seen.map((queryContext) => [queryContext.operation, queryContext.sql, queryContext.params])
        expect(described).toContainEqual(['query', 'SELECT $1::int4 AS tagged, $2::text AS second', [1, 'b']])
        expect(described).toContainEqual(['batch', 'SELECT 1 AS batched_one', []])
        expect(described).toContainEqual(['batch', 'SELECT $1::int4 AS batched_two', [2]])
        expect(described).toContainEqual(['stream', 'SELECT n AS streamed FROM generate_series(1, 3) AS n', []])
      },
    )

    ctx.test('onQuery can short-circuit: its result is returned and the server never runs the statement', async () => {
      const { provider } = await ctx.open({
        hooks: {
          onQuery: async (queryContext, next) => {
            if (!queryContext.sql.includes('/* cached */')) return next()
            return { rows: [{ marker: 'from the hook' }], rowCount: 1, command: 'SELECT', fields: [] }
          },
        },
      })
      const table = await ctx.createTable('id int PRIMARY KEY')
      const result = await provider.query(`/* cached */ INSERT INTO ${table} (id) VALUES (1) RETURNING 'from the server' AS marker`)
      expect(result.rows).toEqual([{ marker: 'from the hook' }])
      expect(await ctx.admin(`SELECT id FROM ${table}`)).toEqual([])
    })

    ctx.test('onQuery can change the statement before it runs', async () => {
      const { provider } = await ctx.open({
        hooks: {
          onQuery: (queryContext, next) => next({ ...queryContext, params: queryContext.params.map((param) => (param === 1 ? 2 : param)) }),
        },
      })
      const result = await provider.query('SELECT $1::int4 AS v', [1])
      expect(result.rows).toEqual([{ v: 2 }])
    })

    ctx.test('a rejecting onQuery makes the query reject with its error', async () => {
      const refusal = new TesseraError('refused by hook', { code: 'HOOK_REFUSED' })
      const { provider } = await ctx.open({ hooks: { onQuery: () => Promise.reject(refusal) } })
      const error = await rejectionOf(provider.query('SELECT 1'))
      expect(error).toBe(refusal)
    })

    ctx.test('hooks run in registration order, the first outermost', async () => {
      const order: string[] = []
      const recorder = (name: string): Hooks => ({
        onQuery: async (_queryContext, next) => {
          order.push(`${name} before`)
          const result = await next()
          order.push(`${name} after`)
          return result
        },
      })
      const { provider } = await ctx.open({ hooks: [recorder('outer'), recorder('inner')] })
      await provider.query('SELECT 1')
      expect(order.slice(-4)).toEqual(['outer before', 'inner before', 'inner after', 'outer after'])
    })

    ctx.test('onTransaction wraps the whole transaction and passes its result through', async () => {
      const events: string[] = []
      const { provider } = await ctx.open({
        hooks: {
          onTransaction: async (transactionContext, next) => {
            events.push(`begin ${transactionContext.options.isolation} attempt ${transactionContext.attempt}`)
            const result = await next()
            events.push(`end ${String(result)}`)
            return result
          },
          onQuery: (queryContext, next) => {
            if (queryContext.sql.includes('marker')) events.push('query')
            return next()
          },
        },
      })
      const result = await provider.transaction(
        async (tx) => {
          await tx.query("SELECT 'marker'")
          return 'done'
        },
        { isolation: 'repeatable read' },
      )
      expect(result).toBe('done')
      expect(events).toEqual(['begin repeatable read attempt 1', 'query', 'end done'])
    })

    ctx.test('onConnect, onAcquire and onRelease fire with the connection, once per connect, acquire and release', async () => {
      const connected: ConnectionInfo[] = []
      const acquired: ConnectionInfo[] = []
      const released: ConnectionInfo[] = []
      const { provider } = await ctx.open({
        pool: { max: 1 },
        hooks: {
          onConnect: (connection) => void connected.push(connection),
          onAcquire: (connection) => void acquired.push(connection),
          onRelease: (connection) => void released.push(connection),
        },
      })
      const pids: number[] = []
      for (let i = 0; i < 3; i++) {
        const result = await provider.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
        pids.push(result.rows[0]!.pid)
      }
      await provider.transaction(async (tx) => {
        await tx.query('SELECT 1')
        await tx.query('SELECT 2')
      })
      expect(new Set(pids).size).toBe(1)
      expect(connected).toHaveLength(1)
      expect(connected[0]?.driver).toBe(provider.driver)
      if (connected[0]?.processId !== undefined) expect(connected[0].processId).toBe(pids[0])
      expect(acquired.length).toBeGreaterThanOrEqual(4)
      await waitFor(() => released.length === acquired.length, 'every acquire has its release')
    })

    ctx.test('a throwing onConnect makes the query reject', async () => {
      const refusal = new TesseraError('connection refused by hook', { code: 'HOOK_REFUSED' })
      const { provider } = await ctx.open({
        retry: false,
        hooks: {
          onConnect: () => {
            throw refusal
          },
        },
      })
      const error = await rejectionOf(provider.query('SELECT 1'))
      expect(isTesseraError(error)).toBe(true)
    })

    ctx.test('onError sees the error the caller gets, with the operation and SQL', async () => {
      const reported: [TesseraError, ErrorContext][] = []
      const { provider } = await ctx.open({ hooks: { onError: (error, errorContext) => void reported.push([error, errorContext]) } })
      const sqlText = 'SELECT * FROM no_such_table_for_on_error'
      const error = await rejectionOf(provider.query(sqlText))
      expect(reported).toHaveLength(1)
      expect(reported[0]?.[0]).toBe(error)
      expect(reported[0]?.[1]).toMatchObject({ operation: 'query', sql: sqlText, driver: provider.driver })
    })

    ctx.test('a throwing onError does not replace the error the caller gets', async () => {
      const { provider } = await ctx.open({
        hooks: {
          onError: () => {
            throw new Error('observer failed')
          },
        },
      })
      const error = await rejectionOf(provider.query('SELECT * FROM no_such_table_for_on_error'))
      expect((error as TesseraError).code).toBe('42P01')
    })
  })
}
