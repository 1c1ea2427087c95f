import { isConnectionLoss, isTesseraError, PoolTimeoutError } from '@tessera/core'
import { describe, expect } from 'vitest'
import type { ConformanceContext } from './context'
import { deferred, errorOf, rejectionOf, settle, waitFor } from './helpers'

/** A full pool makes a caller wait, then fail with the numbers that explain why; the provider recovers. */
export function describePool(ctx: ConformanceContext): void {
  describe('pool exhaustion', () => {
    ctx.test(
      'a query that finds every connection busy rejects with PoolTimeoutError, and the provider works once they are released',
      async () => {
        const { provider } = await ctx.open({ pool: { max: 2, acquireTimeoutMs: 200 } })
        const release = deferred()
        const entered = [deferred(), deferred()]
        const holders = entered.map((signal) =>
          provider.transaction(async (tx) => {
            await tx.query('SELECT 1')
            signal.resolve()
            await release.promise
            return (await tx.query<{ v: number }>('SELECT 2 AS v')).rows[0]?.v
          }),
        )
        try {
          await Promise.all(entered.map((signal) => signal.promise))
          const error = await rejectionOf(provider.query('SELECT 3'))
          expect(isTesseraError(error)).toBe(true)
          expect(error).toBeInstanceOf(PoolTimeoutError)
          const timeout = error as PoolTimeoutError
          expect(timeout.code).toBe('POOL_TIMEOUT')
          expect(timeout.max).toBe(2)
          expect(timeout.inUse).toBe(2)
          expect(timeout.waitedMs).toBeGreaterThanOrEqual(200)
          expect(provider.stats().timeouts).toBeGreaterThanOrEqual(1)
        } finally {
          release.resolve()
        }
        expect(await Promise.all(holders)).toEqual([2, 2])
        expect((await provider.query('SELECT 4 AS v')).rows).toEqual([{ v: 4 }])
        expect(provider.stats().inUse).toBe(0)
      },
    )

    ctx.test('a waiting query gets the connection as soon as one is released', async () => {
      const { provider } = await ctx.open({ pool: { max: 1, acquireTimeoutMs: 10_000 } })
      const release = deferred()
      const entered = deferred()
      const holder = provider.transaction(async (tx) => {
        await tx.query('SELECT 1')
        entered.resolve()
        await release.promise
      })
      let waiting: Promise<unknown> = Promise.resolve()
      try {
        await entered.promise
        waiting = provider.query('SELECT 2 AS v')
        await waitFor(() => provider.stats().pending === 1, 'stats().pending counts the waiting query')
      } finally {
        release.resolve()
      }
      await holder
      expect(await waiting).toMatchObject({ rows: [{ v: 2 }] })
    })
  })
}

/** `close`: lets in-flight work finish, then refuses new work and leaves no connection behind. */
export function describeClose(ctx: ConformanceContext): void {
  describe('close', () => {
    ctx.test('lets an in-flight query finish, then closes every connection, listeners included', async () => {
      const { provider, applicationName } = await ctx.open()
      await provider.listen(`close_${applicationName}`, () => {})
      await Promise.all([provider.query('SELECT 1'), provider.query('SELECT 2'), provider.query('SELECT 3')])
      const inFlight = settle(provider.query<{ v: number }>('SELECT 1 AS v FROM pg_sleep(0.3)'))
      await waitFor(
        async () =>
          (await ctx.backends(applicationName)).some((backend) => backend.state === 'active' && backend.query.includes('pg_sleep(0.3)')),
        'the query runs on the server',
      )
      const closing = settle(provider.close())
      expect(await inFlight).toMatchObject({ status: 'resolved', value: { rows: [{ v: 1 }] } })
      expect(await closing).toEqual({ status: 'resolved', value: undefined })
      await waitFor(
        async () => (await ctx.backends(applicationName)).length === 0,
        'no connection of the provider is left in pg_stat_activity',
      )
    })

    ctx.test('close({ timeoutMs }) stops waiting for a query still running after it, which rejects', async () => {
      const { provider, applicationName } = await ctx.open()
      const running = settle(provider.query('SELECT pg_sleep(5)'))
      await waitFor(
        async () =>
          (await ctx.backends(applicationName)).some((backend) => backend.state === 'active' && backend.query.includes('pg_sleep(5)')),
        'the query runs on the server',
      )
      await provider.close({ timeoutMs: 100 })
      const error = errorOf(await running, 'the query ran to completion: close({ timeoutMs: 100 }) waited for it instead of ending it')
      expect(isTesseraError(error)).toBe(true)
      await waitFor(
        async () => (await ctx.backends(applicationName)).length === 0,
        'no connection of the provider is left in pg_stat_activity',
      )
    })

    ctx.test(
      'a transaction whose connection close({ timeoutMs }) cut: its next statement is a connection loss and it commits nothing',
      async () => {
        const { provider } = await ctx.open()
        const table = await ctx.createTable('id int')
        {
          const entered = deferred()
          const cut = deferred()
          const transaction = settle(
            provider.transaction(async (tx) => {
              await tx.query(`INSERT INTO ${table} VALUES (1)`)
              entered.resolve()
              await cut.promise
              await tx.query(`INSERT INTO ${table} VALUES (2)`)
            }),
          )
          await entered.promise
          await provider.close({ timeoutMs: 100 })
          cut.resolve()
          const error = errorOf(await transaction, 'the transaction committed after close() cut its connection')
          // Same on every driver: the statement after the cut is a connection loss (not a driver's plain Error).
          expect(isConnectionLoss(error)).toBe(true)
          const rows = await ctx.admin<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)
          expect(rows[0]?.n).toBe(0)
        }
      },
    )

    ctx.test('after close, query rejects with a TesseraError', async () => {
      const { provider } = await ctx.open()
      await provider.query('SELECT 1')
      await provider.close()
      const error = await rejectionOf(provider.query('SELECT 1'))
      expect(isTesseraError(error)).toBe(true)
      const inTransaction = await rejectionOf(provider.transaction((tx) => tx.query('SELECT 1')))
      expect(isTesseraError(inTransaction)).toBe(true)
    })

    ctx.test('closing twice, or twice at once, is fine', async () => {
      const { provider } = await ctx.open()
      await provider.query('SELECT 1')
      await Promise.all([provider.close(), provider.close()])
      await provider.close()
    })

    ctx.test('`await using` closes the provider at the end of the scope, every connection included', async () => {
      const { provider, applicationName } = await ctx.open()
      {
        await using scoped = provider
        await scoped.query('SELECT 1')
      }
      const error = await rejectionOf(provider.query('SELECT 1'))
      expect(isTesseraError(error)).toBe(true)
      await waitFor(
        async () => (await ctx.backends(applicationName)).length === 0,
        'no connection of the provider is left in pg_stat_activity',
      )
    })

    ctx.test('closing a provider that never connected is fine', async () => {
      const { provider, applicationName } = await ctx.open()
      await provider.close()
      await waitFor(
        async () => (await ctx.backends(applicationName)).length === 0,
        'no connection of the provider is left in pg_stat_activity',
      )
    })
  })
}
