import { AbortError, isTesseraError, SqlSyntaxError, sql, UniqueViolationError } from '@tessera/core'
import { describe, expect } from 'vitest'
import type { ConformanceContext } from './context'
import { collect, rejectionOf, waitFor } from './helpers'

/** `batch`: results in order, all-or-nothing when atomic. */
export function describeBatch(ctx: ConformanceContext): void {
  describe('batch', () => {
    ctx.test('returns one result per statement, in order, with their commands and row counts', async () => {
      const { provider } = await ctx.open()
      const table = await ctx.createTable('id int PRIMARY KEY, name text')
      const results = await provider.batch([
        { sql: `INSERT INTO ${table} (id, name) VALUES ($1, $2), ($3, $4)`, params: [1, 'a', 2, 'b'] },
        { sql: sql`UPDATE ${sql.raw(table)} SET name = ${'z'} WHERE id = ${2}` },
        { sql: `SELECT id, name FROM ${table} ORDER BY id` },
        { sql: `DELETE FROM ${table} WHERE id > $1`, params: [0] },
        { sql: 'SELECT $1::int8 AS v', params: [42n] },
      ])
      expect(results.map((result) => [result.command, result.rowCount])).toEqual([
        ['INSERT', 2],
        ['UPDATE', 1],
        ['SELECT', 2],
        ['DELETE', 2],
        ['SELECT', 1],
      ])
      expect(results[2]?.rows).toEqual([
        { id: 1, name: 'a' },
        { id: 2, name: 'z' },
      ])
      expect(results[4]?.rows).toEqual([{ v: 42n }])
    })

    ctx.test('an atomic batch with a failing statement writes nothing and rejects with the mapped error', async () => {
      const { provider } = await ctx.open()
      const table = await ctx.createTable('id int PRIMARY KEY')
      const error = await rejectionOf(
        provider.batch(
          [
            { sql: `INSERT INTO ${table} (id) VALUES ($1)`, params: [1] },
            { sql: `INSERT INTO ${table} (id) VALUES ($1)`, params: [2] },
            { sql: `INSERT INTO ${table} (id) VALUES ($1)`, params: [1] },
            { sql: `INSERT INTO ${table} (id) VALUES ($1)`, params: [3] },
          ],
          { atomic: true },
        ),
      )
      expect(error).toBeInstanceOf(UniqueViolationError)
      expect(await ctx.admin(`SELECT id FROM ${table}`)).toEqual([])
      const after = await provider.query('SELECT 1 AS v')
      expect(after.rows).toEqual([{ v: 1 }])
    })

    ctx.test('an already-aborted signal rejects with AbortError and writes nothing', async () => {
      const { provider } = await ctx.open()
      const table = await ctx.createTable('id int PRIMARY KEY')
      const error = await rejectionOf(
        provider.batch([{ sql: `INSERT INTO ${table} (id) VALUES (1)` }, { sql: `INSERT INTO ${table} (id) VALUES (2)` }], {
          signal: AbortSignal.abort(),
        }),
      )
      expect(error).toBeInstanceOf(AbortError)
      expect(await ctx.admin(`SELECT id FROM ${table}`)).toEqual([])
    })

    ctx.test('an atomic batch that succeeds commits every statement', async () => {
      const { provider } = await ctx.open()
      const table = await ctx.createTable('id int PRIMARY KEY')
      const results = await provider.batch(
        [
          { sql: `INSERT INTO ${table} (id) VALUES ($1)`, params: [1] },
          { sql: `INSERT INTO ${table} (id) VALUES ($1), ($2)`, params: [2, 3] },
        ],
        { atomic: true },
      )
      expect(results.map((result) => result.rowCount)).toEqual([1, 2])
      expect(await ctx.admin(`SELECT id FROM ${table} ORDER BY id`)).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }])
    })

    ctx.test('an atomic batch gives its session back for reuse: the next statement runs on the same backend', async () => {
      const { provider } = await ctx.open({ pool: { max: 1, acquireTimeoutMs: 5_000 } })
      const pid = async () => (await provider.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid
      const before = await pid()
      for (let i = 0; i < 3; i++) {
        await provider.batch([{ sql: "SELECT set_config('app.n', $1, true) AS n", params: [String(i)] }, { sql: 'SELECT 1 AS one' }], {
          atomic: true,
        })
        // BEGIN, the statements and COMMIT were pipelined; the session is idle again, not closed as if left in a transaction.
        expect(await pid()).toBe(before)
      }
    })
  })
}

