import { describe, expectTypeOf, it } from 'vitest'
import { createProvider, type Provider } from '../src/index'

// Compile-time only: nothing here runs a provider.
const never = (): boolean => false

describe('createProvider options are typed per driver', () => {
  it('accepts the shared and the driver-specific options of each built-in driver', () => {
    if (never()) {
      expectTypeOf(
        createProvider({ driver: 'pg', connectionString: 'postgres://x', pool: { max: 5, maxUses: 100 }, types: { int8: 'number' } }),
      ).toEqualTypeOf<Promise<Provider>>()
      void createProvider({ driver: 'postgres.js', host: 'db', statementTimeoutMs: 1_000, prepare: false })
      void createProvider({ driver: 'my-registered-driver', dataDir: './db' })
    }
  })

  it('refuses a misspelt option, a wrong type and an option of the other driver', () => {
    if (never()) {
      // @ts-expect-error a typo: conectionString
      void createProvider({ driver: 'pg', conectionString: 'postgres://x' })
      // @ts-expect-error statementTimeoutMs is a number
      void createProvider({ driver: 'pg', statementTimeoutMs: '5s' })
      // @ts-expect-error pool.maxUses is pg's, not postgres.js'
      void createProvider({ driver: 'postgres.js', pool: { maxUses: 1 } })
      // @ts-expect-error a typo inside pool
      void createProvider({ driver: 'pg', pool: { mx: 5 } })
    }
  })
})
