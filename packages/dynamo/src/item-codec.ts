import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import { convertToAttr, convertToNative } from '@aws-sdk/util-dynamodb'
import { describeValue, isTesseraError, type ValidationIssue } from '@tessera/core'
import { runValidatorChain } from '@tessera/schema/portable'
import type { AnyModel, FieldMeta, NestedFieldMeta } from './define-model'
import type { FieldKind } from './fields'
import type { AttributeMap } from './key-identity'
import { composeKey } from './key-template'

/** DynamoDB's item size limit. */

const EXPECTED: Readonly<Record<FieldKind, string>> = {
  string: 'a string',
  number: 'a finite number',
  boolean: 'a boolean',
  binary: 'a Uint8Array',
  stringSet: 'a non-empty Set of strings',
  numberSet: 'a non-empty Set of finite numbers',
  binarySet: 'a non-empty Set of Uint8Arrays',
  list: 'an array',
  map: 'a plain object',
}

/** The problem with `value` for a field of `kind`, or `undefined` when it fits. */
export function checkValue(kind: FieldKind, value: unknown): string | undefined {
  switch (kind) {
    case 'string':
      return typeof value === 'string' ? undefined : mismatch(kind, value)
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : mismatch(kind, value)
    case 'boolean':
      return typeof value === 'boolean' ? undefined : mismatch(kind, value)
    case 'binary':
      return value instanceof Uint8Array ? undefined : mismatch(kind, value)
    case 'list':
      return Array.isArray(value) ? undefined : mismatch(kind, value)
    case 'map':
      return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Set)
        ? undefined
        : mismatch(kind, value)
    default:
      return checkSet(kind, value)
  }
}

function checkSet(kind: FieldKind, value: unknown): string | undefined {
  if (!(value instanceof Set)) return mismatch(kind, value)
  if (value.size === 0) return `is an empty set; DynamoDB refuses empty sets: leave the field out, or mark it omitEmpty()`
  for (const element of value) {
    const ok =
      kind === 'stringSet'
        ? typeof element === 'string'
        : kind === 'numberSet'
          ? typeof element === 'number' && Number.isFinite(element)
          : element instanceof Uint8Array
    if (!ok) return `holds ${describeValue(element)}; expected ${EXPECTED[kind]}`
  }
  return undefined
}

function mismatch(kind: FieldKind, value: unknown): string {
  return `expected ${EXPECTED[kind]}, got ${describeValue(value)}`
}

/** True for the values `omitEmpty` leaves out: '', 0, an empty set, list or map. */
export function isEmptyValue(value: unknown): boolean {
  if (value === '' || value === 0) return true
  if (value instanceof Set) return value.size === 0
  if (Array.isArray(value)) return value.length === 0
  if (value instanceof Uint8Array) return value.length === 0
  if (typeof value === 'object' && value !== null) return Object.keys(value).length === 0
  return false
}

/** Marshals one field value (already checked). */
export function toAttribute(kind: FieldKind, value: unknown): AttributeValue {
  switch (kind) {
    case 'string':
      return { S: value as string }
    case 'number':
      return { N: String(value) }
    case 'boolean':
      return { BOOL: value as boolean }
    case 'binary':
      return { B: value as Uint8Array }
    case 'stringSet':
      return { SS: [...(value as Set<string>)] }
    case 'numberSet':
      return { NS: [...(value as Set<number>)].map(String) }
    case 'binarySet':
      return { BS: [...(value as Set<Uint8Array>)] }
    default:
      return convertToAttr(value, { removeUndefinedValues: true })
  }
}

/** Marshals any value by its JavaScript type (list elements, `contains` operands, …). */
export function toAnyAttribute(value: unknown): AttributeValue {
  return convertToAttr(value, { removeUndefinedValues: true })
}

/** Unmarshals one stored attribute value. */
export function fromAttribute(value: AttributeValue): unknown {
  if (value.S !== undefined) return value.S
  if (value.N !== undefined) return Number(value.N)
  if (value.BOOL !== undefined) return value.BOOL
  if (value.SS !== undefined) return new Set(value.SS)
  if (value.NS !== undefined) return new Set(value.NS.map(Number))
  return convertToNative(value)
}

/**
 * Checks and marshals an item to write: every problem (unknown attribute, wrong type, missing required field,
 * empty set, missing key field) is collected; then the composed keys and the entity marker are added.
 */
