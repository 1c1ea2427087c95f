import { type TypePolicies, type TypeRegistry, typeRegistryFromOptions } from '@tessera/converter'
import { describeValue, isCount, type ProviderOptions, type ProviderPoolOptions } from '@tessera/core'
import { PROVIDER_POOL_DEFAULTS, type ResolvedProviderOptions, resolveProviderOptions } from '@tessera/core/driver'
import pg from 'pg'
import { type PgClientConfig, type PgClientConstructor, withNoticeHandler } from './pg-client'

/** Pool settings: the shared ones plus `maxUses`. */
export interface PgPoolOptions extends ProviderPoolOptions {
  /** A connection that served this many checkouts is closed and replaced. Default: `0` (no limit). */
  maxUses?: number | undefined
}

/**
 * Options of {@link createPgProvider}: the shared provider options plus what node-postgres adds.
 *
 * @example
 * const db = createPgProvider({ connectionString: process.env.DATABASE_URL, pool: { max: 20 }, statementTimeoutMs: 5_000 })
 */
export interface PgProviderOptions extends ProviderOptions {
  /**
   * Pool settings. Defaults: `min` 0, `max` 10, `acquireTimeoutMs` 30000, `idleTimeoutMs` 30000,
   * `maxLifetimeMs` 0 (never), `leakDetectionMs` 0 (off), `maxUses` 0 (no limit).
   */
  pool?: PgPoolOptions | undefined
  /** How int8, numeric, date, timestamp, bytea and interval read (see `@tessera/converter`). Default: the converter's defaults. */
  types?: TypePolicies | undefined
  /** User enum type names (`'mood'`, `'app.status'`) whose arrays should read as `string[]`. Default: none. */
  enums?: readonly string[] | undefined
  /**
   * Named prepared statements kept per connection (least recently used is `DEALLOCATE`d beyond it).
   * `0` disables automatic preparation like `prepare: false`. Default: `100`.
   */
  preparedStatementCacheSize?: number | undefined
  /** The client class: `pg.Client` or a compatible one (a subclass, an instrumented wrapper). Default: `pg.Client`. */
  Client?: PgClientConstructor | undefined
  /** Names the provider's pool in errors and diagnostics. Default: `'pg'`. */
  name?: string | undefined
  /** Include parameter values in `tessera:query` diagnostics messages (they may hold personal data). Default: `false`. */
  diagnosticsIncludeParams?: boolean | undefined
}

/** The options with every default filled in and the driver config built. */
export interface ResolvedPgOptions extends Omit<ResolvedProviderOptions<PgPoolOptions>, 'connectionUrl'> {
  Client: PgClientConstructor
  clientConfig: PgClientConfig
  registry: TypeRegistry
  enums: readonly string[]
  preparedStatementCacheSize: number
}

/** Settings the converter relies on: ISO dates, the `postgres` interval style, UTF-8 text. */
export const SESSION_OPTIONS = '-c DateStyle=ISO -c IntervalStyle=postgres -c client_encoding=UTF8'

const POOL_DEFAULTS: Required<PgPoolOptions> = { ...PROVIDER_POOL_DEFAULTS, maxUses: 0 }

/**
 * Checks every option and builds the driver config. Throws one {@link ConfigError} listing every problem: the
 * shared options are checked by core's `resolveProviderOptions`, the pg ones here.
 */
export function resolvePgOptions(options: PgProviderOptions): ResolvedPgOptions {
  let registry: TypeRegistry | undefined
  const shared = resolveProviderOptions(options, {
    driver: 'pg',
    driverOptions: ['types', 'enums', 'preparedStatementCacheSize', 'Client'],
    poolDefaults: POOL_DEFAULTS,
    poolCounts: ['maxUses'],
    checkDriverOptions(problems) {
      if (options.preparedStatementCacheSize !== undefined && !isCount(options.preparedStatementCacheSize)) {
        problems.push(`preparedStatementCacheSize must be an integer ≥ 0, got ${describeValue(options.preparedStatementCacheSize)}`)
      }
      if (options.Client !== undefined && typeof options.Client !== 'function') {
        problems.push(`Client must be a client class such as pg.Client, got ${describeValue(options.Client)}`)
      }
      registry = typeRegistryFromOptions(options, problems)
    },
  })
  const { connectionUrl, ...rest } = shared
  return {
    ...rest,
    Client: withNoticeHandler(options.Client ?? pg.Client, shared.handleNotice),
    clientConfig: buildClientConfig(options, connectionUrl),
    registry: registry!,
    enums: options.enums ?? [],
    preparedStatementCacheSize: options.preparedStatementCacheSize ?? 100,
  }
}

/**
 * Builds pg's client config. pg lets a connection string override separate fields; Tessera documents the
 * opposite (separate fields win), so the fields are written into the URL instead of next to it.
 */
function buildClientConfig(options: PgProviderOptions, url: URL | undefined): PgClientConfig {
  const config: PgClientConfig = {
    types: { getTypeParser: () => (text: string) => text },
    pipeline: true,
    application_name: options.applicationName ?? 'tessera',
    options: SESSION_OPTIONS,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
  }
  if (options.statementTimeoutMs !== undefined && options.statementTimeoutMs > 0) config.statement_timeout = options.statementTimeoutMs
  if (options.ssl !== undefined) config.ssl = options.ssl
  if (options.password !== undefined) config.password = options.password

  if (url === undefined) {
    if (options.host !== undefined) config.host = options.host
    if (options.port !== undefined) config.port = options.port
    if (options.database !== undefined) config.database = options.database
    if (options.user !== undefined) config.user = options.user
    return config
  }

  if (options.host !== undefined) url.hostname = options.host
  if (options.port !== undefined) url.port = String(options.port)
  if (options.database !== undefined) url.pathname = `/${encodeURIComponent(options.database)}`
  if (options.user !== undefined) url.username = encodeURIComponent(options.user)
  // A password given separately (a string or a rotating-token function) replaces the URL's.
  if (options.password !== undefined) url.password = ''
  if (options.applicationName !== undefined) url.searchParams.delete('application_name')
  if (options.ssl !== undefined) {
    for (const key of ['ssl', 'sslmode', 'sslcert', 'sslkey', 'sslrootcert']) url.searchParams.delete(key)
  }
  // The URL's own `options` would replace ours in pg: merge them, ours first so the user's can refine them.
  const userOptions = url.searchParams.get('options')
  if (userOptions !== null) {
    url.searchParams.delete('options')
    config.options = `${SESSION_OPTIONS} ${userOptions}`
  }
  config.connectionString = url.toString()
  return config
}
