import { ConversionError } from '@tessera/core'

/** What {@link convert} can produce. */
export type ConvertKind =
  | 'string'
  | 'integer'
  | 'bigint'
  | 'float'
  | 'number'
  | 'numeric'
  | 'boolean'
  | 'date'
  | 'timestamp'
  | 'uuid'
  | 'json'
  | 'bytes'

/** A value JSON can hold, as {@link convert} returns it for `'json'`. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }

/** The JavaScript type {@link convert} returns for each kind. */
export interface ConvertOutput {
  string: string
  integer: number
  bigint: bigint
  float: number
  number: number
  /** Decimal text, exact: `'12.50'`. */
  numeric: string
  boolean: boolean
  /** A calendar date, `'YYYY-MM-DD'`. */
  date: string
  timestamp: Date
  /** Lower-case `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`. */
  uuid: string
  json: JsonValue
  bytes: Uint8Array
}

/** Options for {@link convert}. */
export interface ConvertOptions {
  /** Return `null` for `null` / `undefined` instead of throwing. Default: `false`. */
  nullable?: boolean | undefined
  /**
   * Return `null` for an empty string (for every kind but `'string'`, also a string of only whitespace), as form
   * inputs send for "no value". Default: `false`, and an empty string is an error (or, for `'string'`, itself).
   */
  emptyAsNull?: boolean | undefined
  /**
   * What a number means when converted to `'timestamp'` or `'date'`: milliseconds (JavaScript's `Date.now()`) or
   * seconds (Unix `time()`) since 1970-01-01 UTC. Default: `'ms'`. Strings of digits are never read as epochs.
   */
  epoch?: 'ms' | 's' | undefined
}

/** The type of option `K` in `O`, `undefined` when `O` does not have it. */
type OptionIn<O, K extends keyof ConvertOptions> = K extends keyof O ? O[K] : undefined

/** `null` when these options may make `convert` return null, else `never`. */
type NullFor<O> = true extends OptionIn<O, 'nullable'> | OptionIn<O, 'emptyAsNull'> ? null : never

/** The result type of `convert(value, kind, options)`. */
export type ConvertResult<K extends ConvertKind, O extends ConvertOptions = {}> = ConvertOutput[K] | NullFor<O>

/** One row of the coercion table: what a kind produces and what it accepts from each input type. */
export interface ConvertRule {
  readonly kind: ConvertKind
  /** The JavaScript type produced. */
  readonly output: string
  /** One line naming what is accepted; used in every {@link ConversionError} this kind throws. */
  readonly accepted: string
  /** The rule for each input type (`string`, `number`, `bigint`, `boolean`, `Date`, `Uint8Array`, `object`…); a missing one is refused. */
  readonly from: Readonly<Record<string, string>>
  /** Inputs and what they convert to (with default options). */
  readonly examples: readonly (readonly [input: unknown, output: unknown])[]
  /** Inputs refused with a ConversionError (with default options). */
  readonly rejects: readonly unknown[]
}

const EMPTY_RULE = "'' (and whitespace-only) → error, or null with { emptyAsNull: true }"

/**
 * The coercion table, as data: the README table and the tests are both made from it.
 * Common to every kind: `null` / `undefined` → `null` with `{ nullable: true }`, otherwise an error; anything not
 * listed is an error, never a guess.
 */
