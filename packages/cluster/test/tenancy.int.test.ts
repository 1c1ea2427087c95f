import { AbortError, batchIndexOf, ConfigError, isConnectionLoss, isTesseraError, type Provider, sql, TimeoutError } from '@tessera/core'
import { createTableSql, defineEntity, repository, text, uuid } from '@tessera/schema'
import { describe, expect, it } from 'vitest'
import { InvalidTenantIdError, TenancyClosedError, TenantBusyError, tenancy, UnknownTenantError } from '../src/index'
import { DRIVERS, sessionStates, useServer, waitFor } from './tenancy-support'

/** The provider with a count of every call that could reach the server. */
function counted(provider: Provider): { provider: Provider; calls: () => number } {
  let calls = 0
  const touching = new Set(['query', 'batch', 'transaction', 'connection', 'stream', 'queryMulti'])
  const proxy = new Proxy(provider, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver)
      if (typeof property === 'string' && touching.has(property) && typeof value === 'function') {
        return (...args: unknown[]) => {
          calls++
          return value.apply(target, args)
        }
      }
      return value
    },
  })
  return { provider: proxy, calls: () => calls }
}

async function tenantSchemas(server: ReturnType<typeof useServer>, count: number): Promise<string[]> {
  const schemas: string[] = []
  for (let i = 0; i < count; i++) {
    const schema = await server.schema('tq')
    await server.admin().query(sql`CREATE TABLE ${sql.id(schema)}.items (n int NOT NULL)`)
    await server.admin().query(sql`INSERT INTO ${sql.id(schema)}.items VALUES (${i})`)
    schemas.push(schema)
  }
  return schemas
}

