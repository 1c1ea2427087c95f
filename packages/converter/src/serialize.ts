import { ConversionError } from '@tessera/core'
import { Range } from './range'

/**
 * Options for {@link serializeParam}.
 */
export interface SerializeOptions {
  /**
   * The PostgreSQL type the parameter is meant for, when the caller knows it (`'int4'`, `'jsonb'`…).
   * Default: none, and the value's JavaScript type decides the text.
   *
   * - an integer type (`int2`/`smallint`, `int4`/`integer`/`int`, `int8`/`bigint`, the `serial`s): a number must be a
   *   whole number inside the type's range (so `NaN`, `Infinity` and `4.2` fail here, naming the parameter, rather than
   *   on the server); a bigint must be inside the range too.
   * - `json` / `jsonb`: every value except a string is sent as JSON text, arrays included (without the hint a
   *   JavaScript array becomes a PostgreSQL array). Strings are sent as they are: they are taken to be JSON text already.
   * - `json[]` / `jsonb[]` (also `_json` / `_jsonb`): a JavaScript array is sent as a one-dimensional PostgreSQL array
   *   whose every element, strings and arrays included, is one JSON text (`[[1, 2], 'a']` → `{"[1,2]","\"a\""}`);
   *   `null`/`undefined` elements are SQL NULL. Without the hint, nested arrays would be dimensions and strings
   *   would be sent unquoted, as JSON text. A string parameter is sent as it is: it is taken to be array literal text.
   */
  hint?: string | undefined
}

/** Options for {@link serializeParams}. */
export interface SerializeParamsOptions {
  /** Per-parameter type hints, index 0 for `$1`; see {@link SerializeOptions.hint}. Default: none. */
  hints?: readonly (string | undefined)[] | undefined
}

/**
 * An interval as plain data: every field optional, any sign, fractions allowed. Sent as
 * `'1 years 2 months 3 days 4 hours 5 minutes 6 seconds 789 milliseconds'`.
 */
export interface IntervalLike {
  years?: number | undefined
  months?: number | undefined
  days?: number | undefined
  hours?: number | undefined
  minutes?: number | undefined
  seconds?: number | undefined
  milliseconds?: number | undefined
}

/** A geometric point, sent as `(x,y)`. */
export interface PointLike {
  x: number
  y: number
}

/** An object that serialises itself, as in node-postgres: its result is serialised again. */
export interface ToPostgres {
  toPostgres(prepare: (value: unknown) => string | null): unknown
}

/** PostgreSQL refuses arrays with more dimensions than this (`MAXDIM`). */
const MAX_DIMENSIONS = 6

/** How many `toPostgres()` results may themselves call for `toPostgres()` before we call it a loop. */
const MAX_TO_POSTGRES_DEPTH = 16

const INT2_RANGE: readonly [bigint, bigint] = [-32768n, 32767n]
const INT4_RANGE: readonly [bigint, bigint] = [-2147483648n, 2147483647n]
const INT8_RANGE: readonly [bigint, bigint] = [-9223372036854775808n, 9223372036854775807n]

const INTEGER_RANGES: Readonly<Record<string, readonly [bigint, bigint]>> = {
  int2: INT2_RANGE,
  smallint: INT2_RANGE,
  smallserial: INT2_RANGE,
  serial2: INT2_RANGE,
  int4: INT4_RANGE,
  int: INT4_RANGE,
  integer: INT4_RANGE,
  serial: INT4_RANGE,
  serial4: INT4_RANGE,
  int8: INT8_RANGE,
  bigint: INT8_RANGE,
  bigserial: INT8_RANGE,
  serial8: INT8_RANGE,
}

const INTERVAL_UNITS = ['years', 'months', 'days', 'hours', 'minutes', 'seconds', 'milliseconds'] as const

/** The hints for arrays of JSON, each element of which is one JSON value. */
const JSON_ARRAY_TYPES: ReadonlySet<string> = new Set(['json[]', 'jsonb[]', '_json', '_jsonb'])

const ARRAY_ACCEPTED = 'rectangular arrays (sub-arrays at one depth all the same length, no holes), up to 6 dimensions, null for NULL'
const JSON_ACCEPTED = 'values JSON.stringify can write exactly: no bigint, NaN or Infinity, no circular reference'
const JSON_ARRAY_ACCEPTED =
  'an array of JSON values (each element sent as one JSON text, null for a NULL element, no holes), or array literal text'
