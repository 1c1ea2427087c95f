import {
  AbortError,
  ConnectionBusyError,
  ConnectionError,
  ConnectionReleasedError,
  type Hooks,
  isConnectionLoss,
  PoolTimeoutError,
  ProviderClosedError,
  type QueryContext,
  type ReservedConnection,
} from '@tessera/core'
import { describe, expect } from 'vitest'
import type { ConformanceContext } from './context'
import { collect, deferred, rejectionOf, settle, tesseraRejectionOf, waitFor } from './helpers'

const pidOf = async (queryable: { query: ReservedConnection['query'] }): Promise<number> =>
  (await queryable.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid

/**
 * `provider.connection(fn)`: one session held outside a transaction, reset before the next borrower gets it, closed
 * when it cannot be reset; its use after `fn`, while busy, after a killed backend and during `close()`.
 */
export function describeReservedConnection(ctx: ConformanceContext): void {
  describe('connection(fn)', () => {
    ctx.test('runs every statement on one session: SET, temporary tables and advisory locks persist while fn runs', async () => {
      const { provider } = await ctx.open({ pool: { max: 3 } })
      const seen = await provider.connection(async (connection) => {
        const pid = await pidOf(connection)
        await connection.query("SET application_name = 'reserved_set'")
        await connection.query('CREATE TEMP TABLE reserved_tmp (id int)')
        await connection.query('INSERT INTO reserved_tmp VALUES (1), (2)')
        await connection.query('SELECT pg_advisory_lock(4242)')
        const pids = await Promise.all([pidOf(connection), pidOf(connection), pidOf(connection)])
        const name = (await connection.query<{ application_name: string }>('SHOW application_name')).rows[0]?.application_name
        const count = (await connection.query<{ n: bigint }>('SELECT count(*) AS n FROM reserved_tmp')).rows[0]?.n
        const locks = await ctx.admin<{ n: string }>(
          "SELECT count(*)::text AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND pid = $1",
          [pid],
        )
        return { pid, pids, name, count, locked: locks[0]?.n }
      })
      expect(seen.pids).toEqual([seen.pid, seen.pid, seen.pid])
      expect(seen.name).toBe('reserved_set')
      expect(seen.count).toBe(2n)
      expect(seen.locked).toBe('1')
    })

    ctx.test('resolves to what fn returned and rejects with what fn threw', async () => {
      const { provider } = await ctx.open()
      expect(await provider.connection(async (connection) => (await connection.query<{ v: number }>('SELECT 7 AS v')).rows[0]?.v)).toBe(7)
      const boom = new Error('boom')
      expect(
        await rejectionOf(
          provider.connection(async () => {
            throw boom
          }),
        ),
      ).toBe(boom)
      expect(provider.stats().inUse).toBe(0)
    })

    ctx.test('the next borrower gets the same session reset: no setting, temporary table, advisory lock or LISTEN leaks', async () => {
      const { provider } = await ctx.open({ pool: { max: 1 } })
      const first = await provider.connection(async (connection) => {
        await connection.query("SET search_path = 'nowhere'")
        await connection.query("SET application_name = 'leaked'")
        await connection.query('CREATE TEMP TABLE leak_tmp (id int)')
        await connection.query('SELECT pg_advisory_lock(4343)')
        await connection.query('LISTEN leak_channel')
        await connection.query('BEGIN')
        await connection.query('DECLARE leak_cursor CURSOR WITH HOLD FOR SELECT 1')
        await connection.query('COMMIT')
        return pidOf(connection)
      })
      const after = await provider.connection(async (connection) => ({
        pid: await pidOf(connection),
        searchPath: (await connection.query<{ search_path: string }>('SHOW search_path')).rows[0]?.search_path,
        applicationName: (await connection.query<{ application_name: string }>('SHOW application_name')).rows[0]?.application_name,
        temp: (await connection.query<{ t: string | null }>("SELECT to_regclass('pg_temp.leak_tmp')::text AS t")).rows[0]?.t,
        listening: (await connection.query<{ n: bigint }>('SELECT count(*) AS n FROM pg_listening_channels()')).rows[0]?.n,
        cursors: (await connection.query<{ n: bigint }>('SELECT count(*) AS n FROM pg_cursors')).rows[0]?.n,
      }))
      expect(after.pid).toBe(first)
      expect(after.searchPath).toBe('"$user", public')
      expect(after.applicationName).not.toBe('leaked')
      expect(after.temp).toBeNull()
      expect(after.listening).toBe(0n)
      expect(after.cursors).toBe(0n)
      const locks = await ctx.admin("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = 4343")
      expect(locks).toEqual([])
    })

    ctx.test('a session left inside a transaction block is closed, never lent again, and its transaction rolled back', async () => {
      const { provider } = await ctx.open({ pool: { max: 1 } })
      const table = await ctx.createTable('id int')
      const first = await provider.connection(async (connection) => {
        await connection.query('BEGIN')
        await connection.query(`INSERT INTO ${table} VALUES (1)`)
        return pidOf(connection)
      })
      const next = await pidOf(provider)
      expect(next).not.toBe(first)
      expect(await ctx.admin(`SELECT id FROM ${table}`)).toEqual([])
      await waitFor(
        async () => (await ctx.admin('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [first])).length === 0,
        'the session ends',
      )
    })

    ctx.test('a session with a PREPARE made in SQL (which only DEALLOCATE removes) is closed instead of lent again', async () => {
      const { provider } = await ctx.open({ pool: { max: 1 } })
      const first = await provider.connection(async (connection) => {
        await connection.query('PREPARE leaked_statement AS SELECT 1')
        return pidOf(connection)
      })
      expect(await pidOf(provider)).not.toBe(first)
      expect((await provider.query('SELECT count(*) AS n FROM pg_prepared_statements WHERE from_sql')).rows).toEqual([{ n: 0n }])
    })

    ctx.test('a statement on the connection after fn returned rejects with ConnectionReleasedError', async () => {
      const { provider } = await ctx.open()
      let kept: ReservedConnection | undefined
      await provider.connection(async (connection) => {
        kept = connection
      })
      const error = await tesseraRejectionOf(kept!.query('SELECT 1'))
      expect(error).toBeInstanceOf(ConnectionReleasedError)
      expect(error.code).toBe('CONNECTION_RELEASED')
      expect(error.message).toMatch(/already given back/)
      expect(await tesseraRejectionOf(kept!.transaction(async () => {}))).toBeInstanceOf(ConnectionReleasedError)
      expect(await tesseraRejectionOf(kept!.batch([{ sql: 'SELECT 1' }]))).toBeInstanceOf(ConnectionReleasedError)
      expect(await tesseraRejectionOf(collect(kept!.stream('SELECT 1')))).toBeInstanceOf(ConnectionReleasedError)
    })

    ctx.test('a statement fn started and did not await finishes before the session is reset and given back', async () => {
      const { provider } = await ctx.open({ pool: { max: 1 } })
      let late: Promise<unknown> = Promise.resolve()
      await provider.connection(async (connection) => {
        await connection.query("SET application_name = 'late'")
        late = connection.query<{ name: string }>('SELECT current_setting($1) AS name FROM pg_sleep(0.1)', ['application_name'])
      })
      expect(await late).toMatchObject({ rows: [{ name: 'late' }] })
    })

    ctx.test('transaction, batch and stream run on the reserved session and see its settings', async () => {
      const { provider } = await ctx.open({ pool: { max: 2 } })
      const table = await ctx.createTable('id int')
      const seen = await provider.connection(async (connection) => {
        const pid = await pidOf(connection)
        await connection.query("SET application_name = 'reserved_tx'")
        const inTx = await connection.transaction(async (tx) => {
          await tx.query(`INSERT INTO ${table} VALUES (1)`)
          return [await pidOf(tx), (await tx.query<{ application_name: string }>('SHOW application_name')).rows[0]?.application_name]
        })
        await rejectionOf(
          connection.transaction(async (tx) => {
            await tx.query(`INSERT INTO ${table} VALUES (2)`)
            throw new Error('roll back')
          }),
        )
        const batch = await connection.batch([{ sql: 'SELECT pg_backend_pid() AS pid' }, { sql: `INSERT INTO ${table} VALUES (3)` }], {
          atomic: true,
        })
        const streamed = await collect(connection.stream<{ pid: number }>('SELECT pg_backend_pid() AS pid FROM generate_series(1, 3)'))
        return { pid, inTx, batchPid: batch[0]?.rows[0], streamed }
      })
      expect(seen.inTx).toEqual([seen.pid, 'reserved_tx'])
      expect(seen.batchPid).toEqual({ pid: seen.pid })
      expect(seen.streamed).toEqual([{ pid: seen.pid }, { pid: seen.pid }, { pid: seen.pid }])
      expect(await ctx.admin(`SELECT id FROM ${table} ORDER BY id`)).toEqual([{ id: 1 }, { id: 3 }])
    })

    ctx.test('a statement sent on the connection while its transaction runs rejects with ConnectionBusyError', async () => {
      const { provider } = await ctx.open()
      const error = await provider.connection(async (connection) =>
        connection.transaction(async (tx) => {
          const busy = await tesseraRejectionOf(connection.query('SELECT 1'))
          await tx.query('SELECT 1')
          return busy
        }),
      )
      expect(error).toBeInstanceOf(ConnectionBusyError)
      expect(error.code).toBe('CONNECTION_BUSY')
      expect((error as ConnectionBusyError).heldBy).toBe('transaction')
    })

    ctx.test(
      'a killed backend fails the running statement as a lost connection and later ones with a ConnectionError; the provider carries on',
      async () => {
        const { provider } = await ctx.open({ pool: { max: 1 } })
        const outcome = await provider.connection(async (connection) => {
          const pid = await pidOf(connection)
          const running = settle(connection.query('SELECT pg_sleep(5)'))
          await waitFor(
            async () => (await ctx.admin("SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active'", [pid])).length > 0,
            'the sleep runs',
          )
          await ctx.admin('SELECT pg_terminate_backend($1)', [pid])
          const first = await running
          const later = await rejectionOf(connection.query('SELECT 1'))
          return { pid, first, later }
        })
        expect(outcome.first.status).toBe('rejected')
        expect(isConnectionLoss((outcome.first as { error: unknown }).error)).toBe(true)
        expect(outcome.later).toBeInstanceOf(ConnectionError)
        expect((outcome.later as ConnectionError).message).toMatch(/session of this reserved connection was lost/)
        const next = await pidOf(provider)
        expect(next).not.toBe(outcome.pid)
        expect(provider.stats().inUse).toBe(0)
      },
    )

    ctx.test('close() waits for a running fn, whose statements still run; a later connection() is refused', async () => {
      const { provider } = await ctx.open()
      const entered = deferred()
      const proceed = deferred()
      const running = provider.connection(async (connection) => {
        await connection.query('SELECT 1')
        entered.resolve()
        await proceed.promise
        const inTx = await connection.transaction(async (tx) => (await tx.query<{ v: number }>('SELECT 2 AS v')).rows[0]?.v)
        return [(await connection.query<{ v: number }>('SELECT 3 AS v')).rows[0]?.v, inTx]
      })
      await entered.promise
      let closed = false
      const closing = provider.close().then(() => {
        closed = true
      })
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(closed).toBe(false)
      expect(await tesseraRejectionOf(provider.connection(async () => {}))).toBeInstanceOf(ProviderClosedError)
      proceed.resolve()
      expect(await running).toEqual([3, 2])
      await closing
      expect(closed).toBe(true)
    })

    ctx.test('onAcquire and onRelease fire once around fn; onQuery sees its statements outside a transaction', async () => {
      const events: string[] = []
      const contexts: QueryContext[] = []
      const hooks: Hooks = {
        onAcquire: () => void events.push('acquire'),
        onRelease: () => void events.push('release'),
        onQuery: (queryContext, next) => {
          contexts.push(queryContext)
          return next()
        },
      }
      const { provider } = await ctx.open({ hooks })
      await provider.connection(async (connection) => {
        events.push('fn')
        await connection.query('SELECT 1')
      })
      await waitFor(() => events.length === 3, 'onRelease ran')
      expect(events).toEqual(['acquire', 'fn', 'release'])
      expect(contexts.map((queryContext) => [queryContext.sql, queryContext.operation, queryContext.transaction])).toEqual([
        ['SELECT 1', 'query', false],
      ])
    })

    ctx.test('timeoutMs bounds the wait for a connection (PoolTimeoutError); an aborted signal rejects with AbortError', async () => {
      const { provider } = await ctx.open({ pool: { max: 1 } })
      const release = deferred()
      const entered = deferred()
      const holder = provider.connection(async () => {
        entered.resolve()
        await release.promise
      })
      await entered.promise
      try {
        const error = await tesseraRejectionOf(provider.connection(async () => {}, { timeoutMs: 100 }))
        expect(error).toBeInstanceOf(PoolTimeoutError)
        const controller = new AbortController()
        controller.abort()
        expect(await tesseraRejectionOf(provider.connection(async () => {}, { signal: controller.signal }))).toBeInstanceOf(AbortError)
      } finally {
        release.resolve()
      }
      await holder
    })

    ctx.test('the signal cancels a statement running on the connection', async () => {
      const { provider } = await ctx.open()
      const controller = new AbortController()
      const error = await rejectionOf(
        provider.connection(
          async (connection) => {
            setTimeout(() => controller.abort(), 100)
            await connection.query('SELECT pg_sleep(5)')
          },
          { signal: controller.signal },
        ),
      )
      expect(error).toBeInstanceOf(AbortError)
      expect((await provider.query<{ v: number }>('SELECT 1 AS v')).rows).toEqual([{ v: 1 }])
    })
  })
}
