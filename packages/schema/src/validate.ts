import { type ConvertKind, convert } from '@tessera/converter'
import { describeValue, ValidationError, type ValidationIssue } from '@tessera/core'
import type { AnyEntity, InferEntity, InferInsert } from './define-entity'
import { type EntityMeta, entityMeta, type FieldMeta } from './entity-meta'
import { AsyncValidatorError, type FieldValidator, runValidatorChain } from './field-validators'
import type { FieldConstraints, FieldDefinition } from './fields'

export { AsyncValidatorError }

import { jsonIssues } from './json-value'
import { intervalProblem, networkProblem, rangeProblem, timeProblem } from './value-shapes'

/** Options of {@link validate}. */
export interface ValidateOptions {
  /**
   * `insert`: every field an insert cannot omit must be present (see `FieldMeta.optionalOnInsert`);
   * `update`: every field is optional, but those present are checked. Default: `'insert'`.
   */
  mode?: 'insert' | 'update' | undefined
  /** What to do with keys that are not fields: report an issue, or drop them from the value. Default: `'error'`. */
  unknownFields?: 'error' | 'strip' | undefined
  /**
   * `true`: convert values of another JavaScript type, as input from forms and query strings needs (`'42'` → 42,
   * `'yes'` → true, epoch ms or ISO text → `Date`). `false`: a value must already have the type a read returns
   * (a string for text, a number for integer, a `Date` for timestamptz…), anything else is an issue. Default: `true`
   * here; repository writes default to `false` (see `RepositoryOptions.coerce`).
   */
  coerce?: boolean | undefined
}

/** The outcome of {@link validate}: the checked, coerced value, or every issue found. */
export type ValidationResult<T> = { ok: true; value: T } | { ok: false; issues: ValidationIssue[] }

/** The value a validation of mode `M` returns for entity `E` (`update`: the fields given, keys included). */
export type ValidatedValue<E extends AnyEntity, M extends ValidateOptions['mode']> = M extends 'update'
  ? Partial<InferEntity<E>>
  : InferInsert<E>

const INT2_MIN = -(2 ** 15)
const INT2_MAX = 2 ** 15 - 1
const INT4_MIN = -(2 ** 31)
const INT4_MAX = 2 ** 31 - 1
const INT8_MIN = -(2n ** 63n)
const INT8_MAX = 2n ** 63n - 1n

const CONVERT_KIND: Partial<Record<FieldDefinition['kind'], ConvertKind>> = {
  text: 'string',
  varchar: 'string',
  integer: 'integer',
  bigint: 'bigint',
  numeric: 'numeric',
  boolean: 'boolean',
  uuid: 'uuid',
  timestamptz: 'timestamp',
  date: 'date',
  bytea: 'bytes',
  smallint: 'integer',
  real: 'float',
  doublePrecision: 'float',
  timestamp: 'timestamp',
  citext: 'string',
  tsvector: 'string',
}

type Path = readonly (string | number)[]

/** Collects issues; async validators register their work in `pending`. Both arrays exist only once needed. */
interface Run {
  issues: ValidationIssue[] | undefined
  pending: Promise<void>[] | undefined
  readonly sync: boolean
}

function issue(run: Run, path: Path, message: string, value: unknown): void {
  if (run.issues === undefined) run.issues = []
  run.issues.push({ path: [...path], message, value })
}

function issueCount(run: Run): number {
  return run.issues === undefined ? 0 : run.issues.length
}

/** An issue below a field, its path relative to the field (`[2]` for the third item of an array). */
interface RelativeIssue {
  path: (string | number)[]
  message: string
  value: unknown
}

/** What a kind check returns when the value is refused; allocated only then. */
class Invalid {
  constructor(readonly issues: RelativeIssue[]) {}
}

function invalid(message: string, value: unknown): Invalid {
  return new Invalid([{ path: [], message, value }])
}

/** Coerces and checks one non-null value: returns the coerced value, or {@link Invalid}. */
type KindCheck = (value: unknown) => unknown

