import { isTesseraError, PoolTimeoutError, TimeoutError, TransactionResolutionUnknownError } from '@tessera/core'
import { describe, expect } from 'vitest'
import type { ConformanceContext } from './context'
import { settle, waitFor } from './helpers'

/** Collects unhandled rejections and process warnings while `run` runs (and a little after, for late ones). */
async function watchProcess(run: () => Promise<void>): Promise<{ unhandled: unknown[]; warnings: Error[] }> {
  const unhandled: unknown[] = []
  const warnings: Error[] = []
  const onUnhandled = (reason: unknown) => void unhandled.push(reason)
  const onWarning = (warning: Error) => void warnings.push(warning)
  process.on('unhandledRejection', onUnhandled)
  process.on('warning', onWarning)
  try {
    await run()
    await new Promise((resolve) => setTimeout(resolve, 100))
  } finally {
    process.off('unhandledRejection', onUnhandled)
    process.off('warning', onWarning)
  }
  return { unhandled, warnings }
}

/**
 * Faults and load: what a caller sees when statements are cancelled next to each other, backends are killed under
 * load, the pool is exhausted, a text leaves a transaction open, or `close()` is called while calls are on their way.
 */
export function describeFaults(ctx: ConformanceContext): void {
  describe('faults and load', () => {
    ctx.test('a timeout on one query cancels that query only: its neighbours get their own rows, and every call settles', async () => {
      const { provider } = await ctx.open({ pool: { max: 4 } })
      const calls = Array.from({ length: 60 }, (_, i) => {
        const timed = i % 3 === 0
        const text = timed ? 'SELECT $1::int AS n FROM pg_sleep(1)' : 'SELECT $1::int AS n FROM pg_sleep(0.01)'
        return settle(provider.query<{ n: number }>(text, [i], timed ? { timeoutMs: 30 } : undefined))
      })
      const outcomes = await Promise.all(calls)
      outcomes.forEach((outcome, i) => {
        if (i % 3 === 0) {
          // Its 30 ms ran out while it waited for a connection or while it ran; or, when the cancel request reached
          // the server before the statement started (a race every driver has), it ran to the end: then its own row.
          if (outcome.status === 'rejected') {
            const error = outcome.error
            expect(error instanceof TimeoutError || error instanceof PoolTimeoutError, String(error)).toBe(true)
          } else {
            expect(outcome.value.rows).toEqual([{ n: i }])
          }
        } else {
          expect(outcome.status, `call ${i} has no timeout: ${outcome.status === 'rejected' ? String(outcome.error) : ''}`).toBe('resolved')
          expect((outcome as { value: { rows: Array<{ n: number }> } }).value.rows).toEqual([{ n: i }])
        }
      })
      // Most timed calls were cut: a cancel that never reached its statement would leave them all resolved.
      expect(outcomes.filter((outcome, i) => i % 3 === 0 && outcome.status === 'rejected').length).toBeGreaterThan(10)
      expect((await provider.query('SELECT 1 AS v')).rows).toEqual([{ v: 1 }])
    })

    ctx.test(
      'backends killed under load: calls fail with Tessera errors, nothing escapes as an unhandled rejection, and the provider recovers',
      async () => {
        const { provider, applicationName } = await ctx.open({ pool: { max: 4 }, retry: false })
        const { unhandled } = await watchProcess(async () => {
          for (let round = 0; round < 3; round++) {
            const calls = Array.from({ length: 12 }, (_, i) => settle(provider.query('SELECT $1::int AS n, pg_sleep(0.05)', [i])))
            await new Promise((resolve) => setTimeout(resolve, 20))
            await ctx.admin('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [applicationName])
            for (const outcome of await Promise.all(calls)) {
              if (outcome.status === 'rejected') expect(isTesseraError(outcome.error), String(outcome.error)).toBe(true)
            }
          }
        })
        expect(unhandled).toEqual([])
        expect((await provider.query('SELECT 1 AS v')).rows).toEqual([{ v: 1 }])
      },
    )

    ctx.test('a text that leaves a failed transaction behind does not hand it to the next caller', async () => {
      const { provider } = await ctx.open({ pool: { max: 1 } })
      for (let i = 0; i < 5; i++) {
        await settle(provider.query('BEGIN; SELECT 1/0; COMMIT'))
        expect((await provider.query('SELECT 1 AS v')).rows).toEqual([{ v: 1 }])
      }
    })

    ctx.test('with one connection, a text that leaves a transaction open does not wedge the provider', async () => {
      const { provider } = await ctx.open({ pool: { max: 1, acquireTimeoutMs: 5_000 } })
      await provider.query('BEGIN; SELECT 1')
      expect((await provider.query('SELECT 2 AS v')).rows).toEqual([{ v: 2 }])
      await provider.query('BEGIN')
      expect((await provider.query('SELECT 3 AS v')).rows).toEqual([{ v: 3 }])
      // The session left open was ended: the next statements run outside any transaction.
      expect((await provider.query('SELECT now() = statement_timestamp() AS autocommit')).rows).toEqual([{ autocommit: true }])
    })

    ctx.test('acquireTimeoutMs bounds plain queries when every connection is busy', async () => {
      const { provider } = await ctx.open({ pool: { max: 2, acquireTimeoutMs: 200 } })
      const outcomes = await Promise.all(Array.from({ length: 8 }, () => settle(provider.query('SELECT pg_sleep(1)'))))
      const timedOut = outcomes.filter((outcome) => outcome.status === 'rejected')
      expect(timedOut.length).toBeGreaterThanOrEqual(4)
      for (const outcome of timedOut) expect((outcome as { error: unknown }).error).toBeInstanceOf(PoolTimeoutError)
    })

    ctx.test('calls made in the same tick as close() are drained, not rejected', async () => {
      const { provider, applicationName } = await ctx.open({ pool: { max: 2 } })
      const calls = [
        settle(provider.query('SELECT 1 AS v')),
        settle(provider.query('SELECT pg_sleep(0.1), 2 AS v')),
        settle(provider.transaction((tx) => tx.query('SELECT 3 AS v'))),
        settle(provider.batch([{ sql: 'SELECT 4 AS v' }])),
        settle(provider.notify('conformance_close_tick', 'x')),
      ]
      const closing = provider.close({ timeoutMs: 5_000 })
      const outcomes = await Promise.all(calls)
      await closing
      for (const outcome of outcomes) expect(outcome.status, JSON.stringify(outcome)).toBe('resolved')
      await expect(provider.query('SELECT 5')).rejects.toMatchObject({ code: 'PROVIDER_CLOSED' })
      await waitFor(async () => (await ctx.backends(applicationName)).length === 0, 'every backend of the closed provider is gone')
    })

    ctx.test('does not run SELECT nextval() again after its connection is lost: the caller hears the outcome is unknown', async () => {
      const { provider, applicationName } = await ctx.open({ pool: { max: 1 } })
      const sequence = `conformance_ids_${process.pid}_${Date.now()}`
      await ctx.admin(`CREATE SEQUENCE ${sequence}`)
      try {
        // A read to the old text check; a write to the statement classifier (nextval advances the sequence).
        const pending = settle(provider.query(`SELECT nextval('${sequence}') AS id, pg_sleep(0.5)`))
        await waitFor(
          async () => (await ctx.backends(applicationName)).some((backend) => backend.query.includes('nextval')),
          'the nextval statement running',
        )
        await ctx.admin('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [applicationName])
        const outcome = await pending
        expect(outcome.status).toBe('rejected')
        expect((outcome as { error: unknown }).error).toBeInstanceOf(TransactionResolutionUnknownError)
        const [row] = await ctx.admin<{ last_value: string }>(`SELECT last_value FROM ${sequence}`)
        expect(Number(row?.last_value)).toBe(1)
      } finally {
        await ctx.admin(`DROP SEQUENCE IF EXISTS ${sequence}`)
      }
    })

    ctx.test('close() with nothing in flight after faults returns at once, not at its deadline', async () => {
      const { provider, applicationName } = await ctx.open({ pool: { max: 3 } })
      await Promise.all(Array.from({ length: 3 }, () => provider.query('SELECT 1')))
      await ctx.admin('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [applicationName])
      await settle(provider.query('SELECT 1'))
      const started = Date.now()
      await provider.close({ timeoutMs: 20_000 })
      // Not a speed claim: a close that waited for its deadline would take 20 s.
      expect(Date.now() - started).toBeLessThan(10_000)
    })

    ctx.test('a cold start of 20 concurrent queries prints no process warning', async () => {
      const { provider } = await ctx.open({ pool: { max: 20 } })
      const { warnings } = await watchProcess(async () => {
        await Promise.all(Array.from({ length: 20 }, (_, i) => provider.query('SELECT $1::int AS n, pg_sleep(0.02)', [i])))
      })
      expect(warnings.map((warning) => `${warning.name}: ${warning.message}`)).toEqual([])
    })

    ctx.test(
      'declares the most parameters a statement may carry, on the provider and its transactions, and refuses more before sending',
      async () => {
        const { provider } = await ctx.open()
        const limit = provider.maxParameters
        expect(Number.isInteger(limit) && limit! > 60_000 && limit! <= 65_535).toBe(true)
        expect(await provider.transaction(async (tx) => tx.maxParameters)).toBe(limit)
        const values = Array.from({ length: limit! + 1 }, (_, i) => i)
        const error = await provider.query(`SELECT ${values.map((_, i) => `$${i + 1}`).join(',')}`, values).catch((e: unknown) => e)
        expect(isTesseraError(error) && error.code).toBe('SQL_INVALID')
      },
    )

    ctx.test('query("BEGIN") runs, and the session it left open is not lent again', async () => {
      const { provider } = await ctx.open({ pool: { max: 1 } })
      const result = await provider.query('BEGIN')
      expect(result.command).toBe('BEGIN')
      expect((await provider.query('SELECT now() = statement_timestamp() AS autocommit')).rows).toEqual([{ autocommit: true }])
    })
  })
}
