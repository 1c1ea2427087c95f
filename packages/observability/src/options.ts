import type { MeterProvider, TracerProvider } from '@opentelemetry/api'
import { ConfigError, type Queryable } from '@tessera/core'

/** A pino-compatible logger: each method takes an object of fields, then a message. */
export interface InstrumentLogger {
  debug?(fields: object, message: string): void
  info(fields: object, message: string): void
  warn(fields: object, message: string): void
  error?(fields: object, message: string): void
}

/** The packages whose channels {@link instrument} can watch. */
export type WatchedPackage = 'provider' | 'pool' | 'cache' | 'cluster' | 'dynamo' | 'breaker'

/** All of them: the default of `watch`. */
export const ALL_PACKAGES: readonly WatchedPackage[] = ['provider', 'pool', 'cache', 'cluster', 'dynamo', 'breaker']

/** `EXPLAIN (FORMAT JSON)` of slow statements, on a connection of its own. */
export interface ExplainOptions {
  /**
   * Runs the `EXPLAIN`: give it a provider of its own (`max: 1` is plenty), so a plan never waits behind, or takes a
   * connection from, the traffic it explains. Its statements are not traced.
   */
  provider: Queryable
  /** At most one plan per this many ms. Default: `60_000`. */
  minIntervalMs?: number | undefined
}

/** Options of {@link instrument}. */
export interface InstrumentOptions {
  /** Where spans go. Default: the global tracer provider (`trace.getTracerProvider()`), looked up at first use. */
  tracerProvider?: TracerProvider | undefined
  /**
   * Where metrics go. Default: the global meter provider, looked up at each recording until one is registered (the
   * API hands out a no-op meter for good if asked before the SDK registered).
   */
  meterProvider?: MeterProvider | undefined
  /** Receives slow-query and repeated-statement reports, with `trace_id` and `span_id`. Default: none. */
  logger?: InstrumentLogger | undefined
  /**
   * What goes into `db.query.text`: `'sanitized'` (every literal replaced by `?`), `'raw'` (the text as sent:
   * parameters are never included either way) or `false` (no text). Default: `'sanitized'`.
   */
  captureQueryText?: 'sanitized' | 'raw' | false | undefined
  /** Statements slower than this many ms are reported (logger, `onSlowQuery`, the dashboard). Default: `500`. */
  slowQueryMs?: number | undefined
  /** Called with each slow-query report. Default: none. */
  onSlowQuery?: ((report: SlowQueryReport) => void) | undefined
  /** Add `EXPLAIN (FORMAT JSON)` plans (never `ANALYZE`) to slow-query reports. Default: off. */
  explain?: ExplainOptions | undefined
  /**
   * The N+1 detector: a statement shape (its sanitized text) run more than this many times in one trace is reported
   * once (logger, `onRepeatedStatement`). `0` turns it off. Default: `10`.
   */
  repeatedStatementThreshold?: number | undefined
  /** Called when the N+1 detector fires. Default: none. */
  onRepeatedStatement?: ((report: RepeatedStatementReport) => void) | undefined
  /**
   * Append a SQLCommenter comment to statements sent through {@link Instrumentation.hooks}: `true` appends
   * `/*traceparent='…'*\/` of the sampled span in effect, so server logs and `pg_stat_activity` can be joined to the
   * trace (such a statement is sent unprepared); an object chooses the traceparent and fixed tags (see
   * {@link SqlCommenterOptions} and the README). Default: `false`.
   * @example
   * instrument({ sqlCommenter: { traceparent: false, tags: { application: 'shop' } } }) // stays prepared
   */
  sqlCommenter?: boolean | SqlCommenterOptions | undefined
  /** Which packages' channels to watch. Default: all of them. */
  watch?: readonly WatchedPackage[] | undefined
}