function isFiniteNumber(n: unknown): boolean {
  return typeof n === 'number' && Number.isFinite(n)
}

/** A document JSON can hold as given: `NaN`, a Map or a dropped `undefined` is an issue at its path, not a silent loss. */
function jsonCheck(value: unknown): unknown {
  const issues = jsonIssues(value)
  return issues === undefined ? value : new Invalid(issues)
}

/**
 * The kind check of a definition, built once per field. With `fastPath`, a value that already has the JavaScript
 * type `convert` would return (a string for text, an int4-range integer for integer, a valid Date for timestamptz…)
 * is taken without calling `convert`, which would return it unchanged (or, for a Date, an equal copy, as here);
 * anything else goes through `convert`. `fastPath: false` exists so tests can prove the two agree.
 */
function kindCheck(d: FieldDefinition, fastPath: boolean, coerce = true): KindCheck {
  const check = coercingCheck(d, fastPath, coerce)
  if (coerce) return check
  const strict = STRICT_TYPES[d.kind]
  if (strict === undefined) return check
  const [accepts, expected] = strict
  const message = `must be ${expected} (pass coerce: true to convert input from forms and query strings)`
  return (value) => (accepts(value) ? check(value) : invalid(`${message}, got ${describeValue(value)}`, value))
}

/**
 * What a strict write accepts per kind: the JavaScript type a read returns. Kinds not listed (enum, json, array,
 * vector) are checked as given in every mode.
 */
const STRICT_TYPES: Partial<Record<FieldDefinition['kind'], readonly [(value: unknown) => boolean, string]>> = {
  text: [(value) => typeof value === 'string', 'a string'],
  varchar: [(value) => typeof value === 'string', 'a string'],
  integer: [(value) => typeof value === 'number', 'a number'],
  bigint: [(value) => typeof value === 'bigint', 'a bigint'],
  numeric: [(value) => typeof value === 'string', 'decimal text such as "12.50"'],
  boolean: [(value) => typeof value === 'boolean', 'true or false'],
  uuid: [(value) => typeof value === 'string', 'a uuid string'],
  timestamptz: [(value) => value instanceof Date, 'a Date'],
  date: [(value) => typeof value === 'string', "a 'YYYY-MM-DD' string"],
  bytea: [(value) => value instanceof Uint8Array, 'a Buffer or Uint8Array'],
  smallint: [(value) => typeof value === 'number', 'a number'],
  real: [(value) => typeof value === 'number', 'a number'],
  doublePrecision: [(value) => typeof value === 'number', 'a number'],
  timestamp: [(value) => value instanceof Date, 'a Date'],
  citext: [(value) => typeof value === 'string', 'a string'],
  tsvector: [(value) => typeof value === 'string', "a string in tsvector syntax such as \"'cat':2 'fat':1\""],
}

/** A check of a shape no `convert` kind covers: the value is kept as given when it passes. */
function shapeCheck(problem: (value: unknown) => string | undefined): KindCheck {
  return (value) => {
    const message = problem(value)
    return message === undefined ? value : invalid(message, value)
  }
}

