import { describe } from 'vitest'
import { describeBatch, describeStream } from './batch-stream'
import { describeCancellation } from './cancellation'
import { describeColumnNames } from './column-names'
import { describeConnection } from './connection'
import { createContext, type ProviderCapabilities, type ProviderFactory } from './context'
import { describeCopy } from './copy'
import { describeErrors } from './errors'
import { describeFaults } from './faults'
import { describeHooks } from './hooks'
import { describeListen } from './listen'
import { describeMultiStatement } from './multi-statement'
import { describeNetworkFaults } from './network-faults'
import { describeNotices } from './notices'
import { describeClose, describePool } from './pool-close'
import { describeQueries } from './queries'
import { describeReservedConnection } from './reserved-connection'
import { describeResultHelpers } from './result-helpers'
import { describeRowMode } from './row-mode'
import { describeRowValidation } from './row-validation'
import { describeSqlHelpers } from './sql-helpers'
import { describeStreamReturning } from './stream-returning'
import { describeTransactions } from './transactions'
import { describeTypes } from './types'

/**
 * Declares the conformance suite every Tessera provider runs: same queries, same results, same errors, against
 * the test PostgreSQL (`TESSERA_PG_URL`). Call it at the top level of a test file; it uses only the `Provider`
 * interface and the shared `ProviderOptions`, plus a raw `pg` connection for out-of-band server checks.
 *
 * @param name shown as the outer `describe`
 * @param factory creates a provider from the shared options (the suite sets `connectionString`, a unique
 *   `applicationName`, and per test `pool`, `hooks`, `statementTimeoutMs`, `retry`); add driver-specific options here
 * @param capabilities what the provider opts out of, with reasons; default: nothing
 * @example describeProvider('pg', (options) => createPgProvider(options))
 */
export function describeProvider(name: string, factory: ProviderFactory, capabilities: ProviderCapabilities = {}): void {
  describe(`provider conformance: ${name}`, () => {
    const ctx = createContext(name, factory, capabilities)
    describeQueries(ctx)
    describeTypes(ctx)
    describeErrors(ctx)
    describeTransactions(ctx)
    describeBatch(ctx)
    describeStream(ctx)
    describeListen(ctx)
    describeNotices(ctx)
    describeCancellation(ctx)
    describePool(ctx)
    describeClose(ctx)
    describeHooks(ctx)
    describeFaults(ctx)
    describeNetworkFaults(ctx)
    describeConnection(ctx)
    describeCopy(ctx)
    describeSqlHelpers(ctx)
    describeStreamReturning(ctx)
    describeReservedConnection(ctx)
    describeResultHelpers(ctx)
    describeRowValidation(ctx)
    describeRowMode(ctx)
    describeMultiStatement(ctx)
    describeColumnNames(ctx)
  })
}
