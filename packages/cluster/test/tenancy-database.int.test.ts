import { ConnectionError, type DriverFactory, isTesseraError, type Provider, registerDriver, sql, TimeoutError } from '@tessera/core'
import { createPgProvider } from '@tessera/provider-pg'
import { createPostgresJsProvider } from '@tessera/provider-postgresjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../../../tooling/test-services/free-port'
import { TenancyClosedError, tenancy } from '../src/index'
import { DRIVERS, PG_URL, useServer, waitFor } from './tenancy-support'

/** The test server's URL with `{tenant}` where the database name goes. */
const TEMPLATE = `${PG_URL.replace(/\/[^/?]*(\?.*)?$/, '')}/{tenant}`

// Under vitest, core's on-demand import of the provider packages cannot see this package's devDependencies (pnpm
// keeps them out of core's reach): plug them in, as the core README says a bundled application does.
const unregister = [
  registerDriver('pg', createPgProvider as DriverFactory, { replace: true }),
  registerDriver('postgres.js', createPostgresJsProvider as DriverFactory, { replace: true }),
]
afterAll(() => {
  for (const undo of unregister) undo()
})

describe.each(DRIVERS)('database strategy ($name)', (driver) => {
  const server = useServer(driver)

  // Creating and dropping a database is slow (a checkpoint each): the tests share three, one after another.
  const shared: string[] = []
  beforeAll(async () => {
    for (let i = 0; i < 3; i++) shared.push(await server.database('tdb'))
  })
  async function tenantDatabases(count: number): Promise<string[]> {
    return shared.slice(0, count)
  }

  /** Backends connected to these databases now, as the server sees them. */
  async function connectionsTo(databases: readonly string[]): Promise<number> {
    const found = await server
      .admin()
      .query<{ total: number }>(sql`SELECT count(*)::int AS total FROM pg_stat_activity WHERE datname = ANY(${databases}::text[])`)
    return found.rows[0]!.total
  }

  it('runs each tenant on its own database, within the connection budget, evicting the least recently used', async () => {
    const databases = await tenantDatabases(3)
    const base = server.open()
    const tenants = tenancy(base, {
      strategy: 'database',
      database: { connectionString: TEMPLATE, maxConnections: 2, connectionsPerTenant: 1 },
    })
    for (let round = 0; round < 3; round++) {
      for (const database of databases) {
        const scope = tenants.forTenant(database)
        const found = await scope.query<{ db: string }>('SELECT current_database() AS db')
        expect(found.rows).toEqual([{ db: database }])
        const stats = tenants.stats().databases!
        expect(stats.connections).toBeLessThanOrEqual(2)
        expect(stats.open).toBeLessThanOrEqual(2)
      }
    }
    const stats = tenants.stats().databases!
    expect(stats.evicted).toBeGreaterThanOrEqual(7)
    // The server agrees: never more than the budget, and evicted providers really closed their connections.
    expect(await connectionsTo(databases)).toBeLessThanOrEqual(2)
    // Transactions, batches and streams run on the tenant's database too.
    const scope = tenants.forTenant(databases[0]!)
    await scope.query('CREATE TABLE t (n int)')
    await scope.transaction(async (tx) => {
      await tx.query('INSERT INTO t VALUES (1), (2)')
    })
    const [count] = await scope.batch([{ sql: 'SELECT count(*)::int AS total FROM t' }])
    expect(count!.rows).toEqual([{ total: 2 }])
    const streamed: number[] = []
    for await (const row of scope.stream<{ n: number }>('SELECT n FROM t ORDER BY n')) streamed.push(row.n)
    expect(streamed).toEqual([1, 2])
    await tenants.close()
    await waitFor(async () => (await connectionsTo(databases)) === 0, 15_000, 'tenant connections closed')
  })

  it('closes a tenant provider once it has been idle for idleTimeoutMs', async () => {
    const databases = await tenantDatabases(2)
    const tenants = tenancy(server.open(), {
      strategy: 'database',
      database: { connectionString: TEMPLATE, idleTimeoutMs: 300 },
    })
    await Promise.all(databases.map((database) => tenants.forTenant(database).query('SELECT 1')))
    expect(tenants.stats().databases!.open).toBe(2)
    await waitFor(() => tenants.stats().databases!.open === 0, 15_000, 'idle providers evicted')
    await waitFor(async () => (await connectionsTo(databases)) === 0, 15_000, 'idle connections closed')
    // A tenant used again opens a fresh provider.
    const again = await tenants.forTenant(databases[0]!).query<{ db: string }>('SELECT current_database() AS db')
    expect(again.rows).toEqual([{ db: databases[0] }])
    await tenants.close()
  })

  it('a call waits for room in the budget, and fails with TimeoutError when none frees in time', async () => {
    const [first, second] = await tenantDatabases(2)
    const tenants = tenancy(server.open(), {
      strategy: 'database',
      database: { connectionString: TEMPLATE, maxConnections: 1, connectionsPerTenant: 1, acquireTimeoutMs: 300 },
    })
    const slow = tenants.forTenant(first!).query('SELECT pg_sleep(1.5)')
    await waitFor(() => tenants.stats().databases!.open === 1, 15_000, 'the first tenant open')
    const starved = await tenants
      .forTenant(second!)
      .query('SELECT 1')
      .catch((error: unknown) => error)
    expect(starved).toBeInstanceOf(TimeoutError)
    await slow
    // Once the first tenant is idle, the second evicts it and runs.
    const found = await tenants.forTenant(second!).query<{ db: string }>('SELECT current_database() AS db')
    expect(found.rows).toEqual([{ db: second }])
    await tenants.close()
  })

  it('an unreachable tenant database fails only that tenant, and frees its place in the budget', async () => {
    const [healthy] = await tenantDatabases(1)
    const port = await freePort()
    const opened: Provider[] = []
    const tenants = tenancy(server.open(), {
      strategy: 'database',
      database: {
        maxConnections: 2,
        connectionsPerTenant: 1,
        open: (tenantId) => {
          const target =
            tenantId === 'unreachable' ? `postgres://postgres@127.0.0.1:${port}/nothing` : TEMPLATE.replace('{tenant}', tenantId)
          const provider = driver.create({ connectionString: target, pool: { max: 1 }, connectTimeoutMs: 2_000, retry: false })
          opened.push(provider)
          return provider
        },
      },
    })
    const refused = await tenants
      .forTenant('unreachable')
      .query('SELECT 1')
      .catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(ConnectionError)
    const missing = await tenants
      .forTenant('tessera_missing_tenant_db')
      .query('SELECT 1')
      .catch((error: unknown) => error)
    expect(isTesseraError(missing)).toBe(true)
    expect(missing).toMatchObject({ code: '3D000' })
    // Both failed tenants were discarded: the healthy one still gets its place.
    await waitFor(() => tenants.stats().databases!.open === 0, 15_000, 'failed tenants discarded')
    const found = await tenants.forTenant(healthy!).query<{ db: string }>('SELECT current_database() AS db')
    expect(found.rows).toEqual([{ db: healthy }])
    await tenants.close()
  })

  it('close() while a tenant statement runs lets it finish, then closes every tenant provider', async () => {
    const databases = await tenantDatabases(2)
    const tenants = tenancy(server.open(), { strategy: 'database', database: { connectionString: TEMPLATE } })
    await tenants.forTenant(databases[1]!).query('SELECT 1')
    const scope = tenants.forTenant(databases[0]!)
    const running = scope.query<{ done: boolean }>('SELECT true AS done, pg_sleep(0.5)')
    await waitFor(async () => (await connectionsTo([databases[0]!])) === 1, 15_000, 'the statement running')
    await tenants.close()
    expect((await running).rows[0]!.done).toBe(true)
    await expect(scope.query('SELECT 1')).rejects.toThrow(TenancyClosedError)
    expect(() => tenants.forTenant(databases[1]!)).toThrow(TenancyClosedError)
    await waitFor(async () => (await connectionsTo(databases)) === 0, 15_000, 'tenant connections closed')
  })
})
