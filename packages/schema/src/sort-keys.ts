import { describeValue, ValidationError, type ValidationIssue } from '@tessera/core'
import type { SortKey } from './cursor'
import type { EntityMeta } from './entity-meta'

/**
 * The sort keys of an ordering (`{ createdAt: 'desc' }` or a list of one-key objects), the primary key appended as
 * the last tiebreaker so equal sort values still order deterministically. Unknown fields and directions are a
 * `ValidationError` with paths under `path` (default `['orderBy']`).
 */
export function sortKeysOf(meta: EntityMeta, orderBy: unknown, path: readonly (string | number)[] = ['orderBy']): SortKey[] {
  const issues: ValidationIssue[] = []
  const keys: SortKey[] = []
  const seen = new Set<string>()
  const entries: [string, unknown][] = []
  if (Array.isArray(orderBy)) for (const item of orderBy) entries.push(...Object.entries((item ?? {}) as Record<string, unknown>))
  else if (orderBy !== undefined) {
    if (typeof orderBy !== 'object' || orderBy === null) {
      throw new ValidationError(
        [{ path: [...path], message: `expected { field: 'asc' | 'desc' }, got ${describeValue(orderBy)}`, value: orderBy }],
        {
          subject: `${meta.name} ordering`,
        },
      )
    }
    entries.push(...Object.entries(orderBy))
  }
  for (const [fieldName, direction] of entries) {
    const field = meta.byField.get(fieldName)
    if (field === undefined)
      issues.push({ path: [...path, fieldName], message: `${meta.name} has no field ${describeValue(fieldName)}`, value: fieldName })
    else if (direction !== 'asc' && direction !== 'desc') {
      issues.push({
        path: [...path, fieldName],
        message: `direction ${describeValue(direction)}; accepted: 'asc', 'desc'`,
        value: direction,
      })
    } else if (!seen.has(fieldName)) {
      seen.add(fieldName)
      keys.push({ field: fieldName, column: field.columnName, direction, nullable: field.nullable })
    }
  }
  if (issues.length > 0) throw new ValidationError(issues, { subject: `${meta.name} ordering` })
  for (const field of meta.primaryKeys) {
    if (!seen.has(field.fieldName)) keys.push({ field: field.fieldName, column: field.columnName, direction: 'asc', nullable: false })
  }
  return keys
}

/** A `limit` or `offset`: a non-negative integer, or undefined. */
export function checkCount(meta: EntityMeta, value: unknown, path: readonly (string | number)[]): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    const name = String(path[path.length - 1])
    throw new ValidationError(
      [{ path: [...path], message: `${name} must be a non-negative integer, got ${describeValue(value)}`, value }],
      {
        subject: `${meta.name} page request`,
      },
    )
  }
  return value
}
