import { type TypePolicies, type TypeRegistry, typeRegistryFromOptions } from '@tessera/converter'
import { type ConnectionSettings, describeValue, type ProviderOptions, type ProviderPoolOptions } from '@tessera/core'
import { PROVIDER_POOL_DEFAULTS, type ResolvedProviderOptions, resolveProviderOptions } from '@tessera/core/driver'
import postgres from 'postgres'
import type { PostgresJsFactory, PostgresJsOptions } from './postgres-js-client'

/**
 * Options of {@link createPostgresJsProvider}: the shared provider options (the same object `createPgProvider`
 * takes) plus what postgres.js adds.
 *
 * @example
 * const db = createPostgresJsProvider({ connectionString: process.env.DATABASE_URL, pool: { max: 20 }, statementTimeoutMs: 5_000 })
 */
export interface PostgresJsProviderOptions extends ProviderOptions {
  /**
   * Pool settings. Defaults: `max` 10, `acquireTimeoutMs` 30000, `idleTimeoutMs` 30000, `maxLifetimeMs` 0 (never),
   * `leakDetectionMs` 0 (off). `min` is accepted and validated, but postgres.js opens connections on demand only.
   */
  pool?: ProviderPoolOptions | undefined
  /** How int8, numeric, date, timestamp, bytea and interval read (see `@tessera/converter`). Default: the converter's defaults. */
  types?: TypePolicies | undefined
  /** User enum type names (`'mood'`, `'app.status'`) whose arrays should read as `string[]`. Default: none. */
  enums?: readonly string[] | undefined
  /**
   * Creates the postgres.js instance: `postgres` itself or a compatible factory (an instrumented wrapper, another
   * copy of the driver). Called with `undefined` (postgres.js never sees the connection string: every setting is
   * resolved as libpq does and passed separately) and the mapped options. Default: `postgres`.
   * @example createPostgresJsProvider({ connectionString, sql: (url, options) => postgres(url, { ...options, debug: log }) })
   */
  sql?: PostgresJsFactory | undefined
  /** Names the provider's pool in logs, diagnostics and metrics. Default: `host:port/database` of the first server. */
  name?: string | undefined
  /** Include parameter values in `tessera:query` diagnostics messages (they may hold personal data). Default: `false`. */
  diagnosticsIncludeParams?: boolean | undefined
}

/** The options with every default filled in and the driver options built. */
export interface ResolvedPostgresJsOptions extends ResolvedProviderOptions {
  factory: PostgresJsFactory
  driverOptions: PostgresJsOptions
  registry: TypeRegistry
}

/**
 * Checks every option and builds postgres.js' options. Throws one {@link ConfigError} listing every problem: the
 * shared options are checked by core's `resolveProviderOptions`, the postgres.js ones here.
 */
export function resolvePostgresJsOptions(options: PostgresJsProviderOptions): ResolvedPostgresJsOptions {
  let registry: TypeRegistry | undefined
  const shared = resolveProviderOptions(options, {
    driver: 'postgres.js',
    driverOptions: ['types', 'enums', 'sql'],
    poolDefaults: PROVIDER_POOL_DEFAULTS,
    checkDriverOptions(problems) {
      if (options.sql !== undefined && typeof options.sql !== 'function') {
        problems.push(`sql must be a function creating a postgres.js instance, such as postgres, got ${describeValue(options.sql)}`)
      }
      registry = typeRegistryFromOptions(options, problems)
    },
  })
  const { pool, prepare, connection } = shared

  const startup: Record<string, string | number> = {
    ...connection.serverSettings,
    application_name: connection.applicationName,
    // What the converter's parsers read; the same settings provider-pg sets.
    DateStyle: 'ISO',
    IntervalStyle: 'postgres',
  }
  if (connection.options !== undefined && connection.options.trim() !== '') startup.options = connection.options
  if (options.statementTimeoutMs !== undefined && options.statementTimeoutMs > 0) startup.statement_timeout = options.statementTimeoutMs
  // No host here: each instance gets the server its socket was opened on (`targetOptions` in target-sockets.ts).
  const driverOptions: PostgresJsOptions = {
    database: connection.database,
    user: connection.user,
    ssl: sslOption(connection),
    max: pool.max,
    idle_timeout: pool.idleTimeoutMs > 0 ? pool.idleTimeoutMs / 1000 : null,
    max_lifetime: pool.maxLifetimeMs > 0 ? pool.maxLifetimeMs / 1000 : null,
    connect_timeout: connection.connectTimeoutMs / 1000,
    prepare,
    // The registry knows the built-in array types. postgres.js' own lookup would cost a query per session, and in
    // 3.4 its failure (a backend killed while it runs) is an unhandled rejection that crashes the process.
    fetch_types: false,
    connection: startup,
    // The provider's socket factory picks the server by target_session_attrs (`createTargetSocketOpener`).
    target_session_attrs: null,
  }
  if (connection.password !== undefined) driverOptions.password = connection.password

  return {
    ...shared,
    factory: options.sql ?? (postgres as unknown as PostgresJsFactory),
    driverOptions,
    registry: registry!,
  }
}

/**
 * postgres.js' `ssl` for the sslmode. `prefer` is postgres.js' own (TLS, else plain text when the server refuses
 * it). `allow` connects in plain text: libpq's second, TLS attempt after a refused plain login is not available.
 * `require` without certificates is postgres.js' `'require'` (TLS, unverified); with certificates, and for the
 * verifying modes, the TLS options themselves. For a TCP server: an instance on a Unix socket never uses TLS
 * (`targetOptions`), as libpq ignores sslmode there.
 */
function sslOption(connection: ConnectionSettings): PostgresJsOptions['ssl'] {
  const { sslMode, tls } = connection
  if (sslMode === 'disable' || sslMode === 'allow') return false
  if (sslMode === 'prefer') return 'prefer'
  const hasCertificates = tls.ca !== undefined || tls.cert !== undefined || tls.key !== undefined
  if (sslMode === 'require' && !hasCertificates) return 'require'
  return { ...tls }
}
