import type { FieldInfo, QueryResult } from '@tessera/core'
import { untaggedRowCount } from '@tessera/core/driver'
import type { PostgresJsResult } from './postgres-js-client'

/**
 * Turns a postgres.js result into core's {@link QueryResult}, shaped exactly like provider-pg's: rows as a plain
 * array (values already converted by the registry), `command` as the command tag's first word (`CREATE`, not
 * postgres.js' `CREATE TABLE`), `rowCount` from the tag (0 when it has none), and the four field properties.
 * A multi-statement text answers with its last statement's result, as pg does.
 */
export function toQueryResult<R>(raw: PostgresJsResult | PostgresJsResult[]): QueryResult<R> {
  return convert<R>(isResultList(raw) ? raw[raw.length - 1]! : raw)
}

/**
 * Every statement's result of a multi-statement text read through the socket's scanner (which gives each row-less
 * statement a result of its own); an empty text (no statement, no command tag) has none.
 */
export function toQueryResults(raw: PostgresJsResult | PostgresJsResult[]): QueryResult[] {
  const list = isResultList(raw) ? raw : [raw]
  const results: QueryResult[] = []
  for (const result of list) if (result.command) results.push(convert(result))
  return results
}

function convert<R>(result: PostgresJsResult): QueryResult<R> {
  const tag = result.command ?? ''
  const space = tag.indexOf(' ')
  const columns = result.columns ?? []
  const fields = new Array<FieldInfo>(columns.length)
  for (let i = 0; i < columns.length; i++) {
    const column = columns[i]!
    fields[i] = { name: column.name, dataTypeID: column.type, tableID: column.table ?? 0, columnID: column.number ?? 0 }
  }
  const command = space === -1 ? tag : tag.slice(0, space)
  const rows = plainRows<R>(result)
  return { rows, rowCount: result.count ?? untaggedRowCount(command, rows.length), command, fields }
}

/**
 * postgres.js' Result is an Array subclass carrying the tag and columns: its rows, in a plain array. Copied by index:
 * `slice()` would give a plain array too (the species is Array), but through V8's generic path, several times slower
 * per row and about half a microsecond per result more.
 */
function plainRows<R>(result: PostgresJsResult): R[] {
  const length = result.length
  const rows = new Array<R>(length)
  for (let i = 0; i < length; i++) rows[i] = result[i] as R
  return rows
}

function isResultList(raw: PostgresJsResult | PostgresJsResult[]): raw is PostgresJsResult[] {
  return !('count' in raw) && raw.length > 0
}
