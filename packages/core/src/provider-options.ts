import { type ConnectionSettings, resolveConnectionSettings } from './connection-settings'
import type { Logger, Notice, ProviderOptions, ProviderPoolOptions } from './contracts'
import { ConfigError, describeValue, isTesseraError } from './errors'
import { type ComposedHooks, composeHooks, type Hooks } from './hooks'
import { DatabaseError, mapPgError } from './pg-errors'
import { type ResolvedRetryPolicy, type RetryPolicy, resolveRetryPolicy } from './retry'

/** The shared `pool` defaults every provider starts from. */
export const PROVIDER_POOL_DEFAULTS: Readonly<Required<ProviderPoolOptions>> = Object.freeze({
  min: 0,
  max: 10,
  acquireTimeoutMs: 30_000,
  idleTimeoutMs: 30_000,
  maxLifetimeMs: 0,
  leakDetectionMs: 0,
})

/** The option names of {@link ProviderOptions}, in the order a `ConfigError` lists them as accepted. */
const SHARED_OPTIONS = [
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
  'onNotice',
  'retry',
  'columnNames',
] as const

/** Options every Tessera provider adds to {@link ProviderOptions}, with the same meaning everywhere. */
const COMMON_PROVIDER_OPTIONS = ['name', 'diagnosticsIncludeParams'] as const

const LOGGER_METHODS = ['debug', 'info', 'warn', 'error'] as const

/** What {@link resolveProviderOptions} needs to know about one provider. */
export interface ProviderOptionsSpec<Pool extends ProviderPoolOptions> {
  /** The driver's name: the default `name`, and the subject of the `ConfigError` (`'pg provider options'`). */
  driver: string
  /** The driver's own option names (`['types', 'enums', 'Client']`): accepted besides the shared ones. */
  driverOptions: readonly string[]
  /** Every pool field with its default, driver fields included (`{ ...PROVIDER_POOL_DEFAULTS, maxUses: 0 }`). */
  poolDefaults: Readonly<Required<Pool>>
  /** Driver pool fields that are whole counts ≥ 0 (`['maxUses']`); the others are checked as durations in ms. */
  poolCounts?: readonly string[] | undefined
  /** Checks the driver's own options, pushing one message per problem. Runs after the shared scalar options. */
  checkDriverOptions?(problems: string[]): void
}

/**
 * The shared options, checked and with every default filled in. `connection` is where and how to connect, resolved
 * as libpq does from the options, the connection string and the `PG*` environment variables: the provider connects
 * from it alone, never handing its driver the connection string or leaving it to read the environment. `host`,
 * `port` and `database` are those of the first server to try (for diagnostics and hooks).
 */
export interface ResolvedProviderOptions<Pool extends ProviderPoolOptions = ProviderPoolOptions> {
  name: string
  pool: Required<Pool>
  prepare: boolean
  hooks: ComposedHooks
  logger: Logger | undefined
  /** Give it every notice the driver reports, as the driver reports it: see {@link createNoticeHandler}. */
  handleNotice: (driverNotice: unknown) => void
  retry: ResolvedRetryPolicy | false
  retryPolicy: RetryPolicy | false
  diagnosticsIncludeParams: boolean
  columnNames: ((column: string) => string) | undefined
  connection: ConnectionSettings
  /** The first server's host name, IP address or socket directory. */
  host: string
  port: number
  database: string
}

/** The shared options plus the two every provider adds. */
type CommonProviderOptions = ProviderOptions & {
  pool?: ProviderPoolOptions | undefined
  name?: string | undefined
  diagnosticsIncludeParams?: boolean | undefined
}

/**
 * For provider authors: checks the shared {@link ProviderOptions} fields (plus `name` and `diagnosticsIncludeParams`)
 * and fills in their defaults. The provider checks its own fields in `spec.checkDriverOptions`; every problem, the
 * shared and the driver's, is thrown in one {@link ConfigError} naming `'<driver> provider options'`.
 *
 * @throws ConfigError listing every invalid option.
 * @example
 * const shared = resolveProviderOptions(options, {
 *   driver: 'pg',
 *   driverOptions: ['Client'],
 *   poolDefaults: PROVIDER_POOL_DEFAULTS,
 *   checkDriverOptions(problems) {
 *     if (options.Client !== undefined && typeof options.Client !== 'function') problems.push('Client must be a class')
 *   },
 * })
 */
