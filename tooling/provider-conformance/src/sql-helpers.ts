import { SqlError, sql } from '@tessera/core'
import { describe, expect } from 'vitest'
import type { ConformanceContext } from './context'
import { rejectionOf } from './helpers'

/** `sql.json`, `sql.array`, `sql.unnest` and `sql.set` against the server: what is sent is what is stored. */
export function describeSqlHelpers(ctx: ConformanceContext): void {
  describe('sql helpers', () => {
    ctx.test('sql.json stores a jsonb value that reads back equal', async () => {
      const { provider } = await ctx.open()
      const table = await ctx.createTable('id int, doc jsonb')
      const doc = { name: 'Ada', tags: ['a', 'b'], nested: { n: 1.5, ok: true, none: null }, quote: 'it\'s "x"' }
      await provider.query(sql`INSERT INTO ${sql.raw(table)} (id, doc) VALUES (${1}, ${sql.json(doc)})`)
      const { rows } = await provider.query(sql`SELECT doc, doc->'nested'->>'n' AS n FROM ${sql.raw(table)}`)
      expect(rows).toEqual([{ doc, n: '1.5' }])
      const scalar = await provider.query(sql`SELECT ${sql.json('text')} AS s, ${sql.json([1, 2])} AS a`)
      expect(scalar.rows).toEqual([{ s: 'text', a: [1, 2] }])
    })

    ctx.test('sql.array sends a typed array: = ANY() matches, and the server sees the element type', async () => {
      const { provider } = await ctx.open()
      const table = await ctx.createTable('id int, name text')
      await ctx.admin(`INSERT INTO ${table} SELECT i, 'n' || i FROM generate_series(1, 10) i`)
      const { rows } = await provider.query(
        sql`SELECT id FROM ${sql.raw(table)} WHERE id = ANY(${sql.array([2, 5, 99], 'int4')}) ORDER BY id`,
      )
      expect(rows).toEqual([{ id: 2 }, { id: 5 }])
      const typed = await provider.query(
        sql`SELECT pg_typeof(${sql.array([1n, null], 'int8')})::text AS a, pg_typeof(${sql.array(['x'], 'text')})::text AS b, ${sql.array([{ k: 1 }], 'jsonb')} AS c`,
      )
      expect(typed.rows).toEqual([{ a: 'bigint[]', b: 'text[]', c: [{ k: 1 }] }])
    })

    ctx.test('sql.unnest inserts many rows with one parameter per column', async () => {
      const { provider } = await ctx.open()
      const table = await ctx.createTable('id int, name text, born date')
      const rows = Array.from({ length: 5000 }, (_, i) => [i, i % 7 === 0 ? null : `name ${i}, "quoted" {braces}`, '2000-01-01'])
      const query = sql`INSERT INTO ${sql.raw(table)} (id, name, born) SELECT * FROM ${sql.unnest(rows, ['int4', 'text', 'date'])}`
      expect(query.values.length).toBe(3)
      const result = await provider.query(query)
      expect(result.rowCount).toBe(5000)
      const stored = await ctx.admin(`SELECT id, name FROM ${table} WHERE id IN (0, 1, 4999) ORDER BY id`)
      expect(stored).toEqual([
        { id: 0, name: null },
        { id: 1, name: 'name 1, "quoted" {braces}' },
        { id: 4999, name: 'name 4999, "quoted" {braces}' },
      ])
    })

    ctx.test('sql.set updates the named columns, quoting them, and refuses undefined', async () => {
      const { provider } = await ctx.open()
      const table = await ctx.createTable('id int, "Display Name" text, age int, at timestamptz')
      await ctx.admin(`INSERT INTO ${table} (id, "Display Name", age) VALUES (1, 'old', 30)`)
      const result = await provider.query(
        sql`UPDATE ${sql.raw(table)} SET ${sql.set({ 'Display Name': 'New', age: null, at: sql`'2024-01-01T00:00:00Z'::timestamptz` })} WHERE id = ${1}`,
      )
      expect(result.rowCount).toBe(1)
      const stored = await ctx.admin<{ name: string; age: number | null; at: Date }>(`SELECT "Display Name" AS name, age, at FROM ${table}`)
      expect(stored).toEqual([{ name: 'New', age: null, at: new Date('2024-01-01T00:00:00Z') }])
      const error = await rejectionOf(
        (async () => provider.query(sql`UPDATE ${sql.raw(table)} SET ${sql.set({ age: undefined })} WHERE id = ${1}`))(),
      )
      expect(error).toBeInstanceOf(SqlError)
      expect(await ctx.admin(`SELECT age FROM ${table}`)).toEqual([{ age: null }])
    })
  })
}
