import { type Provider, type ProviderOptions, sql } from '@tessera/core'
import { createPgProvider } from '@tessera/provider-pg'
import { createPostgresJsProvider } from '@tessera/provider-postgresjs'
import { afterAll, beforeAll } from 'vitest'
import { PG_URL, uniqueName } from '../../../tooling/test-services/env'

export { PG_URL, uniqueName }

/** One provider the dialect suites run against. */
export interface ProviderUnderTest {
  name: string
  create(options: ProviderOptions): Provider
}

/** Every provider the suites run against (`describe.each(PROVIDERS)`). */
export const PROVIDERS: readonly ProviderUnderTest[] = [
  { name: 'pg', create: (options) => createPgProvider(options) },
  { name: 'postgres.js', create: (options) => createPostgresJsProvider(options) },
]

/**
 * For a `describe` block: a provider opened before its tests (`open()` makes more, closed after), and `freshSchema()`
 * names a new schema, created now and dropped with everything in it after the block.
 */
export function useProvider(factory: ProviderUnderTest, prefix: string) {
  const opened: Provider[] = []
  const schemas: string[] = []
  const databases: string[] = []
  let db: Provider | undefined
  const open = (options: Partial<ProviderOptions> = {}): Provider => {
    const provider = factory.create({ connectionString: PG_URL, pool: { max: 4 }, ...options })
    opened.push(provider)
    return provider
  }
  beforeAll(() => {
    db = open()
  })
  afterAll(async () => {
    for (const schema of schemas) await db?.query(sql`DROP SCHEMA IF EXISTS ${sql.id(schema)} CASCADE`)
    await Promise.all(opened.map((provider) => provider.close({ timeoutMs: 2_000 })))
    for (const database of databases) await dropDatabase(database)
  })
  return {
    get provider(): Provider {
      if (db === undefined) throw new Error('the provider opens in beforeAll: use it inside a test')
      return db
    },
    open,
    /**
     * A provider on a new database of its own, dropped after the block: for tests that read the whole catalog
     * (Kysely's introspection lists every table of the database), which DDL of tests running meanwhile would disturb.
     */
    async freshDatabase(): Promise<Provider> {
      const database = uniqueName(prefix)
      databases.push(database)
      await this.provider.query(sql`CREATE DATABASE ${sql.id(database)}`)
      const url = new URL(PG_URL)
      url.pathname = `/${database}`
      return open({ connectionString: url.toString() })
    },
    async freshSchema(): Promise<string> {
      const schema = uniqueName(prefix)
      schemas.push(schema)
      await this.provider.query(sql`CREATE SCHEMA ${sql.id(schema)}`)
      return schema
    },
  }
}

async function dropDatabase(database: string): Promise<void> {
  const admin = createPgProvider({ connectionString: PG_URL, pool: { max: 1 } })
  try {
    await admin.query(sql`DROP DATABASE IF EXISTS ${sql.id(database)} WITH (FORCE)`)
  } finally {
    await admin.close()
  }
}
