import { OIDS } from '@tessera/converter'
import { sql } from '@tessera/core'
import { describe, expect } from 'vitest'
import type { ConformanceContext } from './context'
import { deferred, waitFor } from './helpers'

/** Every `Provider` method's basic contract: results, command tags, fields, NULLs, health and stats. */
export function describeQueries(ctx: ConformanceContext): void {
  describe('queries', () => {
    ctx.test('names its driver', async () => {
      const { provider } = await ctx.open()
      expect(typeof provider.driver).toBe('string')
      expect(provider.driver.length).toBeGreaterThan(0)
    })

    ctx.test('runs SQL text with $n parameters and returns rows, rowCount, command and fields', async () => {
      const { provider } = await ctx.open()
      const result = await provider.query('SELECT $1::int4 AS id, $2::text AS name', [7, 'Ada'])
      expect(result.rows).toEqual([{ id: 7, name: 'Ada' }])
      expect(result.rowCount).toBe(1)
      expect(result.command).toBe('SELECT')
      expect(result.fields.map((field) => [field.name, field.dataTypeID])).toEqual([
        ['id', OIDS.int4],
        ['name', OIDS.text],
      ])
    })

    ctx.test('runs a query built with the sql tag, values sent as parameters', async () => {
      const { provider } = await ctx.open()
      const hostile = "'; DROP TABLE users; --"
      const result = await provider.query(
        sql`SELECT ${hostile}::text AS v, ${sql.id('Mixed Case')}.x AS w FROM (SELECT 1 AS x) AS ${sql.id('Mixed Case')}`,
      )
      expect(result.rows).toEqual([{ v: hostile, w: 1 }])
    })

    ctx.test('reports the command and affected rows of CREATE TABLE, INSERT, UPDATE, DELETE and DROP TABLE', async () => {
      const { provider } = await ctx.open()
      const table = `${ctx.schema}.commands`
      const created = await provider.query(`CREATE TABLE ${table} (id int PRIMARY KEY, name text)`)
      expect([created.command, created.rowCount, created.rows]).toEqual(['CREATE', 0, []])

      const inserted = await provider.query(`INSERT INTO ${table} (id, name) VALUES ($1, 'a'), ($2, 'b'), ($3, 'c')`, [1, 2, 3])
      expect([inserted.command, inserted.rowCount]).toEqual(['INSERT', 3])

      const updated = await provider.query(`UPDATE ${table} SET name = upper(name) WHERE id <= $1`, [2])
      expect([updated.command, updated.rowCount]).toEqual(['UPDATE', 2])

      const deleted = await provider.query(`DELETE FROM ${table} WHERE id = $1`, [3])
      expect([deleted.command, deleted.rowCount]).toEqual(['DELETE', 1])

      const selected = await provider.query(`SELECT id, name FROM ${table} ORDER BY id`)
      expect([selected.command, selected.rowCount, selected.rows]).toEqual([
        'SELECT',
        2,
        [
          { id: 1, name: 'A' },
          { id: 2, name: 'B' },
        ],
      ])

      const dropped = await provider.query(`DROP TABLE ${table}`)
      expect([dropped.command, dropped.rowCount, dropped.rows]).toEqual(['DROP', 0, []])
    })

    ctx.test('SHOW returns its row with rowCount 1 and command SHOW, alone, in a transaction and after another statement', async () => {
      const { provider } = await ctx.open()
      const shown = await provider.query('SHOW DateStyle')
      expect([shown.command, shown.rowCount, shown.rows.length, shown.fields.map((field) => field.name)]).toEqual([
        'SHOW',
        1,
        1,
        ['DateStyle'],
      ])
      expect((await provider.query('SHOW ALL')).rowCount).toBe(
        (await provider.query('SELECT count(*)::int AS n FROM pg_settings')).rows[0]?.n,
      )
      const inTx = await provider.transaction((tx) => tx.query('SHOW transaction_isolation'))
      expect([inTx.command, inTx.rowCount]).toEqual(['SHOW', 1])
      const last = await provider.query('SELECT 1; SHOW DateStyle')
      expect([last.command, last.rowCount]).toEqual(['SHOW', 1])
      const set = await provider.query("SET DateStyle = 'ISO, MDY'")
      expect([set.command, set.rowCount]).toEqual(['SET', 0])
    })

    ctx.test('returns the rows of INSERT … RETURNING with the INSERT command', async () => {
      const { provider } = await ctx.open()
      const table = await ctx.createTable('id int GENERATED ALWAYS AS IDENTITY, name text')
      const result = await provider.query(`INSERT INTO ${table} (name) VALUES ($1), ($2) RETURNING id, name`, ['x', 'y'])
      expect(result.command).toBe('INSERT')
      expect(result.rowCount).toBe(2)
      expect(result.rows).toEqual([
        { id: 1, name: 'x' },
        { id: 2, name: 'y' },
      ])
    })

    ctx.test('returns an empty result with its fields when no row matches', async () => {
      const { provider } = await ctx.open()
      const result = await provider.query('SELECT 1::int8 AS a, $1::text AS b WHERE false', ['x'])
      expect(result.rows).toEqual([])
      expect(result.rowCount).toBe(0)
      expect(result.command).toBe('SELECT')
      expect(result.fields.map((field) => [field.name, field.dataTypeID])).toEqual([
        ['a', OIDS.int8],
        ['b', OIDS.text],
      ])
    })

    ctx.test('reads NULLs as null and sends null and undefined parameters as NULL', async () => {
      const { provider } = await ctx.open()
      const result = await provider.query('SELECT NULL::int4 AS a, $1::text AS b, $2::int8 AS c, $3::jsonb IS NULL AS d', [
        null,
        undefined,
        null,
      ])
      expect(result.rows).toEqual([{ a: null, b: null, c: null, d: true }])
    })

    ctx.test('a read succeeds after the server terminated the idle connection it would have used', async () => {
      const { provider, applicationName } = await ctx.open({ pool: { max: 1 } })
      await provider.query('SELECT 1')
      const backends = await ctx.backends(applicationName)
      expect(backends).toHaveLength(1)
      await ctx.admin('SELECT pg_terminate_backend($1)', [backends[0]!.pid])
      await waitFor(async () => (await ctx.backends(applicationName)).length === 0, 'the backend is gone')
      const result = await provider.query('SELECT 2 AS v')
      expect(result.rows).toEqual([{ v: 2 }])
    })

    ctx.test('gives the same results with prepare: false and with a named prepared statement', async () => {
      const { provider: unprepared } = await ctx.open({ prepare: false })
      const { provider } = await ctx.open()
      const text = 'SELECT $1::int4 + 1 AS v, $2::text AS t'
      for (const value of [1, 2]) {
        expect((await unprepared.query(text, [value, 'x'])).rows).toEqual([{ v: value + 1, t: 'x' }])
        expect((await provider.query(text, [value, 'y'], { prepare: 'conformance_named' })).rows).toEqual([{ v: value + 1, t: 'y' }])
        expect((await provider.query(text, [value, 'z'], { prepare: false })).rows).toEqual([{ v: value + 1, t: 'z' }])
      }
    })

    ctx.test('health() reports up, with its latency and the server version', async () => {
      const { provider } = await ctx.open()
      const [{ server_version: version }] = (await ctx.admin<{ server_version: string }>('SHOW server_version')) as [
        { server_version: string },
      ]
      const [{ server_version_num: versionNumber }] = (await ctx.admin<{ server_version_num: string }>('SHOW server_version_num')) as [
        { server_version_num: string },
      ]
      const report = await provider.health()
      expect(report.status).toBe('up')
      expect(typeof report.latencyMs).toBe('number')
      expect(report.latencyMs).toBeGreaterThanOrEqual(0)
      const details = JSON.stringify(report.details ?? {})
      const shortVersion = version.split(' ')[0]!
      expect(details.includes(shortVersion) || details.includes(versionNumber), `server version ${version} in ${details}`).toBe(true)
    })

    ctx.test('stats() counts the connection a transaction holds and gives it back afterwards', async () => {
      const { provider } = await ctx.open({ pool: { max: 3 } })
      const initial = provider.stats()
      for (const key of ['size', 'idle', 'inUse', 'pending', 'max', 'created', 'destroyed', 'timeouts'] as const) {
        expect(typeof initial[key], key).toBe('number')
      }
      expect(initial.max).toBe(3)
      expect(initial.inUse).toBe(0)
      expect(initial.pending).toBe(0)

      const entered = deferred()
      const leave = deferred()
      const transaction = provider.transaction(async (tx) => {
        await tx.query('SELECT 1')
        entered.resolve()
        await leave.promise
      })
      try {
        await entered.promise
        const during = provider.stats()
        expect(during.inUse).toBe(1)
        expect(during.size).toBeGreaterThanOrEqual(1)
        expect(during.size).toBe(during.idle + during.inUse)
        expect(during.created).toBeGreaterThanOrEqual(1)
      } finally {
        leave.resolve()
        await transaction
      }

      const after = provider.stats()
      expect(after.inUse).toBe(0)
      expect(after.idle).toBeGreaterThanOrEqual(1)
      expect(after.size).toBe(after.idle + after.inUse)
    })

    ctx.test('keeps working after a failed query', async () => {
      const { provider } = await ctx.open({ pool: { max: 1 } })
      await expect(provider.query('SELECT * FROM no_such_table_anywhere')).rejects.toThrow()
      const result = await provider.query('SELECT 2 AS v')
      expect(result.rows).toEqual([{ v: 2 }])
    })
  })
}