export const CONVERT_RULES: Readonly<Record<ConvertKind, ConvertRule>> = {
  string: {
    kind: 'string',
    output: 'string',
    accepted: 'string, finite number, bigint, boolean, valid Date (ISO 8601)',
    from: {
      string: "as is, not trimmed; '' → '' (or null with { emptyAsNull: true })",
      number: "finite → String(n): 42 → '42'; NaN/±Infinity → error",
      bigint: "decimal digits: 42n → '42'",
      boolean: "'true' / 'false'",
      Date: "toISOString(): '2024-01-02T03:04:05.678Z'; invalid Date → error",
    },
    examples: [
      ['a b', 'a b'],
      ['', ''],
      [42, '42'],
      [-1.5, '-1.5'],
      [42n, '42'],
      [true, 'true'],
      [new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678)), '2024-01-02T03:04:05.678Z'],
    ],
    rejects: [Number.NaN, Number.POSITIVE_INFINITY, { a: 1 }, [1], Symbol('s'), new Date(Number.NaN)],
  },
  integer: {
    kind: 'integer',
    output: 'number (safe integer)',
    accepted: `whole numbers from ${Number.MIN_SAFE_INTEGER} to ${Number.MAX_SAFE_INTEGER} as number, bigint or decimal digits ('42', ' -7 '); use 'bigint' beyond`,
    from: {
      string: `trimmed decimal digits with optional sign: ' 42 ' → 42; '4.2', '42abc', '1e3', '0x10' → error; ${EMPTY_RULE}`,
      number: "whole and safe: 42 → 42; 4.2, NaN, ±Infinity → error; beyond ±(2^53 − 1) → error suggesting 'bigint'",
      bigint: "within ±(2^53 − 1) → number, else error suggesting 'bigint'",
    },
    examples: [
      ['42', 42],
      [' -7 ', -7],
      ['+3', 3],
      [42, 42],
      [-0, 0],
      [42n, 42],
      [String(Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER],
    ],
    rejects: ['4.2', '42abc', '', '  ', '1e3', '0x10', 4.2, Number.NaN, 2 ** 53, '9007199254740992', 2n ** 53n, true, null],
  },
  bigint: {
    kind: 'bigint',
    output: 'bigint',
    accepted: "bigint, safe-integer number, or decimal digits ('12345678901234567890')",
    from: {
      string: `trimmed decimal digits with optional sign, any length: '12345678901234567890' → 12345678901234567890n; ${EMPTY_RULE}`,
      number:
        'whole and safe → BigInt(n); 4.2 → error; beyond ±(2^53 − 1) → error (the number may already have lost digits: pass a string)',
      bigint: 'as is',
    },
    examples: [
      ['12345678901234567890', 12345678901234567890n],
      [' -42 ', -42n],
      [42, 42n],
      [42n, 42n],
    ],
    rejects: ['4.2', 'abc', '', 4.2, 2 ** 60, Number.NaN, false],
  },
  float: {
    kind: 'float',
    output: 'number (finite)',
    accepted: "finite number, bigint, or decimal text with optional exponent ('4.2', '-1e-3')",
    from: {
      string: `trimmed decimal with optional exponent: '4.2' → 4.2, '1e3' → 1000; 'NaN', 'Infinity', '0x10', '1_000', '4.2abc' → error; ${EMPTY_RULE}`,
      number: 'finite as is; NaN/±Infinity → error',
      bigint: 'Number(b), the nearest double (float semantics)',
    },
    examples: [
      ['4.2', 4.2],
      [' -1e-3 ', -0.001],
      ['.5', 0.5],
      [4.2, 4.2],
      [2n ** 60n, 2 ** 60],
    ],
    rejects: ['NaN', 'Infinity', '0x10', '1_000', '4.2abc', '', Number.NaN, Number.NEGATIVE_INFINITY, true],
  },
  number: {
    kind: 'number',
    output: 'number (finite)',
    accepted: "finite number, bigint within ±(2^53 − 1), or decimal text with optional exponent ('4.2', '-1e-3')",
    from: {
      string: `as 'float'; ${EMPTY_RULE}`,
      number: 'finite as is; NaN/±Infinity → error',
      bigint: "within ±(2^53 − 1) → number; beyond → error (it would lose digits: use 'bigint' or 'float')",
    },
    examples: [
      ['4.2', 4.2],
      [7, 7],
      [42n, 42],
    ],
    rejects: [2n ** 60n, 'four', Number.NaN, ''],
  },
  numeric: {
    kind: 'numeric',
    output: "string (exact decimal text, e.g. '12.50')",
    accepted: "decimal text with optional exponent ('12.50', '1e-3'), finite number or bigint",
    from: {
      string: `trimmed, kept exactly as written (no rounding): ' 12.50 ' → '12.50'; 'NaN', 'Infinity', '12,5' → error; ${EMPTY_RULE}`,
      number: "finite → plain decimal text without exponent: 1e21 → '1000000000000000000000'; NaN/±Infinity → error",
      bigint: 'decimal digits',
    },
    examples: [
      [' 12.50 ', '12.50'],
      ['-1e-3', '-1e-3'],
      [12.5, '12.5'],
      [1e21, '1000000000000000000000'],
      [1e-7, '0.0000001'],
      [123n, '123'],
    ],
    rejects: ['NaN', 'Infinity', '12,5', '', Number.NaN, true],
  },
  boolean: {
    kind: 'boolean',
    output: 'boolean',
    accepted: "boolean, 1/0, or (any case, trimmed) 'true'/'false', 't'/'f', 'yes'/'no', 'y'/'n', 'on'/'off', '1'/'0'",
    from: {
      string: `trimmed, any case: 'true' 't' 'yes' 'y' 'on' '1' → true; 'false' 'f' 'no' 'n' 'off' '0' → false; others → error; ${EMPTY_RULE}`,
      number: '1 → true, 0 → false, others → error',
      bigint: '1n → true, 0n → false, others → error',
      boolean: 'as is',
    },
    examples: [
      ['yes', true],
      [' OFF ', false],
      ['T', true],
      ['0', false],
      [1, true],
      [0, false],
      [0n, false],
      [false, false],
    ],
    rejects: ['maybe', '2', 2, -1, '', 'nope'],
  },
  date: {
    kind: 'date',
    output: "string 'YYYY-MM-DD'",
    accepted: "a calendar date 'YYYY-MM-DD', a valid Date (its UTC date) or epoch number (see the epoch option)",
    from: {
      string: `trimmed 'YYYY-MM-DD' that exists in the calendar ('2024-02-30' → error); times and other formats → error; ${EMPTY_RULE}`,
      number: 'epoch in the epoch option unit (default milliseconds) → its UTC date',
      Date: 'its UTC calendar date; invalid Date → error',
    },
    examples: [
      ['2024-02-29', '2024-02-29'],
      [new Date(Date.UTC(2024, 0, 2, 23, 59)), '2024-01-02'],
      [0, '1970-01-01'],
    ],
    rejects: ['2023-02-29', '2024-1-2', '02/01/2024', '2024-01-02T00:00:00Z', '', new Date(Number.NaN)],
  },
  timestamp: {
    kind: 'timestamp',
    output: 'Date',
    accepted:
      "a valid Date, an epoch number (milliseconds by default, seconds with { epoch: 's' }) or ISO 8601 text ('2024-01-02T03:04:05.678Z')",
    from: {
      string:
        "trimmed ISO 8601 'YYYY-MM-DD[(T| )HH:MM[:SS[.fff…]]][Z|±HH[:MM]]', checked against the calendar; without a zone it is UTC; " +
        `other formats and digit strings → error; ${EMPTY_RULE}`,
      number: 'epoch milliseconds (or seconds with { epoch: "s" }), rounded to the millisecond; NaN/±Infinity/out of Date range → error',
      Date: 'a copy; invalid Date → error',
    },
    examples: [
      ['2024-01-02T03:04:05.678Z', new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678))],
      ['2024-01-02 03:04:05+02:00', new Date(Date.UTC(2024, 0, 2, 1, 4, 5))],
      ['2024-01-02', new Date(Date.UTC(2024, 0, 2))],
      ['2024-01-02T03:04', new Date(Date.UTC(2024, 0, 2, 3, 4))],
      [1_700_000_000_000, new Date(1_700_000_000_000)],
      [new Date(5), new Date(5)],
    ],
    rejects: ['2024-13-01', '2024-02-30T00:00:00Z', 'yesterday', '1700000000000', '', Number.NaN, new Date(Number.NaN), 8.64e15 + 1],
  },
  uuid: {
    kind: 'uuid',
    output: 'string (lower-case, hyphenated)',
    accepted: "a UUID of any version: 'xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx', any case, optionally in braces or without hyphens",
    from: {
      string: `trimmed; 32 hex digits, hyphenated 8-4-4-4-12 or not, optional braces; any version or variant (nil and max too) → lower-case hyphenated; ${EMPTY_RULE}`,
    },
    examples: [
      ['550E8400-E29B-41D4-A716-446655440000', '550e8400-e29b-41d4-a716-446655440000'],
      ['{550e8400-e29b-41d4-a716-446655440000}', '550e8400-e29b-41d4-a716-446655440000'],
      ['550e8400e29b41d4a716446655440000', '550e8400-e29b-41d4-a716-446655440000'],
      ['00000000-0000-0000-0000-000000000000', '00000000-0000-0000-0000-000000000000'],
    ],
    rejects: ['550e8400-e29b-41d4-a716-44665544000', '550e8400-e29b-41d4-a716-44665544000g', '550e8400-e29b41d4-a716-446655440000', 42, ''],
  },
  json: {
    kind: 'json',
    output: 'JsonValue (what JSON.parse returns)',
    accepted: 'JSON text, or a value JSON.stringify writes exactly (no bigint, no circular reference, finite numbers)',
    from: {
      string: `parsed as JSON text: '{"a":1}' → { a: 1 }, '"x"' → 'x'; invalid JSON → error; ${EMPTY_RULE}`,
      number: 'finite as is; NaN/±Infinity → error',
      boolean: 'as is',
      object: 'arrays and objects: a deep copy as it will be stored (JSON.parse(JSON.stringify(v))); bigint, circular → error',
    },
    examples: [
      ['{"a":[1,"x"]}', { a: [1, 'x'] }],
      ['"x"', 'x'],
      [{ a: 1, b: undefined }, { a: 1 }],
      [
        [1, 'two'],
        [1, 'two'],
      ],
      [3, 3],
      [true, true],
    ],
    rejects: ['{a:1}', 'x', '', { a: 1n }, Number.NaN, () => 1],
  },
  bytes: {
    kind: 'bytes',
    output: 'Uint8Array (a Buffer)',
    accepted: "Buffer/Uint8Array, ArrayBuffer, bytea hex text ('\\x0102ff') or an array of integers 0–255",
    from: {
      string: `bytea hex '\\x0102ff' (even number of hex digits); other text → error (encode it yourself with Buffer.from); ${EMPTY_RULE}`,
      Uint8Array: 'as is (a Buffer over the same memory)',
      ArrayBuffer: 'a Buffer over it',
      object: 'an array of integers 0–255 → their bytes; anything else → error',
    },
    examples: [
      ['\\x0102ff', Buffer.from([1, 2, 255])],
      [[1, 2, 255], Buffer.from([1, 2, 255])],
      [Buffer.from('hi'), Buffer.from('hi')],
    ],
    rejects: ['0102', '\\x012', '\\xzz', [256], [1.5], 'hello', 7],
  },
}

