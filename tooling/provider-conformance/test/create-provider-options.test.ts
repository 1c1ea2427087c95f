import { ConfigError, type CreateProviderOptions, createProvider, type DriverFactory, registerDriver } from '@tessera/core'
import { createPgProvider } from '@tessera/provider-pg'
import { createPostgresJsProvider } from '@tessera/provider-postgresjs'
import { afterAll, describe, expect, it } from 'vitest'

// This workspace's core cannot import the provider packages by name (pnpm isolates them): plug the built-ins in.
const undo = [
  registerDriver('pg', createPgProvider as DriverFactory, { replace: true }),
  registerDriver('postgres.js', createPostgresJsProvider as DriverFactory, { replace: true }),
]
afterAll(() => {
  for (const restore of undo) restore()
})

describe('createProvider refuses unknown options at run time too', () => {
  for (const driver of ['pg', 'postgres.js'] as const) {
    it(`${driver}: a misspelt option (from untyped code) is a ConfigError naming it and the accepted ones`, async () => {
      const untyped = {
        driver,
        conectionString: 'postgres://postgres@127.0.0.1:5432/test',
        pool: { mx: 2 },
      } as unknown as CreateProviderOptions
      const error = await createProvider(untyped).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(ConfigError)
      const problems = (error as ConfigError).problems
      expect(problems.some((problem) => problem.includes('unknown option "conectionString"') && problem.includes('connectionString'))).toBe(
        true,
      )
      expect(problems.some((problem) => problem.includes('pool.mx'))).toBe(true)
    })
  }
})
