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
import postgres from 'postgres'
import type { PostgresJsFactory, PostgresJsOptions } from './postgres-js-client'
import { postgresJsTypes } from './types-option'

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
  pool?: ProviderPoolOptions
  /** How int8, numeric, date, timestamp, bytea and interval read (see `@tessera/converter`). Default: the converter's defaults. */
  types?: TypePolicies
  /** User enum type names (`'mood'`, `'app.status'`) whose arrays should read as `string[]`. Default: none. */
  enums?: readonly string[]
  /**
   * Creates the postgres.js instance: `postgres` itself or a compatible factory (an instrumented wrapper, another
   * copy of the driver). Called with the connection string and the mapped options. Default: `postgres`.
   * @example createPostgresJsProvider({ connectionString, sql: (url, options) => postgres(url, { ...options, debug: log }) })
   */
  sql?: PostgresJsFactory
  /** Names the provider in logs and diagnostics. Default: `'postgres.js'`. */
  name?: string
  /** Include parameter values in `tessera:query` diagnostics messages (they may hold personal data). Default: `false`. */
  diagnosticsIncludeParams?: boolean
}

/** The options with every default filled in and the driver options built. */
export interface ResolvedPostgresJsOptions {
  name: string
  factory: PostgresJsFactory
  url: string | undefined
  driverOptions: PostgresJsOptions
  registry: TypeRegistry
  pool: Required<ProviderPoolOptions>
  prepare: boolean
  hooks: ComposedHooks
  logger: Logger | undefined
  retryPolicy: RetryPolicy | false
  retry: ResolvedRetryPolicy | false
  diagnosticsIncludeParams: boolean
  host: string | undefined
  port: number | undefined
  database: string | undefined
}

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
  'sql',
  'name',
  'diagnosticsIncludeParams',
])

const POOL_DEFAULTS: Required<ProviderPoolOptions> = {
  min: 0,
  max: 10,
  acquireTimeoutMs: 30_000,
  idleTimeoutMs: 30_000,
  maxLifetimeMs: 0,
  leakDetectionMs: 0,
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

/** Checks every option and builds postgres.js' options. Throws one {@link ConfigError} listing every problem. */
export function resolvePostgresJsOptions(options: PostgresJsProviderOptions): ResolvedPostgresJsOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(`expected an options object, got ${describeValue(options)}`, { subject: 'postgres.js provider options' })
  }
  const problems: string[] = []
  const record = options as unknown as Record<string, unknown>
  for (const key of Object.keys(record)) {
    if (!KNOWN_OPTIONS.has(key)) problems.push(`unknown option ${JSON.stringify(key)}; accepted: ${[...KNOWN_OPTIONS].join(', ')}`)
  }
  for (const key of ['connectionString', 'host', 'database', 'user', 'applicationName', 'name']) {
    const value = record[key]
    if (value !== undefined && (typeof value !== 'string' || value.length === 0)) {
      problems.push(`${key} must be a non-empty string, got ${describeValue(value)}`)
    }
  }
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
  if (options.sql !== undefined && typeof options.sql !== 'function') {
    problems.push(`sql must be a function creating a postgres.js instance, such as postgres, got ${describeValue(options.sql)}`)
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

  const target = resolveTarget(options, problems)
  if (problems.length > 0) throw new ConfigError(problems, { subject: 'postgres.js provider options' })

  const prepare = options.prepare ?? true
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
    // postgres.js learns array OIDs on each new connection; it skips every array type the registry already covers.
    // (`fetch_types: false` would save that query, but postgres.js 3.4.9's `reserve()` then never resolves when it
    // has to open the connection.)
    fetch_types: true,
    types: postgresJsTypes(registry!),
    connection,
  }
  if (options.host !== undefined) driverOptions.host = options.host
  if (options.port !== undefined) driverOptions.port = options.port
  if (options.database !== undefined) driverOptions.database = options.database
  if (options.user !== undefined) driverOptions.user = options.user
  if (options.password !== undefined) driverOptions.password = options.password
  if (options.ssl !== undefined) driverOptions.ssl = options.ssl

  return {
    name: options.name ?? 'postgres.js',
    factory: options.sql ?? (postgres as unknown as PostgresJsFactory),
    url: target.url,
    driverOptions,
    registry: registry!,
    pool,
    prepare,
    hooks: hooks!,
    logger: options.logger,
    retryPolicy: options.retry === false ? false : (options.retry ?? {}),
    retry,
    diagnosticsIncludeParams: options.diagnosticsIncludeParams ?? false,
    host: target.host,
    port: target.port,
    database: target.database,
  }
}

function resolvePool(value: ProviderPoolOptions | undefined, problems: string[]): Required<ProviderPoolOptions> {
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
  for (const key of ['min', 'max'] as const) {
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

interface Target {
  url: string | undefined
  host: string | undefined
  port: number | undefined
  database: string | undefined
}

/**
 * The connection string for postgres.js. postgres.js already lets separate fields win over the URL; only the URL's
 * `application_name` would win over `applicationName`, so it is removed when both are given.
 */
function resolveTarget(options: PostgresJsProviderOptions, problems: string[]): Target {
  const target: Target = { url: undefined, host: options.host, port: options.port, database: options.database }
  if (typeof options.connectionString !== 'string') return target
  let url: URL
  try {
    url = new URL(options.connectionString)
  } catch {
    problems.push('connectionString is not a valid URL; accepted: postgres://user:password@host:port/database?sslmode=…')
    return target
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    problems.push(`connectionString must start with postgres:// or postgresql://, got ${JSON.stringify(url.protocol)}`)
  }
  if (options.applicationName !== undefined) url.searchParams.delete('application_name')
  if (options.ssl !== undefined) for (const key of ['ssl', 'sslmode']) url.searchParams.delete(key)
  target.url = url.toString()
  target.host ??= url.hostname === '' ? undefined : decodeURIComponent(url.hostname)
  target.port ??= url.port === '' ? undefined : Number(url.port)
  target.database ??= url.pathname.length > 1 ? decodeURIComponent(url.pathname.slice(1)) : undefined
  return target
}