const INTEGER_TEXT = /^[+-]?\d+$/
const DECIMAL_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/
const UUID_TEXT = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i
const DATE_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/
const TIMESTAMP_TEXT = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i
const HEX_BYTES = /^\\x(?:[0-9a-f]{2})*$/i
const TRUE_WORDS = new Set(['true', 't', 'yes', 'y', 'on', '1'])
const FALSE_WORDS = new Set(['false', 'f', 'no', 'n', 'off', '0'])
const MAX_DATE_MS = 8.64e15
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)
const UNSAFE_INTEGER = "beyond JavaScript's safe integers (±9007199254740991); convert to 'bigint' instead"

/** Thrown inside a converter; {@link convert} turns it into a ConversionError with the kind's `accepted` text. */
class Refusal {
  constructor(readonly reason: string) {}
}

function refuse(reason: string): never {
  throw new Refusal(reason)
}

/**
 * Converts a loosely typed value (a form field, a query-string parameter, a JSON body) to `kind`, or throws a
 * {@link ConversionError} naming the value, the kind (`target`) and what is accepted. It never guesses: input the
 * table in {@link CONVERT_RULES} does not list is refused. Strings are trimmed for every kind but `'string'`.
 *
 * @param options `nullable` (default `false`), `emptyAsNull` (default `false`), `epoch` (default `'ms'`).
 * @throws ConversionError with `target` = `kind`.
 * @example convert(' 42 ', 'integer') // 42
 * @example convert('', 'integer', { emptyAsNull: true }) // null
 * @example convert('4.2', 'integer') // throws: cannot convert "4.2" to integer: not a whole number; accepted: …
 */
