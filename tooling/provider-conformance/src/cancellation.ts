import { AbortError, isTesseraError, QueryCanceledError, TimeoutError } from '@tessera/core'
import { describe, expect } from 'vitest'
import type { ConformanceContext } from './context'
import { errorOf, rejectionOf, settle, waitFor } from './helpers'

/** A query canceled on the client is canceled on the server too: it leaves `pg_stat_activity`. */
export function describeCancellation(ctx: ConformanceContext): void {
  describe('cancellation', () => {
    const SLEEP = 'SELECT pg_sleep(10) AS slept'

    async function sleeping(applicationName: string) {
      const backends = await ctx.backends(applicationName)
      return backends.filter((backend) => backend.state === 'active' && backend.query.includes('pg_sleep(10)'))
    }

    ctx.test('timeoutMs rejects with a timeout error and the query stops on the server', async () => {
      const { provider, applicationName } = await ctx.open()
      const error = await rejectionOf(provider.query(SLEEP, [], { timeoutMs: 100 }))
      expect(isTesseraError(error)).toBe(true)
      expect(
        error instanceof TimeoutError || error instanceof QueryCanceledError,
        `TimeoutError or QueryCanceledError, got ${String(error)}`,
      ).toBe(true)
      await waitFor(async () => (await sleeping(applicationName)).length === 0, 'the query is gone from pg_stat_activity')
      expect((await provider.query('SELECT 1 AS v')).rows).toEqual([{ v: 1 }])
    })

    ctx.test('timeoutMs inside a transaction rejects and the transaction rolls back', async () => {
      const { provider, applicationName } = await ctx.open()
      const table = await ctx.createTable('id int PRIMARY KEY')
      const error = await rejectionOf(
        provider.transaction(async (tx) => {
          await tx.query(`INSERT INTO ${table} (id) VALUES (1)`)
          await tx.query(SLEEP, [], { timeoutMs: 100 })
        }),
      )
      expect(isTesseraError(error)).toBe(true)
      await waitFor(async () => (await sleeping(applicationName)).length === 0, 'the query is gone from pg_stat_activity')
      expect(await ctx.admin(`SELECT id FROM ${table}`)).toEqual([])
    })

    ctx.test('aborting the signal mid-query rejects and the query stops on the server', async () => {
      const { provider, applicationName } = await ctx.open()
      const controller = new AbortController()
      const pending = settle(provider.query(SLEEP, [], { signal: controller.signal }))
      await waitFor(async () => (await sleeping(applicationName)).length === 1, 'the query runs on the server')
      controller.abort()
      const error = errorOf(await pending)
      expect(isTesseraError(error)).toBe(true)
      expect(
        error instanceof AbortError || error instanceof QueryCanceledError,
        `AbortError or QueryCanceledError, got ${String(error)}`,
      ).toBe(true)
      await waitFor(async () => (await sleeping(applicationName)).length === 0, 'the query is gone from pg_stat_activity')
      expect((await provider.query('SELECT 1 AS v')).rows).toEqual([{ v: 1 }])
    })

    ctx.test('an already-aborted signal rejects with AbortError and never runs the statement', async () => {
      const { provider } = await ctx.open()
      const table = await ctx.createTable('id int PRIMARY KEY')
      const error = await rejectionOf(provider.query(`INSERT INTO ${table} (id) VALUES (1)`, [], { signal: AbortSignal.abort() }))
      expect(isTesseraError(error)).toBe(true)
      expect(error).toBeInstanceOf(AbortError)
      expect((error as AbortError).code).toBe('ABORTED')
      expect(await ctx.admin(`SELECT id FROM ${table}`)).toEqual([])
    })

    ctx.test('an already-aborted signal makes transaction reject without running the function', async () => {
      const { provider } = await ctx.open()
      let ran = false
      const error = await rejectionOf(
        provider.transaction(
          async () => {
            ran = true
          },
          { signal: AbortSignal.abort() },
        ),
      )
      expect(isTesseraError(error)).toBe(true)
      expect(ran).toBe(false)
    })
  })
}
