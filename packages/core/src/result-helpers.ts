import type { Queryable, QueryOptions, QueryResult, Row, SqlInput } from './contracts'
import { DataIntegrityError, NotFoundError } from './errors'
import { isSqlQuery, toQueryConfig } from './sql'

// Free functions over any Queryable (a provider, a transaction, a reserved connection, a cluster router, a test fake),
// rather than methods every implementer would have to write: `one(db, sql`…`)` is `db.one(sql`…`)` in Slonik.

/**
 * The only row of the result. Rejects with `NotFoundError` when there is none and `DataIntegrityError` when there are
 * several.
 * @example const user = await one<User>(db, sql`SELECT * FROM users WHERE id = ${id}`)
 */
export async function one<R = Row>(
  queryable: Queryable,
  query: SqlInput<R>,
  params?: readonly unknown[],
  options?: QueryOptions,
): Promise<R> {
  const result = await queryable.query<R>(query, params, options)
  if (result.rows.length === 0) throw notFound(query)
  if (result.rows.length > 1) throw tooManyRows(result, query)
  return result.rows[0]!
}

/**
 * The only row of the result, or `null` when there is none. Rejects with `DataIntegrityError` when there are several.
 * @example const user = await maybeOne<User>(db, sql`SELECT * FROM users WHERE email = ${email}`)
 */
export async function maybeOne<R = Row>(
  queryable: Queryable,
  query: SqlInput<R>,
  params?: readonly unknown[],
  options?: QueryOptions,
): Promise<R | null> {
  const result = await queryable.query<R>(query, params, options)
  if (result.rows.length > 1) throw tooManyRows(result, query)
  return result.rows[0] ?? null
}

/**
 * Every row of the result, at least one. Rejects with `NotFoundError` when there is none.
 * @example const lines = await many<Line>(db, sql`SELECT * FROM order_lines WHERE order_id = ${id}`)
 */
export async function many<R = Row>(
  queryable: Queryable,
  query: SqlInput<R>,
  params?: readonly unknown[],
  options?: QueryOptions,
): Promise<R[]> {
  const result = await queryable.query<R>(query, params, options)
  if (result.rows.length === 0) throw notFound(query)
  return result.rows
}

/**
 * The value of the only column of the only row. Rejects with `NotFoundError` when there is no row and
 * `DataIntegrityError` when there are several rows or not exactly one column.
 * @example const count = await oneFirst<bigint>(db, 'SELECT count(*) FROM users')
 */
export async function oneFirst<V = unknown>(
  queryable: Queryable,
  query: SqlInput,
  params?: readonly unknown[],
  options?: QueryOptions,
): Promise<V> {
  const result = await queryable.query(query, params, options)
  if (result.rows.length === 0) throw notFound(query)
  if (result.rows.length > 1) throw tooManyRows(result, query)
  return firstValue<V>(result, 0, query)
}

/**
 * The value of the only column of the only row, or `null` when there is no row. Rejects with `DataIntegrityError`
 * when there are several rows or not exactly one column.
 * @example const email = await maybeOneFirst<string>(db, sql`SELECT email FROM users WHERE id = ${id}`)
 */
export async function maybeOneFirst<V = unknown>(
  queryable: Queryable,
  query: SqlInput,
  params?: readonly unknown[],
  options?: QueryOptions,
): Promise<V | null> {
  const result = await queryable.query(query, params, options)
  if (result.rows.length > 1) throw tooManyRows(result, query)
  if (result.rows.length === 0) {
    assertOneColumn(result, query)
    return null
  }
  return firstValue<V>(result, 0, query)
}

/**
 * The only column's value of every row, at least one row. Rejects with `NotFoundError` when there is no row and
 * `DataIntegrityError` when there is not exactly one column.
 * @example const ids = await manyFirst<number>(db, 'SELECT id FROM users')
 */
export async function manyFirst<V = unknown>(
  queryable: Queryable,
  query: SqlInput,
  params?: readonly unknown[],
  options?: QueryOptions,
): Promise<V[]> {
  const result = await queryable.query(query, params, options)
  if (result.rows.length === 0) throw notFound(query)
  assertOneColumn(result, query)
  const values = new Array<V>(result.rows.length)
  for (let i = 0; i < values.length; i++) values[i] = firstValue<V>(result, i, query)
  return values
}

/**
 * The number of columns: from the server's description when there is one, else from the first row (a hook may
 * answer without fields; a row is an array in array row mode).
 */
function columnCount(result: QueryResult<unknown>): number {
  if (result.fields.length > 0) return result.fields.length
  const row = result.rows[0]
  if (Array.isArray(row)) return row.length
  return typeof row === 'object' && row !== null ? Object.keys(row).length : 0
}

function assertOneColumn(result: QueryResult<unknown>, query: SqlInput): void {
  const columns = columnCount(result)
  // A result with neither fields nor rows says nothing about its columns: nothing to refuse.
  if (columns === 1 || (columns === 0 && result.rows.length === 0)) return
  throw new DataIntegrityError({ rowCount: result.rows.length, columnCount: columns, expected: 'exactly one column', query: textOf(query) })
}

function firstValue<V>(result: QueryResult<unknown>, index: number, query: SqlInput): V {
  if (index === 0) assertOneColumn(result, query)
  const row = result.rows[index]
  if (Array.isArray(row)) return row[0] as V
  const name = result.fields[0]?.name
  if (name !== undefined) return (row as Record<string, unknown>)[name] as V
  for (const key in row as Record<string, unknown>) return (row as Record<string, unknown>)[key] as V
  return undefined as V
}

function notFound(query: SqlInput): NotFoundError {
  return new NotFoundError({ query: textOf(query) })
}

function tooManyRows(result: QueryResult<unknown>, query: SqlInput): DataIntegrityError {
  return new DataIntegrityError({
    rowCount: result.rows.length,
    columnCount: columnCount(result),
    expected: 'at most one row',
    query: textOf(query),
  })
}

function textOf(query: SqlInput): string {
  if (!isSqlQuery(query)) return String(query)
  try {
    return toQueryConfig(query).text
  } catch {
    return '(a sql query)'
  }
}
