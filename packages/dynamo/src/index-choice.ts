import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import { describeValue, type ValidationIssue } from '@tessera/core'
import { isOperators } from './conditions'
import type { AnyModel, FieldMeta, IndexMeta } from './define-model'
import { type Cond, operationName } from './expressions'
import { checkValue, toAttribute } from './item-codec'
import { composeKey, composePrefix, type KeyTemplate } from './key-template'

/** A table or index a query can read. */
export interface KeySource {
  /** `undefined` for the table itself. */
  readonly index: IndexMeta | undefined
  readonly partition: KeyTemplate
  readonly sort: KeyTemplate | undefined
  /** The operation name a query of this source builds its expressions under (made once). */
  readonly queryOperation: string
}

/** The key condition a source gives for the `where` fields, and which fields it used. */
export interface KeyPlan {
  source: KeySource
  keyCondition: Cond
  /**
   * One object per source and kind of sort condition: the key condition's shape, so that building the expression
   * takes it as one token instead of walking the condition.
   */
  keyShape: object
  /** Fields of `where` the key condition used. */
  consumed: string[]
  /** Conditions that stay exact only as a filter as well (a strict bound folded into BETWEEN). */
  alsoFilter: string[]
}

/** The sources of a model: the table first, then its indexes in definition order. */
export function keySources(model: AnyModel): KeySource[] {
  return [
    { index: undefined, partition: model.partitionKey, sort: model.sortKey, queryOperation: operationName(model, 'query', '') },
    ...(model.indexes as readonly IndexMeta[]).map((index) => ({
      index,
      partition: index.partition,
      sort: index.sort,
      queryOperation: operationName(model, 'query', index.name),
    })),
  ]
}

const SORT_OPERATORS = new Set(['eq', 'lt', 'lte', 'gt', 'gte', 'between', 'beginsWith'])
const HIGH = '\u{10FFFF}'

/**
 * The key condition `source` gives for `where` (field → bare value or operators), or `undefined` when `where` does
 * not bind its partition key (every field of it with equality).
 */
export function planKey(
  model: AnyModel,
  source: KeySource,
  where: Record<string, unknown>,
  equal: Record<string, unknown> = equalities(where),
): KeyPlan | undefined {
  const partitionFields = source.partition.fields
  for (let index = 0; index < partitionFields.length; index++) if (equal[partitionFields[index]!] === undefined) return undefined
  // Arrays, not sets: a key uses a handful of fields, and a plan is made on every query.
  const consumed: string[] = [...partitionFields]
  const alsoFilter: string[] = []
  const partitionValue = keyValue(model, source.partition, equal)
  if (!partitionValue) return undefined
  const partitionCond: Cond = { type: 'cmp', attr: source.partition.attribute, op: '=', values: [partitionValue] }
  const sort = source.sort
  const sortCond = sort
    ? sort.isPlainField
      ? plainSortCondition(model, sort, where, consumed)
      : composedSortCondition(sort, where, equal, consumed, alsoFilter)
    : undefined
  if (!sortCond) return { source, keyCondition: partitionCond, keyShape: keyShapeOf(source, 'none'), consumed, alsoFilter }
  const kind = sortCond.type === 'cmp' ? sortCond.op : sortCond.type === 'fn' ? sortCond.fn : sortCond.type
  return {
    source,
    keyCondition: { type: 'and', children: [partitionCond, sortCond] },
    keyShape: keyShapeOf(source, kind),
    consumed,
    alsoFilter,
  }
}

const keyShapes = new WeakMap<KeySource, Map<string, object>>()

/** The object standing for the key condition of `source` with a sort condition of `kind` (`'none'` without one). */
function keyShapeOf(source: KeySource, kind: string): object {
  let byKind = keyShapes.get(source)
  if (!byKind) {
    byKind = new Map()
    keyShapes.set(source, byKind)
  }
  let shape = byKind.get(kind)
  if (!shape) {
    shape = { source: source.index?.name ?? '(table)', kind }
    byKind.set(kind, shape)
  }
  return shape
}

