import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import { describeValue, type ValidationIssue } from '@tessera/core'
import { type PreparedRequest, summariseConsumedCapacity } from './command-runner'
import { type Condition, toCond } from './conditions'
import type { AnyModel, FieldMeta, FieldName, Item } from './define-model'
import { type ExplainOptions, type Explanation, estimateItemSize, explainRequest, withActual } from './explain'
import { addConstants, allOf, buildExpressions, type Cond, operationName, type UpdateAction } from './expressions'
import { checkValue, INVALID, toAnyAttribute, toAttribute, unmarshalItem, validateValue } from './item-codec'
import type { AttributeMap } from './key-identity'
import { composeKey } from './key-template'
import { conditionFailure, keyOf, type ModelContext, marshalKey, primaryKeyFields, throwIfIssues } from './model-context'
import { openItem, refusePlaintext, sealItem } from './model-encryption'

/** Which item an update returns: as written (`'new'`, default), as it was (`'old'`), or nothing (`'none'`). */
export type UpdateReturning = 'new' | 'old' | 'none'

type SetElement<T> = T extends Set<infer E> ? E : never
type ListElement<T> = T extends readonly (infer E)[] ? E : never
type ValueAt<I, K> = K extends keyof I ? NonNullable<I[K]> : never
type FieldsOfType<I, T> = { [K in keyof I]-?: NonNullable<I[K]> extends T ? K : never }[keyof I] & string

/**
 * An update of one item. Nothing is sent until `go()`; `params()` and `explain()` show what would be sent.
 *
 * @example
 * await db.model(User).update({ id: '1', version: 3 }).set({ name: 'Ada' }).increment('logins').go()
 */
export interface UpdateBuilder<M extends AnyModel> {
  /** Sets fields to values. */
  set(values: Partial<Item<M>>): UpdateBuilder<M>
  /** Sets fields only where the stored item lacks them (`if_not_exists`). */
  ifNotExists(values: Partial<Item<M>>): UpdateBuilder<M>
  /** Removes optional fields. */
  remove(...fields: FieldName<M>[]): UpdateBuilder<M>
  /** Adds to a number, or adds elements to a set (`ADD`). */
  add<F extends FieldsOfType<Item<M>, number | Set<unknown>>>(fieldName: F, value: ValueAt<Item<M>, F>): UpdateBuilder<M>
  /** Removes elements from a set (`DELETE`). */
  delete<F extends FieldsOfType<Item<M>, Set<unknown>>>(fieldName: F, elements: Set<SetElement<ValueAt<Item<M>, F>>>): UpdateBuilder<M>
  /** Appends to a list (an absent list starts empty). */
  append<F extends FieldsOfType<Item<M>, readonly unknown[]>>(fieldName: F, elements: ListElement<ValueAt<Item<M>, F>>[]): UpdateBuilder<M>
  /** Prepends to a list (an absent list starts empty). */
  prepend<F extends FieldsOfType<Item<M>, readonly unknown[]>>(fieldName: F, elements: ListElement<ValueAt<Item<M>, F>>[]): UpdateBuilder<M>
  /** Adds `by` (default 1) to a number; an absent number starts at 0. */
  increment(fieldName: FieldsOfType<Item<M>, number>, by?: number): UpdateBuilder<M>
  /** Updates only if this holds for the stored item (besides the version check). */
  if(condition: Condition<Item<M>>): UpdateBuilder<M>
  /** What `go()` returns. Default: `'new'`. */
  returning(what: UpdateReturning): UpdateBuilder<M>
  /**
   * The request that `go()` would send. Throws a `ValidationError` for bad input, before anything is sent, and a
   * `DYNAMO_PLAINTEXT_REFUSED` error when it sets an encrypted field (use `sealedParams()`).
   */
  params(): PreparedRequest
  /** The request that `go()` would send, encrypted fields encrypted (asks the key provider for a data key). */
  sealedParams(): Promise<PreparedRequest>
  /** Explains the update (with `analyze`, runs it). */
  explain(options?: ExplainOptions): Promise<Explanation>
  /** Sends the update. */
  go(options?: { signal?: AbortSignal | undefined }): Promise<Item<M> | undefined>
}

