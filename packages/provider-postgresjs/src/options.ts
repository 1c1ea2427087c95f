import { type TypePolicies, type TypeRegistry, typeRegistryFromOptions } from '@tessera/converter'
import { describeValue, type ProviderOptions, type ProviderPoolOptions } from '@tessera/core'
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
   * copy of the driver). Called with the connection string and the mapped options. Default: `postgres`.
   * @example createPostgresJsProvider({ connectionString, sql: (url, options) => postgres(url, { ...options, debug: log }) })
   */
  sql?: PostgresJsFactory | undefined
  /** Names the provider in logs and diagnostics. Default: `'postgres.js'`. */
  name?: string | undefined
  /** Include parameter values in `tessera:query` diagnostics messages (they may hold personal data). Default: `false`. */
  diagnosticsIncludeParams?: boolean | undefined
}

/** The options with every default filled in and the driver options built. */
export interface ResolvedPostgresJsOptions extends Omit<ResolvedProviderOptions, 'connectionUrl'> {
  factory: PostgresJsFactory
  /** Where the sessions' sockets connect: a TCP host and port, or a Unix socket `path`. */
  target: { host: string; port: number; path: string | undefined }
  url: string | undefined
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
  const { connectionUrl, pool, prepare, ...rest } = shared

  const connection: Record<string, string | number> = {
    application_name: options.applicationName ?? 'tessera',
    // What the converter's parsers read; the same settings provider-pg sets.
    DateStyle: 'ISO',
    IntervalStyle: 'postgres',
  }
  if (options.statementTimeoutMs !== undefined && options.statementTimeoutMs > 0) connection.statement_timeout = options.statementTimeoutMs
  const driverOptions: PostgresJsOptions = {
    max: pool.max,
    idle_timeout: pool.idleTimeoutMs > 0 ? pool.idleTimeoutMs / 1000 : null,
    max_lifetime: pool.maxLifetimeMs > 0 ? pool.maxLifetimeMs / 1000 : null,
    connect_timeout: (options.connectTimeoutMs ?? 10_000) / 1000,
    prepare,
    // The registry knows the built-in array types. postgres.js' own lookup would cost a query per session, and in
    // 3.4 its failure (a backend killed while it runs) is an unhandled rejection that crashes the process.
    fetch_types: false,
    connection,
  }
  if (options.host !== undefined) driverOptions.host = options.host
  if (options.port !== undefined) driverOptions.port = options.port
  if (options.database !== undefined) driverOptions.database = options.database
  if (options.user !== undefined) driverOptions.user = options.user
  if (options.password !== undefined) driverOptions.password = options.password
  if (options.ssl !== undefined) driverOptions.ssl = options.ssl

  const host = shared.host ?? process.env.PGHOST ?? 'localhost'
  const port = shared.port ?? (process.env.PGPORT === undefined ? 5432 : Number(process.env.PGPORT))
  return {
    ...rest,
    pool,
    prepare,
    target: { host, port, path: host.startsWith('/') ? `${host}/.s.PGSQL.${port}` : undefined },
    factory: options.sql ?? (postgres as unknown as PostgresJsFactory),
    url: connectionUrl === undefined ? undefined : connectionString(options, connectionUrl),
    driverOptions,
    registry: registry!,
  }
}

/**
 * The connection string for postgres.js. postgres.js already lets separate fields win over the URL; only the URL's
 * `application_name` would win over `applicationName`, so it is removed when both are given.
 */
function connectionString(options: PostgresJsProviderOptions, url: URL): string {
  if (options.applicationName !== undefined) url.searchParams.delete('application_name')
  if (options.ssl !== undefined) for (const key of ['ssl', 'sslmode']) url.searchParams.delete(key)
  return url.toString()
}
