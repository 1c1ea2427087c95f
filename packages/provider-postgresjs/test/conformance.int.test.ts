import { describeProvider } from '@tessera/provider-conformance'
import { createPostgresJsProvider } from '../src/index'
import { STREAM_LATE_CANCEL_SKIP } from './known-gaps'

describeProvider('postgres.js', (options) => createPostgresJsProvider(options), { skip: STREAM_LATE_CANCEL_SKIP })