/** What the SQL commenter appends (`sqlCommenter: { … }`). */
export interface SqlCommenterOptions {
  /**
   * Append the W3C `traceparent` of the span in effect, when it is sampled (an unsampled trace is recorded nowhere, so
   * there is nothing to join). Makes the text differ per trace, so such a statement is sent unprepared. Default: `true`.
   */
  traceparent?: boolean | undefined
  /**
   * Fixed tags in every comment (`{ application: 'shop', db_driver: 'tessera' }`), serialized as SQLCommenter says
   * (keys sorted, values URL-encoded and quoted). They are the same for every call, so they keep a statement's text
   * stable: a statement carrying only tags stays prepared. Keep them low-cardinality (never an id). Default: none.
   */
  tags?: Readonly<Record<string, string>> | undefined
}

/** The SQL commenter as resolved: whether to add the traceparent, and the serialized tags (`''` for none). */
export interface ResolvedSqlCommenter {
  traceparent: boolean
  tags: string
}

/** A statement slower than `slowQueryMs`. */
export interface SlowQueryReport {
  durationMs: number
  /** The text with literals replaced by `?`. */
  sql: string
  /** `$n` placeholders in the text. */
  paramsCount: number
  /** Time spent waiting for a connection before it ran, ms (0 inside a transaction). */
  poolWaitMs: number
  pool: string | undefined
  /** The trace the statement belongs to; `undefined` without a recording span. */
  traceId: string | undefined
  spanId: string | undefined
  /** `error.type` when it failed. */
  error: string | undefined
  /** When the report was made (ms since the epoch). */
  at: number
  /** The `EXPLAIN (FORMAT JSON)` plan, when `explain` is set and the rate limit allowed one. */
  plan?: unknown
}

/** The same statement shape run more than `repeatedStatementThreshold` times in one trace. */
export interface RepeatedStatementReport {
  /** The sanitized text. */
  sql: string
  count: number
  traceId: string
}

/** Resolved options. */
export interface ResolvedInstrumentOptions {
  tracerProvider: TracerProvider | undefined
  meterProvider: MeterProvider | undefined
  logger: InstrumentLogger | undefined
  captureQueryText: 'sanitized' | 'raw' | false
  slowQueryMs: number
  onSlowQuery: ((report: SlowQueryReport) => void) | undefined
  explain: Required<ExplainOptions> | undefined
  repeatedStatementThreshold: number
  onRepeatedStatement: ((report: RepeatedStatementReport) => void) | undefined
  sqlCommenter: ResolvedSqlCommenter | undefined
  watch: ReadonlySet<WatchedPackage>
}

const KNOWN = [
  'tracerProvider',
  'meterProvider',
  'logger',
  'captureQueryText',
  'slowQueryMs',
  'onSlowQuery',
  'explain',
  'repeatedStatementThreshold',
  'onRepeatedStatement',
  'sqlCommenter',
  'watch',
]

/** SQLCommenter's value encoding: URL-encoded, then `'` escaped (encodeURIComponent leaves it, and `*`, as they are). */
function commenterValue(value: string): string {
  return `'${encodeURIComponent(value).replace(/'/g, "\\'")}'`
}

function resolveSqlCommenter(given: unknown, problems: string[]): ResolvedSqlCommenter | undefined {
  if (given === false) return undefined
  if (given === true) return { traceparent: true, tags: '' }
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    problems.push(`sqlCommenter must be true, false or { traceparent?, tags? }, got ${describe(given)}`)
    return undefined
  }
  const { traceparent = true, tags = {}, ...unknown } = given as SqlCommenterOptions
  for (const key of Object.keys(unknown))
    problems.push(`sqlCommenter has unknown option ${JSON.stringify(key)}; accepted: traceparent, tags`)
  if (typeof traceparent !== 'boolean') problems.push(`sqlCommenter.traceparent must be true or false, got ${describe(traceparent)}`)
  if (typeof tags !== 'object' || tags === null || Array.isArray(tags)) {
    problems.push(`sqlCommenter.tags must be an object of string values, got ${describe(tags)}`)
    return undefined
  }
  const parts: string[] = []
  for (const key of Object.keys(tags).sort()) {
    const value = (tags as Record<string, unknown>)[key]
    if (key === '' || key === 'traceparent') problems.push(`sqlCommenter.tags cannot have the key ${JSON.stringify(key)}`)
    else if (typeof value !== 'string') problems.push(`sqlCommenter.tags.${key} must be a string, got ${describe(value)}`)
    else parts.push(`${encodeURIComponent(key)}=${commenterValue(value)}`)
  }
  return { traceparent: traceparent === true, tags: parts.join(',') }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'function') return 'a function'
  if (Array.isArray(value)) return 'an array'
  if (value === null) return 'null'
  return typeof value === 'object' ? 'an object' : String(value)
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0
}