export function resolveProviderOptions<Pool extends ProviderPoolOptions>(
  options: CommonProviderOptions,
  spec: ProviderOptionsSpec<Pool>,
): ResolvedProviderOptions<Pool> {
  const subject = `${spec.driver} provider options`
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(`expected an options object, got ${describeValue(options)}`, { subject })
  }
  const problems: string[] = []
  const record = options as unknown as Record<string, unknown>
  const known = [...SHARED_OPTIONS, ...spec.driverOptions, ...COMMON_PROVIDER_OPTIONS]
  for (const key of Object.keys(record)) {
    if (!known.includes(key)) problems.push(`unknown option ${JSON.stringify(key)}; accepted: ${known.join(', ')}`)
  }
  checkScalars(options, record, problems)
  spec.checkDriverOptions?.(problems)
  if (options.diagnosticsIncludeParams !== undefined && typeof options.diagnosticsIncludeParams !== 'boolean') {
    problems.push(`diagnosticsIncludeParams must be true or false, got ${describeValue(options.diagnosticsIncludeParams)}`)
  }
  checkLogger(options.logger, problems)
  if (options.columnNames !== undefined && typeof options.columnNames !== 'function') {
    problems.push(`columnNames must be a function (column) => name, such as toCamel, got ${describeValue(options.columnNames)}`)
  }
  if (options.onNotice !== undefined && typeof options.onNotice !== 'function') {
    problems.push(`onNotice must be a function receiving each notice, got ${describeValue(options.onNotice)}`)
  }

  const pool = resolvePool(options.pool as Pool | undefined, spec, problems)

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

  const connection = resolveConnectionSettings(options, problems)
  if (problems.length > 0 || connection === undefined) throw new ConfigError(problems, { subject })
  const first = connection.targets[0]!

  return {
    name: options.name ?? defaultPoolName(first.host, first.port, connection.database),
    pool,
    prepare: options.prepare ?? true,
    hooks: hooks!,
    logger: options.logger,
    handleNotice: createNoticeHandler(options.onNotice, options.logger),
    retry,
    retryPolicy: options.retry === false ? false : (options.retry ?? {}),
    diagnosticsIncludeParams: options.diagnosticsIncludeParams ?? false,
    columnNames: options.columnNames,
    connection,
    host: first.host,
    port: first.port,
    database: connection.database,
  }
}

/**
 * For provider authors: a notice as either driver reports it (pg's `NoticeMessage` from the client's `'notice'`
 * event, the object postgres.js hands its `onnotice` option) as a {@link Notice}. The fields are read by
 * `mapPgError`, so a notice and an error carrying the same server fields read the same.
 */
export function toNotice(driverNotice: unknown): Notice {
  const mapped = mapPgError(driverNotice)
  const record = (typeof driverNotice === 'object' && driverNotice !== null ? driverNotice : {}) as Record<string, unknown>
  // mapPgError reads every server field into a DatabaseError. Its other answers (no SQLSTATE, or a message it takes
  // for a network failure) carry none of the notice's fields: the notice then keeps its bare code and message.
  const code = textOf(record.code)
  const fields: Partial<DatabaseError> = mapped instanceof DatabaseError && mapped.sqlState === code ? mapped : {}
  return {
    severity: fields.severity ?? textOf(record.severity),
    code: code ?? '00000',
    message: textOf(record.message) ?? mapped.message,
    detail: fields.detail,
    hint: fields.hint,
    position: fields.position,
    internalPosition: fields.internalPosition,
    internalQuery: fields.internalQuery,
    where: fields.where,
    schema: fields.schema,
    table: fields.table,
    column: fields.column,
    dataType: fields.dataType,
    constraint: fields.constraint,
    file: fields.file,
    line: fields.line,
    routine: fields.routine,
  }
}