const ACCEPTED =
  'string, number, bigint, boolean, Date, Buffer/Uint8Array, array (rectangular, up to 6 dimensions), Range, ' +
  'plain object or class instance (JSON), interval object, point {x,y}, object with toPostgres(), null/undefined'

/**
 * Turns one JavaScript value into the text PostgreSQL reads for a `$n` parameter, or `null` for SQL NULL.
 *
 * | JavaScript | text sent |
 * |---|---|
 * | `null`, `undefined` | SQL NULL |
 * | string | as is |
 * | number | `String(n)`; `-0` → `'-0'`; `NaN`/`±Infinity` → `'NaN'`/`'Infinity'`/`'-Infinity'` (float, numeric and the date/time types accept these; integer columns reject them on the server unless a `hint` catches it first) |
 * | bigint | decimal digits |
 * | boolean | `'t'` / `'f'` |
 * | Date | `2024-01-02T03:04:05.678+00:00`, always UTC (a `timestamp without time zone` column stores the UTC wall-clock time); years ≤ 0 as `… BC`; an invalid Date is an error |
 * | Buffer / Uint8Array / ArrayBuffer | bytea hex, `\x0102ff` |
 * | array, typed numeric array | array literal `{1,NULL,"a b"}`; nested arrays are dimensions and must be rectangular |
 * | {@link Range} | `[1,5)`, `empty`, `(,5)` |
 * | object with `toPostgres()` | its result, serialised again |
 * | interval object `{ years?, months?, days?, hours?, minutes?, seconds?, milliseconds? }` (only those keys, numbers) | `1 years 2 months …` |
 * | point `{ x, y }` (exactly those keys, numbers) | `(x,y)` |
 * | any other object (plain, class instance, `toJSON`) | `JSON.stringify` |
 *
 * A bigint, `NaN` or `±Infinity` inside a JSON value is an error (JSON.stringify would throw or quietly write `null`).
 * Functions, symbols, `Map`/`Set`/`WeakMap`/`WeakSet`/`WeakRef`/`Promise`/`RegExp`/`Error`, iterators, circular
 * structures, sparse arrays and ragged multi-dimensional arrays are errors too.
 *
 * @param position the 1-based parameter number, named in errors as `$3`. Default: none.
 * @throws ConversionError naming the value, the parameter and what is accepted.
 * @example serializeParam([1, null, 'a,b']) // '{1,NULL,"a,b"}'
 * @example serializeParam(4.2, 1, { hint: 'int4' }) // throws ConversionError: … (parameter $1): 4.2 is not a whole number
 */
export function serializeParam(value: unknown, position?: number, options?: SerializeOptions): string | null {
  // Fast path: the types nearly every parameter has. No hint changes how a string or NULL is sent.
  if (typeof value === 'string') return value
  if (value === null || value === undefined) return null
  const hint = options?.hint
  if (hint === undefined && typeof value === 'number') return serializeNumber(value)
  return new Serializer(position).param(value, hint)
}

/**
 * An array literal whose elements a codec's own `serialize` writes (the array codec of a registered codec that can
 * serialise). Nested arrays are dimensions, checked as {@link serializeParam} checks them; elements are always quoted;
 * `null`/`undefined` elements are SQL NULL. A string is taken to be array literal text already.
 *
 * @throws ConversionError for a value that is not an array, or a ragged, sparse or circular one
 */
export function serializeArrayWith(value: unknown, serializeElement: (element: unknown) => string, delimiter = ','): string {
  if (typeof value === 'string') return value
  return new Serializer(undefined, { serializeElement, delimiter }).codecArray(value)
}

/**
 * Serialises a whole parameter list, `values[0]` being `$1`. See {@link serializeParam} for the rules.
 *
 * @throws ConversionError naming the first value that cannot be sent and its position.
 * @example serializeParams(['a', 1, null, true]) // ['a', '1', null, 't']
 */
export function serializeParams(values: readonly unknown[], options?: SerializeParamsOptions): (string | null)[] {
  const hints = options?.hints
  const length = values.length
  const out = new Array<string | null>(length)
  for (let i = 0; i < length; i++) {
    const value = values[i]
    const hint = hints?.[i]
    // Same fast path as serializeParam, inlined: a typical params array is a few strings and numbers.
    if (hint === undefined && typeof value === 'string') out[i] = value
    else if (hint === undefined && typeof value === 'number') out[i] = serializeNumber(value)
    else if (value === null || value === undefined) out[i] = null
    else out[i] = new Serializer(i + 1).param(value, hint)
  }
  return out
}

