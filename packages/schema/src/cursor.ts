import { createHash } from 'node:crypto'
import { describeValue, type SqlQuery, sql, ValidationError } from '@tessera/core'
import type { CursorSeal } from './cursor-seal'

/** One key of a keyset ordering: a column, its direction and whether it can hold NULL. */
export interface SortKey {
  /** The entity field (for messages and the cursor's fingerprint). */
  field: string
  column: string
  direction: 'asc' | 'desc'
  /** Whether the column may hold NULL. When true (or unknown), the seek condition handles NULLs explicitly. Default: `true`. */
  nullable?: boolean | undefined
}

// Values JSON cannot carry as themselves are tagged: {"$d": iso} for a Date, {"$b": "123"} for a bigint,
// {"$x": base64} for bytes. A cursor is opaque to users, so the format may change between versions.
function encodeValue(value: unknown): unknown {
  if (value instanceof Date) return { $d: value.toISOString() }
  if (typeof value === 'bigint') return { $b: value.toString() }
  if (value instanceof Uint8Array) return { $x: Buffer.from(value).toString('base64') }
  return value
}

function decodeValue(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value
  const tagged = value as Record<string, unknown>
  if (typeof tagged.$d === 'string') return new Date(tagged.$d)
  if (typeof tagged.$b === 'string') return BigInt(tagged.$b)
  if (typeof tagged.$x === 'string') return Buffer.from(tagged.$x, 'base64')
  return value
}

/** A short fingerprint of the ordering, so a cursor from another ordering is refused instead of skipping rows. */
function fingerprint(keys: readonly SortKey[]): string {
  const text = keys.map((k) => `${k.field}:${k.direction}`).join(',')
  return createHash('sha256').update(text).digest('base64url').slice(0, 8)
}

/**
 * The opaque cursor after `row`: JSON `[fingerprint, …sort values]` (the sort values being the row's values for
 * each key, the primary key last, as tiebreaker), sealed by `seal` (signed, or encrypted).
 */
export function encodeCursor(keys: readonly SortKey[], values: readonly unknown[], seal: CursorSeal): string {
  return seal.seal(JSON.stringify([fingerprint(keys), ...values.map(encodeValue)]))
}

/**
 * The sort values stored in `cursor`.
 * @throws ValidationError when the cursor was not sealed by `seal` (forged, altered, from another entity or another
 * secret) or was made for another ordering.
 */
export function decodeCursor(keys: readonly SortKey[], cursor: string, entity: string, seal: CursorSeal): unknown[] {
  const invalid = (why: string): ValidationError =>
    new ValidationError([{ path: ['after'], message: `cursor ${describeValue(cursor, 40)} ${why}`, value: cursor }], {
      subject: `${entity} page request`,
    })
  const foreign = 'is not a cursor findMany returned here (altered, from another entity, or signed with another cursor.secret)'
  if (typeof cursor !== 'string' || cursor === '') throw invalid('is not a cursor returned by findMany')
  const payload = seal.open(cursor)
  if (payload === undefined) throw invalid(foreign)
  let parsed: unknown
  try {
    parsed = JSON.parse(payload)
  } catch {
    throw invalid(foreign)
  }
  if (!Array.isArray(parsed) || parsed.length !== keys.length + 1) throw invalid(foreign)
  if (parsed[0] !== fingerprint(keys)) throw invalid('was made for another orderBy; a cursor only continues the ordering that produced it')
  return parsed.slice(1).map(decodeValue)
}

/**
 * The seek condition "comes after `values` in the ordering `keys`", following PostgreSQL's NULL placement
 * (NULLS LAST ascending, NULLS FIRST descending). When every key is NOT NULL and all go the same way it is a
 * row comparison, `(a, b) > ($1, $2)`, which an index on `(a, b)` serves directly; otherwise the expanded
 * `a > $1 OR (a = $1 AND b > $2)` form, with NULL-aware terms.
 */
export function seekCondition(keys: readonly SortKey[], values: readonly unknown[]): SqlQuery {
  const first = keys[0]
  const sameDirection = keys.every((k) => k.direction === first?.direction)
  const hasNull = values.some((v) => v === null || v === undefined)
  if (first !== undefined && sameDirection && !hasNull && keys.every((k) => k.nullable === false)) {
    const columns = sql.join(keys.map((k) => sql.id(k.column)))
    const operator = sql.raw(first.direction === 'asc' ? '>' : '<')
    return sql`(${columns}) ${operator} (${sql.join([...values])})`
  }
  const alternatives: SqlQuery[] = []
  for (let i = 0; i < keys.length; i++) {
    const terms: SqlQuery[] = []
    for (let j = 0; j < i; j++) terms.push(equalTo(keys[j] as SortKey, values[j]))
    const after = strictlyAfter(keys[i] as SortKey, values[i])
    if (after === undefined) continue
    terms.push(after)
    alternatives.push(terms.length === 1 ? (terms[0] as SqlQuery) : sql`(${sql.join(terms, sql` AND `)})`)
  }
  if (alternatives.length === 0) return sql`FALSE`
  return sql`(${sql.join(alternatives, sql` OR `)})`
}

function equalTo(key: SortKey, value: unknown): SqlQuery {
  const column = sql.id(key.column)
  return value === null || value === undefined ? sql`${column} IS NULL` : sql`${column} = ${value}`
}

/** Rows strictly after `value` in this key alone, or undefined when none can be (a NULL at the end). */
function strictlyAfter(key: SortKey, value: unknown): SqlQuery | undefined {
  const column = sql.id(key.column)
  const isNull = value === null || value === undefined
  if (key.direction === 'asc') {
    // NULLS LAST: after a NULL comes nothing; after a value come greater values, then the NULLs.
    if (isNull) return undefined
    return key.nullable === false ? sql`${column} > ${value}` : sql`(${column} > ${value} OR ${column} IS NULL)`
  }
  // DESC NULLS FIRST: after a NULL come all the values; after a value come smaller values only.
  if (isNull) return sql`${column} IS NOT NULL`
  return sql`${column} < ${value}`
}

/** `ORDER BY` list for `keys`. */
export function orderByClause(keys: readonly SortKey[]): SqlQuery {
  return sql.join(keys.map((k) => sql`${sql.id(k.column)} ${sql.raw(k.direction === 'asc' ? 'ASC' : 'DESC')}`))
}
