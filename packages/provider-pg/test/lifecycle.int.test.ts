import { describe, expect, it } from 'vitest'
import { createPgProvider } from '../src/index'
import { backendsOf, eventually, PG_URL, testProvider, uniqueName, useAdminClient } from './helpers'

const admin = useAdminClient()

describe('health and stats', () => {
  it('reports up with the server version, recovery state and pool stats', async () => {
    const db = testProvider(uniqueName('health'))
    const report = await db.health()
    expect(report.status).toBe('up')
    expect(report.latencyMs).toBeGreaterThanOrEqual(0)
    expect(report.details).toMatchObject({ serverVersion: expect.stringMatching(/^\d+/), inRecovery: false, pool: { size: 1, max: 4 } })
  })

  it('reports down with the error instead of throwing when the server cannot be reached', async () => {
    const db = createPgProvider({ host: '127.0.0.1', port: 1, connectTimeoutMs: 1_000 })
    try {
      const report = await db.health()
      expect(report.status).toBe('down')
      expect(report.error).toMatch(/ECONNREFUSED|connect/i)
    } finally {
      await db.close()
    }
  })

  it('stats follow the core PoolStats shape', async () => {
    const db = testProvider(uniqueName('stats'))
    await db.query('SELECT 1')
    expect(db.stats()).toMatchObject({ size: 1, idle: 1, inUse: 0, pending: 0, max: 4, created: 1, destroyed: 0, timeouts: 0 })
  })
})

describe('close', () => {
  it('lets in-flight queries finish, rejects new work with PROVIDER_CLOSED, closes every connection', async () => {
    const app = uniqueName('close')
    const db = createPgProvider({ connectionString: PG_URL, applicationName: app, pool: { max: 2 } })
    await db.listen(uniqueName('ch'), () => {})
    const inFlight = db.query("SELECT 'finished' AS r, pg_sleep(0.2)")
    await eventually(async () => (await backendsOf(admin, app)).some((b) => b.state === 'active'))
    const closing = db.close()
    await expect(db.query('SELECT 1')).rejects.toMatchObject({ code: 'PROVIDER_CLOSED' })
    await expect(db.transaction(async () => {})).rejects.toMatchObject({ code: 'PROVIDER_CLOSED' })
    await expect((await inFlight).rows[0]).toMatchObject({ r: 'finished' })
    await closing
    expect(db.close()).toBe(closing)
    await eventually(async () => (await backendsOf(admin, app)).length === 0)
    expect(db.stats().size).toBe(0)
  })
})