/**
 * For provider authors: what to do with each notice the driver reports. With `onNotice`, it receives the
 * {@link Notice} (what it throws is logged at error, never thrown into the driver); without it, the notice goes to
 * `logger.debug`.
 */
export function createNoticeHandler(
  onNotice: ((notice: Notice) => void) | undefined,
  logger: Logger | undefined,
): (driverNotice: unknown) => void {
  if (onNotice === undefined) {
    return (driverNotice) => {
      if (logger === undefined) return
      const notice = toNotice(driverNotice)
      logger.debug({ notice }, `PostgreSQL ${notice.severity ?? 'notice'}: ${notice.message}`)
    }
  }
  return (driverNotice) => {
    const notice = toNotice(driverNotice)
    try {
      onNotice(notice)
    } catch (error) {
      logger?.error({ err: error, notice }, 'onNotice threw')
    }
  }
}

function textOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}

/**
 * For provider authors: an option's problems, each prefixed with the option's name, from the error a nested check
 * threw (a `ConfigError` contributes every one of its problems).
 */
export function problemsOf(error: unknown, prefix: string): string[] {
  if (error instanceof ConfigError) return error.problems.map((problem) => `${prefix}: ${problem}`)
  if (isTesseraError(error) || error instanceof Error) return [`${prefix}: ${error.message}`]
  return [`${prefix}: ${describeValue(error)}`]
}

/** A whole number ≥ 0 (a count, or whole milliseconds). */
export function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0
}

/** A finite number ≥ 0 (a duration in milliseconds). */
export function isDuration(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0
}

function checkScalars(options: CommonProviderOptions, record: Record<string, unknown>, problems: string[]): void {
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
}

function checkLogger(logger: unknown, problems: string[]): void {
  if (logger === undefined) return
  if (typeof logger !== 'object' || logger === null) {
    problems.push(`logger must be an object with debug, info, warn and error, got ${describeValue(logger)}`)
    return
  }
  const missing = LOGGER_METHODS.filter((method) => typeof (logger as Record<string, unknown>)[method] !== 'function')
  if (missing.length > 0) problems.push(`logger lacks ${missing.join(', ')}; pino, console and winston loggers have all four`)
}

const POOL_DURATIONS = ['acquireTimeoutMs', 'idleTimeoutMs', 'maxLifetimeMs', 'leakDetectionMs']

function resolvePool<Pool extends ProviderPoolOptions>(
  value: Pool | undefined,
  spec: ProviderOptionsSpec<Pool>,
  problems: string[],
): Required<Pool> {
  const resolved = { ...spec.poolDefaults } as Required<Pool>
  if (value === undefined) return resolved
  if (typeof value !== 'object' || value === null) {
    problems.push(`pool must be an object like { max: 10 }, got ${describeValue(value)}`)
    return resolved
  }
  const record = value as unknown as Record<string, unknown>
  const target = resolved as unknown as Record<string, number>
  for (const key of Object.keys(record)) {
    if (!(key in spec.poolDefaults)) problems.push(`unknown option pool.${key}; accepted: ${Object.keys(spec.poolDefaults).join(', ')}`)
  }
  for (const key of ['min', 'max', ...(spec.poolCounts ?? [])]) {
    const entry = record[key]
    if (entry === undefined) continue
    if (!isCount(entry) || (key === 'max' && entry < 1))
      problems.push(`pool.${key} must be an integer ≥ ${key === 'max' ? 1 : 0}, got ${describeValue(entry)}`)
    else target[key] = entry
  }
  for (const key of POOL_DURATIONS) {
    const entry = record[key]
    if (entry === undefined) continue
    if (!isDuration(entry)) problems.push(`pool.${key} must be a finite number of ms ≥ 0, got ${describeValue(entry)}`)
    else target[key] = entry
  }
  const { min, max } = resolved as Required<ProviderPoolOptions>
  if (min > max) problems.push(`pool.min (${min}) must not exceed pool.max (${max})`)
  return resolved
}

/**
 * The pool name a provider gets without a `name` option: `host:port/database` of the first server, so two pools of
 * one process are told apart in diagnostics and metrics without configuration.
 */
export function defaultPoolName(host: string, port: number, database: string): string {
  return `${host}:${port}/${database}`
}