function coercingCheck(d: FieldDefinition, fastPath: boolean, coerce: boolean): KindCheck {
  switch (d.kind) {
    case 'enum': {
      const values = d.enumValues ?? []
      const message = `must be one of ${values.map((v) => JSON.stringify(v)).join(', ')}`
      return (value) => (values.includes(value as string) ? value : invalid(message, value))
    }
    case 'json':
      return jsonCheck
    case 'vector': {
      const dimensions = d.dimensions
      return (value) => {
        if (!Array.isArray(value) || !value.every(isFiniteNumber)) return invalid('must be an array of finite numbers', value)
        if (dimensions !== undefined && value.length !== dimensions) {
          return invalid(`must have ${dimensions} dimensions, not ${value.length}`, value)
        }
        return value
      }
    }
    case 'array':
      return arrayCheck(d.element as FieldDefinition, fastPath, coerce)
    case 'time':
      return shapeCheck(timeProblem)
    case 'interval':
      return shapeCheck(intervalProblem)
    case 'inet':
    case 'cidr': {
      const kind = d.kind
      return shapeCheck((value) => networkProblem(value, kind))
    }
    case 'range': {
      const type = d.rangeType ?? 'int4range'
      return shapeCheck((value) => rangeProblem(value, type))
    }
  }
  const viaConvert = convertCheck(d)
  if (!fastPath) return viaConvert
  switch (d.kind) {
    case 'text':
    case 'varchar':
      return (value) => (typeof value === 'string' ? value : viaConvert(value))
    case 'integer':
      // convert turns -0 into 0; so does this.
      return (value) =>
        typeof value === 'number' && Number.isInteger(value) && value >= INT4_MIN && value <= INT4_MAX
          ? value === 0
            ? 0
            : value
          : viaConvert(value)
    case 'bigint':
      return (value) => (typeof value === 'bigint' && value >= INT8_MIN && value <= INT8_MAX ? value : viaConvert(value))
    case 'boolean':
      return (value) => (typeof value === 'boolean' ? value : viaConvert(value))
    case 'timestamptz':
      // convert returns a copy of a valid Date, so the caller's Date is never shared with the result.
      return (value) => {
        if (value instanceof Date) {
          const time = value.getTime()
          if (!Number.isNaN(time)) return new Date(time)
        }
        return viaConvert(value)
      }
    case 'uuid':
      return (value) => (typeof value === 'string' && CANONICAL_UUID.test(value) ? value : viaConvert(value))
    case 'bytea':
      return (value) => (Buffer.isBuffer(value) ? value : viaConvert(value))
    case 'date':
      return (value) => (typeof value === 'string' && isCalendarDate(value) ? value : viaConvert(value))
    case 'numeric': {
      const overflow = numericOverflow(d)
      return (value) => {
        if (typeof value !== 'string' || !PLAIN_DECIMAL.test(value)) return viaConvert(value)
        const problem = overflow(value)
        return problem === undefined ? value : invalid(problem, value)
      }
    }
    default:
      return viaConvert
  }
}

/** Decimal text `convert(…, 'numeric')` returns unchanged: no sign but `-`, no exponent, no spaces. */
const PLAIN_DECIMAL = /^-?\d+(?:\.\d+)?$/

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

function digitAt(text: string, index: number): number {
  const code = text.charCodeAt(index) - 48
  return code >= 0 && code <= 9 ? code : Number.NaN
}

/**
 * Whether `text` is exactly `YYYY-MM-DD` naming a day of the proleptic Gregorian calendar from year 1: the text
 * `convert(…, 'date')` returns unchanged. Read digit by digit, so checking it allocates nothing.
 */
function isCalendarDate(text: string): boolean {
  if (text.length !== 10 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45) return false
  const year = digitAt(text, 0) * 1000 + digitAt(text, 1) * 100 + digitAt(text, 2) * 10 + digitAt(text, 3)
  const month = digitAt(text, 5) * 10 + digitAt(text, 6)
  const day = digitAt(text, 8) * 10 + digitAt(text, 9)
  // NaN (a non-digit) fails every comparison below.
  if (!(year >= 1 && month >= 1 && month <= 12 && day >= 1)) return false
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
  return day <= (month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] as number))
}

/** The `numeric(p, s)` digits check of converted text: the issue's message, or `undefined` when it fits. */
function numericOverflow(d: FieldDefinition): (text: string) => string | undefined {
  const precision = d.precision
  const scale = d.scale ?? 0
  if (precision === undefined) return () => undefined
  return (text) => numericProblem(text, precision, scale)
}

const DECIMAL_PARTS = /^-?(\d+)(?:\.(\d+))?$/