function serializeNumber(value: number): string {
  // String(-0) is '0'; float8 keeps the sign, and integer/numeric read '-0' as 0.
  if (value === 0 && 1 / value < 0) return '-0'
  return String(value)
}

/** One serialisation: remembers the parameter position and what is being walked, to detect cycles. */
class Serializer {
  private readonly position: number | undefined
  /** The whole parameter, named in errors even when the problem is deep inside it. */
  private root: unknown
  private readonly ancestors: object[] = []
  private toPostgresDepth = 0
  /** Writes array elements instead of {@link Serializer.value}: a codec's own serialiser. */
  private readonly serializeElement: ((element: unknown) => string) | undefined
  private readonly delimiter: string

  constructor(position: number | undefined, elements?: { serializeElement: (element: unknown) => string; delimiter: string }) {
    this.position = position
    this.serializeElement = elements?.serializeElement
    this.delimiter = elements?.delimiter ?? ','
  }

  param(value: unknown, hint: string | undefined): string | null {
    this.root = value
    if (hint !== undefined) {
      const type = hint.toLowerCase()
      const range = INTEGER_RANGES[type]
      const isText = value === null || value === undefined || typeof value === 'string'
      if (range !== undefined) this.checkInteger(value, type, range)
      else if ((type === 'json' || type === 'jsonb') && !isText) return this.json(value)
      else if (JSON_ARRAY_TYPES.has(type) && !isText) return this.jsonArray(value, type)
    }
    return this.value(value)
  }

  private fail(reason: string, target = 'a PostgreSQL parameter', accepted = ACCEPTED, cause?: unknown): never {
    throw new ConversionError({ value: this.root, target, reason, position: this.position, accepted }, { cause })
  }

  private checkInteger(value: unknown, type: string, [min, max]: readonly [bigint, bigint]): void {
    const accepted = `whole numbers from ${min} to ${max}`
    if (typeof value === 'number' && !Number.isInteger(value)) this.fail(`${value} is not a whole number`, type, accepted)
    const whole = typeof value === 'number' ? BigInt(value) : value
    if (typeof whole === 'bigint' && (whole < min || whole > max)) this.fail(`out of range for ${type}`, type, accepted)
  }

  private value(value: unknown): string | null {
    switch (typeof value) {
      case 'string':
        return value
      case 'number':
        return serializeNumber(value)
      case 'bigint':
        return value.toString()
      case 'boolean':
        return value ? 't' : 'f'
      case 'undefined':
        return null
      case 'function':
        return this.fail('functions cannot be sent')
      case 'symbol':
        return this.fail('symbols cannot be sent')
    }
    if (value === null) return null
    return this.object(value as object)
  }

  private object(value: object): string | null {
    if (value instanceof Date) return this.date(value)
    if (value instanceof Uint8Array) return bytesToHex(value)
    if (Array.isArray(value)) return this.array(value)
    if (typeof (value as Partial<ToPostgres>).toPostgres === 'function') return this.toPostgres(value as ToPostgres)
    if (isRange(value)) return this.range(value)
    if (value instanceof ArrayBuffer) return bytesToHex(new Uint8Array(value))
    if (ArrayBuffer.isView(value)) {
      if (value instanceof DataView) return this.fail('a DataView has no element type; pass a Buffer or Uint8Array')
      return this.array(Array.from(value as unknown as ArrayLike<number | bigint>))
    }
    if (value instanceof String || value instanceof Number || value instanceof Boolean) return this.value(value.valueOf())
    const refusal = refuse(value)
    if (refusal !== undefined) return this.fail(refusal)
    if (isIntervalLike(value)) return serializeInterval(value)
    if (isPointLike(value)) return `(${serializeNumber(value.x)},${serializeNumber(value.y)})`
    return this.json(value)
  }

  private date(value: Date): string {
    const text = formatDate(value)
    if (text === undefined) return this.fail('the Date is invalid (its time is NaN)', 'timestamptz', 'a valid Date')
    return text
  }