export function convert<K extends ConvertKind, const O extends ConvertOptions = {}>(
  value: unknown,
  kind: K,
  options?: O,
): ConvertResult<K, O> {
  const rule = CONVERT_RULES[kind]
  if (rule === undefined) {
    throw new ConversionError({
      value: kind,
      target: 'a convert kind',
      reason: 'unknown kind',
      accepted: Object.keys(CONVERT_RULES).join(', '),
    })
  }
  try {
    if (value === null || value === undefined) {
      if (options?.nullable === true) return null as ConvertResult<K, O>
      refuse(`a value is required (pass { nullable: true } to allow ${value === null ? 'null' : 'undefined'})`)
    }
    if (typeof value === 'string' && options?.emptyAsNull === true && (kind === 'string' ? value === '' : value.trim() === '')) {
      return null as ConvertResult<K, O>
    }
    return CONVERTERS[kind](value, options ?? {}) as ConvertResult<K, O>
  } catch (error) {
    if (!(error instanceof Refusal)) throw error
    throw new ConversionError({ value, target: kind, reason: error.reason, accepted: rule.accepted })
  }
}

type Converter = (value: {}, options: ConvertOptions) => unknown

const CONVERTERS: Readonly<Record<ConvertKind, Converter>> = {
  string: toStringValue,
  integer: toInteger,
  bigint: toBigInt,
  float: (value) => toFloat(value, false),
  number: (value) => toFloat(value, true),
  numeric: toNumeric,
  boolean: toBoolean,
  date: toDate,
  timestamp: toTimestamp,
  uuid: toUuid,
  json: toJson,
  bytes: toBytes,
}