/**
 * Why `text` does not fit `numeric(precision, scale)` unchanged, or `undefined`. Counted on the text, not a float:
 * more digits after the point than the scale would be rounded by PostgreSQL (`'12.345'` → `12.35`, a silent change,
 * and `'9999.999'` in `numeric(6, 2)` rounds up to an overflow), more before it than `precision - scale` overflow.
 */
function numericProblem(text: string, precision: number, scale: number): string | undefined {
  const parts = DECIMAL_PARTS.exec(text)
  // 'NaN' is a numeric value PostgreSQL stores in any numeric(p, s); Infinity does not fit one.
  if (parts === null) return text === 'NaN' ? undefined : `does not fit numeric(${precision}, ${scale})`
  const fraction = (parts[2] ?? '').replace(/0+$/, '')
  if (fraction.length > scale) {
    return `has ${fraction.length} digit${fraction.length === 1 ? '' : 's'} after the point; numeric(${precision}, ${scale}) keeps ${scale} (it would be rounded)`
  }
  const integer = (parts[1] as string).replace(/^0+/, '')
  if (integer.length > precision - scale) {
    return `does not fit numeric(${precision}, ${scale}) (at most ${precision - scale} digits before the point)`
  }
  return undefined
}

/** The lowercase, hyphenated form `convert(…, 'uuid')` returns: such text comes back unchanged. */
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** Every item checked against the element's definition; a new array, holes kept as holes. */
function arrayCheck(element: FieldDefinition, fastPath: boolean, coerce: boolean): KindCheck {
  const check = kindCheck(element, fastPath, coerce)
  const nullable = element.nullable
  return (value) => {
    if (!Array.isArray(value)) return invalid('must be an array', value)
    const out = new Array<unknown>(value.length)
    let issues: RelativeIssue[] | undefined
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i]
      if (item === null || item === undefined) {
        if (item === undefined && !(i in value)) continue
        if (nullable) out[i] = null
        else {
          issues ??= []
          issues.push({ path: [i], message: 'must not be null', value: item })
          out[i] = item
        }
        continue
      }
      const checked = check(item)
      if (checked instanceof Invalid) {
        issues ??= []
        for (const found of checked.issues) issues.push({ path: [i, ...found.path], message: found.message, value: found.value })
        out[i] = item
        continue
      }
      out[i] = checked
    }
    return issues === undefined ? out : new Invalid(issues)
  }
}

/** `convert` for the definition's kind, then the range checks of integer, bigint, `numeric(p, s)`; bytes as a Buffer. */
function convertCheck(d: FieldDefinition): KindCheck {
  const kind = CONVERT_KIND[d.kind] as ConvertKind
  const overflow = numericOverflow(d)
  return (value) => {
    let converted: unknown
    try {
      converted = convert(value, kind)
    } catch (error) {
      const accepted = (error as { message: string }).message.split('; accepted: ')[1]
      return invalid(`is not a valid ${d.kind}${accepted ? `; accepted: ${accepted}` : ''}`, value)
    }
    if (d.kind === 'smallint' && ((converted as number) < INT2_MIN || (converted as number) > INT2_MAX)) {
      return invalid(`is outside the smallint range ${INT2_MIN}…${INT2_MAX}; use integer()`, value)
    }
    if (d.kind === 'integer' && ((converted as number) < INT4_MIN || (converted as number) > INT4_MAX)) {
      return invalid(`is outside the integer range ${INT4_MIN}…${INT4_MAX}; use bigint()`, value)
    }
    if (d.kind === 'bigint' && ((converted as bigint) < INT8_MIN || (converted as bigint) > INT8_MAX)) {
      return invalid('is outside the bigint range −2^63…2^63 − 1', value)
    }
    if (d.kind === 'numeric') {
      const problem = overflow(converted as string)
      if (problem !== undefined) return invalid(problem, value)
    }
    if (d.kind === 'bytea' && !Buffer.isBuffer(converted)) return Buffer.from(converted as Uint8Array)
    return converted
  }
}

