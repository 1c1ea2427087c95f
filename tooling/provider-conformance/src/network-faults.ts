import { isTesseraError, type QueryResult, retry, TimeoutError, TransactionResolutionUnknownError } from '@tessera/core'
import { afterEach, describe, expect } from 'vitest'
import { type CancelRequestHold, endpointOf, PG_URL, startTcpProxy, type TcpProxy } from '../../test-services/index'
import type { Backend, ConformanceContext } from './context'
import { type Outcome, settle, waitFor } from './helpers'

/** The bytes of a simple-protocol or extended-protocol COMMIT, as the client writes them. */
const isCommit = (bytes: Buffer) => bytes.includes('COMMIT')

/**
 * Real network faults between the provider and the server, through a TCP proxy on loopback: a connection that stops
 * forwarding (stall), and a COMMIT that reaches the server whose reply is lost.
 */
export function describeNetworkFaults(ctx: ConformanceContext): void {
  describe('network faults (through a TCP proxy)', () => {
    let proxy: TcpProxy | undefined
    afterEach(async () => {
      await proxy?.close()
      proxy = undefined
    })

    const openThroughProxy = async (options: Parameters<ConformanceContext['open']>[0] = {}) => {
      proxy = await startTcpProxy({ target: endpointOf(PG_URL) })
      return ctx.open({ connectionString: proxy.url(PG_URL), ...options })
    }
    /** The provider's backend running a statement whose text includes `text`, if any. */
    const activeBackend = async (applicationName: string, text: string) =>
      (await ctx.backends(applicationName)).find((backend) => backend.state === 'active' && backend.query.includes(text))

    ctx.test(
      'health() behind a connection that stopped forwarding answers down within its deadline',
      async () => {
        const { provider } = await openThroughProxy({ pool: { max: 1 } })
        expect((await provider.health()).status).toBe('up')
        proxy!.setMode('stall')
        const started = Date.now()
        const report = await provider.health()
        const tookMs = Date.now() - started
        expect(report.status).toBe('down')
        // Bounded, not a speed claim: the deadline is 5 s; a health() that waited on the network would never answer.
        expect(tookMs).toBeLessThan(9_000)
        proxy!.setMode('pass')
      },
      30_000,
    )

    ctx.test(
      'an outage (every connection reset, new ones refused): health() says down at once, reads recover as soon as the server is back',
      async () => {
        const { provider } = await openThroughProxy({ pool: { max: 4 }, retry: { maxAttempts: 20, baseDelayMs: 50, maxDelayMs: 200 } })
        await Promise.all(Array.from({ length: 4 }, () => provider.query('SELECT 1')))
        proxy!.setMode('reset')
        const downStarted = Date.now()
        const down = await provider.health()
        expect(down.status).toBe('down')
        // Refused connections answer at once; a health() that waited for a connect timeout would take 10 s.
        expect(Date.now() - downStarted).toBeLessThan(4_000)
        const reads = Array.from({ length: 6 }, (_, i) => settle(provider.query<{ n: number }>('SELECT $1::int AS n', [i])))
        await new Promise((resolve) => setTimeout(resolve, 1_000))
        const back = Date.now()
        proxy!.setMode('pass')
        const outcomes = await Promise.all(reads)
        for (const [i, outcome] of outcomes.entries()) {
          expect(outcome).toEqual({ status: 'resolved', value: expect.objectContaining({ rows: [{ n: i }] }) })
        }
        // Bounded, not a speed claim: retries back off at most 200 ms; a provider stuck on dead sockets would not recover.
        expect(Date.now() - back).toBeLessThan(5_000)
        expect((await provider.health()).status).toBe('up')
      },
      30_000,
    )

    ctx.test(
      'a COMMIT whose reply is lost is TransactionResolutionUnknownError, never retryable: a retry loop writes once',
      async () => {
        const table = await ctx.createTable('id int PRIMARY KEY, note text')
        const { provider } = await openThroughProxy({ pool: { max: 2 } })
        await provider.query('SELECT 1')
        const dropped = proxy!.dropReplyTo(isCommit)
        let attempts = 0
        const outcome = await settle(
          retry(async () => {
            attempts++
            await provider.transaction(async (tx) => {
              await tx.query(`INSERT INTO ${table} (id, note) VALUES (1, 'once')`)
            })
          }),
        )
        await dropped
        expect(outcome.status).toBe('rejected')
        const error = (outcome as { error: unknown }).error
        expect(error).toBeInstanceOf(TransactionResolutionUnknownError)
        expect(isTesseraError(error) && error.retryable).toBe(false)
        expect(isTesseraError(error) && error.code).toBe('08007')
        expect(attempts).toBe(1)
        expect(await ctx.admin(`SELECT id, note FROM ${table}`)).toEqual([{ id: 1, note: 'once' }])
      },
      30_000,
    )

    ctx.test(
      'a write outside a transaction whose reply is lost is TransactionResolutionUnknownError; a lost read is retried',
      async () => {
        const table = await ctx.createTable('id int PRIMARY KEY, note text')
        const { provider } = await openThroughProxy({ pool: { max: 2 } })
        await provider.query('SELECT 1')
        // Matched on the parameter value, so the bytes are those that execute the statement (a driver may describe
        // it in an earlier exchange).
        const dropped = proxy!.dropReplyTo((bytes) => bytes.includes('tessera-lost-write'))
        const write = await settle(provider.query(`INSERT INTO ${table} (id, note) VALUES ($1, $2)`, [7, 'tessera-lost-write']))
        await dropped
        expect((write as { error: unknown }).error).toBeInstanceOf(TransactionResolutionUnknownError)
        expect(await ctx.admin(`SELECT id FROM ${table}`)).toEqual([{ id: 7 }])
        const droppedRead = proxy!.dropReplyTo((bytes) => bytes.includes('tessera_lost_read'))
        const read = await provider.query<{ v: number }>('SELECT 1 AS v, $1::text AS tessera_lost_read', ['x'])
        await droppedRead
        expect(read.rows).toEqual([{ v: 1, tessera_lost_read: 'x' }])
      },
      30_000,
    )

    ctx.test(
      "a timed-out statement's cancel request that reaches the server late never cancels the next caller's statement",
      async () => {
        const { provider, applicationName } = await openThroughProxy({ pool: { max: 1 } })
        await provider.query('SELECT 1')
        const hold = proxy!.holdCancelRequests()
        const timed = settle(provider.query('SELECT $1::int AS n FROM pg_sleep(5)', [1], { timeoutMs: 50 }))
        await hold.arrived
        // Something else ends the statement with the same SQLSTATE 57014 while the caller's own cancel request is still
        // on its way: an administrator, statement_timeout, or PostgreSQL itself, whose postmaster (up to 17) signals the
        // backend twice per request, and may do the second after the statement is over.
        const [running] = await ctx.admin<{ pid: number }>(
          "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND state = 'active' AND query LIKE '%pg_sleep(5)%'",
          [applicationName],
        )
        expect(running, 'the timed statement runs on the server').toBeDefined()
        await ctx.admin('SELECT pg_cancel_backend($1)', [running!.pid])
        const next = settle(provider.query('SELECT $1::int AS n FROM pg_sleep(1)', [2]))
        // Under the defect the next caller's statement runs on the same session at once; a provider may also keep it
        // waiting until the cancel is through. Either way the held cancel request is released within a second.
        await waitFor(
          async () =>
            (await ctx.backends(applicationName)).some((backend) => backend.state === 'active' && backend.query.includes('pg_sleep(1)')),
          'the next statement runs',
          { timeoutMs: 1_000 },
        ).catch(() => {})
        hold.release()
        const timedOutcome = await timed
        expect(timedOutcome.status).toBe('rejected')
        expect((timedOutcome as { error: unknown }).error).toBeInstanceOf(TimeoutError)
        const nextOutcome = await next
        expect(nextOutcome.status, nextOutcome.status === 'rejected' ? String(nextOutcome.error) : '').toBe('resolved')
        expect((nextOutcome as { value: { rows: unknown[] } }).value.rows).toEqual([{ n: 2 }])
      },
      30_000,
    )

    /**
     * The scenario of the three tests below. The caller's operation was cut and its cancel request is held in the proxy;
     * something else ends the statement with 57014 while the request is still on its way (an administrator,
     * statement_timeout, or the postmaster's second signal, see the test above), and the caller goes on, on the same
     * session. The held request is released once that next statement runs, or after a second (a provider may keep the
     * caller waiting until its cancel request is through). The cut operation must fail (with `cutError` when given) and
     * the next statement must get its rows, which are returned.
     */
    const lateCancelOnSession = async (options: {
      applicationName: string
      hold: CancelRequestHold
      /** Finds the cut statement running on the server. */
      cutRunning: () => Promise<Backend | undefined>
      cut: Promise<Outcome<unknown>>
      cutError?: (new (...args: never[]) => Error) | undefined
      next: () => Promise<QueryResult<{ n: number }>>
    }): Promise<unknown[]> => {
      const { applicationName, hold } = options
      let waited: ReturnType<typeof setTimeout> | undefined
      const arrived = await Promise.race([
        hold.arrived.then(() => true),
        new Promise<false>((resolve) => {
          waited = setTimeout(resolve, 5_000, false)
        }),
      ])
      clearTimeout(waited)
      expect(arrived, 'a cancel request reached the server within 5 s of the cut').toBe(true)
      const running = await options.cutRunning()
      expect(running, 'the cut statement runs on the server').toBeDefined()
      await ctx.admin('SELECT pg_cancel_backend($1)', [running!.pid])
      const nextRuns = async () =>
        (await ctx.backends(applicationName)).some((backend) => backend.state === 'active' && backend.query.includes('pg_sleep(1)'))
      const released = waitFor(nextRuns, 'the next statement runs', { timeoutMs: 1_000 })
        .catch(() => {})
        .then(() => hold.release())
      const cutOutcome = await options.cut
      expect(cutOutcome.status).toBe('rejected')
      if (options.cutError !== undefined) expect((cutOutcome as { error: unknown }).error).toBeInstanceOf(options.cutError)
      const next = await settle(options.next())
      await released
      expect(next.status, next.status === 'rejected' ? String(next.error) : '').toBe('resolved')
      return (next as { value: { rows: unknown[] } }).value.rows
    }
    const NEXT = 'SELECT $1::int AS n FROM pg_sleep(1)'

    ctx.test(
      "a timed-out statement's cancel request that reaches the server late never cancels the caller's next statement in the same transaction",
      async () => {
        const { provider, applicationName } = await openThroughProxy({ pool: { max: 1 } })
        const hold = proxy!.holdCancelRequests()
        const outcome = await provider.transaction((tx) =>
          lateCancelOnSession({
            applicationName,
            hold,
            cutRunning: () => activeBackend(applicationName, 'pg_sleep(5)'),
            cut: settle(tx.savepoint((sp) => sp.query('SELECT $1::int AS n FROM pg_sleep(5)', [1], { timeoutMs: 50 }))),
            cutError: TimeoutError,
            next: () => tx.query<{ n: number }>(NEXT, [2]),
          }),
        )
        expect(outcome).toEqual([{ n: 2 }])
      },
      30_000,
    )

    ctx.test(
      "a timed-out batch's cancel request that reaches the server late never cancels the caller's next statement on its reserved connection",
      async () => {
        const { provider, applicationName } = await openThroughProxy({ pool: { max: 1 } })
        const hold = proxy!.holdCancelRequests()
        const outcome = await provider.connection((connection) =>
          lateCancelOnSession({
            applicationName,
            hold,
            cutRunning: () => activeBackend(applicationName, 'pg_sleep(5)'),
            cut: settle(connection.batch([{ sql: 'SELECT $1::int AS n FROM pg_sleep(5)', params: [1] }], { timeoutMs: 50 })),
            cutError: TimeoutError,
            next: () => connection.query<{ n: number }>(NEXT, [2]),
          }),
        )
        expect(outcome).toEqual([{ n: 2 }])
      },
      30_000,
    )

    ctx.test(
      "an aborted stream's cancel request that reaches the server late never cancels the caller's next statement on its reserved connection",
      async () => {
        const { provider, applicationName } = await openThroughProxy({ pool: { max: 1 } })
        const hold = proxy!.holdCancelRequests()
        // A driver runs the stream as the statement itself (a protocol portal) or as FETCHes from a cursor; not the DECLARE
        // before them, whose text holds the query too but which ends at once (an abort then cancels nothing: the next
        // FETCH is refused before it is sent, and no cancel request would ever arrive).
        const streaming = async () =>
          (await ctx.backends(applicationName)).find(
            (backend) => backend.state === 'active' && /^(?:FETCH|SELECT n FROM generate_series)/.test(backend.query),
          )
        const outcome = await provider.connection(async (connection) => {
          const controller = new AbortController()
          const drained = settle(
            (async () => {
              const rows = connection.stream('SELECT n FROM generate_series(1, 3) AS n, pg_sleep(5)', [], { signal: controller.signal })
              for await (const _row of rows) {
                // no row comes before the cancel
              }
            })(),
          )
          await waitFor(async () => (await streaming()) !== undefined, 'the stream runs')
          controller.abort()
          return lateCancelOnSession({
            applicationName,
            hold,
            cutRunning: streaming,
            cut: drained,
            next: () => connection.query<{ n: number }>(NEXT, [2]),
          })
        })
        expect(outcome).toEqual([{ n: 2 }])
      },
      30_000,
    )
  })
}
