import { createTypeRegistry, type TypePolicies, type TypeRegistry } from '@tessera/converter'
import {
  type ComposedHooks,
  ConfigError,
  composeHooks,
  describeValue,
  type Hooks,
  isTesseraError,
  type Logger,
  type ProviderOptions,
  type ProviderPoolOptions,
  type ResolvedRetryPolicy,
  type RetryPolicy,
  resolveRetryPolicy,
} from '@tessera/core'
import pg from 'pg'
import type { PgClientConfig, PgClientConstructor } from './pg-client'

/** Pool settings: the shared ones plus `maxUses`. */
export interface PgPoolOptions extends ProviderPoolOptions {
  /** A connection that served this many checkouts is closed and replaced. Default: `0` (no limit). */
  maxUses?: number
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
  pool?: PgPoolOptions
  /** How int8, numeric, date, timestamp, bytea and interval read (see `@tessera/converter`). Default: the converter's defaults. */
  types?: TypePolicies
  /** User enum type names (`'mood'`, `'app.status'`) whose arrays should read as `string[]`. Default: none. */
  enums?: readonly string[]
  /**
   * Named prepared statements kept per connection (least recently used is `DEALLOCATE`d beyond it).
   * `0` disables automatic preparation like `prepare: false`. Default: `100`.
   */
  preparedStatementCacheSize?: number
  /** The client class: `pg.Client` or a compatible one (a subclass, an instrumented wrapper). Default: `pg.Client`. */
  Client?: PgClientConstructor
  /** Names the provider's pool in errors and diagnostics. Default: `'pg'`. */
  name?: string
  /** Include parameter values in `tessera:query` diagnostics messages (they may hold personal data). Default: `false`. */
  diagnosticsIncludeParams?: boolean
}

/** The options with every default filled in and the driver config built. */
export interface ResolvedPgOptions {
  name: string
  Client: PgClientConstructor
  clientConfig: PgClientConfig
  registry: TypeRegistry
  enums: readonly string[]
  pool: Required<PgPoolOptions>
  prepare: boolean
  preparedStatementCacheSize: number
  hooks: ComposedHooks
  logger: Logger | undefined
  retry: ResolvedRetryPolicy | false
  retryPolicy: RetryPolicy | false
  diagnosticsIncludeParams: boolean
  host: string | undefined
  port: number | undefined
  database: string | undefined
}

/** Settings the converter relies on: ISO dates, the `postgres` interval style, UTF-8 text. */
export const SESSION_OPTIONS = '-c DateStyle=ISO -c IntervalStyle=postgres -c client_encoding=UTF8'

const KNOWN_OPTIONS = new Set([
  'connectionString',
  'host',
  'port',
  'database',
  'user',
  'password',
  'ssl',
  'applicationName',
  'connectTimeoutMs',
  'pool',
  'statementTimeoutMs',
  'prepare',
  'hooks',
  'logger',
  'retry',
  'types',
  'enums',
  'preparedStatementCacheSize',
  'Client',
  'name',
  'diagnosticsIncludeParams',
])

const POOL_DEFAULTS: Required<PgPoolOptions> = {
  min: 0,
  max: 10,
  acquireTimeoutMs: 30_000,
  idleTimeoutMs: 30_000,
  maxLifetimeMs: 0,
  leakDetectionMs: 0,
  maxUses: 0,
}

const LOGGER_METHODS = ['debug', 'info', 'warn', 'error'] as const

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0
}

function isDuration(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0
}

function problemsOf(error: unknown, prefix: string): string[] {
  if (error instanceof ConfigError) return error.problems.map((problem) => `${prefix}: ${problem}`)
  if (isTesseraError(error) || error instanceof Error) return [`${prefix}: ${error.message}`]
  return [`${prefix}: ${describeValue(error)}`]
}

/**
 * Checks every option and builds the driver config. Throws one {@link ConfigError} listing every problem.
 */