const DATE_TEXT = /^\d{4}-\d{2}-\d{2}$/

function compare(a: unknown, b: unknown): number {
  if (a instanceof Date || b instanceof Date) return new Date(a as Date).getTime() - new Date(b as Date).getTime()
  if (typeof a === 'bigint' || typeof b === 'bigint') {
    const x = BigInt(a as bigint)
    const y = BigInt(b as bigint)
    return x < y ? -1 : x > y ? 1 : 0
  }
  if (typeof a === 'string' && typeof b === 'string' && DATE_TEXT.test(a)) return a < b ? -1 : a > b ? 1 : 0
  return Number(a) - Number(b)
}

/**
 * Characters (code points) of a string, as `[...text].length` and `varchar(n)` count them (a lone surrogate
 * is one), without building the array.
 */
export function characterCount(text: string): number {
  let count = 0
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i)
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) i++
    }
    count++
  }
  return count
}

function sizeOf(value: unknown): number | undefined {
  if (typeof value === 'string') return characterCount(value)
  if (Array.isArray(value)) return value.length
  if (value instanceof Uint8Array) return value.byteLength
  return undefined
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime()
  return Object.is(a, b)
}

/** Checks the built-in constraints of a field whose kind check passed; records every failure. */
type ConstraintCheck = (run: Run, path: Path, value: unknown) => void

/** The field's constraint check, or `undefined` when it has none (most fields): nothing to call per value. */
function constraintCheck(c: FieldConstraints): ConstraintCheck | undefined {
  const { min, max, minLength, maxLength, pattern, oneOf } = c
  if (
    min === undefined &&
    max === undefined &&
    minLength === undefined &&
    maxLength === undefined &&
    pattern === undefined &&
    oneOf === undefined
  ) {
    return undefined
  }
  const hasLength = minLength !== undefined || maxLength !== undefined
  return (run, path, value) => {
    if (min !== undefined && compare(value, min) < 0) issue(run, path, `must be at least ${describeValue(min)}`, value)
    if (max !== undefined && compare(value, max) > 0) issue(run, path, `must be at most ${describeValue(max)}`, value)
    if (hasLength) checkLength(run, path, value, minLength, maxLength)
    if (pattern !== undefined && typeof value === 'string') {
      pattern.lastIndex = 0
      if (!pattern.test(value)) issue(run, path, `must match ${pattern}`, value)
    }
    if (oneOf !== undefined && !oneOf.some((allowed) => sameValue(allowed, value))) {
      issue(run, path, `must be one of ${oneOf.map((v) => describeValue(v)).join(', ')}`, value)
    }
  }
}

function checkLength(run: Run, path: Path, value: unknown, minLength: number | undefined, maxLength: number | undefined): void {
  // A string has at most as many characters as UTF-16 units: a `varchar(n)` value of at most n units needs no count.
  if (typeof value === 'string' && minLength === undefined && maxLength !== undefined && value.length <= maxLength) return
  const size = sizeOf(value)
  if (size === undefined) return
  const unit = typeof value === 'string' ? 'characters' : value instanceof Uint8Array ? 'bytes' : 'items'
  if (minLength !== undefined && size < minLength) issue(run, path, `must have at least ${minLength} ${unit}`, value)
  if (maxLength !== undefined && size > maxLength) issue(run, path, `must have at most ${maxLength} ${unit}`, value)
}

/**
 * Runs the field's `.validate()` validators in order. A Standard Schema's output replaces the value (so a zod
 * `.trim()` applies); a later validator sees it. A validator that returns a promise is awaited in async mode.
 */
function runValidators(run: Run, path: Path, field: FieldMeta, value: unknown, set: (v: unknown) => void): void {
  const pending = runValidatorChain(
    field.validators as readonly FieldValidator<unknown>[],
    value,
    {
      issue: (relative, message, at) => issue(run, relative.length === 0 ? path : [...path, ...relative], message, at),
      value: set,
      count: () => issueCount(run),
    },
    { sync: run.sync, label: path.join('.') },
  )
  if (pending !== undefined) {
    if (run.pending === undefined) run.pending = []
    run.pending.push(pending)
  }
}

