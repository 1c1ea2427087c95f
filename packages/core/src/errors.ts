const BRAND = Symbol.for('tessera.error')

/** Options every Tessera error accepts. */
export interface TesseraErrorOptions {
  /** A stable machine-readable code, e.g. `CONFIG_INVALID` or a SQLSTATE such as `23505`. */
  code: string
  /** Whether running the same operation again may succeed. Default: `false`. */
  retryable?: boolean | undefined
  /** The error this one wraps (a driver error, a network error…). */
  cause?: unknown
}

/**
 * The base of every error any Tessera package throws. `instanceof` works across two copies of a package (an
 * ESM and a CJS build, two installed versions): see {@link TesseraError[Symbol.hasInstance]}.
 */
export class TesseraError extends Error {
  /**
   * `error instanceof UniqueViolationError` is true for an error built by this very class or a subclass, and also
   * for one built by the same-named class of another copy of Tessera (an ESM and a CJS build loaded side by side,
   * or two installed versions): the error must carry Tessera's brand, and its chain of class names from that
   * class up to `TesseraError` must be the same as this class's chain. So a `TimeoutError` from another copy
   * passes `instanceof TimeoutError` and `instanceof TesseraError`, and fails `instanceof DatabaseError`.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class right of `instanceof`, often a subclass
    return isInstanceAcrossCopies(this, value)
  }

  /** A stable code: SQLSTATE for database errors, a SCREAMING_SNAKE name otherwise. */
  readonly code: string
  /** Whether the operation may succeed if tried again. */
  readonly retryable: boolean

  constructor(message: string, options: TesseraErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = options.code
    this.retryable = options.retryable ?? false
    Object.defineProperty(this, BRAND, { value: true, enumerable: false })
  }

  /** A plain object for structured logs; the cause is summarised, never dropped. */
  toJSON(): Record<string, unknown> {
    const json: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(this)) json[key] = value
    json.name = this.name
    json.message = this.message
    json.code = this.code
    json.retryable = this.retryable
    if (this.cause !== undefined) json.cause = summarise(this.cause)
    return json
  }
}

function isInstanceAcrossCopies(asked: unknown, value: unknown): boolean {
  if (Function.prototype[Symbol.hasInstance].call(asked, value)) return true
  if (!isTesseraError(value)) return false
  const wanted = classNameChain(asked)
  if (wanted === undefined) return false
  for (let proto: unknown = Object.getPrototypeOf(value); proto !== null; proto = Object.getPrototypeOf(proto)) {
    const owner = Object.hasOwn(proto as object, 'constructor') ? (proto as { constructor: unknown }).constructor : undefined
    if (typeof owner !== 'function' || owner.name !== wanted[0]) continue
    return sameChain(classNameChain(owner), wanted)
  }
  return false
}

/**
 * The names of a class and its ancestors up to and including `TesseraError`, or `undefined` when the class does
 * not descend from a `TesseraError` (of any copy).
 */
function classNameChain(start: unknown): string[] | undefined {
  const names: string[] = []
  for (let current = start; typeof current === 'function'; current = Object.getPrototypeOf(current)) {
    names.push(current.name)
    if (current.name === 'TesseraError' && Object.hasOwn(current, Symbol.hasInstance)) return names
  }
  return undefined
}

function sameChain(found: string[] | undefined, wanted: string[]): boolean {
  return found !== undefined && found.length === wanted.length && found.every((name, index) => name === wanted[index])
}

function summarise(cause: unknown): unknown {
  if (isTesseraError(cause)) return cause.toJSON()
  if (cause instanceof Error) return { name: cause.name, message: cause.message }
  return cause
}

/** True for any error thrown by a Tessera package, even one from another copy of the package. */
export function isTesseraError(error: unknown): error is TesseraError {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[BRAND] === true
}

