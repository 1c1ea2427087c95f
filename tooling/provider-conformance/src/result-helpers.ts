import {
  DataIntegrityError,
  many,
  manyFirst,
  maybeOne,
  maybeOneFirst,
  NotFoundError,
  one,
  oneFirst,
  type Queryable,
  sql,
} from '@tessera/core'
import { describe, expect } from 'vitest'
import type { ConformanceContext } from './context'
import { tesseraRejectionOf } from './helpers'

const ROWS = (n: number) => `SELECT i AS id, 'n' || i AS name FROM generate_series(1, ${n}) AS i`
const IDS = (n: number) => `SELECT i AS id FROM generate_series(1, ${n}) AS i`

/** `one`, `maybeOne`, `many`, `oneFirst`, `maybeOneFirst`, `manyFirst` over the provider, a transaction and a reserved connection. */
export function describeResultHelpers(ctx: ConformanceContext): void {
  describe('result helpers', () => {
    const onEach = async (run: (queryable: Queryable, where: string) => Promise<void>) => {
      const { provider } = await ctx.open()
      await run(provider, 'provider')
      await provider.transaction((tx) => run(tx, 'transaction'))
      await provider.connection((connection) => run(connection, 'connection'))
    }

    ctx.test('return the row, the rows or the first column when the result has the expected shape', async () => {
      await onEach(async (db) => {
        expect(await one(db, ROWS(1))).toEqual({ id: 1, name: 'n1' })
        expect(await one<{ id: number }>(db, sql`SELECT ${5}::int AS id`)).toEqual({ id: 5 })
        expect(await maybeOne(db, ROWS(1))).toEqual({ id: 1, name: 'n1' })
        expect(await maybeOne(db, ROWS(0))).toBeNull()
        expect(await many(db, ROWS(2))).toEqual([
          { id: 1, name: 'n1' },
          { id: 2, name: 'n2' },
        ])
        expect(await oneFirst<number>(db, 'SELECT $1::int AS v', [7])).toBe(7)
        expect(await oneFirst(db, 'SELECT count(*) FROM generate_series(1, 3)')).toBe(3n)
        expect(await maybeOneFirst(db, IDS(1))).toBe(1)
        expect(await maybeOneFirst(db, IDS(0))).toBeNull()
        expect(await maybeOneFirst(db, 'SELECT NULL::int AS v')).toBeNull()
        expect(await manyFirst(db, IDS(3))).toEqual([1, 2, 3])
      })
    })

    ctx.test('reject with NotFoundError (rowCount 0, the statement) when a row was required and none came', async () => {
      await onEach(async (db) => {
        for (const run of [() => one(db, ROWS(0)), () => many(db, ROWS(0)), () => oneFirst(db, IDS(0)), () => manyFirst(db, IDS(0))]) {
          const error = await tesseraRejectionOf(run())
          expect(error).toBeInstanceOf(NotFoundError)
          expect(error).toMatchObject({ code: 'NOT_FOUND', rowCount: 0, query: expect.stringContaining('generate_series(1, 0)') })
          expect(error.message).toMatch(/returned no rows/)
        }
      })
    })

    ctx.test('reject with DataIntegrityError carrying the row and column counts when the shape is wrong', async () => {
      await onEach(async (db) => {
        for (const run of [
          () => one(db, ROWS(3)),
          () => maybeOne(db, ROWS(3)),
          () => oneFirst(db, IDS(3)),
          () => maybeOneFirst(db, IDS(3)),
        ]) {
          const error = await tesseraRejectionOf(run())
          expect(error).toBeInstanceOf(DataIntegrityError)
          expect(error).toMatchObject({ code: 'DATA_INTEGRITY', rowCount: 3, expected: 'at most one row' })
          expect(error.message).toMatch(/returned 3 rows/)
        }
        for (const run of [() => oneFirst(db, ROWS(1)), () => maybeOneFirst(db, ROWS(1)), () => manyFirst(db, ROWS(2))]) {
          const error = await tesseraRejectionOf(run())
          expect(error).toBeInstanceOf(DataIntegrityError)
          expect(error).toMatchObject({ code: 'DATA_INTEGRITY', columnCount: 2, expected: 'exactly one column' })
        }
        const empty = await tesseraRejectionOf(maybeOneFirst(db, ROWS(0)))
        expect(empty).toMatchObject({ columnCount: 2, rowCount: 0 })
      })
    })
  })
}
