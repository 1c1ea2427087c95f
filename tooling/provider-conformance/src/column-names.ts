import { ConfigError, one, type Queryable } from '@tessera/core'
import { describe, expect } from 'vitest'
import type { ConformanceContext } from './context'
import { collect, tesseraRejectionOf } from './helpers'

const toCamel = (column: string): string => column.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase())
const SQL = "SELECT 1 AS user_id, 'ada' AS first_name, now() AS created_at, 2 AS plain"

/** The `columnNames` option: row keys and field names renamed on every path, the same on every driver. */
export function describeColumnNames(ctx: ConformanceContext): void {
  describe('columnNames option', () => {
    ctx.test('renames row keys and fields of query, transaction, reserved connection, batch and stream results', async () => {
      const calls: string[] = []
      const { provider } = await ctx.open({
        columnNames: (column) => {
          calls.push(column)
          return toCamel(column)
        },
      })
      const check = async (db: Queryable) => {
        const result = await db.query(SQL)
        expect(Object.keys(result.rows[0]!)).toEqual(['userId', 'firstName', 'createdAt', 'plain'])
        expect(result.fields.map((field) => field.name)).toEqual(['userId', 'firstName', 'createdAt', 'plain'])
        expect(await one(db, 'SELECT 3 AS order_id')).toEqual({ orderId: 3 })
      }
      await check(provider)
      await provider.transaction((tx) => check(tx))
      await provider.connection((connection) => check(connection))
      const [batched] = await provider.batch([{ sql: 'SELECT 5 AS line_no' }])
      expect(batched?.rows).toEqual([{ lineNo: 5 }])
      expect(await collect(provider.stream('SELECT i AS row_no FROM generate_series(1, 3) AS i', [], { batchSize: 2 }))).toEqual([
        { rowNo: 1 },
        { rowNo: 2 },
        { rowNo: 3 },
      ])
      const arrays = await provider.query('SELECT 1 AS a_b, 2 AS a_b', [], { rowMode: 'array' })
      expect([arrays.rows, arrays.fields.map((field) => field.name)]).toEqual([[[1, 2]], ['aB', 'aB']])
      // Once per distinct column name, not per row or per result.
      expect(calls.filter((column) => column === 'user_id')).toHaveLength(1)
      await provider.query('SELECT i AS row_no FROM generate_series(1, 50) AS i')
      expect(calls.filter((column) => column === 'row_no')).toHaveLength(1)
    })

    ctx.test(
      'a function that throws or returns no name fails the query with a ConfigError naming the column; a non-function is refused',
      async () => {
        const { provider } = await ctx.open({
          columnNames: (column) => {
            if (column === 'bad') throw new Error('nope')
            return column === 'empty' ? '' : column
          },
        })
        const thrown = await tesseraRejectionOf(provider.query('SELECT 1 AS bad'))
        expect(thrown).toBeInstanceOf(ConfigError)
        expect(thrown.message).toMatch(/"bad"/)
        expect(await tesseraRejectionOf(provider.query('SELECT 1 AS empty'))).toBeInstanceOf(ConfigError)
        expect((await provider.query('SELECT 1 AS fine')).rows).toEqual([{ fine: 1 }])
        const refused = await tesseraRejectionOf(
          Promise.resolve().then(() => ctx.open({ columnNames: 'camel' as unknown as () => string })),
        )
        expect(refused).toBeInstanceOf(ConfigError)
        expect(refused.message).toMatch(/columnNames must be a function/)
      },
    )
  })
}
