import { describeProvider } from '@tessera/provider-conformance'
import { createPostgresJsProvider } from '../src/index'

/** postgres.js skips its own host list with a socket factory: the engine's factory must pick the server. */
const NEEDS_TARGET_SOCKETS = "the engine's socket factory does not open its sockets through createTargetSocketOpener yet"

describeProvider('postgres.js', (options) => createPostgresJsProvider(options), {
  skip: {
    'tries the next server of a host list': NEEDS_TARGET_SOCKETS,
    'reads a host list from host= and port=': NEEDS_TARGET_SOCKETS,
    'sslmode=require fails with a ConnectionError':
      "the engine's socket factory does not end a session refused TLS with tlsRefusedError yet",
  },
})
