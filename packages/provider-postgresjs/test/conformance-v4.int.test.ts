import { describeProvider } from '@tessera/provider-conformance'
import postgres4 from 'postgres4'
import { createPostgresJsProvider, type PostgresJsFactory } from '../src/index'

// The same suite on postgres.js 4, the peer range's other major.
describeProvider('postgres.js 4', (options) => createPostgresJsProvider({ ...options, sql: postgres4 as unknown as PostgresJsFactory }))