/** The fields `where` gives with equality (a bare value or `{ eq }`), and their values. */
export function equalities(where: Record<string, unknown>): Record<string, unknown> {
  const equal: Record<string, unknown> = {}
  for (const name in where) {
    const value = where[name]
    if (!isOperators(value)) equal[name] = value
    else if (Object.keys(value).length === 1 && 'eq' in value) equal[name] = value.eq
  }
  return equal
}

function keyValue(model: AnyModel, template: KeyTemplate, values: Record<string, unknown>): AttributeValue | undefined {
  if (template.isPlainField) {
    const meta = model.fieldByName.get(template.fields[0]!) as FieldMeta
    const value = values[meta.name]
    return checkValue(meta.kind, value) === undefined ? toAttribute(meta.kind, value) : undefined
  }
  const composed = composeKey(template, values)
  return composed === undefined ? undefined : { S: composed }
}

function plainSortCondition(model: AnyModel, sort: KeyTemplate, where: Record<string, unknown>, consumed: string[]): Cond | undefined {
  const meta = model.fieldByName.get(sort.fields[0]!) as FieldMeta
  const value = where[meta.name]
  if (value === undefined) return undefined
  const attr = sort.attribute
  const operators = isOperators(value) ? value : { eq: value }
  const names = Object.keys(operators)
  if (names.length !== 1 || !SORT_OPERATORS.has(names[0]!)) return undefined
  const operator = names[0]!
  const operand = operators[operator]
  const marshal = (v: unknown) => (checkValue(meta.kind, v) === undefined ? toAttribute(meta.kind, v) : undefined)
  let cond: Cond | undefined
  if (operator === 'between' && Array.isArray(operand)) {
    const low = marshal(operand[0])
    const high = marshal(operand[1])
    if (low && high) cond = { type: 'between', attr, values: [low, high] }
  } else if (operator === 'beginsWith') {
    if (typeof operand === 'string' && meta.kind === 'string') cond = { type: 'fn', fn: 'begins_with', attr, values: [{ S: operand }] }
  } else {
    const single = marshal(operand)
    const op = ({ eq: '=', lt: '<', lte: '<=', gt: '>', gte: '>=' } as const)[operator as 'eq']
    if (single) cond = { type: 'cmp', attr, op, values: [single] }
  }
  if (cond) addOnce(consumed, meta.name)
  return cond
}

function composedSortCondition(
  sort: KeyTemplate,
  where: Record<string, unknown>,
  equal: Record<string, unknown>,
  consumed: string[],
  alsoFilter: string[],
): Cond | undefined {
  const attr = sort.attribute
  const fields = sort.fields
  // The leading fields given with equality.
  let bound = 0
  while (bound < fields.length && equal[fields[bound]!] !== undefined) bound++
  for (let index = 0; index < bound; index++) addOnce(consumed, fields[index]!)
  if (bound === fields.length) return { type: 'cmp', attr, op: '=', values: [{ S: composeKey(sort, equal)! }] }
  const prefix = composePrefix(sort, equal, bound)
  const next = fields[bound]!
  const value = where[next]
  const isLast = bound === fields.length - 1
  const operator = isLast && isOperators(value) ? onlyKey(value) : undefined
  if (operator !== undefined) {
    const operand = (value as Record<string, unknown>)[operator]
    const text = (v: unknown) => prefixed(prefix, v)
    if (operator === 'beginsWith' && typeof operand === 'string') {
      addOnce(consumed, next)
      return { type: 'fn', fn: 'begins_with', attr, values: [{ S: prefix + operand }] }
    }
    if (operator === 'between' && Array.isArray(operand) && text(operand[0]) && text(operand[1])) {
      addOnce(consumed, next)
      return { type: 'between', attr, values: [{ S: text(operand[0])! }, { S: text(operand[1])! }] }
    }
    const bound1 = text(operand)
    if (bound1 !== undefined && (operator === 'gt' || operator === 'gte')) {
      addOnce(consumed, next)
      if (operator === 'gt') alsoFilter.push(next)
      return { type: 'between', attr, values: [{ S: bound1 }, { S: prefix + HIGH }] }
    }
    if (bound1 !== undefined && (operator === 'lt' || operator === 'lte')) {
      addOnce(consumed, next)
      if (operator === 'lt') alsoFilter.push(next)
      return { type: 'between', attr, values: [{ S: prefix }, { S: bound1 }] }
    }
  }
  return prefix === '' ? undefined : { type: 'fn', fn: 'begins_with', attr, values: [{ S: prefix }] }
}

