import { registerDriver } from '@tessera/core'
import { createPgProvider } from '@tessera/provider-pg'
import { afterAll, describe, expect, it } from 'vitest'
import { PG_URL, uniqueName } from '../../../tooling/test-services/env'
import { createCluster } from '../src/index'
import { startRoundTripCounter } from './round-trip-counter'

registerDriver('pg', createPgProvider, { replace: true })

describe('round trips of a routed statement', () => {
  const closers: (() => Promise<void>)[] = []
  afterAll(async () => {
    for (const close of closers.splice(0).reverse()) await close()
  })

  it('costs what the bare provider costs: one round trip per read, fallback read or write, nothing more on the wire', async () => {
    const target = new URL(PG_URL)
    const counter = await startRoundTripCounter({ host: target.hostname, port: Number(target.port || 5432) })
    closers.push(() => counter.close())
    const url = new URL(PG_URL)
    url.port = String(counter.port)
    const bare = createPgProvider({ connectionString: url.toString(), pool: { max: 1 } })
    // The node is the bare provider itself; health checks are kept out of the counted window.
    const cluster = await createCluster({ nodes: [{ name: 'primary', provider: bare }], healthCheck: { intervalMs: 600_000 } })
    closers.push(() => cluster.close())
    const table = uniqueName('rt')
    await bare.query(`CREATE TABLE ${table} (n int)`)
    closers.push(async () => {
      const admin = createPgProvider({ connectionString: PG_URL, pool: { max: 1 } })
      await admin.query(`DROP TABLE IF EXISTS ${table}`)
      await admin.close()
    })
    const roundTrips = async (fn: () => Promise<unknown>): Promise<number[]> => {
      const counts: number[] = []
      for (let i = 0; i < 5; i++) {
        const before = counter.roundTrips
        await fn()
        counts.push(counter.roundTrips - before)
      }
      return counts
    }
    const read = `SELECT count(*) AS n FROM ${table}`
    const write = `INSERT INTO ${table} VALUES (1)`
    // Warm up: the connection is open.
    await roundTrips(() => cluster.query(read))

    expect(await roundTrips(() => bare.query(read))).toEqual([1, 1, 1, 1, 1])
    expect(await roundTrips(() => cluster.query(read))).toEqual([1, 1, 1, 1, 1])
    expect(await roundTrips(() => cluster.primary.query(read))).toEqual([1, 1, 1, 1, 1])
    expect(await roundTrips(() => cluster.query(write))).toEqual([1, 1, 1, 1, 1])
    const rows = await cluster.query<{ n: string }>(read)
    expect(Number(rows.rows[0]?.n)).toBe(5)
  }, 60_000)
})
