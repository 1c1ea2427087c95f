import type { StandardSchemaV1 } from '@standard-schema/spec'
import { type ConvertKind, convert } from '@tessera/converter'
import { describeValue, TesseraError, ValidationError, type ValidationIssue } from '@tessera/core'
import type { AnyEntity, InferInsert, InferUpdate } from './define-entity'
import { entityMeta, type FieldMeta } from './entity-meta'
import type { FieldDefinition, FieldValidator, FieldValidatorFn } from './fields'

/** Options of {@link validate}. */
export interface ValidateOptions {
  /**
   * `insert`: every field an insert cannot omit must be present (see `FieldMeta.optionalOnInsert`);
   * `update`: every field is optional, but those present are checked. Default: `'insert'`.
   */
  mode?: 'insert' | 'update'
  /** What to do with keys that are not fields: report an issue, or drop them from the value. Default: `'error'`. */
  unknownFields?: 'error' | 'strip'
}

/** The outcome of {@link validate}: the checked, coerced value, or every issue found. */
export type ValidationResult<T> = { ok: true; value: T } | { ok: false; issues: ValidationIssue[] }

/** The value a validation of mode `M` returns for entity `E`. */
export type ValidatedValue<E extends AnyEntity, M extends ValidateOptions['mode']> = M extends 'update' ? InferUpdate<E> : InferInsert<E>

/** A validator returned a promise to `validateSync`. */
export class AsyncValidatorError extends TesseraError {
  constructor(path: string) {
    super(`the validator of ${path} is async; use validate() / assertValid() instead of validateSync() / assertValidSync()`, {
      code: 'VALIDATION_ASYNC',
    })
  }
}

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
}

type Path = readonly (string | number)[]

/** Collects issues; async validators register their work in `pending`. */
interface Run {
  issues: ValidationIssue[]
  pending: Promise<void>[]
  sync: boolean
}

function issue(run: Run, path: Path, message: string, value: unknown): void {
  run.issues.push({ path: [...path], message, value })
}

/**
 * Coerces and checks one value against a field definition. Returns the coerced value, or `undefined` after
 * recording an issue. `null` is handled by the caller.
 */
function checkKind(run: Run, path: Path, d: FieldDefinition, value: unknown): { ok: boolean; value: unknown } {
  const fail = (message: string) => {
    issue(run, path, message, value)
    return { ok: false, value }
  }
  switch (d.kind) {
    case 'enum': {
      const values = d.enumValues ?? []
      return values.includes(value as string)
        ? { ok: true, value }
        : fail(`must be one of ${values.map((v) => JSON.stringify(v)).join(', ')}`)
    }
    case 'json':
      try {
        return JSON.stringify(value) === undefined ? fail('is not representable as JSON') : { ok: true, value }
      } catch (error) {
        return fail(`is not representable as JSON (${(error as Error).message})`)
      }
    case 'vector': {
      if (!Array.isArray(value) || !value.every((n) => typeof n === 'number' && Number.isFinite(n))) {
        return fail('must be an array of finite numbers')
      }
      if (d.dimensions !== undefined && value.length !== d.dimensions) {
        return fail(`must have ${d.dimensions} dimensions, not ${value.length}`)
      }
      return { ok: true, value }
    }
    case 'array': {
      if (!Array.isArray(value)) return fail('must be an array')
      const element = d.element as FieldDefinition
      let ok = true
      const out = value.map((item, i) => {
        if (item === null || item === undefined) {
          if (element.nullable) return null
          issue(run, [...path, i], 'must not be null', item)
          ok = false
          return item
        }
        const checked = checkKind(run, [...path, i], element, item)
        if (!checked.ok) ok = false
        return checked.value
      })
      return { ok, value: out }
    }
  }
  const kind = CONVERT_KIND[d.kind] as ConvertKind
  let converted: unknown
  try {
    converted = convert(value, kind)
  } catch (error) {
    const accepted = (error as { message: string }).message.split('; accepted: ')[1]
    return fail(`is not a valid ${d.kind}${accepted ? `; accepted: ${accepted}` : ''}`)
  }
  if (d.kind === 'integer' && ((converted as number) < INT4_MIN || (converted as number) > INT4_MAX)) {
    return fail(`is outside the integer range ${INT4_MIN}…${INT4_MAX}; use bigint()`)
  }
  if (d.kind === 'bigint' && ((converted as bigint) < INT8_MIN || (converted as bigint) > INT8_MAX)) {
    return fail('is outside the bigint range −2^63…2^63 − 1')
  }
  if (d.kind === 'numeric' && d.precision !== undefined && !fitsNumeric(converted as string, d.precision, d.scale ?? 0)) {
    return fail(`does not fit numeric(${d.precision}, ${d.scale ?? 0}) (at most ${d.precision - (d.scale ?? 0)} digits before the point)`)
  }
  if (d.kind === 'bytea' && !Buffer.isBuffer(converted)) converted = Buffer.from(converted as Uint8Array)
  return { ok: true, value: converted }
}