type Step =
  | { kind: 'set' | 'setIfNotExists'; values: Record<string, unknown> }
  | { kind: 'remove'; fields: string[] }
  | { kind: 'add' | 'delete' | 'append' | 'prepend' | 'increment'; field: string; value: unknown }
  | { kind: 'if'; condition: unknown }

/** The update builder with what a transaction needs besides. */
export interface SealingUpdateBuilder<M extends AnyModel> extends UpdateBuilder<M> {
  /** The request with encrypted fields as plaintext: for a transaction to hold until it seals it. */
  unsealedParams(): PreparedRequest
  /** The encrypted fields the update sets (call after `unsealedParams()`, which checks them). */
  plaintextFields(): string[]
}

/** Creates an update builder for the item with `key`. */
export function createUpdateBuilder<M extends AnyModel>(context: ModelContext, key: Record<string, unknown>): SealingUpdateBuilder<M> {
  const model = context.model
  const steps: Step[] = []
  let returning: UpdateReturning = 'new'
  let expectedVersion: number | undefined

  /** `sealed`: the encrypted values of encrypted fields, by attribute, used in place of their plaintext. */
  const prepare = (sealed?: AttributeMap): PreparedRequest => {
    const issues: ValidationIssue[] = []
    const versionField = model.versionField as FieldMeta | undefined
    const storedKey = marshalKey(model, key, issues, versionField ? VERSION_ONLY : undefined)
    const actions: UpdateAction[] = []
    const touched = new Map<string, unknown>()
    const removed = new Set<string>()
    let userCondition: Cond | undefined
    const keyFields = primaryKeyFields(model)
    const field = (name: string, kind: Step['kind']): FieldMeta | undefined => {
      const meta = model.fieldByName.get(name) as FieldMeta | undefined
      if (!meta) issues.push({ path: [kind, name], message: `is not a field of ${model.name}` })
      else if (keyFields.has(name)) {
        issues.push({
          path: [kind, name],
          message: 'is part of the primary key, which an update cannot change: write a new item and delete the old one',
        })
      } else if (meta.role === 'version' || meta.role === 'createdAt' || meta.role === 'updatedAt') {
        issues.push({ path: [kind, name], message: `is the ${meta.role} field, which Tessera maintains` })
      } else return meta
      return undefined
    }
    for (const step of steps) {
      switch (step.kind) {
        case 'set':
        case 'setIfNotExists':
          for (const name of Object.keys(step.values)) {
            const value = step.values[name]
            const meta = field(name, step.kind)
            if (!meta) continue
            if (value === undefined) {
              issues.push({ path: [step.kind, name], message: 'is undefined; to delete a field use remove()' })
              continue
            }
            const problem = checkValue(meta.kind, value)
            if (problem) {
              issues.push({ path: [step.kind, name], message: problem, value })
              continue
            }
            const checked = meta.validators.length === 0 ? value : validateValue(meta, value, issues, [step.kind, name])
            if (checked === INVALID) continue
            actions.push({
              type: step.kind === 'set' ? 'set' : 'setIfNotExists',
              attr: meta.attribute,
              value: sealed?.[meta.attribute] ?? toAttribute(meta.kind, checked),
            })
            if (step.kind === 'set') touched.set(name, checked)
          }
          break
        case 'remove':
          for (const name of step.fields) {
            const meta = field(name, 'remove')
            if (!meta) continue
            if (!meta.isOptional && !meta.isOmitEmpty)
              issues.push({ path: ['remove', name], message: 'is required, so it cannot be removed' })
            else {
              actions.push({ type: 'remove', attr: meta.attribute })
              removed.add(name)
            }
          }
          break
        case 'if':
          userCondition = allOf(userCondition, toCond(model, step.condition, issues, ['if']))
          break
        default: {
          const meta = field(step.field, step.kind)
          if (!meta) break
          if (meta.isEncrypted) {
            issues.push({
              path: [step.kind, step.field],
              message: `is encrypted: DynamoDB cannot ${step.kind} its ciphertext; set() the whole new value instead`,
            })
            break
          }
          const value = operandOf(meta, step.kind, step.value, issues)
          if (value) actions.push({ type: step.kind, attr: meta.attribute, value })
        }
      }
    }
    // Index keys composed from updated fields are recomputed; a template whose other fields are not known is an issue.
    let known: Record<string, unknown> | undefined
    for (const template of model.composedKeys) {
      if (template === model.partitionKey || template === model.sortKey) continue
      if (template.fields.some((name) => removed.has(name))) {
        actions.push({ type: 'remove', attr: template.attribute })
        continue
      }
      if (!template.fields.some((name) => touched.has(name))) continue
      const changed = template.fields.filter((name) => touched.has(name))
      const values = (known ??= { ...key, ...Object.fromEntries(touched) })
      const composed = composeKey(template, values)
      if (composed === undefined) {
        const missing = template.fields.filter((name) => values[name] === undefined)
        issues.push({
          path: ['set', ...changed],
          message: `changes index key ${template.attribute} (${template.source}), which also needs ${missing.join(', ')}: set those too`,
        })
      } else actions.push({ type: 'set', attr: template.attribute, value: { S: composed } })
    }
    let condition: Cond = { type: 'exists', attr: model.partitionKey.attribute }
    if (versionField) {
      const given = key.version
      if (typeof given !== 'number' || !Number.isInteger(given) || given < 0) {
        issues.push({
          path: ['version'],
          message: `${model.name} has a version field: pass the expected version (an integer >= 0) with the key, got ${describeValue(given)}`,
        })
      } else {
        expectedVersion = given
        condition = allOf(condition, { type: 'cmp', attr: versionField.attribute, op: '=', values: [{ N: String(given) }] })!
        actions.push({ type: 'set', attr: versionField.attribute, value: { N: String(given + 1) } })
      }
    }
    const seen = new Set<string>()
    for (const action of actions) {
      if (seen.has(action.attr)) {
        issues.push({
          path: [action.type, action.attr],
          message: 'is changed twice in one update; DynamoDB refuses overlapping paths: keep one change',
        })
      }
      seen.add(action.attr)
    }
    const updatedAt = model.updatedAtField as FieldMeta | undefined
    if (updatedAt) actions.push({ type: 'set', attr: updatedAt.attribute, value: { S: new Date().toISOString() } })
    if (actions.length === 0 && issues.length === 0)
      issues.push({ path: [], message: 'changes nothing: call set(), add(), remove(), … first' })
    condition = allOf(condition, userCondition)!
    throwIfIssues(issues, `${model.name}.update`)
    const input: Record<string, unknown> = buildExpressions(
      context.runner.cache,
      operationName(model, 'update'),
      { update: actions, condition },
      {
        TableName: context.table,
        Key: storedKey,
      } as Record<string, unknown>,
    )
    input.ReturnValues = returning === 'new' ? 'ALL_NEW' : returning === 'old' ? 'ALL_OLD' : 'NONE'
    input.ReturnValuesOnConditionCheckFailure = 'ALL_OLD'
    addConstants(input)
    return { operation: 'UpdateItem', table: context.table, input }
  }

  /** The new values of the encrypted fields the update sets, by attribute (checked by `prepare` first). */
  const encryptedValues = (): { values: AttributeMap; names: string[] } => {
    const values: AttributeMap = {}
    const names: string[] = []
    if (!context.encryptor) return { values, names }
    for (const step of steps) {
      if (step.kind !== 'set' && step.kind !== 'setIfNotExists') continue
      for (const name in step.values) {
        const meta = model.fieldByName.get(name) as FieldMeta | undefined
        if (!meta?.isEncrypted) continue
        const value = meta.validators.length === 0 ? step.values[name] : validateValue(meta, step.values[name], [], [name])
        if (value === INVALID) continue
        values[meta.attribute] = toAttribute(meta.kind, value)
        names.push(name)
      }
    }
    return { values, names }
  }

  const sealedParams = async (): Promise<PreparedRequest> => {
    const plain = prepare()
    const { values, names } = encryptedValues()
    if (names.length === 0) return plain
    return prepare(await sealItem(context.encryptor, values))
  }

  const send = async (request: PreparedRequest, signal: AbortSignal | undefined) => {
    try {
      return await context.runner.send(request, signal)
    } catch (error) {
      throw await conditionFailure(context, error, {
        key: keyOf(model, key),
        expectedVersion,
        mustExist: true,
        reason: 'the update condition did not hold',
      })
    }
  }

  const push = (step: Step): UpdateBuilder<M> => {
    steps.push(step)
    return builder
  }
  const builder: SealingUpdateBuilder<M> = {
    set: (values) => push({ kind: 'set', values: values as Record<string, unknown> }),
    ifNotExists: (values) => push({ kind: 'setIfNotExists', values: values as Record<string, unknown> }),
    remove: (...fields) => push({ kind: 'remove', fields }),
    add: (name, value) => push({ kind: 'add', field: name, value }),
    delete: (name, elements) => push({ kind: 'delete', field: name, value: elements }),
    append: (name, elements) => push({ kind: 'append', field: name, value: elements }),
    prepend: (name, elements) => push({ kind: 'prepend', field: name, value: elements }),
    increment: (name, by = 1) => push({ kind: 'increment', field: name, value: by }),
    if: (condition) => push({ kind: 'if', condition }),
    returning: (what) => {
      returning = what
      return builder
    },
    params: () => {
      const request = prepare()
      if (context.encryptor) refusePlaintext(`${model.name}.update().params()`, encryptedValues().names, 'await sealedParams()')
      return request
    },
    sealedParams,
    unsealedParams: () => prepare(),
    plaintextFields: () => encryptedValues().names,
    async explain(options = {}) {
      const request = prepare()
      const gsiWrites = model.indexes.filter((index) => index.type === 'gsi').length
      const explanation = explainRequest({
        request,
        itemSizeBytes: estimateItemSize(model),
        projectedItemSizeBytes: estimateItemSize(model),
        sizeBasis: 'model',
        itemsAssumed: 1,
        indexWrites: gsiWrites,
        appliedAfterRead: [],
        warnings: [],
        pricing: context.pricing,
      })
      if (!options.analyze) return explanation
      const sealed = await sealedParams()
      const output = await send({ ...sealed, input: { ...sealed.input, ReturnConsumedCapacity: 'INDEXES' } }, options.signal)
      return withActual(explanation, summariseConsumedCapacity(output.ConsumedCapacity))
    },
    async go(options = {}) {
      const output = await send(await sealedParams(), options.signal)
      const attributes = output.Attributes as AttributeMap | undefined
      return attributes ? (unmarshalItem(model, await openItem(context.encryptor, attributes)) as Item<M>) : undefined
    },
  }
  return builder
}