/** Invalid options or definitions. Lists every problem found, not only the first. */
export class ConfigError extends TesseraError {
  readonly problems: readonly string[]
  constructor(problems: string | readonly string[], options: { cause?: unknown; subject?: string | undefined } = {}) {
    const list = typeof problems === 'string' ? [problems] : [...problems]
    const head = options.subject ? `invalid ${options.subject}` : 'invalid configuration'
    const message =
      list.length === 1 ? `${head}: ${list[0]}` : `${head} (${list.length} problems):\n${list.map((p) => `  - ${p}`).join('\n')}`
    super(message, { code: 'CONFIG_INVALID', cause: options.cause })
    this.problems = list
  }
}

/** Details of a pool acquire that waited too long. */
export interface PoolTimeoutDetails {
  waitedMs: number
  inUse: number
  max: number
  pending: number
}

/** No resource became free before the acquire deadline. Retryable: the pool may have room later. */
export class PoolTimeoutError extends TesseraError {
  readonly waitedMs: number
  readonly inUse: number
  readonly max: number
  readonly pending: number
  constructor(details: PoolTimeoutDetails, options: { cause?: unknown } = {}) {
    super(
      `acquire timed out after ${details.waitedMs} ms (${details.inUse}/${details.max} connections in use, ${details.pending} waiting)`,
      { code: 'POOL_TIMEOUT', retryable: true, cause: options.cause },
    )
    this.waitedMs = details.waitedMs
    this.inUse = details.inUse
    this.max = details.max
    this.pending = details.pending
  }
}

/** A circuit breaker refused the call without trying it. */
export class CircuitOpenError extends TesseraError {
  readonly breaker: string
  readonly retryAfterMs: number
  constructor(details: { breaker: string; retryAfterMs: number }) {
    super(`circuit "${details.breaker}" is open; calls fail fast for another ${Math.max(0, Math.round(details.retryAfterMs))} ms`, {
      code: 'CIRCUIT_OPEN',
      retryable: true,
    })
    this.breaker = details.breaker
    this.retryAfterMs = details.retryAfterMs
  }
}

/** Describes a value for an error message without dumping megabytes or throwing on odd values. */
export function describeValue(value: unknown, maxLength = 80): string {
  let text: string
  try {
    if (typeof value === 'string') text = JSON.stringify(value)
    else if (typeof value === 'bigint') text = `${value}n`
    else if (typeof value === 'function') text = `[function ${value.name || 'anonymous'}]`
    else if (typeof value === 'symbol') text = value.toString()
    else if (value instanceof Date) text = Number.isNaN(value.getTime()) ? 'Invalid Date' : `Date(${value.toISOString()})`
    else if (value === undefined) text = 'undefined'
    else if (typeof value === 'object' && value !== null) text = JSON.stringify(value) ?? String(value)
    else text = String(value)
  } catch {
    text = Object.prototype.toString.call(value)
  }
  return text.length > maxLength ? `${text.slice(0, maxLength - 1)}…` : text
}

/** A value could not be converted to or from the requested type. */
export class ConversionError extends TesseraError {
  readonly value: unknown
  readonly target: string
  readonly position: number | undefined
  constructor(
    details: { value: unknown; target: string; reason?: string | undefined; position?: number | undefined; accepted?: string | undefined },
    options: { cause?: unknown } = {},
  ) {
    const where = details.position === undefined ? '' : ` (parameter $${details.position})`
    const why = details.reason ? `: ${details.reason}` : ''
    const accepted = details.accepted ? `; accepted: ${details.accepted}` : ''
    super(`cannot convert ${describeValue(details.value)} to ${details.target}${where}${why}${accepted}`, {
      code: 'CONVERSION_FAILED',
      cause: options.cause,
    })
    this.value = details.value
    this.target = details.target
    this.position = details.position
  }
}

/** One problem found by validation. */
export interface ValidationIssue {
  path: readonly (string | number)[]
  message: string
  value?: unknown
}