function typeName(value: unknown): string {
  if (value instanceof Date) return 'a Date'
  if (Array.isArray(value)) return 'an array'
  if (value instanceof Uint8Array) return 'bytes'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}

function unsupported(value: unknown): never {
  return refuse(`${typeName(value)} is not accepted`)
}

/** Trims and refuses an empty string; `emptyAsNull` was handled before. */
function trimmed(value: string): string {
  const text = value.trim()
  if (text === '') refuse('empty string (pass { emptyAsNull: true } to read it as null)')
  return text
}

function finite(value: number): number {
  if (!Number.isFinite(value)) refuse(`${value} is not a finite number`)
  return value
}

function toStringValue(value: {}): string {
  if (typeof value === 'string') return value
  if (typeof value === 'number') return String(finite(value))
  if (typeof value === 'bigint') return value.toString()
  if (typeof value === 'boolean') return value ? 'true' : 'false'
  if (value instanceof Date) return validDate(value).toISOString()
  return unsupported(value)
}

function safeInteger(value: number): number {
  if (!Number.isInteger(value)) refuse('not a whole number')
  if (!Number.isSafeInteger(value)) refuse(UNSAFE_INTEGER)
  // -0 is a whole number, but nobody means it.
  return value === 0 ? 0 : value
}

function toInteger(value: {}): number {
  if (typeof value === 'number') return safeInteger(finite(value))
  if (typeof value === 'bigint') {
    if (value > MAX_SAFE || value < -MAX_SAFE) refuse(UNSAFE_INTEGER)
    return Number(value)
  }
  if (typeof value === 'string') {
    const text = trimmed(value)
    if (!INTEGER_TEXT.test(text)) refuse(DECIMAL_TEXT.test(text) ? 'not a whole number' : 'not decimal digits')
    return safeInteger(Number(text))
  }
  return unsupported(value)
}

function toBigInt(value: {}): bigint {
  if (typeof value === 'bigint') return value
  if (typeof value === 'number') {
    finite(value)
    if (!Number.isInteger(value)) refuse('not a whole number')
    if (!Number.isSafeInteger(value)) refuse('a number beyond ±9007199254740991 may already have lost digits; pass a string or a bigint')
    return BigInt(value)
  }
  if (typeof value === 'string') {
    const text = trimmed(value)
    if (!INTEGER_TEXT.test(text)) refuse(DECIMAL_TEXT.test(text) ? 'not a whole number' : 'not decimal digits')
    return BigInt(text)
  }
  return unsupported(value)
}