export function resolvePgOptions(options: PgProviderOptions): ResolvedPgOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(`expected an options object, got ${describeValue(options)}`, { subject: 'pg provider options' })
  }
  const problems: string[] = []
  const record = options as unknown as Record<string, unknown>
  for (const key of Object.keys(record)) {
    if (!KNOWN_OPTIONS.has(key)) problems.push(`unknown option ${JSON.stringify(key)}; accepted: ${[...KNOWN_OPTIONS].join(', ')}`)
  }

  const optionalString = (key: string) => {
    const value = record[key]
    if (value !== undefined && (typeof value !== 'string' || value.length === 0)) {
      problems.push(`${key} must be a non-empty string, got ${describeValue(value)}`)
    }
  }
  for (const key of ['connectionString', 'host', 'database', 'user', 'applicationName', 'name']) optionalString(key)
  if (options.port !== undefined && !(Number.isInteger(options.port) && options.port >= 1 && options.port <= 65_535)) {
    problems.push(`port must be an integer from 1 to 65535, got ${describeValue(options.port)}`)
  }
  if (options.password !== undefined && typeof options.password !== 'string' && typeof options.password !== 'function') {
    problems.push(`password must be a string or a function returning one, got ${describeValue(options.password)}`)
  }
  if (options.ssl !== undefined && typeof options.ssl !== 'boolean' && (typeof options.ssl !== 'object' || options.ssl === null)) {
    problems.push(`ssl must be true, false or a TLS options object, got ${describeValue(options.ssl)}`)
  }
  if (options.connectTimeoutMs !== undefined && !isDuration(options.connectTimeoutMs)) {
    problems.push(`connectTimeoutMs must be a finite number of ms ≥ 0, got ${describeValue(options.connectTimeoutMs)}`)
  }
  if (options.statementTimeoutMs !== undefined && !isCount(options.statementTimeoutMs)) {
    problems.push(`statementTimeoutMs must be a whole number of ms ≥ 0, got ${describeValue(options.statementTimeoutMs)}`)
  }
  if (options.prepare !== undefined && typeof options.prepare !== 'boolean') {
    problems.push(`prepare must be true or false, got ${describeValue(options.prepare)}`)
  }
  if (options.preparedStatementCacheSize !== undefined && !isCount(options.preparedStatementCacheSize)) {
    problems.push(`preparedStatementCacheSize must be an integer ≥ 0, got ${describeValue(options.preparedStatementCacheSize)}`)
  }
  if (options.Client !== undefined && typeof options.Client !== 'function') {
    problems.push(`Client must be a client class such as pg.Client, got ${describeValue(options.Client)}`)
  }
  if (options.diagnosticsIncludeParams !== undefined && typeof options.diagnosticsIncludeParams !== 'boolean') {
    problems.push(`diagnosticsIncludeParams must be true or false, got ${describeValue(options.diagnosticsIncludeParams)}`)
  }
  if (options.logger !== undefined) {
    const logger = options.logger as unknown
    if (typeof logger !== 'object' || logger === null)
      problems.push(`logger must be an object with debug, info, warn and error, got ${describeValue(logger)}`)
    else {
      const missing = LOGGER_METHODS.filter((method) => typeof (logger as Record<string, unknown>)[method] !== 'function')
      if (missing.length > 0) problems.push(`logger lacks ${missing.join(', ')}; pino, console and winston loggers have all four`)
    }
  }
  if (
    options.enums !== undefined &&
    !(Array.isArray(options.enums) && options.enums.every((name) => typeof name === 'string' && name.length > 0))
  ) {
    problems.push(`enums must be an array of type names such as ['mood'], got ${describeValue(options.enums)}`)
  }

  const pool = resolvePool(options.pool, problems)

  let registry: TypeRegistry | undefined
  try {
    registry = createTypeRegistry(options.types)
    for (const name of options.enums ?? []) registry.registerEnum(name)
  } catch (error) {
    problems.push(...problemsOf(error, 'types'))
  }

  let hooks: ComposedHooks | undefined
  try {
    const list = options.hooks === undefined ? [] : Array.isArray(options.hooks) ? options.hooks : [options.hooks as Hooks]
    hooks = composeHooks(list)
  } catch (error) {
    problems.push(...problemsOf(error, 'hooks'))
  }

  let retry: ResolvedRetryPolicy | false = false
  if (options.retry !== false) {
    try {
      retry = resolveRetryPolicy(options.retry ?? {})
    } catch (error) {
      problems.push(...problemsOf(error, 'retry'))
    }
  }

  const connection = buildConnection(options, problems)

  if (problems.length > 0) throw new ConfigError(problems, { subject: 'pg provider options' })

  return {
    name: options.name ?? 'pg',
    Client: options.Client ?? pg.Client,
    clientConfig: connection.config,
    registry: registry!,
    enums: options.enums ?? [],
    pool,
    prepare: options.prepare ?? true,
    preparedStatementCacheSize: options.preparedStatementCacheSize ?? 100,
    hooks: hooks!,
    logger: options.logger,
    retry,
    retryPolicy: options.retry === false ? false : (options.retry ?? {}),
    diagnosticsIncludeParams: options.diagnosticsIncludeParams ?? false,
    host: connection.host,
    port: connection.port,
    database: connection.database,
  }
}