const VERSION_ONLY: ReadonlySet<string> = new Set(['version'])

function operandOf(meta: FieldMeta, kind: Step['kind'], value: unknown, issues: ValidationIssue[]): AttributeValue | undefined {
  const fail = (message: string) => failed(issues, kind, meta, value, message)
  switch (kind) {
    case 'increment':
      if (meta.kind !== 'number') return fail(`is a ${meta.kind}; increment takes a number field`)
      return typeof value === 'number' && Number.isFinite(value)
        ? { N: String(value) }
        : fail(`expected a finite number, got ${describeValue(value)}`)
    case 'add':
      if (meta.kind !== 'number' && !meta.kind.endsWith('Set')) return fail(`is a ${meta.kind}; add takes a number or set field`)
      return checkValue(meta.kind, value) === undefined ? toAttribute(meta.kind, value) : fail(checkValue(meta.kind, value)!)
    case 'delete':
      if (!meta.kind.endsWith('Set')) return fail(`is a ${meta.kind}; delete takes a set field`)
      return checkValue(meta.kind, value) === undefined ? toAttribute(meta.kind, value) : fail(checkValue(meta.kind, value)!)
    default:
      if (meta.kind !== 'list') return fail(`is a ${meta.kind}; ${kind} takes a list field`)
      return Array.isArray(value) ? toAnyAttribute(value) : fail(`expected an array of elements, got ${describeValue(value)}`)
  }
}

function failed(issues: ValidationIssue[], kind: Step['kind'], meta: FieldMeta, value: unknown, message: string): undefined {
  issues.push({ path: [kind, meta.name], message, value })
  return undefined
}
