import { type Provider, type ProviderOptions, sql } from '@tessera/core'
import { createPgProvider } from '@tessera/provider-pg'
import { createPostgresJsProvider } from '@tessera/provider-postgresjs'
import { afterAll } from 'vitest'
import { PG_URL, uniqueName } from '../../../tooling/test-services/env'

export { PG_URL, uniqueName }

/** A driver the tenancy suites run against. */
export interface DriverUnderTest {
  name: string
  create(options: ProviderOptions): Provider
}

export const DRIVERS: readonly DriverUnderTest[] = [
  { name: 'pg', create: (options) => createPgProvider(options) },
  { name: 'postgres.js', create: (options) => createPostgresJsProvider(options) },
]

/** The test server's URL with another user and/or database. */
export function urlWith(change: { user?: string; database?: string }): string {
  const url = new URL(PG_URL)
  if (change.user !== undefined) url.username = change.user
  if (change.database !== undefined) url.pathname = `/${change.database}`
  return url.toString()
}

/**
 * For a `describe` block: providers opened by `open()` are closed after it; schemas, roles and databases created
 * with the helpers are dropped after it.
 */
export function useServer(driver: DriverUnderTest) {
  const opened: Provider[] = []
  const schemas: string[] = []
  const databases: string[] = []
  const roles: string[] = []
  let adminProvider: Provider | undefined
  const open = (options: Partial<ProviderOptions> = {}): Provider => {
    const provider = driver.create({ connectionString: PG_URL, pool: { max: 4 }, ...options })
    opened.push(provider)
    return provider
  }
  const admin = (): Provider => {
    adminProvider ??= createPgProvider({ connectionString: PG_URL, pool: { max: 2 } })
    return adminProvider
  }
  afterAll(async () => {
    await Promise.all(opened.map((provider) => provider.close({ timeoutMs: 2_000 }).catch(() => undefined)))
    const db = admin()
    for (const schema of schemas) await db.query(sql`DROP SCHEMA IF EXISTS ${sql.id(schema)} CASCADE`)
    for (const database of databases) await db.query(sql`DROP DATABASE IF EXISTS ${sql.id(database)} WITH (FORCE)`)
    for (const role of roles) await db.query(sql`DROP ROLE IF EXISTS ${sql.id(role)}`)
    await db.close()
  })
  return {
    open,
    admin,
    async schema(prefix: string): Promise<string> {
      const schema = uniqueName(prefix)
      schemas.push(schema)
      await admin().query(sql`CREATE SCHEMA ${sql.id(schema)}`)
      return schema
    },
    async database(prefix: string): Promise<string> {
      const database = uniqueName(prefix)
      databases.push(database)
      await admin().query(sql`CREATE DATABASE ${sql.id(database)}`)
      return database
    },
    /** A login role without superuser (which would bypass row-level security). */
    async role(prefix: string): Promise<string> {
      const role = uniqueName(prefix)
      roles.push(role)
      await admin().query(sql`CREATE ROLE ${sql.id(role)} LOGIN NOSUPERUSER NOBYPASSRLS`)
      return role
    },
  }
}

/** A shuffled copy (Fisher–Yates), so tenants interleave in a different order on every run. */
export function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items]
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[copy[i], copy[j]] = [copy[j]!, copy[i]!]
  }
  return copy
}

/** Waits until `check` holds, polling; fails after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Every pooled connection's session state, read with `size` statements held open together (one per connection). */
export async function sessionStates(provider: Provider, size: number): Promise<{ searchPath: string; tenant: string | null }[]> {
  const results = await Promise.all(
    Array.from({ length: size }, () =>
      provider.query<{ search_path: string; tenant: string | null }>(
        "SELECT current_setting('search_path') AS search_path, current_setting('app.tenant_id', true) AS tenant, pg_sleep(0.2)",
      ),
    ),
  )
  return results.map((result) => ({ searchPath: result.rows[0]!.search_path, tenant: result.rows[0]!.tenant }))
}