function addOnce(list: string[], name: string): void {
  if (!list.includes(name)) list.push(name)
}

/** The one key of `value`, or `undefined` when it has none or several. */
function onlyKey(value: Record<string, unknown>): string | undefined {
  let found: string | undefined
  for (const key in value) {
    if (found !== undefined) return undefined
    found = key
  }
  return found
}

function prefixed(prefix: string, value: unknown): string | undefined {
  return typeof value === 'string' || typeof value === 'number' ? `${prefix}${value}` : undefined
}

const sourceCache = new WeakMap<AnyModel, readonly KeySource[]>()

function sourcesOf(model: AnyModel): readonly KeySource[] {
  let sources = sourceCache.get(model)
  if (!sources) {
    sources = keySources(model)
    sourceCache.set(model, sources)
  }
  return sources
}

/**
 * Picks the source whose key condition uses the most `where` fields (the table wins a tie), or the named index.
 * Problems (no source binds the conditions, an unknown index) are issues.
 */
export function chooseSource(
  model: AnyModel,
  where: Record<string, unknown>,
  indexName: string | undefined,
  issues: ValidationIssue[],
): { plan: KeyPlan | undefined; reason: () => string; better: KeyPlan | undefined } {
  const sources = sourcesOf(model)
  const equal = equalities(where)
  if (indexName !== undefined) {
    const source = sources.find((candidate) => candidate.index?.name === indexName)
    if (!source) {
      issues.push({
        path: ['index'],
        message: `${describeValue(indexName)} is not an index of ${model.name} (indexes: ${indexNames(model)})`,
      })
      return { plan: undefined, reason: () => '', better: undefined }
    }
    const plan = planKey(model, source, where)
    if (!plan)
      issues.push({
        path: ['where'],
        message: `does not give every field of index ${indexName}'s partition key (${source.partition.fields.join(', ')}) with equality`,
      })
    const best = bestPlan(model, sources, where, equal)
    const better = best && plan && best.consumed.length > plan.consumed.length ? best : undefined
    return { plan, reason: () => `index ${indexName} was named with .index()`, better }
  }
  const best = bestPlan(model, sources, where, equal)
  if (!best) {
    const options = sources.map(
      (source) => `${source.index ? `index ${source.index.name}` : 'the table'}: ${source.partition.fields.join(' + ')}`,
    )
    issues.push({
      path: ['where'],
      message: `binds no partition key with equality; a query needs one of (${options.join('; ')}); use scan() to read everything`,
    })
    return { plan: undefined, reason: () => '', better: undefined }
  }
  const reason = () => {
    const name = best.source.index ? `index ${best.source.index.name}` : 'the table'
    return `${name}: its keys use ${best.consumed.join(', ')} (the most where() fields of any index)`
  }
  return { plan: best, reason, better: undefined }
}

function bestPlan(
  model: AnyModel,
  sources: readonly KeySource[],
  where: Record<string, unknown>,
  equal: Record<string, unknown>,
): KeyPlan | undefined {
  let best: KeyPlan | undefined
  for (const source of sources) {
    const plan = planKey(model, source, where, equal)
    if (plan && (!best || plan.consumed.length > best.consumed.length)) best = plan
  }
  return best
}

function indexNames(model: AnyModel): string {
  const names = (model.indexes as readonly IndexMeta[]).map((index) => index.name)
  return names.length > 0 ? names.join(', ') : 'none'
}
