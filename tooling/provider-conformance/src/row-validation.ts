import type { StandardSchemaV1 } from '@standard-schema/spec'
import { isTesseraError, one, type Queryable, type RowSchema, RowValidationError, sql, ValidationError } from '@tessera/core'
import * as v from 'valibot'
import { describe, expect, expectTypeOf } from 'vitest'
import { z } from 'zod'
import type { ConformanceContext } from './context'
import { collect, tesseraRejectionOf } from './helpers'

const User = z.object({
  id: z.number(),
  email: z
    .string()
    .email()
    .transform((email) => email.toUpperCase()),
})
const UserV = v.object({ id: v.number(), email: v.pipe(v.string(), v.email()) })
const USERS = (bad: string) =>
  `SELECT i AS id, CASE WHEN i = 3 THEN '${bad}' ELSE 'u' || i || '@example.com' END AS email FROM generate_series(1, 4) AS i`

/** Runtime row validation with a Standard Schema: `sql.type(schema)` and the `schema` option, zod 4 and valibot. */
export function describeRowValidation(ctx: ConformanceContext): void {
  describe('row validation (Standard Schema)', () => {
    const onEach = async (run: (queryable: Queryable) => Promise<void>) => {
      const { provider } = await ctx.open()
      await run(provider)
      await provider.transaction((tx) => run(tx))
      await provider.connection((connection) => run(connection))
    }

    ctx.test('sql.type(zod schema) gives the schema output for every row, typed by it', async () => {
      await onEach(async (db) => {
        const result = await db.query(sql.type(User)`SELECT ${1}::int AS id, 'ada@example.com' AS email`)
        expectTypeOf(result.rows).toEqualTypeOf<Array<{ id: number; email: string }>>()
        expect(result.rows).toEqual([{ id: 1, email: 'ADA@EXAMPLE.COM' }])
        const row = await one(db, sql.type(User)`SELECT 2 AS id, 'bob@example.com' AS email`)
        expectTypeOf(row).toEqualTypeOf<{ id: number; email: string }>()
        expect(row).toEqual({ id: 2, email: 'BOB@EXAMPLE.COM' })
      })
    })

    ctx.test('a row that fails its schema rejects with RowValidationError naming the row index and issue paths', async () => {
      await onEach(async (db) => {
        for (const run of [
          () => db.query(sql.type(User)`${sql.raw(USERS('not-an-email'))}`),
          () => db.query(USERS('not-an-email'), [], { schema: UserV }),
        ]) {
          const error = await tesseraRejectionOf(run())
          expect(error).toBeInstanceOf(RowValidationError)
          expect(error).toBeInstanceOf(ValidationError)
          expect(error.code).toBe('VALIDATION_FAILED')
          const failed = error as RowValidationError
          expect(failed.rowIndex).toBe(2)
          expect(failed.issues.map((issue) => issue.path)).toEqual([['email']])
          expect(failed.message).toMatch(/row 2 of "SELECT i AS id/)
          expect(failed.query).toContain('generate_series(1, 4)')
        }
      })
    })

    ctx.test('the schema option validates with valibot, and wins over sql.type', async () => {
      const { provider } = await ctx.open()
      const result = await provider.query(sql.type(User)`SELECT 1 AS id, 'x@example.com' AS email`, [], { schema: UserV })
      expect(result.rows).toEqual([{ id: 1, email: 'x@example.com' }])
      const wrongType = await tesseraRejectionOf(provider.query("SELECT '1' AS id, 'x@example.com' AS email", [], { schema: UserV }))
      expect((wrongType as RowValidationError).issues[0]?.path).toEqual(['id'])
    })

    ctx.test('an asynchronous Standard Schema is awaited', async () => {
      const schema: StandardSchemaV1<unknown, { n: number }> = {
        '~standard': {
          version: 1,
          vendor: 'test',
          validate: async (value) => {
            await new Promise((resolve) => setTimeout(resolve, 1))
            const n = (value as { n: number }).n
            return n > 1 ? { issues: [{ message: 'too big', path: [{ key: 'n' }] }] } : { value: { n: n * 10 } }
          },
        },
      }
      const asRowSchema: RowSchema<{ n: number }> = schema
      const { provider } = await ctx.open()
      expect((await provider.query('SELECT 1 AS n', [], { schema: asRowSchema })).rows).toEqual([{ n: 10 }])
      const error = await tesseraRejectionOf(provider.query('SELECT 2 AS n', [], { schema }))
      expect(error).toMatchObject({ rowIndex: 0, issues: [{ path: ['n'], message: 'too big' }] })
    })

    ctx.test('a stream validates every row; the failing row is numbered from the stream start, and onError hears of it', async () => {
      const reported: unknown[] = []
      const { provider } = await ctx.open({ hooks: { onError: (error) => void reported.push(error) } })
      const Row = z.object({
        i: z
          .number()
          .max(150)
          .transform((i) => i * 2),
      })
      const rows = await collect(provider.stream(sql.type(Row)`SELECT i FROM generate_series(1, 120) AS i`, [], { batchSize: 50 }))
      expect(rows).toHaveLength(120)
      expect(rows[119]).toEqual({ i: 240 })
      const error = await tesseraRejectionOf(
        collect(provider.stream('SELECT i FROM generate_series(1, 300) AS i', [], { batchSize: 100, schema: Row })),
      )
      expect(error).toBeInstanceOf(RowValidationError)
      expect((error as RowValidationError).rowIndex).toBe(150)
      const failed = await tesseraRejectionOf(provider.query(sql.type(Row)`SELECT 151 AS i`))
      expect(reported).toContain(failed)
      expect(reported.every(isTesseraError)).toBe(true)
    })

    ctx.test('sql.type refuses something that is not a Standard Schema', async () => {
      expect(() => sql.type({} as RowSchema)).toThrow(/Standard Schema/)
    })
  })
}
