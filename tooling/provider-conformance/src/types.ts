import { sql } from '@tessera/core'
import { describe, expect } from 'vitest'
import type { ConformanceContext } from './context'
import { collect } from './helpers'
import { TYPE_CORPUS } from './type-corpus'

/** Every value of {@link TYPE_CORPUS} goes to the server as a parameter and comes back equal. */
export function describeTypes(ctx: ConformanceContext): void {
  describe('type round trips', () => {
    for (const entry of TYPE_CORPUS) {
      ctx.test(`reads back ${entry.name} (${entry.type}) as sent`, async () => {
        const { provider } = await ctx.open()
        const result = await provider.query(`SELECT $1::${entry.type} AS v`, [entry.value])
        expect(result.rows[0]?.v).toEqual('expected' in entry ? entry.expected : entry.value)
      })
    }

    ctx.test('reads back the whole corpus stored in a table, through query, the sql tag and stream alike', async () => {
      const { provider } = await ctx.open()
      const columns = TYPE_CORPUS.map((entry, index) => `c${index} ${entry.type}`).join(', ')
      const table = await ctx.createTable(columns)
      const values = TYPE_CORPUS.map((entry) => entry.value)
      await provider.query(sql`INSERT INTO ${sql.raw(table)} VALUES (${sql.join(values)})`)
      const expected = Object.fromEntries(
        TYPE_CORPUS.map((entry, index) => [`c${index}`, 'expected' in entry ? entry.expected : entry.value]),
      )

      const queried = await provider.query(`SELECT * FROM ${table}`)
      expect(queried.rows).toEqual([expected])
      const streamed = await collect(provider.stream(`SELECT * FROM ${table}`))
      expect(streamed).toEqual([expected])
    })
  })
}
