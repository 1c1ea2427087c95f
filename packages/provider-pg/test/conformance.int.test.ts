import { describeProvider } from '@tessera/provider-conformance'
import { createPgProvider } from '../src/index'

describeProvider('pg', (options) => createPgProvider(options))
