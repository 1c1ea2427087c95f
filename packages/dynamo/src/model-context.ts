import { OptimisticLockError, ValidationError, type ValidationIssue } from '@tessera/core'
import type { CommandRunner } from './command-runner'
import type { CursorCodec } from './cursor'
import type { AnyModel, FieldMeta } from './define-model'
import { ConditionFailedError, ItemNotFoundError } from './errors'
import type { Pricing } from './explain'
import type { Cond } from './expressions'
import type { FieldEncryptor } from './field-encryption'
import { checkValue, fromAttribute, toAttribute, unmarshalItem } from './item-codec'
import type { AttributeMap } from './key-identity'
import { composeKey, type KeyTemplate } from './key-template'
import { openItem } from './model-encryption'

/** What a model's operations share. */
export interface ModelContext {
  readonly model: AnyModel
  readonly runner: CommandRunner
  readonly cursors: CursorCodec
  readonly pricing: Required<Pricing>
  /** The table name with the prefix. */
  readonly table: string
  /** Encrypts and decrypts the model's `.encrypted()` fields; `undefined` when it has none. */
  readonly encryptor: FieldEncryptor | undefined
}

/** Throws a `ValidationError` naming every issue, when there is one. */
export function throwIfIssues(issues: readonly ValidationIssue[], subject: string): void {
  if (issues.length > 0) throw new ValidationError(issues, { subject })
}

/**
 * Marshals a primary key. `extra` names properties allowed beside the key fields (the expected `version` of an
 * update or delete); anything else, a missing key field or a wrong type is an issue.
 */
export function marshalKey(model: AnyModel, key: unknown, issues: ValidationIssue[], extra: ReadonlySet<string> = EMPTY): AttributeMap {
  const out: AttributeMap = {}
  if (typeof key !== 'object' || key === null || Array.isArray(key)) {
    issues.push({ path: [], message: `expected a key object with ${keyFieldList(model)}, got ${typeof key}` })
    return out
  }
  const values = key as Record<string, unknown>
  const keyFields = primaryKeyFields(model)
  for (const property in values) {
    if (!keyFields.has(property) && !extra.has(property)) {
      issues.push({ path: [property], message: `is not part of the key of ${model.name} (key: ${keyFieldList(model)})` })
    }
  }
  for (const fieldName of keyFields) {
    const value = values[fieldName]
    const meta = model.fieldByName.get(fieldName) as FieldMeta
    if (value === undefined || value === null) {
      issues.push({ path: [fieldName], message: `is missing: the key of ${model.name} needs ${keyFieldList(model)}` })
      continue
    }
    const problem = checkValue(meta.kind, value)
    if (problem) issues.push({ path: [fieldName], message: problem, value })
  }
  if (issues.length > 0) return out
  addKeyAttribute(out, model, model.partitionKey, values)
  if (model.sortKey) addKeyAttribute(out, model, model.sortKey, values)
  return out
}

function addKeyAttribute(out: AttributeMap, model: AnyModel, template: KeyTemplate, values: Record<string, unknown>): void {
  if (template.isPlainField) {
    const meta = model.fieldByName.get(template.fields[0]!) as FieldMeta
    out[template.attribute] = toAttribute(meta.kind, values[meta.name])
  } else out[template.attribute] = { S: composeKey(template, values)! }
}

const EMPTY: ReadonlySet<string> = new Set()
const keyFieldCache = new WeakMap<AnyModel, ReadonlySet<string>>()

/** The fields the primary key reads. */
export function primaryKeyFields(model: AnyModel): ReadonlySet<string> {
  let found = keyFieldCache.get(model)
  if (!found) {
    found = new Set([...model.partitionKey.fields, ...(model.sortKey?.fields ?? [])])
    keyFieldCache.set(model, found)
  }
  return found
}

function keyFieldList(model: AnyModel): string {
  return [...primaryKeyFields(model)].join(', ')
}

/** The key fields of an item or key object, for error messages. */
export function keyOf(model: AnyModel, values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const fieldName of primaryKeyFields(model)) out[fieldName] = values[fieldName]
  return out
}

/**
 * Turns DynamoDB's `ConditionalCheckFailedException` into what the caller sees: `ItemNotFoundError` when the item
 * did not exist (updates and deletes never create), `OptimisticLockError` when its version moved, else
 * `ConditionFailedError` (a create over an existing item, or the caller's own condition), its item decrypted.
 */
export async function conditionFailure(
  context: ModelContext,
  error: unknown,
  details: { key: Record<string, unknown>; expectedVersion?: number | undefined; mustExist: boolean; reason: string },
): Promise<unknown> {
  if ((error as { name?: unknown })?.name !== 'ConditionalCheckFailedException') return error
  const model = context.model
  const oldItem = (error as { Item?: AttributeMap }).Item
  if (oldItem === undefined) {
    if (details.mustExist) return new ItemNotFoundError({ model: model.name, key: details.key })
    return new ConditionFailedError({ model: model.name, key: details.key, reason: details.reason }, { cause: error })
  }
  const versionField = model.versionField as FieldMeta | undefined
  if (versionField && details.expectedVersion !== undefined) {
    const stored = oldItem[versionField.attribute]
    const current = stored === undefined ? undefined : fromAttribute(stored)
    if (current !== details.expectedVersion) {
      return new OptimisticLockError({ entity: model.name, key: details.key, expectedVersion: details.expectedVersion })
    }
  }
  return new ConditionFailedError(
    { model: model.name, key: details.key, reason: details.reason, item: unmarshalItem(model, await openItem(context.encryptor, oldItem)) },
    { cause: error },
  )
}

const entityFilters = new WeakMap<AnyModel, Cond>()

/** The filter on a model's entity marker (one object per model, for `constantFilter`), or `undefined` without one. */
export function entityFilter(model: AnyModel): Cond | undefined {
  if (!model.entity) return undefined
  let found = entityFilters.get(model)
  if (!found) {
    found = { type: 'cmp', attr: model.entity.attribute, op: '=', values: [{ S: model.entity.value }] }
    entityFilters.set(model, found)
  }
  return found
}

/** Stored attribute names of `select`, or an issue for an unknown field. */
export function selectAttributes(model: AnyModel, select: readonly string[] | undefined, issues: ValidationIssue[]): string[] | undefined {
  if (select === undefined) return undefined
  if (!Array.isArray(select) || select.length === 0) {
    issues.push({ path: ['select'], message: 'expected a non-empty array of field names' })
    return undefined
  }
  const out: string[] = []
  for (const fieldName of select) {
    const meta = model.fieldByName.get(fieldName) as FieldMeta | undefined
    if (!meta) issues.push({ path: ['select', fieldName], message: `is not a field of ${model.name}` })
    else out.push(meta.attribute)
  }
  return out
}
