import type { Queryable } from '@tessera/core'
import { describe, expect } from 'vitest'
import type { ConformanceContext } from './context'
import { collect } from './helpers'

/** One value of many types, sent as parameters (prepared) and as literals. */
export const ROW_MODE_SQL =
  "SELECT $1::int8 AS a, $2::numeric AS b, $3::timestamptz AS c, $4::jsonb AS d, $5::int[] AS e, '\\x0102'::bytea AS f, NULL::text AS g, 'x' AS a"
export const ROW_MODE_PARAMS: readonly unknown[] = [42n, '1.50', new Date('2024-01-02T03:04:05.678Z'), { k: [1, 'v'] }, [1, 2, null]]

/** `rowMode: 'array'`: rows as arrays, every value equal to the object row's, columns with one name all kept. */
export function describeRowMode(ctx: ConformanceContext): void {
  describe("rowMode: 'array'", () => {
    const onEach = async (run: (queryable: Queryable) => Promise<void>) => {
      const { provider } = await ctx.open()
      await run(provider)
      await provider.transaction((tx) => run(tx))
      await provider.connection((connection) => run(connection))
    }

    ctx.test('keeps every column of a name, in order, with the same values and fields as object rows', async () => {
      await onEach(async (db) => {
        for (const prepare of [true, false]) {
          const arrays = await db.query<unknown[]>(ROW_MODE_SQL, ROW_MODE_PARAMS, { rowMode: 'array', prepare })
          const objects = await db.query(ROW_MODE_SQL.replace(", 'x' AS a", ''), ROW_MODE_PARAMS, { prepare })
          expect(arrays.rows).toHaveLength(1)
          expect(arrays.rows[0]).toEqual([...Object.values(objects.rows[0]!), 'x'])
          expect(arrays.fields.map((field) => field.name)).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'a'])
          expect(arrays.fields.slice(0, 7)).toEqual(objects.fields)
          expect(arrays.rowCount).toBe(1)
          expect(arrays.command).toBe('SELECT')
        }
        const plain = await db.query('SELECT 1 AS n UNION ALL SELECT 2', [], { rowMode: 'array' })
        expect(plain.rows).toEqual([[1], [2]])
        expect((await db.query('SELECT 1 AS n', [], { rowMode: 'object' })).rows).toEqual([{ n: 1 }])
      })
    })

    ctx.test('streams rows as arrays across fetches', async () => {
      await onEach(async (db) => {
        if (!('stream' in db)) return
        const stream = (db as unknown as { stream: (sql: string, params: unknown[], options: object) => AsyncIterable<unknown> }).stream
        const rows = await collect(
          stream.call(db, 'SELECT i, i * 2 AS i FROM generate_series(1, 7) AS i', [], { rowMode: 'array', batchSize: 3 }),
        )
        expect(rows).toEqual([1, 2, 3, 4, 5, 6, 7].map((i) => [i, i * 2]))
      })
    })
  })
}
