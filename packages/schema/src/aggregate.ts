import { describeValue, type SqlQuery, sql, ValidationError, type ValidationIssue } from '@tessera/core'
import type { EntityMeta, FieldMeta } from './entity-meta'
import { checkCount } from './sort-keys'
import { compileWhere } from './where'

/** A compiled aggregate query, and the result columns that are counts (read back as numbers). */
export interface AggregateStatement {
  readonly query: SqlQuery
  readonly counts: readonly string[]
}

const FUNCTIONS = ['count', 'countDistinct', 'sum', 'avg', 'min', 'max'] as const
const NUMERIC_KINDS = new Set(['integer', 'bigint', 'numeric', 'smallint', 'real', 'doublePrecision'])

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * `SELECT * FROM (SELECT group fields, aggregates FROM table WHERE … GROUP BY …) AS agg WHERE having ORDER BY …`:
 * the inner query names its columns after the group fields and aggregates, so `having` and `orderBy` are filters
 * over the result, compiled like any other (every value a parameter, every name checked).
 *
 * @throws ValidationError naming the path of an unknown field or function, a sum/avg over a non-numeric field, a
 * name used twice, or `undefined` in `where` / `having`.
 */
export function aggregateStatement(
  meta: EntityMeta,
  table: SqlQuery,
  options: unknown,
  where: (filter: unknown) => SqlQuery,
): AggregateStatement {
  const subject = { subject: `${meta.name} aggregate` }
  if (!isPlainObject(options))
    throw new ValidationError([{ path: [], message: `expected aggregate options, got ${describeValue(options)}`, value: options }], subject)
  const issues: ValidationIssue[] = []
  const names = new Map<string, FieldMeta | undefined>()
  const items: SqlQuery[] = []
  const groups: SqlQuery[] = []
  const counts: string[] = []
  const groupBy = options.groupBy ?? []
  if (!Array.isArray(groupBy))
    issues.push({ path: ['groupBy'], message: `expected an array of field names, got ${describeValue(groupBy)}`, value: groupBy })
  else
    groupBy.forEach((name: unknown, i) => {
      const field = typeof name === 'string' ? meta.byField.get(name) : undefined
      if (field === undefined)
        issues.push({ path: ['groupBy', i], message: `${meta.name} has no field ${describeValue(name)}`, value: name })
      else if (!names.has(field.fieldName)) {
        names.set(field.fieldName, field)
        items.push(sql`${sql.id(field.columnName)} AS ${sql.id(field.fieldName)}`)
        groups.push(sql.id(field.columnName))
      }
    })
  const aggregates = options.aggregates
  if (!isPlainObject(aggregates))
    issues.push({
      path: ['aggregates'],
      message: `expected { name: { count: '*' } | { sum: field } … }, got ${describeValue(aggregates)}`,
      value: aggregates,
    })
  else
    for (const [name, spec] of Object.entries(aggregates)) {
      const at = ['aggregates', name]
      if (names.has(name)) {
        issues.push({ path: at, message: `${describeValue(name)} is already a column of the result (a group field)`, value: name })
        continue
      }
      const keys = isPlainObject(spec) ? Object.keys(spec) : []
      const fn = keys[0] as (typeof FUNCTIONS)[number] | undefined
      if (keys.length !== 1 || !FUNCTIONS.includes(fn as never)) {
        issues.push({
          path: at,
          message: `expected one of ${FUNCTIONS.map((f) => `{ ${f}: field }`).join(', ')}, got ${describeValue(spec)}`,
          value: spec,
        })
        continue
      }
      const operand = (spec as Record<string, unknown>)[fn as string]
      const alias = sql.id(name)
      names.set(name, undefined)
      if (fn === 'count' && operand === '*') {
        items.push(sql`count(*)::int8 AS ${alias}`)
        counts.push(name)
        continue
      }
      const field = typeof operand === 'string' ? meta.byField.get(operand) : undefined
      if (field === undefined) {
        issues.push({
          path: [...at, fn as string],
          message: `${meta.name} has no field ${describeValue(operand)}${fn === 'count' ? " (or '*')" : ''}`,
          value: operand,
        })
        continue
      }
      const column = sql.id(field.columnName)
      if ((fn === 'sum' || fn === 'avg') && !NUMERIC_KINDS.has(field.kind)) {
        issues.push({ path: [...at, fn], message: `${fn} needs a numeric field; ${field.fieldName} is ${field.kind}`, value: operand })
        continue
      }
      if (fn === 'count') items.push(sql`count(${column})::int8 AS ${alias}`)
      else if (fn === 'countDistinct') items.push(sql`count(DISTINCT ${column})::int8 AS ${alias}`)
      else if (fn === 'sum' || fn === 'avg') items.push(sql`${sql.raw(fn)}(${column})::numeric AS ${alias}`)
      else items.push(sql`${sql.raw(fn as string)}(${column}) AS ${alias}`)
      if (fn === 'count' || fn === 'countDistinct') counts.push(name)
    }
  if (items.length === 0 && issues.length === 0)
    issues.push({ path: ['aggregates'], message: 'names no aggregate and no group field', value: aggregates })
  const order: SqlQuery[] = []
  const orderBy = options.orderBy
  if (orderBy !== undefined) {
    if (!isPlainObject(orderBy))
      issues.push({ path: ['orderBy'], message: `expected { name: 'asc' | 'desc' }, got ${describeValue(orderBy)}`, value: orderBy })
    else
      for (const [name, direction] of Object.entries(orderBy)) {
        if (!names.has(name))
          issues.push({
            path: ['orderBy', name],
            message: `the result has no column ${describeValue(name)}; its columns: ${[...names.keys()].join(', ')}`,
            value: name,
          })
        else if (direction !== 'asc' && direction !== 'desc')
          issues.push({
            path: ['orderBy', name],
            message: `direction ${describeValue(direction)}; accepted: 'asc', 'desc'`,
            value: direction,
          })
        else order.push(sql`${sql.id(name)} ${sql.raw(direction === 'asc' ? 'ASC' : 'DESC')}`)
      }
  } else for (const name of groupBy as string[]) if (names.get(name) !== undefined) order.push(sql`${sql.id(name)} ASC`)
  if (issues.length > 0) throw new ValidationError(issues, subject)
  const limit = checkCount(meta, options.limit, ['limit'])
  const condition = where(options.where)
  const having =
    options.having === undefined
      ? undefined
      : compileWhere(
          options.having,
          {
            name: `${meta.name} aggregate result`,
            columnOf: (name) => (names.has(name) ? name : undefined),
          },
          ['having'],
        )
  const grouped = groups.length === 0 ? sql`` : sql` GROUP BY ${sql.join(groups)}`
  const inner = sql`SELECT ${sql.join(items)} FROM ${table} WHERE ${condition}${grouped}`
  const result = sql.id('__tessera_aggregate')
  const query = sql`SELECT * FROM (${inner}) AS ${result}${having === undefined ? sql`` : sql` WHERE ${having}`}${order.length === 0 ? sql`` : sql` ORDER BY ${sql.join(order)}`}${limit === undefined ? sql`` : sql` LIMIT ${limit}`}`
  return { query, counts }
}
