import pg from 'pg'
import { afterAll, beforeAll } from 'vitest'
import { PG_URL, uniqueName } from '../../../tooling/test-services/env'
import { createPgProvider, type PgProvider, type PgProviderOptions } from '../src/index'

export { PG_URL, uniqueName }

/** A provider on the test database with a small pool and its own application_name, closed by `closeAll`. */
export function testProvider(appName: string, options: Omit<PgProviderOptions, 'connectionString'> = {}): PgProvider {
  const provider = createPgProvider({ connectionString: PG_URL, applicationName: appName, pool: { max: 4 }, ...options })
  opened.push(provider)
  return provider
}

const opened: PgProvider[] = []

export async function closeAll(): Promise<void> {
  await Promise.all(opened.splice(0).map((provider) => provider.close({ timeoutMs: 2_000 })))
}

/** A plain pg client for looking at the server from outside (pg_stat_activity, setup, cleanup). */
export async function adminClient(): Promise<pg.Client> {
  const client = newAdminClient()
  await client.connect()
  return client
}

/**
 * For a test file: an admin client connected before the file's tests; after them, every test provider is closed
 * and then the client.
 */
export function useAdminClient(): pg.Client {
  const client = newAdminClient()
  beforeAll(() => client.connect())
  afterAll(async () => {
    await closeAll()
    await client.end()
  })
  return client
}

function newAdminClient(): pg.Client {
  return new pg.Client({ connectionString: PG_URL, application_name: 'tessera-test-admin' })
}

/** Backends of an application_name, with what they run. */
export async function backendsOf(admin: pg.Client, appName: string): Promise<{ pid: number; state: string; query: string }[]> {
  const { rows } = await admin.query(
    'SELECT pid, state, query FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()',
    [appName],
  )
  return rows
}

/** Polls until `check` returns true (the server applies some effects asynchronously); fails after `timeoutMs`. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}