/** `stream`: every row in order, and the connection goes back to the pool however the loop ends. */
export function describeStream(ctx: ConformanceContext): void {
  describe('stream', () => {
    ctx.test('yields all 1000 rows in order with a small batchSize', async () => {
      const { provider } = await ctx.open()
      const rows = await collect(provider.stream<{ n: number }>('SELECT n FROM generate_series(1, $1::int) AS n', [1000], { batchSize: 7 }))
      expect(rows).toHaveLength(1000)
      expect(rows.map((row) => row.n)).toEqual(Array.from({ length: 1000 }, (_, index) => index + 1))
    })

    ctx.test('converts streamed values like query does', async () => {
      const { provider } = await ctx.open()
      const rows = await collect(
        provider.stream(sql`SELECT n::int8 AS big, n::numeric / 4 AS exact, ${'x'}::text AS t FROM generate_series(1, 3) AS n`, undefined, {
          batchSize: 2,
        }),
      )
      expect(rows).toEqual([
        { big: 1n, exact: '0.25000000000000000000', t: 'x' },
        { big: 2n, exact: '0.50000000000000000000', t: 'x' },
        { big: 3n, exact: '0.75000000000000000000', t: 'x' },
      ])
    })

    ctx.test('yields nothing for an empty result', async () => {
      const { provider } = await ctx.open()
      expect(await collect(provider.stream('SELECT 1 AS v WHERE false'))).toEqual([])
    })

    ctx.test('an early break after 10 rows gives the connection back and the next query works', async () => {
      const { provider } = await ctx.open({ pool: { max: 1, acquireTimeoutMs: 5_000 } })
      const seen: number[] = []
      for await (const row of provider.stream<{ n: number }>('SELECT n FROM generate_series(1, 1000) AS n', [], { batchSize: 5 })) {
        seen.push(row.n)
        if (seen.length === 10) break
      }
      expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
      await waitFor(() => provider.stats().inUse === 0, 'stats().inUse is back to 0')
      const after = await provider.query('SELECT 1 AS v')
      expect(after.rows).toEqual([{ v: 1 }])
    })

    ctx.test('an error thrown in the loop body gives the connection back', async () => {
      const { provider } = await ctx.open({ pool: { max: 1, acquireTimeoutMs: 5_000 } })
      const boom = new Error('consumer failed')
      const error = await rejectionOf(
        (async () => {
          for await (const _row of provider.stream('SELECT n FROM generate_series(1, 1000) AS n', [], { batchSize: 10 })) throw boom
        })(),
      )
      expect(error).toBe(boom)
      await waitFor(() => provider.stats().inUse === 0, 'stats().inUse is back to 0')
      expect((await provider.query('SELECT 1 AS v')).rows).toEqual([{ v: 1 }])
    })

    ctx.test('aborting the signal mid-stream rejects the iteration and gives the connection back', async () => {
      const { provider } = await ctx.open({ pool: { max: 1, acquireTimeoutMs: 5_000 } })
      const controller = new AbortController()
      const seen: number[] = []
      const error = await rejectionOf(
        (async () => {
          const rows = provider.stream<{ n: number }>('SELECT n FROM generate_series(1, 1000) AS n', [], {
            batchSize: 5,
            signal: controller.signal,
          })
          for await (const row of rows) {
            seen.push(row.n)
            if (seen.length === 10) controller.abort()
          }
        })(),
      )
      expect(isTesseraError(error)).toBe(true)
      expect(seen.length).toBeLessThan(1000)
      await waitFor(() => provider.stats().inUse === 0, 'stats().inUse is back to 0')
      expect((await provider.query('SELECT 1 AS v')).rows).toEqual([{ v: 1 }])
    })

    ctx.test('invalid SQL makes the iteration reject with SqlSyntaxError and gives the connection back', async () => {
      const { provider } = await ctx.open({ pool: { max: 1, acquireTimeoutMs: 5_000 } })
      const error = await rejectionOf(collect(provider.stream('SELEC 1')))
      expect(isTesseraError(error)).toBe(true)
      expect(error).toBeInstanceOf(SqlSyntaxError)
      await waitFor(() => provider.stats().inUse === 0, 'stats().inUse is back to 0')
      expect((await provider.query('SELECT 1 AS v')).rows).toEqual([{ v: 1 }])
    })
  })
}
