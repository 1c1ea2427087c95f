import { sql } from '@tessera/core'
import { describe, expect, it } from 'vitest'
import { type TenantScope, tenancy } from '../src/index'
import { DRIVERS, sessionStates, shuffled, urlWith, useServer } from './tenancy-support'

const TENANTS = 20
const OPERATIONS = 200
const POOL = 4

type Check = (scope: TenantScope, tenant: string) => Promise<void>

describe.each(DRIVERS)('tenant isolation under interleaved concurrency ($name)', (driver) => {
  const server = useServer(driver)

  it('schema strategy: no statement sees another tenant’s rows, and pooled connections keep no search_path', async () => {
    const schemas = await Promise.all(Array.from({ length: TENANTS }, () => server.schema('tn')))
    const admin = server.admin()
    for (const schema of schemas) {
      await admin.query(sql`CREATE TABLE ${sql.id(schema)}.items (id serial PRIMARY KEY, tenant text NOT NULL, n int NOT NULL)`)
      await admin.query(sql`INSERT INTO ${sql.id(schema)}.items (tenant, n) SELECT ${schema}, g FROM generate_series(1, 3) g`)
    }
    const db = server.open({ pool: { max: POOL } })
    const tenants = tenancy(db, { strategy: 'schema', allow: schemas })
    const before = await sessionStates(db, POOL)

    const ownRowsOnly = (rows: { tenant: string }[], tenant: string) => {
      expect(rows.length).toBeGreaterThanOrEqual(3)
      for (const row of rows) expect(row.tenant).toBe(tenant)
    }
    const checks: Check[] = [
      async (scope, tenant) => ownRowsOnly((await scope.query<{ tenant: string }>('SELECT tenant FROM items')).rows, tenant),
      async (scope, tenant) => {
        await scope.transaction(async (tx) => {
          await tx.query('INSERT INTO items (tenant, n) VALUES ($1, $2)', [tenant, 100])
          const found = await tx.query<{ schema: string }>('SELECT current_schema() AS schema')
          expect(found.rows[0]!.schema).toBe(tenant)
          ownRowsOnly((await tx.query<{ tenant: string }>('SELECT tenant FROM items')).rows, tenant)
        })
      },
      async (scope, tenant) => {
        const [schema, items] = await scope.batch([{ sql: 'SELECT current_schema() AS schema' }, { sql: 'SELECT tenant FROM items' }])
        expect(schema!.rows[0]).toEqual({ schema: tenant })
        ownRowsOnly(items!.rows as { tenant: string }[], tenant)
      },
      async (scope, tenant) => {
        const rows: { tenant: string }[] = []
        for await (const row of scope.stream<{ tenant: string }>('SELECT tenant FROM items', [], { batchSize: 2 })) rows.push(row)
        ownRowsOnly(rows, tenant)
      },
    ]
    const plan = shuffled(
      Array.from({ length: OPERATIONS }, (_, i) => ({ tenant: schemas[i % TENANTS]!, check: checks[i % checks.length]! })),
    )
    await Promise.all(plan.map(({ tenant, check }) => check(tenants.forTenant(tenant), tenant)))

    // Every insert landed in its own tenant's table.
    const inserts = plan.filter(({ check }) => check === checks[1])
    for (const schema of schemas) {
      const counted = await admin.query<{ other: number; total: number }>(
        sql`SELECT count(*) FILTER (WHERE tenant <> ${schema})::int AS other, count(*)::int AS total FROM ${sql.id(schema)}.items`,
      )
      expect(counted.rows[0]).toEqual({ other: 0, total: 3 + inserts.filter((entry) => entry.tenant === schema).length })
    }
    expect(await sessionStates(db, POOL)).toEqual(before)
    expect(before[0]!.searchPath).not.toContain('tn_')
    await tenants.close()
  })

  it('rls strategy with a real policy and a non-superuser role: each tenant sees and writes only its rows', async () => {
    const schema = await server.schema('rls')
    const role = await server.role('rls_user')
    const admin = server.admin()
    const table = sql`${sql.id(schema)}.items`
    await admin.query(sql`CREATE TABLE ${table} (id serial PRIMARY KEY, tenant text NOT NULL, n int NOT NULL)`)
    await admin.query(sql`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`)
    await admin.query(sql`ALTER TABLE ${table} FORCE ROW LEVEL SECURITY`)
    await admin.query(
      sql`CREATE POLICY tenant_rows ON ${table} USING (tenant = current_setting('app.tenant_id', true)) WITH CHECK (tenant = current_setting('app.tenant_id', true))`,
    )
    await admin.query(sql`GRANT USAGE ON SCHEMA ${sql.id(schema)} TO ${sql.id(role)}`)
    await admin.query(sql`GRANT SELECT, INSERT ON ${table} TO ${sql.id(role)}`)
    await admin.query(sql`GRANT USAGE ON ALL SEQUENCES IN SCHEMA ${sql.id(schema)} TO ${sql.id(role)}`)
    const ids = Array.from({ length: TENANTS }, (_, i) => `tenant-${String(i).padStart(2, '0')}`)
    await admin.query(sql`INSERT INTO ${table} (tenant, n) SELECT t, g FROM unnest(${ids}::text[]) t, generate_series(1, 3) g`)

    const db = server.open({ connectionString: urlWith({ user: role }), pool: { max: POOL } })
    const tenants = tenancy(db, { strategy: 'rls' })
    const items = `${schema}.items`
    const ownRowsOnly = (rows: { tenant: string }[], tenant: string) => {
      expect(rows.length).toBeGreaterThanOrEqual(3)
      for (const row of rows) expect(row.tenant).toBe(tenant)
    }
    const checks: Check[] = [
      async (scope, tenant) => ownRowsOnly((await scope.query<{ tenant: string }>(`SELECT tenant FROM ${items}`)).rows, tenant),
      async (scope, tenant) => {
        await scope.transaction(async (tx) => {
          await tx.query(`INSERT INTO ${items} (tenant, n) VALUES ($1, 100)`, [tenant])
          ownRowsOnly((await tx.query<{ tenant: string }>(`SELECT tenant FROM ${items}`)).rows, tenant)
        })
      },
      async (scope, tenant) => {
        const [setting, rows] = await scope.batch([
          { sql: "SELECT current_setting('app.tenant_id') AS tenant" },
          { sql: `SELECT tenant FROM ${items}` },
        ])
        expect(setting!.rows[0]).toEqual({ tenant })
        ownRowsOnly(rows!.rows as { tenant: string }[], tenant)
      },
      async (scope, tenant) => {
        const rows: { tenant: string }[] = []
        for await (const row of scope.stream<{ tenant: string }>(`SELECT tenant FROM ${items}`)) rows.push(row)
        ownRowsOnly(rows, tenant)
      },
      async (scope, tenant) => {
        // The policy's WITH CHECK refuses a row for another tenant.
        const other = tenant === ids[0] ? ids[1] : ids[0]
        await expect(scope.query(`INSERT INTO ${items} (tenant, n) VALUES ($1, 1)`, [other])).rejects.toMatchObject({ code: '42501' })
      },
    ]
    const plan = shuffled(Array.from({ length: OPERATIONS }, (_, i) => ({ tenant: ids[i % TENANTS]!, check: checks[i % checks.length]! })))
    await Promise.all(plan.map(({ tenant, check }) => check(tenants.forTenant(tenant), tenant)))

    const inserts = plan.filter(({ check }) => check === checks[1])
    const counts = await admin.query<{ tenant: string; total: number }>(
      sql`SELECT tenant, count(*)::int AS total FROM ${table} GROUP BY tenant ORDER BY tenant`,
    )
    expect(counts.rows).toEqual(ids.map((tenant) => ({ tenant, total: 3 + inserts.filter((entry) => entry.tenant === tenant).length })))
    // Back in the pool, no connection carries a tenant: a raw query sees no row at all.
    for (const state of await sessionStates(db, POOL)) expect(state.tenant ?? '').toBe('')
    const raw = await db.query<{ total: number }>(`SELECT count(*)::int AS total FROM ${items}`)
    expect(raw.rows[0]!.total).toBe(0)
    await tenants.close()
  })
})