// Digits before the decimal point must fit; digits after it are rounded by PostgreSQL, as it does.
function fitsNumeric(text: string, precision: number, scale: number): boolean {
  const n = Number(text)
  if (!Number.isFinite(n)) return false
  const integerDigits = Math.abs(n) < 1 ? 0 : Math.floor(Math.log10(Math.abs(n))) + 1
  return integerDigits <= precision - scale
}

function compare(a: unknown, b: unknown): number {
  if (a instanceof Date || b instanceof Date) return new Date(a as Date).getTime() - new Date(b as Date).getTime()
  if (typeof a === 'bigint' || typeof b === 'bigint') {
    const x = BigInt(a as bigint)
    const y = BigInt(b as bigint)
    return x < y ? -1 : x > y ? 1 : 0
  }
  if (typeof a === 'string' && typeof b === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(a)) return a < b ? -1 : a > b ? 1 : 0
  return Number(a) - Number(b)
}

function sizeOf(value: unknown): number | undefined {
  if (typeof value === 'string') return [...value].length // characters (code points), as varchar(n) counts them
  if (Array.isArray(value)) return value.length
  if (value instanceof Uint8Array) return value.byteLength
  return undefined
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime()
  return Object.is(a, b)
}

function checkConstraints(run: Run, path: Path, field: FieldMeta, value: unknown): void {
  const c = field.constraints
  if (c.min !== undefined && compare(value, c.min) < 0) issue(run, path, `must be at least ${describeValue(c.min)}`, value)
  if (c.max !== undefined && compare(value, c.max) > 0) issue(run, path, `must be at most ${describeValue(c.max)}`, value)
  const size = sizeOf(value)
  if (size !== undefined) {
    const unit = typeof value === 'string' ? 'characters' : value instanceof Uint8Array ? 'bytes' : 'items'
    if (c.minLength !== undefined && size < c.minLength) issue(run, path, `must have at least ${c.minLength} ${unit}`, value)
    if (c.maxLength !== undefined && size > c.maxLength) issue(run, path, `must have at most ${c.maxLength} ${unit}`, value)
  }
  if (c.pattern !== undefined && typeof value === 'string') {
    c.pattern.lastIndex = 0
    if (!c.pattern.test(value)) issue(run, path, `must match ${c.pattern}`, value)
  }
  if (c.oneOf !== undefined && !c.oneOf.some((allowed) => sameValue(allowed, value))) {
    issue(run, path, `must be one of ${c.oneOf.map((v) => describeValue(v)).join(', ')}`, value)
  }
}

function isStandardSchema(validator: FieldValidator<unknown>): validator is StandardSchemaV1 {
  return typeof validator === 'object' && validator !== null && '~standard' in validator
}

function pathKey(segment: PropertyKey | StandardSchemaV1.PathSegment): string | number {
  const key = typeof segment === 'object' ? segment.key : segment
  return typeof key === 'symbol' ? key.toString() : key
}

function standardIssues(run: Run, path: Path, value: unknown, result: StandardSchemaV1.Result<unknown>, set: (v: unknown) => void): void {
  if (result.issues === undefined) {
    set(result.value)
    return
  }
  for (const found of result.issues) issue(run, [...path, ...(found.path ?? []).map(pathKey)], found.message, value)
}

