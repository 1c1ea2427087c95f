import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import { describeValue, type ValidationIssue } from '@tessera/core'
import type { AnyModel, FieldMeta, NestedFieldMeta } from './define-model'
import { type Attr, attributePath, type Comparator, type Cond } from './expressions'
import type { FieldKind } from './fields'
import { checkValue, fieldNames, toAnyAttribute, toAttribute } from './item-codec'

/** Comparisons on a number: `size` takes these. */
export interface NumberComparison {
  eq?: number | undefined
  ne?: number | undefined
  lt?: number | undefined
  lte?: number | undefined
  gt?: number | undefined
  gte?: number | undefined
  between?: readonly [number, number] | undefined
}

/**
 * The operators on one attribute; several in one object all must hold. A bare value means `eq`.
 *
 * @example
 * { age: { gte: 18, lt: 65 }, name: { beginsWith: 'A' }, tags: { contains: 'admin' }, deletedAt: { exists: false } }
 */
export interface Operators<T> {
  eq?: T | undefined
  ne?: T | undefined
  lt?: T | undefined
  lte?: T | undefined
  gt?: T | undefined
  gte?: T | undefined
  between?: readonly [T, T] | undefined
  /** `begins_with`: strings only. */
  beginsWith?: (T extends string ? string : never) | undefined
  in?: readonly T[] | undefined
  /** `attribute_exists` (true) or `attribute_not_exists` (false). */
  exists?: boolean | undefined
  /** `contains`: a substring, or an element of a set or list. */
  contains?: (T extends string ? string : T extends Set<infer E> ? E : T extends readonly (infer E)[] ? E : never) | undefined
  /** `size(attribute)` compared with numbers. */
  size?: NumberComparison | undefined
}

/** `T` without `null` and `undefined` (a conditional, so that a `NoInfer<…>` field type resolves too). */
type Defined<T> = T extends null | undefined ? never : T

type Depth = readonly unknown[]

/** The path suffixes below a value of type `T`: `.city`, `[0]`, `.lines[2]`… (three levels deep at most). */
type PathTail<T, D extends Depth> = D['length'] extends 3
  ? never
  : T extends Set<unknown> | Uint8Array
    ? never
    : T extends readonly (infer E)[]
      ? `[${number}]` | `[${number}]${PathTail<Defined<E>, [...D, 0]>}`
      : T extends object
        ? { [K in keyof T & string]: `.${K}` | `.${K}${PathTail<Defined<T[K]>, [...D, 0]>}` }[keyof T & string]
        : never

/** The nested paths of an item: `'address.city'`, `'tags[0]'`, `'meta.lines[1].text'`. */
export type NestedPath<I> = { [K in keyof I & string]: `${K}${PathTail<Defined<I[K]>, []>}` }[keyof I & string]

type PathHead<P extends string> = P extends `${infer A}.${string}`
  ? A extends `${infer B}[${string}`
    ? B
    : A
  : P extends `${infer B}[${string}`
    ? B
    : P

/** The type at a path suffix below `T`. */
type ValueAtPath<T, P extends string> = P extends ''
  ? T
  : P extends `[${number}]${infer Rest}`
    ? T extends readonly (infer E)[]
      ? ValueAtPath<Defined<E>, Rest>
      : never
    : P extends `.${infer Rest}`
      ? string extends keyof T
        ? unknown
        : PathHead<Rest> extends infer K extends string
          ? K extends keyof T
            ? ValueAtPath<Defined<T[K]>, Rest extends `${K}${infer After}` ? After : never>
            : never
          : never
      : never

/** The type of the value at a nested path of an item. */
export type PathValue<I, P extends string> =
  PathHead<P> extends infer K extends string
    ? K extends keyof I
      ? ValueAtPath<Defined<I[K]>, P extends `${K}${infer After}` ? After : never>
      : never
    : never

/** What a path condition takes: the value or operators on it; anything below a map the model has no shape for. */
type PathOperand<V> = unknown extends V ? unknown : V | Operators<V>

/**
 * A condition on a model's item `I`: per attribute a value (equality) or {@link Operators}, combined with AND;
 * `$or`, `$and` and `$not` nest. Nested map entries and list elements are named by path: `'address.city'`,
 * `'tags[0]'`.
 */
export type Condition<I> = { [K in keyof I]?: NonNullable<I[K]> | Operators<NonNullable<I[K]>> } & {
  [P in NestedPath<I>]?: PathOperand<PathValue<I, P>>
} & {
  $and?: readonly Condition<I>[] | undefined
  $or?: readonly Condition<I>[] | undefined
  $not?: Condition<I> | undefined
}