/** Input failed validation. Carries every issue, not only the first. */
export class ValidationError extends TesseraError {
  readonly issues: readonly ValidationIssue[]
  constructor(issues: readonly ValidationIssue[], options: { subject?: string | undefined; cause?: unknown } = {}) {
    const lines = issues.map((i) => `  - ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    super(`${options.subject ?? 'input'} is invalid (${issues.length} issue${issues.length === 1 ? '' : 's'}):\n${lines.join('\n')}`, {
      code: 'VALIDATION_FAILED',
      cause: options.cause,
    })
    this.issues = issues
  }
}

/**
 * A lookup that must find something found nothing: a repository's entity by key (`entity`, `key`), or a query that had
 * to return rows and returned none (`one`, `many`, `oneFirst`, `manyFirst`: `entity` is `'row'`, `query` the text).
 * `rowCount` is always 0.
 */
export class NotFoundError extends TesseraError {
  readonly entity: string
  readonly key: unknown
  /** The statement that returned no rows, for the result helpers; `undefined` for an entity lookup. */
  readonly query: string | undefined
  readonly rowCount = 0
  constructor(details: { entity: string; key: unknown } | { query: string }) {
    const isQuery = 'query' in details
    super(
      isQuery
        ? `the query returned no rows, and at least one was expected: ${describeStatement(details.query)}`
        : `${details.entity} ${describeValue(details.key)} was not found`,
      { code: 'NOT_FOUND' },
    )
    this.entity = isQuery ? 'row' : details.entity
    this.key = isQuery ? undefined : details.key
    this.query = isQuery ? details.query : undefined
  }
}

/**
 * A query's result did not have the shape a result helper demands: more than one row where one was expected (`one`,
 * `maybeOne`, `oneFirst`, `maybeOneFirst`), or not exactly one column (`oneFirst`, `maybeOneFirst`, `manyFirst`).
 * Carries both counts and the statement.
 */
export class DataIntegrityError extends TesseraError {
  readonly rowCount: number
  readonly columnCount: number
  /** What the helper expected: `'at most one row'` or `'exactly one column'`. */
  readonly expected: 'at most one row' | 'exactly one column'
  readonly query: string
  constructor(details: { rowCount: number; columnCount: number; expected: 'at most one row' | 'exactly one column'; query: string }) {
    const found = details.expected === 'at most one row' ? `${details.rowCount} rows` : `${details.columnCount} columns`
    super(`the query returned ${found}, and ${details.expected} was expected: ${describeStatement(details.query)}`, {
      code: 'DATA_INTEGRITY',
    })
    this.rowCount = details.rowCount
    this.columnCount = details.columnCount
    this.expected = details.expected
    this.query = details.query
  }
}

function describeStatement(text: string): string {
  const trimmed = text.trim()
  return trimmed.length > 80 ? `"${trimmed.slice(0, 77)}…"` : `"${trimmed}"`
}

/** An update lost a race: the row's version changed since it was read. */
export class OptimisticLockError extends TesseraError {
  readonly entity: string
  readonly key: unknown
  readonly expectedVersion: unknown
  constructor(details: { entity: string; key: unknown; expectedVersion: unknown }) {
    super(
      `${details.entity} ${describeValue(details.key)} was changed by someone else (expected version ${describeValue(details.expectedVersion)})`,
      { code: 'OPTIMISTIC_LOCK' },
    )
    this.entity = details.entity
    this.key = details.key
    this.expectedVersion = details.expectedVersion
  }
}

/** The caller aborted the operation through its `AbortSignal`. */
export class AbortError extends TesseraError {
  constructor(operation = 'operation', options: { cause?: unknown } = {}) {
    super(`${operation} was aborted`, { code: 'ABORTED', cause: options.cause })
  }
}

/** An operation ran past its deadline. Retryable: a later try may be faster. */
export class TimeoutError extends TesseraError {
  readonly timeoutMs: number
  readonly operation: string
  constructor(details: { operation: string; timeoutMs: number }, options: { cause?: unknown } = {}) {
    super(`${details.operation} timed out after ${details.timeoutMs} ms`, { code: 'TIMEOUT', retryable: true, cause: options.cause })
    this.timeoutMs = details.timeoutMs
    this.operation = details.operation
  }
}
