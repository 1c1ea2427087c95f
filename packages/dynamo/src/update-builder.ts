import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import { describeValue, type ValidationIssue } from '@tessera/core'
import { type PreparedRequest, summariseConsumedCapacity } from './command-runner'
import { type Condition, toCond } from './conditions'
import type { AnyModel, FieldMeta, FieldName, Item } from './define-model'
import { type ExplainOptions, type Explanation, estimateItemSize, explainRequest, withActual } from './explain'
import { addConstants, allOf, buildExpressions, type Cond, operationName, type UpdateAction } from './expressions'
import { checkShape, checkValue, INVALID, toAnyAttribute, toAttribute, unmarshalItem, validateValue } from './item-codec'
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
  return new ModelUpdate<M>(context, key)
}

// A class, so that starting an update allocates one object and no closures, and `prepare` allocates little beyond
// the request itself (parameter building is benchmarked).
class ModelUpdate<M extends AnyModel> implements SealingUpdateBuilder<M> {
  private readonly model: AnyModel
  private readonly steps: Step[] = []
  private returnValues: UpdateReturning = 'new'
  private expectedVersion: number | undefined

  constructor(
    private readonly context: ModelContext,
    private readonly key: Record<string, unknown>,
  ) {
    this.model = context.model
  }

  /** The field an update step names, or an issue: unknown, a key field, or one Tessera maintains. */
  private field(name: string, kind: Step['kind'], issues: ValidationIssue[]): FieldMeta | undefined {
    const model = this.model
    const meta = model.fieldByName.get(name) as FieldMeta | undefined
    if (!meta) issues.push({ path: [kind, name], message: `is not a field of ${model.name}` })
    else if (primaryKeyFields(model).has(name)) {
      issues.push({
        path: [kind, name],
        message: 'is part of the primary key, which an update cannot change: write a new item and delete the old one',
      })
    } else if (meta.role === 'version' || meta.role === 'createdAt' || meta.role === 'updatedAt') {
      issues.push({ path: [kind, name], message: `is the ${meta.role} field, which Tessera maintains` })
    } else return meta
    return undefined
  }