export function marshalItem(model: AnyModel, item: Readonly<Record<string, unknown>>, issues: ValidationIssue[]): AttributeMap {
  const out: AttributeMap = {}
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    issues.push({ path: [], message: `expected an item object, got ${describeValue(item)}`, value: item })
    return out
  }
  for (const property in item) {
    const value = item[property]
    const meta = model.fieldByName.get(property)
    if (!meta) {
      issues.push({ path: [property], message: `is not a field of ${model.name} (fields: ${fieldNames(model)})` })
      continue
    }
    if (value === undefined) continue
    if (meta.isOmitEmpty && isEmptyValue(value)) continue
    const problem = checkValue(meta.kind, value)
    if (problem) {
      issues.push({ path: [property], message: problem, value })
      continue
    }
    if (meta.shape && !checkShape(meta.shape, value as Record<string, unknown>, [property], issues)) continue
    const checked = meta.validators.length === 0 ? value : validateValue(meta, value, issues, [property])
    if (checked !== INVALID) out[meta.attribute] = toAttribute(meta.kind, checked)
  }
  for (const meta of model.fieldList as readonly FieldMeta[]) {
    if (meta.isOptional || meta.isGenerated || meta.isOmitEmpty) continue
    if (item[meta.name] === undefined) issues.push({ path: [meta.name], message: `is required (${EXPECTED[meta.kind]})` })
  }
  for (const key of model.composedKeys) {
    const composed = composeKey(key, item)
    if (composed !== undefined) out[key.attribute] = { S: composed }
  }
  if (model.entity) out[model.entity.attribute] = { S: model.entity.value }
  return out
}

/**
 * Checks a map value against the entries its field declared (`field.map({ … })`): every required entry present,
 * each of its kind (nested shapes too), no undeclared entry. Adds issues; false when there was one.
 */
export function checkShape(
  shape: ReadonlyMap<string, NestedFieldMeta>,
  value: Record<string, unknown>,
  path: readonly (string | number)[],
  issues: ValidationIssue[],
): boolean {
  const before = issues.length
  for (const name in value) {
    if (!shape.has(name) && value[name] !== undefined)
      issues.push({ path: [...path, name], message: `is not a declared entry of this map (entries: ${[...shape.keys()].join(', ')})` })
  }
  for (const [name, entry] of shape) {
    const entryValue = value[name]
    if (entryValue === undefined) {
      if (!entry.isOptional) issues.push({ path: [...path, name], message: `is required (${EXPECTED[entry.kind]})` })
      continue
    }
    const problem = checkValue(entry.kind, entryValue)
    if (problem) issues.push({ path: [...path, name], message: problem, value: entryValue })
    else if (entry.shape) checkShape(entry.shape, entryValue as Record<string, unknown>, [...path, name], issues)
  }
  return issues.length === before
}

/** What {@link validateValue} returns for a value its validators refused. */
export const INVALID: unique symbol = Symbol('invalid')

/**
 * Runs a field's `.validate()` validators (Standard Schema or functions, through `@tessera/schema/portable`) on a
 * value of the right kind: the value to write (a Standard Schema's output), or {@link INVALID} with the issues added.
 */
export function validateValue(meta: FieldMeta, value: unknown, issues: ValidationIssue[], path: readonly (string | number)[]): unknown {
  let current = value
  const before = issues.length
  try {
    runValidatorChain(
      meta.validators,
      value,
      {
        issue: (relative, message, at) => issues.push({ path: [...path, ...relative], message, value: at }),
        value: (next) => {
          current = next
        },
        count: () => issues.length,
      },
      { sync: true, label: path.join('.') },
    )
  } catch (error) {
    if (!isTesseraError(error) || error.code !== 'VALIDATION_ASYNC') throw error
    issues.push({ path: [...path], message: 'has an asynchronous validator; @tessera/dynamo runs validators synchronously', value })
  }
  if (issues.length !== before) return INVALID
  if (current !== value) {
    const problem = checkValue(meta.kind, current)
    if (problem) {
      issues.push({ path: [...path], message: `after its validator: ${problem}`, value: current })
      return INVALID
    }
  }
  return current
}

/** The fields of a model, for messages. */
export function fieldNames(model: AnyModel): string {
  return (model.fieldList as readonly FieldMeta[]).map((meta) => meta.name).join(', ')
}

/** Turns a stored item back into model properties; attributes that are not fields (keys, marker) are dropped. */
export function unmarshalItem(model: AnyModel, stored: AttributeMap): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const attribute in stored) {
    const meta = model.fieldByAttribute.get(attribute)
    if (meta) out[meta.name] = fromAttribute(stored[attribute]!)
  }
  return out
}
