import { createPgProvider } from '@tessera/provider-pg'
import { createPostgresJsProvider } from '@tessera/provider-postgresjs'
import { describeParity } from '../src/parity'

// Any difference between the two drivers' outputs is a failing test.
describeParity({
  pg: (options) => createPgProvider(options),
  'postgres.js': (options) => createPostgresJsProvider(options),
})