  private toPostgres(value: ToPostgres): string | null {
    if (++this.toPostgresDepth > MAX_TO_POSTGRES_DEPTH) {
      return this.fail(`toPostgres() kept returning objects that call toPostgres() (${MAX_TO_POSTGRES_DEPTH} levels)`)
    }
    let result: unknown
    try {
      result = value.toPostgres((inner) => this.value(inner))
    } catch (error) {
      if (error instanceof ConversionError) throw error
      return this.fail(`toPostgres() threw: ${error instanceof Error ? error.message : String(error)}`, undefined, undefined, error)
    }
    if (result === value) return this.fail('toPostgres() returned the object itself')
    const text = this.value(result)
    this.toPostgresDepth--
    return text
  }

  private json(value: unknown): string {
    const text = stringifyUnchecked(value)
    if (text === undefined) return this.checkedJson(value)
    // JSON.stringify writes NaN and ±Infinity as null, so only text holding 'null' needs a look for them.
    if (text.includes('null') && holdsNonFiniteNumber(value, '')) return this.checkedJson(value)
    return text
  }

  /**
   * JSON.stringify with every value checked as it is written (about twice as slow): names the bigint, NaN or
   * Infinity JSON cannot hold, the circular reference or the empty result, and otherwise returns the same text.
   */
  private checkedJson(value: unknown): string {
    let text: string | undefined
    try {
      text = JSON.stringify(value, rejectNonJson)
    } catch (error) {
      if (error instanceof NotJsonError) return this.fail(error.message, 'json', JSON_ACCEPTED)
      const message = error instanceof Error ? error.message : String(error)
      const reason = /circular/i.test(message) ? 'it contains a circular reference' : `JSON.stringify failed: ${message}`
      return this.fail(reason, 'json', JSON_ACCEPTED, error)
    }
    // toJSON() may return undefined; sending nothing would be a silent wrong value.
    if (text === undefined) return this.fail('JSON.stringify produced nothing', 'json', JSON_ACCEPTED)
    return text
  }