function toFloat(value: {}, exactOnly: boolean): number {
  if (typeof value === 'number') return finite(value)
  if (typeof value === 'bigint') {
    if (exactOnly && (value > MAX_SAFE || value < -MAX_SAFE)) {
      refuse("beyond ±9007199254740991 a number loses digits; use 'bigint' (or 'float' to accept the nearest double)")
    }
    return Number(value)
  }
  if (typeof value === 'string') {
    const text = trimmed(value)
    if (!DECIMAL_TEXT.test(text)) refuse('not a decimal number')
    // '1e999' matches the pattern but overflows to Infinity.
    return finite(Number(text))
  }
  return unsupported(value)
}

function toNumeric(value: {}): string {
  if (typeof value === 'number') return plainDecimal(finite(value))
  if (typeof value === 'bigint') return value.toString()
  if (typeof value === 'string') {
    const text = trimmed(value)
    if (!DECIMAL_TEXT.test(text)) refuse('not a decimal number')
    return text
  }
  return unsupported(value)
}

/** A finite number as decimal text without an exponent (the shortest digits that read back as the same double). */
function plainDecimal(value: number): string {
  const text = String(value)
  const at = text.indexOf('e')
  if (at === -1) return text
  const negative = text.startsWith('-')
  const mantissa = text.slice(negative ? 1 : 0, at)
  const exponent = Number(text.slice(at + 1))
  const point = mantissa.indexOf('.')
  const digits = mantissa.replace('.', '')
  // Where the decimal point goes in `digits` after shifting by the exponent.
  const shift = (point === -1 ? mantissa.length : point) + exponent
  let plain: string
  if (shift <= 0) plain = `0.${'0'.repeat(-shift)}${digits}`
  else if (shift >= digits.length) plain = digits + '0'.repeat(shift - digits.length)
  else plain = `${digits.slice(0, shift)}.${digits.slice(shift)}`
  return negative ? `-${plain}` : plain
}

function toBoolean(value: {}): boolean {
  if (typeof value === 'boolean') return value
  if (typeof value === 'number' || typeof value === 'bigint') {
    if (value === 1 || value === 1n) return true
    if (value === 0 || value === 0n) return false
    return refuse('only 1 and 0 are booleans')
  }
  if (typeof value === 'string') {
    const word = trimmed(value).toLowerCase()
    if (TRUE_WORDS.has(word)) return true
    if (FALSE_WORDS.has(word)) return false
    return refuse('not a yes/no word')
  }
  return unsupported(value)
}

function validDate(value: Date): Date {
  if (Number.isNaN(value.getTime())) refuse('the Date is invalid')
  return value
}

function fromEpoch(value: number, options: ConvertOptions): Date {
  finite(value)
  const ms = Math.round(options.epoch === 's' ? value * 1000 : value)
  if (Math.abs(ms) > MAX_DATE_MS) refuse(`outside the range a Date can hold (±${MAX_DATE_MS} ms around 1970)`)
  return new Date(ms)
}

/** Builds a UTC Date from calendar fields, refusing fields that roll over (Feb 30, 25:00). */
function calendarDate(year: number, month: number, day: number, hour = 0, minute = 0, second = 0): number {
  // PostgreSQL has no year 0 either: 1 BC comes before 1 AD.
  if (year < 1) refuse('year 0000 does not exist')
  const date = new Date(0)
  date.setUTCFullYear(year, month - 1, day)
  date.setUTCHours(hour, minute, second, 0)
  const exists =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second
  if (!exists) refuse('no such date or time in the calendar')
  return date.getTime()
}

function toDate(value: {}, options: ConvertOptions): string {
  if (typeof value === 'string') {
    const match = DATE_TEXT.exec(trimmed(value))
    if (match === null) return refuse("not a 'YYYY-MM-DD' date")
    calendarDate(Number(match[1]), Number(match[2]), Number(match[3]))
    return match[0]
  }
  if (typeof value === 'number') return utcDay(fromEpoch(value, options))
  if (value instanceof Date) return utcDay(validDate(value))
  return unsupported(value)
}

