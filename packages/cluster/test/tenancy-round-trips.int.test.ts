import { sql } from '@tessera/core'
import { afterAll, describe, expect, it } from 'vitest'
import { tenancy } from '../src/index'
import { startRoundTripCounter } from './round-trip-counter'
import { DRIVERS, PG_URL, useServer } from './tenancy-support'

describe.each(DRIVERS)('round trips of a tenant statement ($name)', (driver) => {
  const server = useServer(driver)
  const counters: { close(): Promise<void> }[] = []
  afterAll(async () => {
    for (const counter of counters) await counter.close()
  })

  it.each(['schema', 'rls'] as const)(
    '%s: the tenant statement costs what the provider’s own atomic batch of it costs',
    async (strategy) => {
      const schema = await server.schema('rt')
      await server.admin().query(sql`CREATE TABLE ${sql.id(schema)}.items (n int)`)
      const target = new URL(PG_URL)
      const counter = await startRoundTripCounter({ host: target.hostname, port: Number(target.port || 5432) })
      counters.push(counter)
      const url = new URL(PG_URL)
      url.port = String(counter.port)
      const db = server.open({ connectionString: url.toString(), pool: { max: 1 } })
      const scope = tenancy(db, { strategy }).forTenant(schema)
      const statement = `SELECT count(*) FROM ${schema}.items`
      const setting =
        strategy === 'schema'
          ? { sql: "SELECT set_config('search_path', $1, true)", params: [`"${schema}"`] }
          : { sql: 'SELECT set_config($1, $2, true)', params: ['app.tenant_id', schema] }
      const roundTrips = async (fn: () => Promise<unknown>): Promise<number[]> => {
        const counts: number[] = []
        for (let i = 0; i < 5; i++) {
          const before = counter.roundTrips
          await fn()
          counts.push(counter.roundTrips - before)
        }
        return counts
      }
      // Warm up: the connection is open and every statement prepared.
      await roundTrips(() => scope.query(statement))
      await roundTrips(() => db.batch([setting, { sql: statement }], { atomic: true }))

      const bare = await roundTrips(() => db.query(statement))
      const tenant = await roundTrips(() => scope.query(statement))
      const providerBatch = await roundTrips(() => db.batch([setting, { sql: statement }], { atomic: true }))
      const awaited = await roundTrips(() =>
        db.transaction(async (tx) => {
          await tx.query(setting.sql, setting.params)
          await tx.query(statement)
        }),
      )
      expect(Math.max(...tenant)).toBeLessThanOrEqual(Math.max(...providerBatch))
      // Both drivers write the whole pipeline at once: BEGIN, set_config, the statement and COMMIT in one round trip
      // (postgres.js did so only once its session stopped being closed after each atomic batch).
      expect(bare).toEqual([1, 1, 1, 1, 1])
      expect(tenant).toEqual([1, 1, 1, 1, 1])
      expect(Math.min(...awaited)).toBe(4)
    },
  )
})
