import { ConnectionError, isConnectionLoss } from '@tessera/core'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import type { PgClientConfig } from '../src/index'
import { backendsOf, eventually, testProvider, uniqueName, useAdminClient } from './helpers'

const admin = useAdminClient()

async function terminateAll(app: string): Promise<number> {
  const { rows } = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [app])
  return rows.length
}

async function whenRunning(app: string, fragment: string): Promise<number> {
  let pid = 0
  await eventually(async () => {
    const found = (await backendsOf(admin, app)).find((backend) => backend.state === 'active' && backend.query.includes(fragment))
    pid = found?.pid ?? 0
    return found !== undefined
  })
  return pid
}

describe('faults', () => {
  it('survives idle connections being terminated by the server: no crash, the next query succeeds', async () => {
    const app = uniqueName('faults')
    const db = testProvider(app, { pool: { max: 3 } })
    await Promise.all([db.query('SELECT pg_sleep(0.05)'), db.query('SELECT pg_sleep(0.05)'), db.query('SELECT pg_sleep(0.05)')])
    expect(db.stats().idle).toBe(3)
    const uncaught: unknown[] = []
    const onUncaught = (error: unknown) => uncaught.push(error)
    process.on('uncaughtException', onUncaught)
    try {
      expect(await terminateAll(app)).toBe(3)
      await eventually(async () => (await backendsOf(admin, app)).length === 0)
      await new Promise((resolve) => setTimeout(resolve, 50))
      const { rows } = await db.query('SELECT 1 AS ok')
      expect(rows).toEqual([{ ok: 1 }])
      expect(uncaught).toEqual([])
      expect(db.stats().destroyed).toBeGreaterThanOrEqual(1)
    } finally {
      process.off('uncaughtException', onUncaught)
    }
  })

  it('retries a read whose connection is terminated mid-query, on a new connection', async () => {
    const app = uniqueName('faults')
    const db = testProvider(app, { retry: { maxAttempts: 3, baseDelayMs: 1 } })
    const running = db.query("SELECT 'done' AS result, pg_sleep(0.3)")
    const pid = await whenRunning(app, 'pg_sleep(0.3)')
    await admin.query('SELECT pg_terminate_backend($1)', [pid])
    const { rows } = await running
    expect(rows[0]).toMatchObject({ result: 'done' })
  })

  it('never silently retries a write whose connection is lost', async () => {
    const app = uniqueName('faults')
    const db = testProvider(app, { retry: { maxAttempts: 3, baseDelayMs: 1 } })
    const table = uniqueName('w')
    await db.query(`CREATE TABLE public.${table} (n int)`)
    try {
      // Observed at once: the rejection may land while the admin query below is still out.
      const running = db.query(`INSERT INTO public.${table} SELECT 1 FROM pg_sleep(0.3)`).catch((e) => e)
      const pid = await whenRunning(app, 'pg_sleep(0.3)')
      await admin.query('SELECT pg_terminate_backend($1)', [pid])
      const error = await running
      expect(isConnectionLoss(error)).toBe(true)
      const { rows } = await admin.query(`SELECT count(*)::int AS n FROM public.${table}`)
      expect(rows).toEqual([{ n: 0 }])
    } finally {
      await admin.query(`DROP TABLE public.${table}`)
    }
  })

  it('reports a connect failure as a ConnectionError and keeps working once connects succeed', async () => {
    let failures = 5
    // An injected fault: the first connects fail the way a refused TCP connect does.
    class FlakyClient extends pg.Client {
      constructor(config: PgClientConfig) {
        super(config as pg.ClientConfig)
        const connect = this.connect.bind(this) as () => Promise<unknown>
        Object.assign(this, {
          connect() {
            if (failures-- > 0)
              return Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))
            return connect()
          },
        })
      }
    }
    const db = testProvider(uniqueName('faults'), { Client: FlakyClient as never, retry: false })
    const error = await db.query('SELECT 1').catch((e) => e)
    expect(error).toBeInstanceOf(ConnectionError)
    failures = 0
    await expect(db.query('SELECT 1 AS ok')).resolves.toMatchObject({ rows: [{ ok: 1 }] })
  })

  it('a server that cannot be reached gives ConnectionError, not a hang or a crash', async () => {
    const db = testProvider(uniqueName('faults'), { host: '127.0.0.1', port: 1, retry: false, connectTimeoutMs: 2_000 })
    await expect(db.query('SELECT 1')).rejects.toBeInstanceOf(ConnectionError)
  })
})