/** One field, with everything its validation needs decided once. */
interface CompiledField {
  readonly name: string
  /** `[name]`, shared: {@link issue} copies it. */
  readonly path: Path
  readonly requiredOnInsert: boolean
  readonly nullable: boolean
  readonly check: KindCheck
  readonly constraints: ConstraintCheck | undefined
  readonly hasValidators: boolean
  /** A generated column: any value given for it is an issue. */
  readonly computed: boolean
  readonly meta: FieldMeta
}

/** An entity's validator, compiled once (like the row mappers): per field, the checks that apply and nothing else. */
export interface CompiledValidator {
  readonly meta: EntityMeta
  readonly fields: readonly CompiledField[]
}

const compiledValidators = new WeakMap<EntityMeta, CompiledValidator>()
const strictValidators = new WeakMap<EntityMeta, CompiledValidator>()

/**
 * Compiles the validator of an entity. `fastPath: false` sends every value through `convert`; it exists for tests
 * that prove the fast path changes nothing.
 * @internal
 */
export function compileValidator(
  meta: EntityMeta,
  { fastPath = true, coerce = true }: { fastPath?: boolean | undefined; coerce?: boolean | undefined } = {},
): CompiledValidator {
  const fields = meta.fields.map(
    (field): CompiledField => ({
      name: field.fieldName,
      path: [field.fieldName],
      requiredOnInsert: !field.optionalOnInsert && field.definition.computed === undefined,
      computed: field.definition.computed !== undefined,
      nullable: field.nullable,
      check: kindCheck(field.definition, fastPath, coerce),
      constraints: constraintCheck(field.constraints),
      hasValidators: field.validators.length > 0,
      meta: field,
    }),
  )
  return { meta, fields }
}

function validatorOf(entity: AnyEntity, coerce: boolean): CompiledValidator {
  const meta = entityMeta(entity)
  const cache = coerce ? compiledValidators : strictValidators
  let compiled = cache.get(meta)
  if (compiled === undefined) {
    compiled = compileValidator(meta, { coerce })
    cache.set(meta, compiled)
  }
  return compiled
}

function reportInvalid(run: Run, path: Path, found: Invalid): void {
  for (const relative of found.issues)
    issue(run, relative.path.length === 0 ? path : [...path, ...relative.path], relative.message, relative.value)
}

function start(
  compiled: CompiledValidator,
  input: unknown,
  options: ValidateOptions,
  sync: boolean,
): { run: Run; out: Record<string, unknown> } {
  const { meta, fields } = compiled
  const run: Run = { issues: undefined, pending: undefined, sync }
  const out: Record<string, unknown> = {}
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    issue(run, [], `must be an object with the fields of ${meta.name}`, input)
    return { run, out }
  }
  const record = input as Record<string, unknown>
  const isInsert = (options.mode ?? 'insert') === 'insert'
  if ((options.unknownFields ?? 'error') === 'error') {
    // for…in over own keys visits them in Object.keys order, without building the array.
    for (const key in record) {
      if (!Object.hasOwn(record, key) || meta.byField.has(key)) continue
      issue(run, [key], `is not a field of ${meta.name}`, record[key])
    }
  }
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i] as CompiledField
    const name = field.name
    const value = record[name]
    if (value === undefined) {
      if (isInsert && field.requiredOnInsert) issue(run, field.path, 'is required', value)
      continue
    }
    if (field.computed) {
      issue(run, field.path, 'is a generated column (GENERATED ALWAYS AS … STORED): the database computes it, it cannot be written', value)
      continue
    }
    if (value === null) {
      if (field.nullable) out[name] = null
      else issue(run, field.path, 'must not be null', value)
      continue
    }
    const checked = field.check(value)
    if (checked instanceof Invalid) {
      reportInvalid(run, field.path, checked)
      continue
    }
    out[name] = checked
    if (field.constraints === undefined && !field.hasValidators) continue
    const before = issueCount(run)
    if (field.constraints !== undefined) field.constraints(run, field.path, checked)
    if (issueCount(run) === before && field.hasValidators) {
      runValidators(run, field.path, field.meta, checked, (v) => {
        out[name] = v
      })
    }
  }
  return { run, out }
}