const OPERATORS = new Set(['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'between', 'beginsWith', 'in', 'exists', 'contains', 'size'])
const COMPARATORS: Readonly<Record<string, Comparator>> = { eq: '=', ne: '<>', lt: '<', lte: '<=', gt: '>', gte: '>=' }

/** True when `value` is an operators object (not a bare value to compare with `=`). */
export function isOperators(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Set || value instanceof Uint8Array)
    return false
  // for-in rather than Object.keys: no array per call (conditions are checked on every request).
  let any = false
  for (const key in value) {
    if (!OPERATORS.has(key)) return false
    any = true
  }
  return any
}

/**
 * Turns a user condition into a {@link Cond} over stored attribute names; unknown fields, encrypted fields, wrong
 * value types and `undefined` operands are issues (an `undefined` never means "match everything").
 */
export function toCond(
  model: AnyModel,
  condition: unknown,
  issues: ValidationIssue[],
  path: readonly (string | number)[] = [],
): Cond | undefined {
  if (typeof condition !== 'object' || condition === null || Array.isArray(condition)) {
    issues.push({ path, message: `expected a condition object, got ${describeValue(condition)}` })
    return undefined
  }
  const parts: Cond[] = []
  for (const [property, value] of Object.entries(condition)) {
    if (property === '$and' || property === '$or') {
      if (!Array.isArray(value) || value.length === 0) {
        issues.push({ path: [...path, property], message: 'expected a non-empty array of conditions' })
        continue
      }
      const children = value.map((child, index) => toCond(model, child, issues, [...path, property, index])).filter(isCond)
      if (children.length > 0) parts.push(children.length === 1 ? children[0]! : { type: property === '$and' ? 'and' : 'or', children })
      continue
    }
    if (property === '$not') {
      const child = toCond(model, value, issues, [...path, property])
      if (child) parts.push({ type: 'not', child })
      continue
    }
    const target = conditionTarget(model, property, issues, path)
    if (!target) continue
    if (value === undefined) {
      issues.push({ path: [...path, property], message: 'is undefined; to test for a missing attribute write { exists: false }' })
      continue
    }
    if (isOperators(value)) parts.push(...operatorConds(target, value, issues, [...path, property]))
    else {
      const operand = operandFor(target.kind, value, issues, [...path, property])
      if (operand) parts.push({ type: 'cmp', attr: target.attr, op: '=', values: [operand] })
    }
  }
  if (parts.length === 0) {
    if (issues.length === 0) issues.push({ path, message: 'is an empty condition; leave it out instead' })
    return undefined
  }
  return parts.length === 1 ? parts[0] : { type: 'and', children: parts }
}

function isCond(value: Cond | undefined): value is Cond {
  return value !== undefined
}

/** What a condition names: a stored attribute or a path into one, and the kind of its value when the model knows it. */
export interface ConditionTarget {
  readonly attr: Attr
  readonly kind: FieldKind | undefined
}

/**
 * The attribute or nested path a condition names (`'status'`, `'address.city'`, `'tags[0]'`), or an issue: an
 * unknown or encrypted field, a path through a field that is not a map or list, or a map entry the model's map shape
 * does not have. Below a map without a shape (or a list element) the model cannot check the path.
 */
export function conditionTarget(
  model: AnyModel,
  property: string,
  issues: ValidationIssue[],
  path: readonly (string | number)[],
): ConditionTarget | undefined {
  if (model.fieldByName.has(property) || !/[.[]/.test(property)) {
    const meta = conditionField(model, property, issues, path)
    return meta ? { attr: meta.attribute, kind: meta.kind } : undefined
  }
  const segments = parsePath(property)
  if (!segments) {
    issues.push({ path: [...path, property], message: "is not a field or a path such as 'address.city' or 'tags[0]'" })
    return undefined
  }
  const meta = conditionField(model, segments[0] as string, issues, [...path, property])
  if (!meta) return undefined
  let kind: FieldKind | undefined = meta.kind
  let shape: ReadonlyMap<string, NestedFieldMeta> | undefined = meta.shape
  let walked = meta.name
  for (const segment of segments.slice(1)) {
    const isIndex = typeof segment === 'number'
    if (kind !== undefined && kind !== (isIndex ? 'list' : 'map')) {
      issues.push({
        path: [...path, property],
        message: `${walked} is a ${kind}, so ${isIndex ? `[${segment}]` : `.${segment}`} cannot follow it (${isIndex ? 'lists' : 'maps'} only)`,
      })
      return undefined
    }
    if (isIndex) {
      kind = undefined
      shape = undefined
    } else if (shape) {
      const entry = shape.get(segment)
      if (!entry) {
        issues.push({ path: [...path, property], message: `${walked} has no entry ${segment} (entries: ${[...shape.keys()].join(', ')})` })
        return undefined
      }
      kind = entry.kind
      shape = entry.shape
    } else kind = undefined
    walked += isIndex ? `[${segment}]` : `.${segment}`
  }
  segments[0] = meta.attribute
  return { attr: attributePath(segments), kind }
}

/** `address.lines[2]` → `['address', 'lines', 2]`; `undefined` when it is not a path. */
function parsePath(text: string): (string | number)[] | undefined {
  if (!/^[^.[\]]+(?:\.[^.[\]]+|\[\d+\])+$/.test(text)) return undefined
  const segments: (string | number)[] = []
  for (const match of text.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) segments.push(match[2] === undefined ? match[1]! : Number(match[2]))
  return segments
}

/** The field a condition names, or an issue: unknown or encrypted. */
export function conditionField(
  model: AnyModel,
  property: string,
  issues: ValidationIssue[],
  path: readonly (string | number)[],
): FieldMeta | undefined {
  const meta = model.fieldByName.get(property) as FieldMeta | undefined
  if (!meta) {
    issues.push({ path: [...path, property], message: `is not a field of ${model.name} (fields: ${fieldNames(model)})` })
    return undefined
  }
  if (meta.isEncrypted) {
    issues.push({ path: [...path, property], message: 'is encrypted: its stored value is ciphertext, so it cannot be used in a condition' })
    return undefined
  }
  return meta
}

function operatorConds(
  target: ConditionTarget,
  operators: Record<string, unknown>,
  issues: ValidationIssue[],
  path: (string | number)[],
): Cond[] {
  const out: Cond[] = []
  const attr = target.attr
  const kind = target.kind
  for (const [operator, operand] of Object.entries(operators)) {
    const here = [...path, operator]
    if (operand === undefined) {
      issues.push({ path: here, message: 'is undefined; leave the operator out instead' })
      continue
    }
    const comparator = COMPARATORS[operator]
    if (comparator) {
      const value = operandFor(kind, operand, issues, here)
      if (value) out.push({ type: 'cmp', attr, op: comparator, values: [value] })
      continue
    }
    switch (operator) {
      case 'between': {
        if (!Array.isArray(operand) || operand.length !== 2) {
          issues.push({ path: here, message: `expected [low, high], got ${describeValue(operand)}` })
          break
        }
        const low = operandFor(kind, operand[0], issues, [...here, 0])
        const high = operandFor(kind, operand[1], issues, [...here, 1])
        if (low && high) out.push({ type: 'between', attr, values: [low, high] })
        break
      }
      case 'beginsWith':
        if (typeof operand !== 'string') issues.push({ path: here, message: `expected a string prefix, got ${describeValue(operand)}` })
        else out.push({ type: 'fn', fn: 'begins_with', attr, values: [{ S: operand }] })
        break
      case 'in': {
        if (!Array.isArray(operand) || operand.length === 0 || operand.length > 100) {
          issues.push({ path: here, message: `expected an array of 1 to 100 values, got ${describeValue(operand)}` })
          break
        }
        const values = operand.map((element, index) => operandFor(kind, element, issues, [...here, index]))
        if (values.every((value) => value !== undefined)) out.push({ type: 'in', attr, values: values as AttributeValue[] })
        break
      }
      case 'exists':
        if (typeof operand !== 'boolean') issues.push({ path: here, message: `expected true or false, got ${describeValue(operand)}` })
        else out.push({ type: operand ? 'exists' : 'notExists', attr })
        break
      case 'contains':
        out.push({ type: 'fn', fn: 'contains', attr, values: [toAnyAttribute(operand)] })
        break
      case 'size': {
        for (const cond of isOperators(operand) ? operatorConds({ attr, kind: 'number' }, operand, issues, here) : []) {
          if (cond.type === 'cmp') out.push({ type: 'size', attr, op: cond.op, values: cond.values })
          else issues.push({ path: here, message: 'size takes eq, ne, lt, lte, gt and gte' })
        }
        if (!isOperators(operand))
          issues.push({ path: here, message: `expected comparisons such as { gt: 3 }, got ${describeValue(operand)}` })
        break
      }
    }
  }
  return out
}

function operandFor(
  kind: FieldKind | undefined,
  value: unknown,
  issues: ValidationIssue[],
  path: (string | number)[],
): AttributeValue | undefined {
  if (kind === undefined) {
    // Below a map without a shape, or a list element: any DynamoDB value.
    if (value === null || typeof value === 'function' || typeof value === 'symbol') {
      issues.push({ path, message: `expected a value DynamoDB can store, got ${describeValue(value)}`, value })
      return undefined
    }
    return toAnyAttribute(value)
  }
  const problem = checkValue(kind, value)
  if (problem) {
    issues.push({ path, message: problem, value })
    return undefined
  }
  return toAttribute(kind, value)
}
