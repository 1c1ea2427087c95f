import { type Provider, sql, ValidationError } from '@tessera/core'
import { createPgProvider } from '@tessera/provider-pg'
import { createPostgresJsProvider } from '@tessera/provider-postgresjs'
import { afterAll, beforeAll, expect } from 'vitest'
import { PG_URL, uniqueName } from '../../../tooling/test-services/env'

export { PG_URL, uniqueName }

/** What a suite needs to open a provider: the test database, a pool size, an application name. */
export interface TestProviderOptions {
  connectionString: string
  applicationName?: string
  pool?: { max?: number }
}

/** One provider the repository, migration and diff suites run against. */
export interface ProviderUnderTest {
  name: string
  create(options: TestProviderOptions): Provider
}

/** Every provider the suites run against (`describe.each(PROVIDERS)`); nothing else in the suites names a driver. */
export const PROVIDERS: readonly ProviderUnderTest[] = [
  { name: 'pg', create: (options) => createPgProvider(options) },
  { name: 'postgres.js', create: (options) => createPostgresJsProvider(options) },
]

/** Opens providers for a suite and closes them all at the end. */
export function providerPool(factory: ProviderUnderTest): {
  open(options?: Partial<TestProviderOptions>): Provider
  closeAll(): Promise<void>
} {
  const opened: Provider[] = []
  return {
    open(options = {}) {
      const provider = factory.create({ connectionString: PG_URL, pool: { max: 4 }, ...options })
      opened.push(provider)
      return provider
    },
    async closeAll() {
      await Promise.all(opened.splice(0).map((provider) => provider.close({ timeoutMs: 2_000 })))
    },
  }
}

/**
 * For a `describe` block: one provider opened before its tests, and `freshSchema()` names a schema that is
 * dropped (with everything in it) after them. Call it at the top of the block.
 */
export function useProviderWithSchemas(
  factory: ProviderUnderTest,
  prefix: string,
  defaults: Partial<TestProviderOptions> = {},
): { readonly db: Provider; freshSchema(): string; open(options?: Partial<TestProviderOptions>): Provider } {
  const pool = providerPool(factory)
  const schemas: string[] = []
  let db: Provider | undefined
  beforeAll(() => {
    db = pool.open(defaults)
  })
  afterAll(async () => {
    for (const schema of schemas) await db?.query(sql`DROP SCHEMA IF EXISTS ${sql.id(schema)} CASCADE`)
    await pool.closeAll()
  })
  return {
    get db(): Provider {
      if (db === undefined) throw new Error('the provider opens in beforeAll: use it inside a test')
      return db
    },
    open: (options) => pool.open({ ...defaults, ...options }),
    freshSchema() {
      const schema = uniqueName(prefix)
      schemas.push(schema)
      return schema
    },
  }
}

/** The issue paths of the ValidationError `promise` rejects with, joined with dots. */
export async function issuePaths(promise: Promise<unknown>): Promise<string[]> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(ValidationError)
  return (error as ValidationError).issues.map((issue) => issue.path.join('.'))
}