describe('tenancy: bad input', () => {
  const server = useServer(DRIVERS[0]!)

  it('a bad tenant id is a TesseraError naming it, before any SQL runs', async () => {
    const { provider, calls } = counted(server.open())
    const tenants = tenancy(provider, { strategy: 'schema', allow: ['acme', 'globex'] })
    const cases: [unknown, RegExp][] = [
      ['acme"; DROP TABLE x; --', /invalid tenant id "acme\\"; DROP TABLE x; --": it does not match/],
      ["o'brien", /does not match/],
      ['a'.repeat(200), /it is 200 bytes long; at most 63 are accepted/],
      ['', /it is empty/],
      [undefined, /a tenant id is a string/],
      [42, /a tenant id is a string/],
    ]
    for (const [id, message] of cases) {
      expect(() => tenants.forTenant(id as string)).toThrow(InvalidTenantIdError)
      expect(() => tenants.forTenant(id as string)).toThrow(message)
    }
    expect(() => tenants.forTenant('initech')).toThrow(UnknownTenantError)
    expect(() => tenants.forTenant('initech')).toThrow(/unknown tenant "initech"/)
    expect(calls()).toBe(0)
  })

  it('a resolver that says no, or fails, rejects the call with UnknownTenantError before any SQL', async () => {
    const { provider, calls } = counted(server.open())
    const tenants = tenancy(provider, {
      strategy: 'rls',
      resolve: async (id) => {
        if (id === 'broken') throw new Error('directory down')
        return id === 'known'
      },
    })
    await expect(tenants.forTenant('stranger').query('SELECT 1')).rejects.toThrow(UnknownTenantError)
    const failed = await tenants
      .forTenant('broken')
      .query('SELECT 1')
      .catch((error: unknown) => error)
    expect(failed).toBeInstanceOf(UnknownTenantError)
    expect((failed as Error).cause).toMatchObject({ message: 'directory down' })
    expect(calls()).toBe(0)
    const ok = await tenants.forTenant('known').query<{ tenant: string }>("SELECT current_setting('app.tenant_id') AS tenant")
    expect(ok.rows).toEqual([{ tenant: 'known' }])
  })

  it('bad options are one ConfigError listing every problem', () => {
    const provider = server.open()
    const attempt = () =>
      tenancy(provider, {
        strategy: 'rls',
        setting: 'tenant',
        maxIdLength: 0,
        perTenant: { maxConcurrent: 0, queueTimeoutMs: -1 },
      })
    expect(attempt).toThrow(ConfigError)
    expect(() => attempt()).toThrow(/4 problems/)
    expect(() => tenancy(provider, { strategy: 'tables' as 'schema' })).toThrow(/accepted: 'schema', 'rls', 'database'/)
    expect(() => tenancy(provider, { strategy: 'database' })).toThrow(/needs database/)
    expect(() => tenancy(provider, { strategy: 'database', database: { connectionString: 'postgres://x/db' } })).toThrow(/\{tenant\}/)
  })
})

describe.each(DRIVERS)('tenancy fault paths ($name)', (driver) => {
  const server = useServer(driver)

  it('a failing statement rejects with its database error; the connection goes back clean', async () => {
    const [schema] = await tenantSchemas(server, 1)
    const db = server.open({ pool: { max: 2 } })
    const before = await sessionStates(db, 2)
    const scope = tenancy(db, { strategy: 'schema' }).forTenant(schema!)
    await expect(scope.query('SELECT * FROM no_such_table')).rejects.toMatchObject({ code: '42P01' })
    await expect(
      scope.transaction(async (tx) => {
        await tx.query('INSERT INTO items VALUES (99)')
        await tx.query('SELECT 1/0')
      }),
    ).rejects.toMatchObject({ code: '22012' })
    const batchError = await scope.batch([{ sql: 'SELECT 1' }, { sql: 'SELECT 1/0' }]).catch((error: unknown) => error)
    expect(batchError).toMatchObject({ code: '22012' })
    expect(batchIndexOf(batchError)).toBe(1)
    expect((await scope.query<{ n: number }>('SELECT n FROM items')).rows).toEqual([{ n: 0 }])
    expect(await sessionStates(db, 2)).toEqual(before)
  })

  it('batch with atomic: false runs each statement for the tenant on its own: a failure does not stop the others', async () => {
    const [schema] = await tenantSchemas(server, 1)
    const db = server.open({ pool: { max: 2 } })
    const scope = tenancy(db, { strategy: 'schema' }).forTenant(schema!)
    const failure = await scope
      .batch(
        [
          { sql: 'INSERT INTO items VALUES (1)' },
          { sql: 'INSERT INTO items VALUES (1/0)' },
          { sql: 'INSERT INTO items VALUES ($1)', params: [3] },
        ],
        { atomic: false },
      )
      .catch((error: unknown) => error)
    expect(failure).toMatchObject({ code: '22012' })
    expect(batchIndexOf(failure)).toBe(1)
    const rows = await scope.query<{ n: number }>('SELECT n FROM items ORDER BY n')
    expect(rows.rows).toEqual([{ n: 0 }, { n: 1 }, { n: 3 }])
    // The default is atomic: the same batch leaves nothing behind.
    await expect(scope.batch([{ sql: 'INSERT INTO items VALUES (4)' }, { sql: 'INSERT INTO items VALUES (1/0)' }])).rejects.toMatchObject({
      code: '22012',
    })
    expect((await scope.query<{ total: number }>('SELECT count(*)::int AS total FROM items')).rows).toEqual([{ total: 3 }])
  })

  it('options a batch cannot carry (rowMode, prepare) run the statement in a transaction of its own, still for the tenant', async () => {
    const [schema] = await tenantSchemas(server, 1)
    const db = server.open({ pool: { max: 2 } })
    const before = await sessionStates(db, 2)
    const scope = tenancy(db, { strategy: 'schema' }).forTenant(schema!)
    const asArrays = await scope.query('SELECT current_schema(), n FROM items', [], { rowMode: 'array' })
    expect(asArrays.rows).toEqual([[schema, 0]])
    const unprepared = await scope.query<{ n: number }>('SELECT n FROM items WHERE n = $1', [0], { prepare: false })
    expect(unprepared.rows).toEqual([{ n: 0 }])
    expect(await sessionStates(db, 2)).toEqual(before)
  })

  it('a timeout and an abort cancel the statement; the scope and the pool stay usable', async () => {
    const [schema] = await tenantSchemas(server, 1)
    const db = server.open({ pool: { max: 2 } })
    const before = await sessionStates(db, 2)
    const scope = tenancy(db, { strategy: 'schema' }).forTenant(schema!)
    const timedOut = await scope.query('SELECT pg_sleep(30)', [], { timeoutMs: 200 }).catch((error: unknown) => error)
    expect(timedOut).toBeInstanceOf(TimeoutError)
    const controller = new AbortController()
    const aborted = scope.query('SELECT pg_sleep(30)', [], { signal: controller.signal }).catch((error: unknown) => error)
    setTimeout(() => controller.abort(), 200)
    expect(await aborted).toBeInstanceOf(AbortError)
    expect((await scope.query<{ n: number }>('SELECT n FROM items')).rows).toEqual([{ n: 0 }])
    await waitFor(
      async () => (await sessionStates(db, 2)).every((state, i) => state.searchPath === before[i]!.searchPath),
      15_000,
      'clean sessions',
    )
    await waitFor(() => db.stats().inUse === 0, 15_000, 'no connection in use')
  })

  it('a backend killed mid-statement fails that call with a connection error; the write is not applied, the pool recovers clean', async () => {
    const [schema] = await tenantSchemas(server, 1)
    const application = `killed-${schema}`
    const db = server.open({ pool: { max: 2 }, applicationName: application })
    const before = await sessionStates(db, 2)
    const scope = tenancy(db, { strategy: 'schema' }).forTenant(schema!)
    const call = scope.query('INSERT INTO items SELECT 7 FROM pg_sleep(30)').catch((error: unknown) => error)
    const admin = server.admin()
    await waitFor(
      async () => {
        const killed = await admin.query<{ killed: boolean }>(
          sql`SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = ${application} AND query LIKE 'INSERT INTO items%' AND state = 'active'`,
        )
        return killed.rows.length > 0
      },
      15_000,
      'the statement to kill',
    )
    const failure = await call
    expect(isTesseraError(failure)).toBe(true)
    expect(isConnectionLoss(failure)).toBe(true)
    const stored = await admin.query<{ total: number }>(sql`SELECT count(*)::int AS total FROM ${sql.id(schema!)}.items WHERE n = 7`)
    expect(stored.rows[0]!.total).toBe(0)
    expect((await scope.query<{ n: number }>('SELECT n FROM items')).rows).toEqual([{ n: 0 }])
    expect(await sessionStates(db, 2)).toEqual(before)
  })

  it('a read whose backend is killed runs again and answers; with retry: false it fails', async () => {
    const [schema] = await tenantSchemas(server, 1)
    const application = `reread-${schema}`
    const db = server.open({ pool: { max: 2 }, applicationName: application })
    const tenants = tenancy(db, { strategy: 'schema' })
    const admin = server.admin()
    const killOnce = () =>
      waitFor(
        async () => {
          const killed = await admin.query(
            sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = ${application} AND query LIKE 'SELECT n FROM items%' AND state = 'active'`,
          )
          return killed.rows.length > 0
        },
        15_000,
        'the read to kill',
      )
    const read = tenants.forTenant(schema!).query<{ n: number }>('SELECT n FROM items, pg_sleep(1)')
    await killOnce()
    expect((await read).rows).toEqual([{ n: 0 }])
    const once = tenants
      .forTenant(schema!)
      .query('SELECT n FROM items, pg_sleep(1)', [], { retry: false })
      .catch((error: unknown) => error)
    await killOnce()
    expect(isConnectionLoss(await once)).toBe(true)
  })

  it('on a provider with query hooks, every tenant statement still carries its tenant, and the hooks see both statements', async () => {
    const schemas = await tenantSchemas(server, 3)
    const seen: { sql: string; operation: string }[] = []
    const db = server.open({
      pool: { max: 2 },
      hooks: {
        onQuery: async (ctx, next) => {
          seen.push({ sql: ctx.sql, operation: ctx.operation })
          return next()
        },
      },
    })
    const tenants = tenancy(db, { strategy: 'schema' })
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => tenants.forTenant(schemas[i % 3]!).query<{ n: number }>('SELECT n FROM items')),
    )
    for (const [i, result] of results.entries()) expect(result.rows).toEqual([{ n: i % 3 }])
    const tenantStatements = seen.filter((entry) => entry.sql === 'SELECT n FROM items')
    const settings = seen.filter((entry) => entry.sql.startsWith("SELECT set_config('search_path'"))
    expect(tenantStatements).toHaveLength(30)
    expect(settings).toHaveLength(30)
    for (const entry of [...tenantStatements, ...settings]) expect(entry.operation).toBe('batch')
  })

  it('a stream read halfway and abandoned returns its connection with no tenant state', async () => {
    const [schema] = await tenantSchemas(server, 1)
    const db = server.open({ pool: { max: 1 } })
    const before = await sessionStates(db, 1)
    const scope = tenancy(db, { strategy: 'schema' }).forTenant(schema!)
    let seen = 0
    for await (const row of scope.stream<{ g: number }>('SELECT g FROM generate_series(1, 1000) g', [], { batchSize: 10 })) {
      seen = row.g
      if (seen === 25) break
    }
    expect(seen).toBe(25)
    expect(await sessionStates(db, 1)).toEqual(before)
    expect(db.stats().inUse).toBe(0)
  })

  it('close() while in use: running calls finish, queued and later calls fail with TenancyClosedError', async () => {
    const [schema] = await tenantSchemas(server, 1)
    const db = server.open({ pool: { max: 2 } })
    const tenants = tenancy(db, { strategy: 'schema', perTenant: { maxConcurrent: 1 } })
    const scope = tenants.forTenant(schema!)
    const running = scope.query<{ n: number }>('SELECT n FROM items, pg_sleep(0.5)')
    const queued = scope.query('SELECT 1').catch((error: unknown) => error)
    await waitFor(() => tenants.stats().queued === 1, 15_000, 'a queued call')
    await tenants.close()
    expect((await running).rows).toEqual([{ n: 0 }])
    expect(await queued).toBeInstanceOf(TenancyClosedError)
    await expect(scope.query('SELECT 1')).rejects.toThrow(TenancyClosedError)
    expect(() => tenants.forTenant(schema!)).toThrow(TenancyClosedError)
    expect(db.stats().inUse).toBe(0)
  })
})

describe.each(DRIVERS)('per-tenant bulkhead ($name)', (driver) => {
  const server = useServer(driver)

  it('one tenant cannot take the whole pool: its extra calls queue, another tenant runs meanwhile', async () => {
    const [busy, quiet] = await tenantSchemas(server, 2)
    const db = server.open({ pool: { max: 4 }, applicationName: `bulkhead-${busy}` })
    const tenants = tenancy(db, { strategy: 'schema', perTenant: { maxConcurrent: 2, maxQueue: 3 } })
    const scope = tenants.forTenant(busy!)
    const calls = Array.from({ length: 5 }, () => scope.query('SELECT pg_sleep(0.6)'))
    await waitFor(() => tenants.stats().queued === 3, 15_000, 'three queued calls')
    // The queue is full: one more fails at once, retryably.
    const refused = await scope.query('SELECT 1').catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(TenantBusyError)
    expect((refused as TenantBusyError).retryable).toBe(true)
    expect((refused as TenantBusyError).message).toMatch(/its queue is full \(2 running, 3 queued\)/)
    // The server never sees more than two of this tenant's statements at once.
    let most = 0
    const watching = (async () => {
      while (tenants.stats().running > 0 || tenants.stats().queued > 0) {
        const active = await server
          .admin()
          .query<{ total: number }>(
            sql`SELECT count(*)::int AS total FROM pg_stat_activity WHERE application_name = ${`bulkhead-${busy}`} AND query = 'SELECT pg_sleep(0.6)' AND state = 'active'`,
          )
        most = Math.max(most, active.rows[0]!.total)
      }
    })()
    const other = await tenants.forTenant(quiet!).query<{ n: number }>('SELECT n FROM items')
    expect(other.rows).toEqual([{ n: 1 }])
    await Promise.all(calls)
    await watching
    expect(most).toBeGreaterThan(0)
    expect(most).toBeLessThanOrEqual(2)
  })

  it('a call that waits past queueTimeoutMs fails with TenantBusyError; an aborted wait with AbortError', async () => {
    const [schema] = await tenantSchemas(server, 1)
    const db = server.open({ pool: { max: 2 } })
    const tenants = tenancy(db, { strategy: 'schema', perTenant: { maxConcurrent: 1, queueTimeoutMs: 300 } })
    const scope = tenants.forTenant(schema!)
    const slow = scope.query('SELECT pg_sleep(2)')
    const late = await scope.query('SELECT 1').catch((error: unknown) => error)
    expect(late).toBeInstanceOf(TenantBusyError)
    expect((late as TenantBusyError).message).toMatch(/no slot became free within \d+ ms/)
    const controller = new AbortController()
    const waiting = scope.query('SELECT 1', [], { signal: controller.signal }).catch((error: unknown) => error)
    controller.abort()
    expect(await waiting).toBeInstanceOf(AbortError)
    await slow
    expect(tenants.stats()).toMatchObject({ running: 0, queued: 0 })
  })
})

describe.each(DRIVERS)('a @tessera/schema repository on a tenant scope ($name)', (driver) => {
  const server = useServer(driver)

  it('creates, reads and counts rows in each tenant’s own schema', async () => {
    const schemas = await Promise.all([server.schema('repo'), server.schema('repo')])
    const Note = defineEntity('Note', { id: uuid().primaryKey().generated('uuidv7'), body: text() })
    const db = server.open()
    const tenants = tenancy(db, { strategy: 'schema' })
    for (const schema of schemas) await tenants.forTenant(schema).query(createTableSql(Note))
    const [first, second] = schemas.map((schema) => repository(Note, tenants.forTenant(schema)))
    await first!.insert({ body: 'for the first tenant' })
    await second!.insert({ body: 'for the second tenant' })
    await second!.insert({ body: 'another for the second' })
    expect((await first!.findMany()).rows.map((note) => note.body)).toEqual(['for the first tenant'])
    expect((await second!.findMany({ orderBy: { body: 'asc' } })).rows.map((note) => note.body)).toEqual([
      'another for the second',
      'for the second tenant',
    ])
    const stored = await server.admin().query<{ total: number }>(sql`SELECT count(*)::int AS total FROM ${sql.id(schemas[1]!)}.notes`)
    expect(stored.rows[0]!.total).toBe(2)
  })
})