function fnResult(run: Run, path: Path, value: unknown, result: boolean | string | undefined): void {
  if (result === true || result === undefined) return
  issue(run, path, result === false ? 'is invalid' : result, value)
}

/**
 * Runs the field's `.validate()` validators in order. A Standard Schema's output replaces the value (so a zod
 * `.trim()` applies); a later validator sees it. A validator that returns a promise is awaited in async mode.
 */
function runValidators(run: Run, path: Path, field: FieldMeta, value: unknown, set: (v: unknown) => void): void {
  const validators = field.validators
  let current = value
  const update = (v: unknown) => {
    current = v
    set(v)
  }
  const step = (index: number): Promise<void> | undefined => {
    for (let i = index; i < validators.length; i++) {
      const validator = validators[i] as FieldValidator<unknown>
      const before = run.issues.length
      const result = isStandardSchema(validator)
        ? validator['~standard'].validate(current)
        : (validator as FieldValidatorFn<unknown>)(current)
      if (result instanceof Promise) {
        if (run.sync) throw new AsyncValidatorError(path.join('.'))
        return result.then((resolved) => {
          if (isStandardSchema(validator)) standardIssues(run, path, current, resolved as StandardSchemaV1.Result<unknown>, update)
          else fnResult(run, path, current, resolved as boolean | string | undefined)
          if (run.issues.length === before) return step(i + 1)
        })
      }
      if (isStandardSchema(validator)) standardIssues(run, path, current, result as StandardSchemaV1.Result<unknown>, update)
      else fnResult(run, path, current, result as boolean | string | undefined)
      // Stop at the first failing validator of a field: later ones would see an invalid value.
      if (run.issues.length !== before) return undefined
    }
    return undefined
  }
  const pending = step(0)
  if (pending !== undefined) run.pending.push(pending)
}

function start(entity: AnyEntity, input: unknown, options: ValidateOptions, sync: boolean): { run: Run; out: Record<string, unknown> } {
  const meta = entityMeta(entity)
  const run: Run = { issues: [], pending: [], sync }
  const out: Record<string, unknown> = {}
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    issue(run, [], `must be an object with the fields of ${meta.name}`, input)
    return { run, out }
  }
  const record = input as Record<string, unknown>
  const isInsert = (options.mode ?? 'insert') === 'insert'
  for (const key of Object.keys(record)) {
    if (meta.byField.has(key)) continue
    if ((options.unknownFields ?? 'error') === 'error') issue(run, [key], `is not a field of ${meta.name}`, record[key])
  }
  for (const field of meta.fields) {
    const name = field.fieldName
    const value = record[name]
    const path = [name]
    if (value === undefined) {
      if (isInsert && !field.optionalOnInsert) issue(run, path, 'is required', value)
      continue
    }
    if (value === null) {
      if (field.nullable) out[name] = null
      else issue(run, path, 'must not be null', value)
      continue
    }
    const checked = checkKind(run, path, field.definition, value)
    if (!checked.ok) continue
    out[name] = checked.value
    const before = run.issues.length
    checkConstraints(run, path, field, checked.value)
    if (run.issues.length === before && field.validators.length > 0) {
      runValidators(run, path, field, checked.value, (v) => {
        out[name] = v
      })
    }
  }
  return { run, out }
}

function finish<T>(run: Run, out: Record<string, unknown>): ValidationResult<T> {
  if (run.issues.length > 0) return { ok: false, issues: run.issues }
  return { ok: true, value: out as T }
}

/**
 * Checks `input` against the entity and reports **every** issue at once (path, message, offending value).
 *
 * It **coerces**: each value goes through `@tessera/converter`'s lenient `convert` for its kind (`'42'` → 42 for
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
  const { run, out } = start(entity, input, options ?? {}, false)
  while (run.pending.length > 0) await Promise.all(run.pending.splice(0))
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
  const { run, out } = start(entity, input, options ?? {}, true)
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