/** Checks every option (one {@link ConfigError} listing every problem) and fills in the defaults. */
export function resolveInstrumentOptions(options: InstrumentOptions | undefined): ResolvedInstrumentOptions {
  const given = options ?? {}
  if (typeof given !== 'object' || given === null) {
    throw new ConfigError(`expected an options object, got ${describe(given)}`, { subject: 'instrument options' })
  }
  const problems: string[] = []
  for (const key of Object.keys(given)) {
    if (!KNOWN.includes(key)) problems.push(`unknown option ${JSON.stringify(key)}; accepted: ${KNOWN.join(', ')}`)
  }
  const { captureQueryText = 'sanitized', slowQueryMs = 500, repeatedStatementThreshold = 10, sqlCommenter = false } = given
  if (captureQueryText !== 'sanitized' && captureQueryText !== 'raw' && captureQueryText !== false) {
    problems.push(`captureQueryText must be 'sanitized', 'raw' or false, got ${describe(captureQueryText)}`)
  }
  if (!isCount(slowQueryMs)) problems.push(`slowQueryMs must be a whole number of ms >= 0, got ${describe(slowQueryMs)}`)
  if (!isCount(repeatedStatementThreshold)) {
    problems.push(`repeatedStatementThreshold must be a whole number >= 0 (0 turns it off), got ${describe(repeatedStatementThreshold)}`)
  }
  const commenter = resolveSqlCommenter(sqlCommenter, problems)
  for (const name of ['onSlowQuery', 'onRepeatedStatement'] as const) {
    if (given[name] !== undefined && typeof given[name] !== 'function')
      problems.push(`${name} must be a function, got ${describe(given[name])}`)
  }
  const logger = given.logger
  if (
    logger !== undefined &&
    (typeof logger !== 'object' || logger === null || typeof logger.info !== 'function' || typeof logger.warn !== 'function')
  ) {
    problems.push(`logger must be a pino-compatible logger with info(fields, message) and warn(fields, message), got ${describe(logger)}`)
  }
  if (given.tracerProvider !== undefined && typeof given.tracerProvider?.getTracer !== 'function') {
    problems.push(`tracerProvider must have getTracer(), got ${describe(given.tracerProvider)}`)
  }
  if (given.meterProvider !== undefined && typeof given.meterProvider?.getMeter !== 'function') {
    problems.push(`meterProvider must have getMeter(), got ${describe(given.meterProvider)}`)
  }
  let explain: Required<ExplainOptions> | undefined
  if (given.explain !== undefined) {
    const { provider, minIntervalMs = 60_000 } = given.explain ?? ({} as ExplainOptions)
    if (typeof provider?.query !== 'function')
      problems.push(`explain.provider must be a provider (with query()), got ${describe(provider)}`)
    if (!isCount(minIntervalMs)) problems.push(`explain.minIntervalMs must be a whole number of ms >= 0, got ${describe(minIntervalMs)}`)
    explain = { provider, minIntervalMs }
  }
  const watch = given.watch ?? ALL_PACKAGES
  if (!Array.isArray(watch)) problems.push(`watch must be an array of ${ALL_PACKAGES.join(', ')}, got ${describe(watch)}`)
  else {
    for (const name of watch) {
      if (!ALL_PACKAGES.includes(name)) problems.push(`watch has ${describe(name)}; accepted: ${ALL_PACKAGES.join(', ')}`)
    }
  }
  if (problems.length > 0) throw new ConfigError(problems, { subject: 'instrument options' })
  return {
    tracerProvider: given.tracerProvider,
    meterProvider: given.meterProvider,
    logger,
    captureQueryText,
    slowQueryMs,
    onSlowQuery: given.onSlowQuery,
    explain,
    repeatedStatementThreshold,
    onRepeatedStatement: given.onRepeatedStatement,
    sqlCommenter: commenter,
    watch: new Set(watch),
  }
}
