import { describeValue, type SqlQuery, sql, ValidationError, type ValidationIssue } from '@tessera/core'

/**
 * Conditions on one field. A bare value means `eq`; `null` means `IS NULL`. Every value becomes a parameter.
 *
 * | operator | SQL | note |
 * |---|---|---|
 * | `eq` | `col = $1` | `eq: null` → `col IS NULL` |
 * | `ne` | `col <> $1` | rows where `col` is NULL do not match (SQL semantics); `ne: null` → `IS NOT NULL` |
 * | `gt`, `gte`, `lt`, `lte` | `>`, `>=`, `<`, `<=` | |
 * | `in` | `col = ANY($1)` | one array parameter whatever its length; `in: []` matches nothing |
 * | `notIn` | `NOT (col = ANY($1))` | `notIn: []` matches everything; NULL rows do not match |
 * | `like`, `ilike` | `LIKE`, `ILIKE` | pattern characters `%` and `_` are the caller's to escape |
 * | `isNull`, `isNotNull` | `IS NULL`, `IS NOT NULL` | `isNull: false` is `IS NOT NULL` |
 * | `between` | `col BETWEEN $1 AND $2` | inclusive, `[low, high]` |
 *
 * Several operators on one field are AND-ed: `{ age: { gte: 18, lt: 65 } }`.
 */
export interface FieldOperators<T, Nullable extends boolean = true> {
  /** `null` only on a nullable field: a NOT NULL column is never NULL, so the condition would be a mistake. */
  eq?: T | (Nullable extends true ? null : never) | undefined
  ne?: T | (Nullable extends true ? null : never) | undefined
  gt?: T | undefined
  gte?: T | undefined
  lt?: T | undefined
  lte?: T | undefined
  in?: readonly T[] | undefined
  notIn?: readonly T[] | undefined
  /** Text fields only. */
  like?: ([T] extends [string] ? string : never) | undefined
  /** Text fields only. */
  ilike?: ([T] extends [string] ? string : never) | undefined
  isNull?: boolean | undefined
  isNotNull?: boolean | undefined
  between?: readonly [T, T] | undefined
}

/** A field's condition: a value (equality), `null` (IS NULL, nullable fields only) or an operator object. */
export type FieldCondition<T> =
  | NonNullable<T>
  | (null extends T ? null : never)
  | FieldOperators<NonNullable<T>, null extends T ? true : false>

/**
 * A filter over the fields of an entity. Fields combine with AND; `and`, `or` and `not` nest.
 * An empty filter matches every row; `and: []` matches every row, `or: []` none. `undefined` is never a condition:
 * a key (or operator, or list item) holding `undefined` is a `ValidationError`, so a missing variable cannot widen a
 * filter to every row.
 *
 * @example
 * const adults: Where<User> = { email: { ilike: '%@example.com' }, age: { gte: 18 }, or: [{ role: 'admin' }, { deletedAt: null }] }
 */
export type Where<E, X = {}> = { [K in keyof E]?: FieldCondition<E[K]> } & X & {
    and?: readonly Where<E, X>[] | undefined
    or?: readonly Where<E, X>[] | undefined
    not?: Where<E, X> | undefined
  }

/** Compiles a nested filter into the same list of issues (for conditions on related rows). */
export type CompileNested = (where: unknown, target: WhereTarget, path: (string | number)[]) => SqlQuery

/** How the compiler finds a field's column and turns a field value into a parameter. */
export interface WhereTarget {
  /** Entity name, for messages. */
  name: string
  /** The column of `field`, or undefined when the entity has no such field. */
  columnOf(field: string): string | undefined
  /** Turns a value of `field` into what the provider sends (JSON text for a json field…). Default: the value. */
  toParam?(field: string, value: unknown): unknown
  /**
   * The condition for key `name` when it is not a field (a relation: `{ tasks: { some: {…} } }`), or undefined when
   * the entity has no such relation. Default: none.
   */
  relation?(name: string, value: unknown, path: (string | number)[], issues: ValidationIssue[], nested: CompileNested): SqlQuery | undefined
}