function utcDay(date: Date): string {
  const year = date.getUTCFullYear()
  if (year < 1 || year > 9999) refuse("the year does not fit 'YYYY-MM-DD'")
  return date.toISOString().slice(0, 10)
}

function toTimestamp(value: {}, options: ConvertOptions): Date {
  if (value instanceof Date) return new Date(validDate(value).getTime())
  if (typeof value === 'number') return fromEpoch(value, options)
  if (typeof value === 'string') {
    const match = TIMESTAMP_TEXT.exec(trimmed(value))
    if (match === null) return refuse('not an ISO 8601 date-time')
    const [, year, month, day, hour, minute, second, fraction, zone] = match
    let ms = calendarDate(Number(year), Number(month), Number(day), Number(hour ?? 0), Number(minute ?? 0), Number(second ?? 0))
    // Sub-millisecond digits are rounded: a Date holds milliseconds.
    if (fraction !== undefined) ms += Math.round(Number(`0.${fraction}`) * 1000)
    if (zone !== undefined && zone.toUpperCase() !== 'Z') ms -= zoneOffsetMs(zone)
    return new Date(ms)
  }
  return unsupported(value)
}

/** `+05:30`, `-0800`, `+02` → milliseconds east of UTC. */
function zoneOffsetMs(zone: string): number {
  const sign = zone.startsWith('-') ? -1 : 1
  const digits = zone.slice(1).replace(':', '')
  const hours = Number(digits.slice(0, 2))
  const minutes = digits.length > 2 ? Number(digits.slice(2)) : 0
  if (hours > 15 || minutes > 59) refuse(`time zone offset ${zone} is out of range`)
  return sign * (hours * 60 + minutes) * 60_000
}

function toUuid(value: {}): string {
  if (typeof value !== 'string') return unsupported(value)
  let text = trimmed(value)
  if (text.startsWith('{') && text.endsWith('}')) text = text.slice(1, -1)
  if (!UUID_TEXT.test(text)) return refuse('not a UUID')
  const hex = text.replaceAll('-', '').toLowerCase()
  // Hyphens are optional, but only all of them in the standard places or none.
  if (text.length !== 32 && text.length !== 36) return refuse('hyphens out of place')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

function toJson(value: {}): JsonValue {
  if (typeof value === 'string') {
    const text = trimmed(value)
    try {
      return JSON.parse(text) as JsonValue
    } catch (error) {
      return refuse(`not JSON text (${error instanceof Error ? error.message : String(error)})`)
    }
  }
  if (typeof value === 'number') return finite(value)
  if (typeof value === 'boolean') return value
  if (typeof value !== 'object') return unsupported(value)
  let text: string | undefined
  try {
    text = JSON.stringify(value, (_key, inner: unknown) => {
      if (typeof inner === 'bigint') refuse('JSON has no bigint; convert it to a string first')
      if (typeof inner === 'number' && !Number.isFinite(inner)) refuse(`JSON has no ${inner} (JSON.stringify would write null)`)
      return inner
    })
  } catch (error) {
    if (error instanceof Refusal) throw error
    const message = error instanceof Error ? error.message : String(error)
    return refuse(/circular/i.test(message) ? 'it contains a circular reference' : `JSON.stringify failed: ${message}`)
  }
  if (text === undefined) return refuse('JSON.stringify produced nothing')
  return JSON.parse(text) as JsonValue
}

function toBytes(value: {}): Uint8Array {
  if (value instanceof Uint8Array) return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  if (value instanceof ArrayBuffer) return Buffer.from(value)
  if (typeof value === 'string') {
    const text = trimmed(value)
    if (!HEX_BYTES.test(text)) refuse("not bytea hex text ('\\x' then pairs of hex digits)")
    return Buffer.from(text.slice(2), 'hex')
  }
  if (Array.isArray(value)) {
    for (const byte of value) {
      if (typeof byte !== 'number' || !Number.isInteger(byte) || byte < 0 || byte > 255) refuse(`${String(byte)} is not a byte (0–255)`)
    }
    return Buffer.from(value as number[])
  }
  return unsupported(value)
}
