import { type TypePolicies, type TypeRegistry, typeRegistryFromOptions } from '@tessera/converter'
import { type ConnectionSettings, describeValue, isCount, type ProviderOptions, type ProviderPoolOptions } from '@tessera/core'
import { type ConnectAttempt, PROVIDER_POOL_DEFAULTS, type ResolvedProviderOptions, resolveProviderOptions } from '@tessera/core/driver'
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
  /** Names the provider's pool in errors, diagnostics and metrics. Default: `host:port/database` of the first server. */
  name?: string | undefined
  /** Include parameter values in `tessera:query` diagnostics messages (they may hold personal data). Default: `false`. */
  diagnosticsIncludeParams?: boolean | undefined
}

/** The options with every default filled in and the driver config built. */
export interface ResolvedPgOptions extends ResolvedProviderOptions<PgPoolOptions> {
  Client: PgClientConstructor
  /**
   * The client config for the first connection attempt (the first server, TLS as its sslmode tries first).
   * `pgClientConfigFor` gives the config of any other attempt.
   */
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
  return {
    ...shared,
    Client: withNoticeHandler(options.Client ?? pg.Client, shared.handleNotice),
    clientConfig: buildClientConfig(options, shared.connection),
    registry: registry!,
    enums: options.enums ?? [],
    preparedStatementCacheSize: options.preparedStatementCacheSize ?? 100,
  }
}

/**
 * Builds pg's client config from the resolved connection settings. pg is never given the connection string and
 * every field is set, so pg neither parses the string its own way nor reads the environment: the settings alone say
 * where and how it connects (`connectPgClient` then sets host, port and TLS per attempt).
 */
function buildClientConfig(options: PgProviderOptions, connection: ConnectionSettings): PgClientConfig {
  const config: PgClientConfig = {
    types: { getTypeParser: () => (text: string) => text },
    pipeline: true,
    database: connection.database,
    user: connection.user,
    application_name: connection.applicationName,
    options: startupOptions(connection),
    connectionTimeoutMillis: connection.connectTimeoutMs,
  }
  if (options.statementTimeoutMs !== undefined && options.statementTimeoutMs > 0) config.statement_timeout = options.statementTimeoutMs
  if (connection.password !== undefined) config.password = connection.password
  const first = connection.targets[0]!
  return pgClientConfigFor(config, connection, {
    target: first,
    tls: first.socketPath === undefined && connection.sslMode !== 'disable' && connection.sslMode !== 'allow',
  })
}

/** The client config of one connection attempt: its server, and TLS with the resolved settings or none. */
export function pgClientConfigFor(config: PgClientConfig, connection: ConnectionSettings, attempt: ConnectAttempt): PgClientConfig {
  return { ...config, host: attempt.target.host, port: attempt.target.port, ssl: attempt.tls ? { ...connection.tls } : false }
}

/**
 * The startup `options`: the session settings the converter needs, then libpq's `options` (the parameter or
 * `PGOPTIONS`), then the connection string's other parameters as `-c name=value`; a later setting wins.
 */
function startupOptions(connection: ConnectionSettings): string {
  const parts = [SESSION_OPTIONS]
  if (connection.options !== undefined && connection.options.trim() !== '') parts.push(connection.options)
  for (const [name, value] of Object.entries(connection.serverSettings)) parts.push(`-c ${escapeOption(name)}=${escapeOption(value)}`)
  return parts.join(' ')
}

/** The server splits `options` at whitespace; a backslash keeps the next character (a space, a backslash). */
function escapeOption(text: string): string {
  return text.replace(/[\\\s]/g, (character) => `\\${character}`)
}