const OPERATORS = new Set(['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'notIn', 'like', 'ilike', 'isNull', 'isNotNull', 'between'])
const COMBINATORS = new Set(['and', 'or', 'not'])
const COMPARISONS: Record<string, string> = {
  eq: ' = ',
  ne: ' <> ',
  gt: ' > ',
  gte: ' >= ',
  lt: ' < ',
  lte: ' <= ',
  like: ' LIKE ',
  ilike: ' ILIKE ',
}
const TRUE = sql.raw('TRUE')
const FALSE = sql.raw('FALSE')
const AND = sql.raw(' AND ')
const OR = sql.raw(' OR ')

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** An object whose keys are all operator names (a json field compared to `{ gt: 1 }` must use `{ eq: { gt: 1 } }`). */
function isOperatorObject(value: unknown): value is Record<string, unknown> {
  if (!isPlainObject(value)) return false
  const keys = Object.keys(value)
  return keys.length > 0 && keys.every((key) => OPERATORS.has(key))
}

/**
 * Why `undefined` is refused wherever a filter holds a value: skipping it would widen the filter (`{ id: undefined }`
 * would match every row, and a `deleteMany` would empty the table).
 */
const UNDEFINED_MESSAGE = 'is undefined; a filter never skips a condition: remove the key, or use null (IS NULL) for a missing value'

/**
 * Compiles a {@link Where} into a SQL condition (without `WHERE`). Every identifier comes from `target` and is
 * quoted, every value is a parameter. Unknown fields, unknown operators, malformed operands and `undefined`
 * anywhere inside the filter (a field, an operator, a list item, a nested group) are collected and thrown together.
 * A filter that is itself `undefined` means no filter (every row). Issue paths start with `path` (default `['where']`).
 *
 * @throws ValidationError with one issue per problem (path `['where', …]`); nothing is ever spliced into SQL text.
 * @example
 * compileWhere({ age: { gte: 18 } }, target) // sql`"age" >= $1`
 */
export function compileWhere(where: unknown, target: WhereTarget, path: readonly (string | number)[] = ['where']): SqlQuery {
  if (where === undefined) return TRUE
  const issues: ValidationIssue[] = []
  const condition = compileGroup(where, target, [...path], issues)
  if (issues.length > 0) throw new ValidationError(issues, { subject: `${target.name} filter` })
  return condition
}

/**
 * Whether `where` holds no condition on any field (`undefined`, `{}`, `{ and: [] }`…): such a filter may match every
 * row, which a bulk write must ask for explicitly.
 */
export function isUnconditional(where: unknown): boolean {
  if (!isPlainObject(where)) return where === undefined
  for (const key of Object.keys(where)) {
    if (!COMBINATORS.has(key)) return false
    const value = where[key]
    const groups = Array.isArray(value) ? value : [value]
    if (!groups.every(isUnconditional)) return false
  }
  return true
}

function compileGroup(where: unknown, target: WhereTarget, path: (string | number)[], issues: ValidationIssue[]): SqlQuery {
  if (where === undefined) {
    issues.push({ path, message: UNDEFINED_MESSAGE, value: where })
    return TRUE
  }
  if (!isPlainObject(where)) {
    issues.push({ path, message: `expected an object of field conditions, got ${describeValue(where)}`, value: where })
    return TRUE
  }
  const parts: SqlQuery[] = []
  for (const key of Object.keys(where)) {
    const value = where[key]
    const at = [...path, key]
    if (value === undefined) {
      issues.push({ path: at, message: UNDEFINED_MESSAGE, value })
      continue
    }
    if (COMBINATORS.has(key)) {
      const part = compileCombinator(key, value, target, at, issues)
      if (part !== undefined) parts.push(part)
      continue
    }
    const column = target.columnOf(key)
    if (column === undefined) {
      const related = target.relation?.(key, value, at, issues, (w, t, p) => compileGroup(w, t, p, issues))
      if (related !== undefined) {
        parts.push(related)
        continue
      }
      issues.push({ path: at, message: `${target.name} has no field ${describeValue(key)}`, value: key })
      continue
    }
    parts.push(...compileField(key, sql.id(column), value, target, at, issues))
  }
  if (parts.length === 0) return TRUE
  if (parts.length === 1) return parts[0] as SqlQuery
  return sql.join(parts, AND)
}

function compileCombinator(
  key: string,
  value: unknown,
  target: WhereTarget,
  path: (string | number)[],
  issues: ValidationIssue[],
): SqlQuery | undefined {
  if (key === 'not') {
    return sql`NOT (${compileGroup(value, target, path, issues)})`
  }
  if (!Array.isArray(value)) {
    issues.push({ path, message: `${key} expects an array of filters, got ${describeValue(value)}`, value })
    return undefined
  }
  if (value.length === 0) return key === 'and' ? TRUE : FALSE
  // Array.from visits holes too: a hole is an `undefined` group, refused like one.
  const parts = Array.from(value, (item, index) => sql`(${compileGroup(item, target, [...path, index], issues)})`)
  return parts.length === 1 ? parts[0] : sql`(${sql.join(parts, key === 'and' ? AND : OR)})`
}

function compileField(
  field: string,
  column: SqlQuery,
  condition: unknown,
  target: WhereTarget,
  path: (string | number)[],
  issues: ValidationIssue[],
): SqlQuery[] {
  const param = (value: unknown): unknown => (target.toParam ? target.toParam(field, value) : value)
  if (condition === null) return [sql`${column} IS NULL`]
  if (!isOperatorObject(condition)) {
    if (isPlainObject(condition)) {
      const unknown = Object.keys(condition).filter((k) => !OPERATORS.has(k))
      issues.push({
        path,
        message: `unknown operator${unknown.length === 1 ? '' : 's'} ${unknown.map((k) => describeValue(k)).join(', ')}; accepted: ${[...OPERATORS].join(', ')} (compare a json field to an object with { eq: {…} })`,
        value: condition,
      })
      return []
    }
    return [sql`${column} = ${param(condition)}`]
  }
  const parts: SqlQuery[] = []
  for (const [operator, operand] of Object.entries(condition)) {
    const at = [...path, operator]
    if (operand === undefined) {
      issues.push({ path: at, message: UNDEFINED_MESSAGE, value: operand })
      continue
    }
    switch (operator) {
      case 'eq':
        parts.push(operand === null ? sql`${column} IS NULL` : sql`${column} = ${param(operand)}`)
        break
      case 'ne':
        parts.push(operand === null ? sql`${column} IS NOT NULL` : sql`${column} <> ${param(operand)}`)
        break
      case 'gt':
      case 'gte':
      case 'lt':
      case 'lte':
      case 'like':
      case 'ilike':
        if (operand === null) {
          issues.push({ path: at, message: `${operator} cannot compare with null; use isNull / isNotNull`, value: operand })
          break
        }
        if ((operator === 'like' || operator === 'ilike') && typeof operand !== 'string') {
          issues.push({ path: at, message: `${operator} expects a string pattern, got ${describeValue(operand)}`, value: operand })
          break
        }
        parts.push(sql`${column}${sql.raw(COMPARISONS[operator] as string)}${param(operand)}`)
        break
      case 'in':
      case 'notIn': {
        if (!Array.isArray(operand)) {
          issues.push({ path: at, message: `${operator} expects an array, got ${describeValue(operand)}`, value: operand })
          break
        }
        if (hasUndefinedItem(operand, at, issues)) break
        const values = operand.map(param)
        if (operator === 'in') parts.push(values.length === 0 ? FALSE : sql`${column} = ANY(${values})`)
        else parts.push(values.length === 0 ? TRUE : sql`NOT (${column} = ANY(${values}))`)
        break
      }
      case 'isNull':
      case 'isNotNull': {
        if (typeof operand !== 'boolean') {
          issues.push({ path: at, message: `${operator} expects true or false, got ${describeValue(operand)}`, value: operand })
          break
        }
        const wantsNull = operator === 'isNull' ? operand : !operand
        parts.push(wantsNull ? sql`${column} IS NULL` : sql`${column} IS NOT NULL`)
        break
      }
      case 'between': {
        if (Array.isArray(operand) && hasUndefinedItem(operand, at, issues)) break
        if (!Array.isArray(operand) || operand.length !== 2 || operand[0] == null || operand[1] == null) {
          issues.push({ path: at, message: `between expects [low, high] without nulls, got ${describeValue(operand)}`, value: operand })
          break
        }
        parts.push(sql`${column} BETWEEN ${param(operand[0])} AND ${param(operand[1])}`)
        break
      }
    }
  }
  return parts
}

/** Reports every `undefined` (or hole) of a list operand; true when there was one. */
function hasUndefinedItem(list: readonly unknown[], path: (string | number)[], issues: ValidationIssue[]): boolean {
  let found = false
  for (let i = 0; i < list.length; i++) {
    if (list[i] !== undefined) continue
    issues.push({ path: [...path, i], message: UNDEFINED_MESSAGE, value: undefined })
    found = true
  }
  return found
}
