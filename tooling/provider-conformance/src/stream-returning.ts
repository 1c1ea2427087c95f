import { AbortError, UniqueViolationError } from '@tessera/core'
import { describe, expect } from 'vitest'
import type { ConformanceContext } from './context'
import { collect, rejectionOf, waitFor } from './helpers'

/** `stream()` of writes with RETURNING, which a cursor cannot hold: read through a portal, batch by batch. */
export function describeStreamReturning(ctx: ConformanceContext): void {
  describe('stream of INSERT/UPDATE/DELETE … RETURNING', () => {
    ctx.test('streams the rows of INSERT … RETURNING, the same rows query() returns, and commits once all are read', async () => {
      const { provider } = await ctx.open()
      const table = await ctx.createTable('id int PRIMARY KEY, name text, at timestamptz')
      const insert = (from: number) =>
        `INSERT INTO ${table} (id, name, at) SELECT i, 'name ' || i, timestamptz '2024-01-01 00:00:00+00' + i * interval '1 minute' FROM generate_series(${from}, ${from} + 999) i RETURNING id, name, at`
      const streamed = await collect(provider.stream<{ id: number; name: string; at: Date }>(insert(1), [], { batchSize: 64 }))
      expect(streamed.length).toBe(1000)
      const queried = await provider.query<{ id: number; name: string; at: Date }>(insert(10_001))
      expect(streamed.map((row) => ({ ...row, id: row.id + 10_000, name: `name ${row.id + 10_000}` }))).toEqual(
        queried.rows.map((row) => ({ ...row, at: new Date(row.at.getTime() - 10_000 * 60_000) })),
      )
      expect(await ctx.admin(`SELECT count(*)::int AS n FROM ${table}`)).toEqual([{ n: 2000 }])
      expect(provider.stats().inUse).toBe(0)
    })

    ctx.test('streams UPDATE … RETURNING, DELETE … RETURNING and a data-modifying WITH, with parameters', async () => {
      const { provider } = await ctx.open()
      const table = await ctx.createTable('id int, n int')
      await ctx.admin(`INSERT INTO ${table} SELECT i, i FROM generate_series(1, 300) i`)
      const updated = await collect(
        provider.stream<{ id: number; n: number }>(`UPDATE ${table} SET n = n * $1 WHERE id <= $2 RETURNING id, n`, [10, 200], {
          batchSize: 7,
        }),
      )
      expect(updated.length).toBe(200)
      expect(updated.every((row) => row.n === row.id * 10)).toBe(true)
      const deleted = await collect(provider.stream(`DELETE FROM ${table} WHERE id > $1 RETURNING id`, [250], { batchSize: 7 }))
      expect(deleted.length).toBe(50)
      const moved = await collect(
        provider.stream(`WITH gone AS (DELETE FROM ${table} WHERE id <= 10 RETURNING id) SELECT count(*)::int AS n FROM gone`),
      )
      expect(moved).toEqual([{ n: 10 }])
      expect(await ctx.admin(`SELECT count(*)::int AS n FROM ${table}`)).toEqual([{ n: 240 }])
    })

    ctx.test('stopping early rolls the write back and gives the session back', async () => {
      const { provider } = await ctx.open({ pool: { max: 1 } })
      const table = await ctx.createTable('id int')
      let seen = 0
      for await (const _row of provider.stream(`INSERT INTO ${table} SELECT i FROM generate_series(1, 5000) i RETURNING id`, [], {
        batchSize: 100,
      })) {
        if (++seen === 150) break
      }
      expect(await ctx.admin(`SELECT count(*)::int AS n FROM ${table}`)).toEqual([{ n: 0 }])
      await waitFor(() => provider.stats().inUse === 0, 'the session is back in the pool')
      expect((await provider.query('SELECT 1 AS v')).rows).toEqual([{ v: 1 }])
    })

    ctx.test('a failing write rejects the iteration with the mapped error and writes nothing', async () => {
      const { provider } = await ctx.open({ pool: { max: 1 } })
      const table = await ctx.createTable('id int PRIMARY KEY')
      await ctx.admin(`INSERT INTO ${table} VALUES (500)`)
      const error = await rejectionOf(
        collect(provider.stream(`INSERT INTO ${table} SELECT i FROM generate_series(1, 1000) i RETURNING id`)),
      )
      expect(error).toBeInstanceOf(UniqueViolationError)
      expect(await ctx.admin(`SELECT count(*)::int AS n FROM ${table}`)).toEqual([{ n: 1 }])
      await waitFor(() => provider.stats().inUse === 0, 'the session is back in the pool')
      expect((await provider.query('SELECT 2 AS v')).rows).toEqual([{ v: 2 }])
    })

    ctx.test('an aborted signal between batches rejects with AbortError and rolls the write back', async () => {
      const { provider } = await ctx.open()
      const table = await ctx.createTable('id int')
      const controller = new AbortController()
      const error = await rejectionOf(
        (async () => {
          let seen = 0
          for await (const _row of provider.stream(`INSERT INTO ${table} SELECT i FROM generate_series(1, 1000) i RETURNING id`, [], {
            batchSize: 10,
            signal: controller.signal,
          })) {
            if (++seen === 15) controller.abort()
          }
        })(),
      )
      expect(error).toBeInstanceOf(AbortError)
      expect(await ctx.admin(`SELECT count(*)::int AS n FROM ${table}`)).toEqual([{ n: 0 }])
      await waitFor(() => provider.stats().inUse === 0, 'the session is given back')
    })
  })
}
