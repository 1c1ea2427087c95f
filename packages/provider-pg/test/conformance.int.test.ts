import { describeProvider } from '@tessera/provider-conformance'
import { createPgProvider } from '../src/index'

/** pg takes one host and one TLS setting per client: these need `connectPgClient` in `PgEngine.openConnection`. */
const NEEDS_CONNECT_PG_CLIENT = 'pg-engine does not open its clients through connectPgClient yet'

describeProvider('pg', (options) => createPgProvider(options), {
  skip: {
    'tries the next server of a host list': NEEDS_CONNECT_PG_CLIENT,
    'reads a host list from host= and port=': NEEDS_CONNECT_PG_CLIENT,
    'refuses a primary for target_session_attrs': NEEDS_CONNECT_PG_CLIENT,
    'sslmode=prefer connects': NEEDS_CONNECT_PG_CLIENT,
  },
})