function resolvePool(value: PgPoolOptions | undefined, problems: string[]): Required<PgPoolOptions> {
  const resolved = { ...POOL_DEFAULTS }
  if (value === undefined) return resolved
  if (typeof value !== 'object' || value === null) {
    problems.push(`pool must be an object like { max: 10 }, got ${describeValue(value)}`)
    return resolved
  }
  const record = value as unknown as Record<string, unknown>
  for (const key of Object.keys(record)) {
    if (!(key in POOL_DEFAULTS)) problems.push(`unknown option pool.${key}; accepted: ${Object.keys(POOL_DEFAULTS).join(', ')}`)
  }
  for (const key of ['min', 'max', 'maxUses'] as const) {
    const entry = record[key]
    if (entry === undefined) continue
    if (!isCount(entry) || (key === 'max' && entry < 1))
      problems.push(`pool.${key} must be an integer ≥ ${key === 'max' ? 1 : 0}, got ${describeValue(entry)}`)
    else resolved[key] = entry
  }
  for (const key of ['acquireTimeoutMs', 'idleTimeoutMs', 'maxLifetimeMs', 'leakDetectionMs'] as const) {
    const entry = record[key]
    if (entry === undefined) continue
    if (!isDuration(entry)) problems.push(`pool.${key} must be a finite number of ms ≥ 0, got ${describeValue(entry)}`)
    else resolved[key] = entry
  }
  if (resolved.min > resolved.max) problems.push(`pool.min (${resolved.min}) must not exceed pool.max (${resolved.max})`)
  return resolved
}

interface BuiltConnection {
  config: PgClientConfig
  host: string | undefined
  port: number | undefined
  database: string | undefined
}

/**
 * Builds pg's client config. pg lets a connection string override separate fields; Tessera documents the
 * opposite (separate fields win), so the fields are written into the URL instead of next to it.
 */
function buildConnection(options: PgProviderOptions, problems: string[]): BuiltConnection {
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
  let host = options.host
  let port = options.port
  let database = options.database

  if (options.connectionString === undefined || typeof options.connectionString !== 'string') {
    if (options.host !== undefined) config.host = options.host
    if (options.port !== undefined) config.port = options.port
    if (options.database !== undefined) config.database = options.database
    if (options.user !== undefined) config.user = options.user
    return { config, host, port, database }
  }

  let url: URL
  try {
    url = new URL(options.connectionString)
  } catch {
    problems.push('connectionString is not a valid URL; accepted: postgres://user:password@host:port/database?sslmode=…')
    return { config, host, port, database }
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    problems.push(`connectionString must start with postgres:// or postgresql://, got ${JSON.stringify(url.protocol)}`)
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
  host ??= url.hostname === '' ? undefined : decodeURIComponent(url.hostname)
  port ??= url.port === '' ? undefined : Number(url.port)
  database ??= url.pathname.length > 1 ? decodeURIComponent(url.pathname.slice(1)) : undefined
  return { config, host, port, database }
}