  /** A json[] / jsonb[] parameter: one dimension, each element one JSON text, quoted as an array element. */
  private jsonArray(value: unknown, type: string): string {
    if (!Array.isArray(value)) return this.fail(`a ${type} parameter must be an array`, type, JSON_ARRAY_ACCEPTED)
    let text = '{'
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) return this.fail(`sparse array: index ${i} is a hole; use null for a NULL element`, type, JSON_ARRAY_ACCEPTED)
      if (i > 0) text += ','
      const element: unknown = value[i]
      // Always quoted: JSON text holds commas, braces and quotes far more often than not.
      text += element === null || element === undefined ? 'NULL' : quoteText(this.json(element))
    }
    return `${text}}`
  }

  /** The parameter of an array type whose codec writes the elements. */
  codecArray(value: unknown): string {
    this.root = value
    if (!Array.isArray(value)) return this.fail('not an array', 'array', ARRAY_ACCEPTED)
    return this.array(value)
  }

  private array(value: readonly unknown[]): string {
    const dimensions = this.arrayShape(value)
    // PostgreSQL has no empty sub-arrays ('{{}}' is malformed): any empty dimension means the empty array.
    if (dimensions.includes(0)) {
      this.arrayLevel(value, 0, dimensions) // still refuse ragged or sparse input
      return '{}'
    }
    return this.arrayLevel(value, 0, dimensions)
  }

  /** The lengths of each dimension, read along the first elements; arrayLevel then checks every sibling agrees. */
  private arrayShape(value: readonly unknown[]): number[] {
    const dimensions: number[] = []
    const path: unknown[] = []
    let level: unknown = value
    while (Array.isArray(level)) {
      if (path.includes(level) || this.ancestors.includes(level)) {
        return this.fail('the array contains itself (circular reference)', 'array', ARRAY_ACCEPTED)
      }
      if (dimensions.length === MAX_DIMENSIONS) {
        return this.fail(`PostgreSQL arrays have at most ${MAX_DIMENSIONS} dimensions`, 'array', ARRAY_ACCEPTED)
      }
      path.push(level)
      dimensions.push(level.length)
      level = level[0]
    }
    return dimensions
  }

  /** Writes one level of an array literal, refusing siblings of another shape and holes. */
  private arrayLevel(value: readonly unknown[], depth: number, dimensions: readonly number[]): string {
    if (this.ancestors.includes(value)) return this.fail('the array contains itself (circular reference)', 'array', ARRAY_ACCEPTED)
    if (value.length !== dimensions[depth]) {
      return this.fail(
        `ragged array: sub-arrays at depth ${depth} have lengths ${dimensions[depth]} and ${value.length}`,
        'array',
        ARRAY_ACCEPTED,
      )
    }
    const holdsArrays = depth < dimensions.length - 1
    this.ancestors.push(value)
    let text = '{'
    for (let i = 0; i < value.length; i++) {
      // A hole is neither NULL nor a value: refuse it rather than guess.
      if (!(i in value)) return this.fail(`sparse array: index ${i} is a hole; use null for a NULL element`, 'array', ARRAY_ACCEPTED)
      const element = value[i]
      if (Array.isArray(element) && this.ancestors.includes(element)) {
        return this.fail('the array contains itself (circular reference)', 'array', ARRAY_ACCEPTED)
      }
      if (Array.isArray(element) !== holdsArrays) {
        return this.fail(`ragged array: depth ${depth} mixes arrays and single values`, 'array', ARRAY_ACCEPTED)
      }
      if (i > 0) text += this.delimiter
      text += holdsArrays ? this.arrayLevel(element as unknown[], depth + 1, dimensions) : this.element(element)
    }
    this.ancestors.pop()
    return `${text}}`
  }

  private element(element: unknown): string {
    if (this.serializeElement !== undefined) {
      // A codec's text may hold its own delimiter: always quoted.
      return element === null || element === undefined ? 'NULL' : quoteText(this.serializeElement(element))
    }
    const text = this.value(element)
    if (text === null) return 'NULL'
    return quoteArrayElement(text)
  }

  private range(value: RangeLike): string {
    if (value.empty) return 'empty'
    const lower = value.lower === null || value.lower === undefined ? '' : this.rangeBound(value.lower)
    const upper = value.upper === null || value.upper === undefined ? '' : this.rangeBound(value.upper)
    const open = lower !== '' && value.lowerInclusive ? '[' : '('
    const close = upper !== '' && value.upperInclusive ? ']' : ')'
    return `${open}${lower},${upper}${close}`
  }

  private rangeBound(bound: unknown): string {
    const text = this.value(bound)
    if (text === null) return ''
    // An empty bound means "unbounded" in a range literal, so an empty string must be quoted.
    if (text === '' || /[\s"\\,()[\]]/.test(text)) return `"${text.replace(/["\\]/g, '\\$&')}"`
    return text
  }
}

/** JSON.stringify alone, `undefined` when it throws (a bigint, a cycle, a throwing toJSON) or has nothing to write. */
function stringifyUnchecked(value: unknown): string | undefined {
  try {
    return JSON.stringify(value)
  } catch {
    return undefined
  }
}

/**
 * Whether JSON.stringify, writing `value` as the property `key`, meets a NaN or ±Infinity (which it writes as null).
 * Follows its walk: `toJSON(key)` once per value, array elements, own enumerable string keys. Called only on values
 * it has just written, so the walk ends.
 */
function holdsNonFiniteNumber(value: unknown, key: string): boolean {
  let written = value
  if (typeof written === 'object' && written !== null && typeof (written as { toJSON?: unknown }).toJSON === 'function') {
    written = (written as { toJSON(key: string): unknown }).toJSON(key)
  }
  if (typeof written === 'number') return !Number.isFinite(written)
  if (typeof written !== 'object' || written === null) return false
  if (Array.isArray(written)) {
    for (let i = 0; i < written.length; i++) if (holdsNonFiniteNumber(written[i], String(i))) return true
    return false
  }
  const record = written as Record<string, unknown>
  for (const name of Object.keys(record)) if (holdsNonFiniteNumber(record[name], name)) return true
  return false
}

/** Thrown by the JSON replacer so that the value JSON cannot hold is named, not a vague TypeError or a silent null. */
class NotJsonError extends Error {}

function rejectNonJson(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') throw new NotJsonError('JSON has no bigint; convert it to a string (or a number) first')
  // JSON.stringify would quietly write null for these.
  if (typeof value === 'number' && !Number.isFinite(value)) throw new NotJsonError(`JSON has no ${value} (JSON.stringify would write null)`)
  return value
}

/**
 * Quotes an array element when PostgreSQL would otherwise misread it: empty, `NULL` in any case, or containing
 * whitespace, quotes, backslashes, commas or braces.
 */
function quoteArrayElement(text: string): string {
  if (text !== '' && !/[\s"\\{},]/.test(text) && !/^null$/i.test(text)) return text
  return quoteText(text)
}

/** `text` as a double-quoted array element, its quotes and backslashes escaped. */
function quoteText(text: string): string {
  return `"${text.replace(/["\\]/g, '\\$&')}"`
}

function bytesToHex(bytes: Uint8Array): string {
  return `\\x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`
}

/** '00' … '99': two-digit fields without a padStart call each. */
const TWO_DIGITS: readonly string[] = Array.from({ length: 100 }, (_, n) => (n < 10 ? `0${n}` : String(n)))

/**
 * `2024-01-02T03:04:05.678+00:00`, in UTC, or `undefined` for an invalid Date. Written field by field (three times
 * faster than re-cutting toISOString). Years ≤ 0 as `… BC` (year 0 is 1 BC); years past 9999 in full.
 */
function formatDate(date: Date): string | undefined {
  const time = date.getTime()
  if (Number.isNaN(time)) return undefined
  const year = date.getUTCFullYear()
  const isBc = year <= 0
  const shownYear = isBc ? 1 - year : year
  const ms = date.getUTCMilliseconds()
  return `${shownYear < 1000 ? String(shownYear).padStart(4, '0') : shownYear}-${TWO_DIGITS[date.getUTCMonth() + 1]}-${TWO_DIGITS[date.getUTCDate()]}T${TWO_DIGITS[date.getUTCHours()]}:${TWO_DIGITS[date.getUTCMinutes()]}:${TWO_DIGITS[date.getUTCSeconds()]}.${ms < 10 ? `00${ms}` : ms < 100 ? `0${ms}` : ms}+00:00${isBc ? ' BC' : ''}`
}

interface RangeLike {
  lower: unknown
  upper: unknown
  lowerInclusive: boolean
  upperInclusive: boolean
  empty: boolean
}

/** A {@link Range}, or one from another copy of this package (same shape). */
function isRange(value: object): value is RangeLike {
  if (value instanceof Range) return true
  const v = value as Record<string, unknown>
  return (
    'lower' in v &&
    'upper' in v &&
    typeof v.lowerInclusive === 'boolean' &&
    typeof v.upperInclusive === 'boolean' &&
    typeof v.empty === 'boolean'
  )
}

/** Why a value that JSON.stringify would quietly turn into `{}` (or worse) is refused; `undefined` if it is not. */
function refuse(value: object): string | undefined {
  if (value instanceof Map || value instanceof Set)
    return `a ${value.constructor.name} is not JSON; convert it with Object.fromEntries() or Array.from()`
  if (value instanceof WeakMap || value instanceof WeakSet || value instanceof WeakRef) return `a ${value.constructor.name} cannot be sent`
  if (value instanceof Promise) return 'a Promise cannot be sent; await it first'
  if (value instanceof RegExp) return 'a RegExp cannot be sent; pass its source string'
  if (value instanceof Error) return 'an Error cannot be sent'
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return undefined
  if (Symbol.iterator in value || Symbol.asyncIterator in value) return 'an iterator cannot be sent; collect it with Array.from() first'
  return undefined
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

function isIntervalLike(value: object): value is IntervalLike {
  if (!isPlainObject(value)) return false
  const keys = Object.keys(value)
  if (keys.length === 0) return false
  for (const key of keys) {
    if (!(INTERVAL_UNITS as readonly string[]).includes(key)) return false
    const field = (value as Record<string, unknown>)[key]
    if (typeof field !== 'number' || !Number.isFinite(field)) return false
  }
  return true
}

function isPointLike(value: object): value is PointLike {
  if (!isPlainObject(value)) return false
  const keys = Object.keys(value)
  const { x, y } = value as Record<string, unknown>
  return keys.length === 2 && typeof x === 'number' && typeof y === 'number' && 'x' in value && 'y' in value
}

/** `1 years 2 months 3 days 4 hours 5 minutes 6 seconds 789 milliseconds`: each unit apart, so signs and fractions stay exact. */
function serializeInterval(value: IntervalLike): string {
  const parts: string[] = []
  for (const unit of INTERVAL_UNITS) {
    const amount = value[unit]
    if (amount !== undefined && amount !== 0) parts.push(`${plainDecimal(amount)} ${unit}`)
  }
  return parts.length === 0 ? '0 seconds' : parts.join(' ')
}

/** A finite number as plain decimal text (no exponent), which the interval parser requires. */
function plainDecimal(value: number): string {
  const text = String(value)
  if (!text.includes('e')) return text
  // Below 1e-6 or above 1e21: toFixed keeps microseconds, the interval's resolution.
  return Math.abs(value) < 1 ? value.toFixed(6) : BigInt(Math.round(value)).toString()
}