function finish<T>(run: Run, out: Record<string, unknown>): ValidationResult<T> {
  if (run.issues !== undefined && run.issues.length > 0) return { ok: false, issues: run.issues }
  return { ok: true, value: out as T }
}

/**
 * {@link validateSync} with a validator from {@link compileValidator}.
 * @internal
 */
export function validateCompiledSync(
  compiled: CompiledValidator,
  input: unknown,
  options: ValidateOptions = {},
): ValidationResult<unknown> {
  const { run, out } = start(compiled, input, options, true)
  return finish(run, out)
}

/**
 * Checks `input` against the entity and reports **every** issue at once (path, message, offending value).
 *
 * By default it **coerces** (`coerce: false` refuses a value of another JavaScript type): each value goes through `@tessera/converter`'s lenient `convert` for its kind (`'42'` → 42 for
 * an integer, ISO text → `Date` for timestamptz, `'t'` → true…), and the result holds the coerced values; enums,
 * JSON, arrays (element by element) and vectors (dimensions) are checked as given. Then the built-in constraints
 * (min/max, length, pattern, oneOf, `varchar(n)`, integer ranges, `numeric(p, s)`), then `.validate()` validators:
 * Standard Schema ones (zod 4, valibot 1, arktype…; their output replaces the value) and functions, sync or async.
 *
 * @example
 * const result = await validate(User, { email: 'nope', age: '41' })
 * if (!result.ok) console.log(result.issues) // [{ path: ['email'], message: 'must match …', value: 'nope' }, …]
 */
export async function validate<E extends AnyEntity, const O extends ValidateOptions = {}>(
  entity: E,
  input: unknown,
  options?: O,
): Promise<ValidationResult<ValidatedValue<E, O['mode']>>> {
  const { run, out } = start(validatorOf(entity, options?.coerce !== false), input, options ?? {}, false)
  while (run.pending !== undefined && run.pending.length > 0) await Promise.all(run.pending.splice(0))
  return finish(run, out)
}

/**
 * {@link validate} without a promise, for entities whose validators are all synchronous.
 * @throws AsyncValidatorError when a validator returns a promise.
 */
export function validateSync<E extends AnyEntity, const O extends ValidateOptions = {}>(
  entity: E,
  input: unknown,
  options?: O,
): ValidationResult<ValidatedValue<E, O['mode']>> {
  const { run, out } = start(validatorOf(entity, options?.coerce !== false), input, options ?? {}, true)
  return finish(run, out)
}

/**
 * {@link validate}, returning the coerced value or throwing `@tessera/core`'s `ValidationError` with every issue.
 * @example const user = await assertValid(User, body)
 */
export async function assertValid<E extends AnyEntity, const O extends ValidateOptions = {}>(
  entity: E,
  input: unknown,
  options?: O,
): Promise<ValidatedValue<E, O['mode']>> {
  const result = await validate(entity, input, options)
  if (!result.ok) throw new ValidationError(result.issues, { subject: entityMeta(entity).name })
  return result.value
}

/** {@link validateSync}, returning the value or throwing a `ValidationError` with every issue. */
export function assertValidSync<E extends AnyEntity, const O extends ValidateOptions = {}>(
  entity: E,
  input: unknown,
  options?: O,
): ValidatedValue<E, O['mode']> {
  const result = validateSync(entity, input, options)
  if (!result.ok) throw new ValidationError(result.issues, { subject: entityMeta(entity).name })
  return result.value
}
