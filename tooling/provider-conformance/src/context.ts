import type { Provider, ProviderOptions } from '@tessera/core'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, it } from 'vitest'
import { PG_URL, uniqueName } from '../../test-services/env'

/** Creates the provider under test. Receives the shared options only; the factory adds driver-specific ones. */
export type ProviderFactory = (options: ProviderOptions) => Provider | Promise<Provider>

/**
 * What a provider can opt out of, each with a reason a reader can check. Everything is on by default: a
 * provider that turns something off says why in its own test file.
 */
export interface ProviderCapabilities {
  /** The provider re-listens after losing its LISTEN connection (`onLost`, then `onRestored`). Default: `true`. */
  listenRecovery?: boolean
  /**
   * Tests to skip, by a substring of their name, with the reason: known gaps tracked elsewhere.
   * @example { 'early break': 'cursor close is tracked in #42' }
   */
  skip?: Readonly<Record<string, string>>
}

/** A provider opened for one test, with the application name that finds its backends in `pg_stat_activity`. */
export interface OpenedProvider {
  provider: Provider
  applicationName: string
}

/** A backend of the provider under test, as `pg_stat_activity` shows it. */
export interface Backend {
  pid: number
  state: string | null
  query: string
}

/** What every test group receives from `describeProvider`. */
export interface ConformanceContext {
  readonly name: string
  readonly capabilities: Required<ProviderCapabilities>
  /** A schema of its own, created before the suite and dropped after it. Lower case: no quoting needed. */
  readonly schema: string
  /**
   * Creates a provider on the test database with a unique `applicationName`, merged with `options`. Every
   * provider opened in a test is closed after it, whatever the test did.
   */
  open(options?: Partial<ProviderOptions>): Promise<OpenedProvider>
  /** Runs SQL on a separate raw `pg` connection: setup and out-of-band checks that must not go through the provider. */
  admin<R extends Record<string, unknown> = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<R[]>
  /** Creates a table in the suite's schema from a column list and returns its qualified name. */
  createTable(columns: string): Promise<string>
  /** The provider's backends (by application name), never counting the admin connection. */
  backends(applicationName: string): Promise<Backend[]>
  /** `it`, skipped when `capabilities.skip` names the test. */
  test(name: string, fn: () => Promise<void>, timeoutMs?: number): void
}

const DEFAULT_CAPABILITIES: Required<ProviderCapabilities> = { listenRecovery: true, skip: {} }

export function createContext(name: string, factory: ProviderFactory, capabilities: ProviderCapabilities = {}): ConformanceContext {
  const resolved: Required<ProviderCapabilities> = { ...DEFAULT_CAPABILITIES, ...capabilities }
  const schema = uniqueName('conformance')
  const opened: Provider[] = []
  let adminClient: pg.Client | undefined
  let tables = 0

  beforeAll(async () => {
    adminClient = new pg.Client({ connectionString: PG_URL, application_name: `${schema}_admin` })
    await adminClient.connect()
    await adminClient.query(`CREATE SCHEMA ${schema}`)
  })

  // Closed even when a test failed half-way, so one failure does not leak connections into the next test.
  afterEach(async () => {
    const providers = opened.splice(0)
    await Promise.all(providers.map((provider) => closeQuietly(provider)))
  })

  afterAll(async () => {
    if (adminClient === undefined) return
    try {
      await adminClient.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    } finally {
      await adminClient.end()
    }
  })

  async function admin<R extends Record<string, unknown>>(text: string, params: readonly unknown[] = []): Promise<R[]> {
    if (adminClient === undefined) throw new Error('the admin connection is only available inside tests')
    const result = await adminClient.query(text, params as unknown[])
    return result.rows as R[]
  }

  return {
    name,
    capabilities: resolved,
    schema,
    async open(options = {}) {
      const applicationName = uniqueName('conf')
      const provider = await factory({ connectionString: PG_URL, applicationName, ...options })
      opened.push(provider)
      return { provider, applicationName }
    },
    admin,
    async createTable(columns) {
      tables += 1
      const table = `${schema}.t${tables}`
      await admin(`CREATE TABLE ${table} (${columns})`)
      return table
    },
    backends(applicationName) {
      return admin<Backend & Record<string, unknown>>(
        'SELECT pid, state, query FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()',
        [applicationName],
      )
    },
    test(testName, fn, timeoutMs) {
      const reason = Object.keys(resolved.skip).find((key) => testName.includes(key))
      if (reason !== undefined) it.skip(`${testName} (skipped: ${resolved.skip[reason]})`, fn)
      else it(testName, fn, timeoutMs)
    },
  }
}

const CLEANUP_TIMEOUT_MS = 10_000

/** Closes a provider a test left open, without letting a stuck close hang the rest of the suite. */
async function closeQuietly(provider: Provider): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const givingUp = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, CLEANUP_TIMEOUT_MS)
  })
  try {
    await Promise.race([provider.close({ timeoutMs: CLEANUP_TIMEOUT_MS / 2 }).catch(() => undefined), givingUp])
  } finally {
    clearTimeout(timer)
  }
}
