import { createPgProvider } from '@tessera/provider-pg'
import { createPostgresJsProvider, type PostgresJsFactory } from '@tessera/provider-postgresjs'
import postgres4 from 'postgres4'
import { describeParity } from '../src/parity'

// Any difference between the drivers' outputs is a failing test: pg, postgres.js 3 and postgres.js 4.
describeParity({
  pg: (options) => createPgProvider(options),
  'postgres.js': (options) => createPostgresJsProvider(options),
  'postgres.js 4': (options) => createPostgresJsProvider({ ...options, sql: postgres4 as unknown as PostgresJsFactory }),
})