  /** `sealed`: the encrypted values of encrypted fields, by attribute, used in place of their plaintext. */
  private prepare(sealed?: AttributeMap): PreparedRequest {
    const { model, context, key } = this
    const issues: ValidationIssue[] = []
    const versionField = model.versionField as FieldMeta | undefined
    const storedKey = marshalKey(model, key, issues, versionField ? VERSION_ONLY : undefined)
    const actions: UpdateAction[] = []
    // Fields set (name → value) and removed, made only when a step needs them.
    let touched: Record<string, unknown> | undefined
    let removed: string[] | undefined
    let userCondition: Cond | undefined
    for (const step of this.steps) {
      switch (step.kind) {
        case 'set':
        case 'setIfNotExists':
          for (const name in step.values) {
            const value = step.values[name]
            const meta = this.field(name, step.kind, issues)
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
            if (meta.shape && !checkShape(meta.shape, value as Record<string, unknown>, [step.kind, name], issues)) continue
            const checked = meta.validators.length === 0 ? value : validateValue(meta, value, issues, [step.kind, name])
            if (checked === INVALID) continue
            actions.push({
              type: step.kind === 'set' ? 'set' : 'setIfNotExists',
              attr: meta.attribute,
              value: sealed?.[meta.attribute] ?? toAttribute(meta.kind, checked),
            })
            if (step.kind === 'set') (touched ??= {})[name] = checked
          }
          break
        case 'remove':
          for (const name of step.fields) {
            const meta = this.field(name, 'remove', issues)
            if (!meta) continue
            if (!meta.isOptional && !meta.isOmitEmpty)
              issues.push({ path: ['remove', name], message: 'is required, so it cannot be removed' })
            else {
              actions.push({ type: 'remove', attr: meta.attribute })
              ;(removed ??= []).push(name)
            }
          }
          break
        case 'if':
          userCondition = allOf(userCondition, toCond(model, step.condition, issues, ['if']))
          break
        default: {
          const meta = this.field(step.field, step.kind, issues)
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
    if (touched !== undefined || removed !== undefined) this.recomputeIndexKeys(actions, touched, removed, issues)
    let condition: Cond = { type: 'exists', attr: model.partitionKey.attribute }
    if (versionField) {
      const given = key.version
      if (typeof given !== 'number' || !Number.isInteger(given) || given < 0) {
        issues.push({
          path: ['version'],
          message: `${model.name} has a version field: pass the expected version (an integer >= 0) with the key, got ${describeValue(given)}`,
        })
      } else {
        this.expectedVersion = given
        condition = {
          type: 'and',
          children: [condition, { type: 'cmp', attr: versionField.attribute, op: '=', values: [{ N: String(given) }] }],
        }
        actions.push({ type: 'set', attr: versionField.attribute, value: { N: String(given + 1) } })
      }
    }
    // DynamoDB refuses two changes of one path; actions are few, so a pairwise look costs less than a set.
    for (let index = 1; index < actions.length; index++) {
      const attr = actions[index]!.attr
      for (let earlier = 0; earlier < index; earlier++) {
        if (actions[earlier]!.attr !== attr) continue
        issues.push({
          path: [actions[index]!.type, attr],
          message: 'is changed twice in one update; DynamoDB refuses overlapping paths: keep one change',
        })
        break
      }
    }
    const updatedAt = model.updatedAtField as FieldMeta | undefined
    if (updatedAt) actions.push({ type: 'set', attr: updatedAt.attribute, value: { S: new Date().toISOString() } })
    if (actions.length === 0 && issues.length === 0)
      issues.push({ path: [], message: 'changes nothing: call set(), add(), remove(), … first' })
    if (userCondition) condition = { type: 'and', children: [condition, userCondition] }
    if (issues.length > 0) throwIfIssues(issues, `${model.name}.update`)
    const input: Record<string, unknown> = { TableName: context.table, Key: storedKey }
    buildExpressions(context.runner.cache, operationName(model, 'update'), { update: actions, condition }, input)
    input.ReturnValues = this.returnValues === 'new' ? 'ALL_NEW' : this.returnValues === 'old' ? 'ALL_OLD' : 'NONE'
    input.ReturnValuesOnConditionCheckFailure = 'ALL_OLD'
    addConstants(input)
    return { operation: 'UpdateItem', table: context.table, input }
  }

  /**
   * Index keys composed from updated fields are recomputed; a template whose other fields are not known is an issue,
   * and one reading a removed field is removed (the item leaves that sparse index).
   */
  private recomputeIndexKeys(
    actions: UpdateAction[],
    touched: Record<string, unknown> | undefined,
    removed: readonly string[] | undefined,
    issues: ValidationIssue[],
  ): void {
    const model = this.model
    let known: Record<string, unknown> | undefined
    for (const template of model.composedKeys) {
      if (template === model.partitionKey || template === model.sortKey) continue
      const fields = template.fields
      let readsRemoved = false
      let readsTouched = false
      for (let index = 0; index < fields.length; index++) {
        const name = fields[index]!
        if (removed?.includes(name)) readsRemoved = true
        if (touched !== undefined && name in touched) readsTouched = true
      }
      if (readsRemoved) {
        actions.push({ type: 'remove', attr: template.attribute })
        continue
      }
      if (!readsTouched) continue
      known ??= { ...this.key, ...touched }
      const composed = composeKey(template, known)
      if (composed !== undefined) {
        actions.push({ type: 'set', attr: template.attribute, value: { S: composed } })
        continue
      }
      const values = known
      issues.push({
        path: ['set', ...fields.filter((name) => touched !== undefined && name in touched)],
        message: `changes index key ${template.attribute} (${template.source}), which also needs ${fields.filter((name) => values[name] === undefined).join(', ')}: set those too`,
      })
    }
  }

  /** The new values of the encrypted fields the update sets, by attribute (checked by `prepare` first). */
  private encryptedValues(): { values: AttributeMap; names: string[] } {
    const values: AttributeMap = {}
    const names: string[] = []
    if (!this.context.encryptor) return { values, names }
    for (const step of this.steps) {
      if (step.kind !== 'set' && step.kind !== 'setIfNotExists') continue
      for (const name in step.values) {
        const meta = this.model.fieldByName.get(name) as FieldMeta | undefined
        if (!meta?.isEncrypted) continue
        const value = meta.validators.length === 0 ? step.values[name] : validateValue(meta, step.values[name], [], [name])
        if (value === INVALID) continue
        values[meta.attribute] = toAttribute(meta.kind, value)
        names.push(name)
      }
    }
    return { values, names }
  }

  private async send(request: PreparedRequest, signal: AbortSignal | undefined) {
    try {
      return await this.context.runner.send(request, signal)
    } catch (error) {
      throw await conditionFailure(this.context, error, {
        key: keyOf(this.model, this.key),
        expectedVersion: this.expectedVersion,
        mustExist: true,
        reason: 'the update condition did not hold',
      })
    }
  }

  private push(step: Step): this {
    this.steps.push(step)
    return this
  }

  set(values: Partial<Item<M>>): this {
    return this.push({ kind: 'set', values: values as Record<string, unknown> })
  }
  ifNotExists(values: Partial<Item<M>>): this {
    return this.push({ kind: 'setIfNotExists', values: values as Record<string, unknown> })
  }
  remove(...fields: FieldName<M>[]): this {
    return this.push({ kind: 'remove', fields })
  }
  add(name: string, value: unknown): this {
    return this.push({ kind: 'add', field: name, value })
  }
  delete(name: string, elements: unknown): this {
    return this.push({ kind: 'delete', field: name, value: elements })
  }
  append(name: string, elements: unknown): this {
    return this.push({ kind: 'append', field: name, value: elements })
  }
  prepend(name: string, elements: unknown): this {
    return this.push({ kind: 'prepend', field: name, value: elements })
  }
  // Parameters wider than the interface's (which is what callers see): the class checks values at run time.
  increment(name: string, by: unknown = 1): this {
    return this.push({ kind: 'increment', field: name, value: by })
  }
  if(condition: Condition<Item<M>>): this {
    return this.push({ kind: 'if', condition })
  }
  returning(what: UpdateReturning): this {
    this.returnValues = what
    return this
  }
  params(): PreparedRequest {
    const request = this.prepare()
    if (this.context.encryptor)
      refusePlaintext(`${this.model.name}.update().params()`, this.encryptedValues().names, 'await sealedParams()')
    return request
  }
  async sealedParams(): Promise<PreparedRequest> {
    const plain = this.prepare()
    const { values, names } = this.encryptedValues()
    if (names.length === 0) return plain
    return this.prepare(await sealItem(this.context.encryptor, values))
  }
  unsealedParams(): PreparedRequest {
    return this.prepare()
  }
  plaintextFields(): string[] {
    return this.encryptedValues().names
  }
  async explain(options: ExplainOptions = {}): Promise<Explanation> {
    const request = this.prepare()
    const model = this.model
    const explanation = explainRequest({
      request,
      itemSizeBytes: estimateItemSize(model),
      projectedItemSizeBytes: estimateItemSize(model),
      sizeBasis: 'model',
      itemsAssumed: 1,
      indexWrites: model.indexes.filter((index) => index.type === 'gsi').length,
      appliedAfterRead: [],
      warnings: [],
      pricing: this.context.pricing,
    })
    if (!options.analyze) return explanation
    const sealed = await this.sealedParams()
    const output = await this.send({ ...sealed, input: { ...sealed.input, ReturnConsumedCapacity: 'INDEXES' } }, options.signal)
    return withActual(explanation, summariseConsumedCapacity(output.ConsumedCapacity))
  }
  async go(options: { signal?: AbortSignal | undefined } = {}): Promise<Item<M> | undefined> {
    const output = await this.send(await this.sealedParams(), options.signal)
    const attributes = output.Attributes as AttributeMap | undefined
    return attributes ? (unmarshalItem(this.model, await openItem(this.context.encryptor, attributes)) as Item<M>) : undefined
  }
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
