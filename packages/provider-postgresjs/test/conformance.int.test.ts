import { describeProvider } from '@tessera/provider-conformance'
import { createPostgresJsProvider } from '../src/index'

describeProvider('postgres.js', (options) => createPostgresJsProvider(options))
