import type { FieldInfo, QueryResult } from '@tessera/core'
import type { PostgresJsResult } from './postgres-js-client'

/**
 * Turns a postgres.js result into core's {@link QueryResult}, shaped exactly like provider-pg's: rows as a plain
 * array (values already converted by the registry), `command` as the command tag's first word (`CREATE`, not
 * postgres.js' `CREATE TABLE`), `rowCount` from the tag (0 when it has none), and the four field properties.
 * A multi-statement text answers with its last statement's result, as pg does.
 */
export function toQueryResult<R>(raw: PostgresJsResult | PostgresJsResult[]): QueryResult<R> {
  const result = isResultList(raw) ? raw[raw.length - 1]! : raw
  const tag = result.command ?? ''
  const space = tag.indexOf(' ')
  const columns = result.columns ?? []
  const fields = new Array<FieldInfo>(columns.length)
  for (let i = 0; i < columns.length; i++) {
    const column = columns[i]!
    fields[i] = { name: column.name, dataTypeID: column.type, tableID: column.table ?? 0, columnID: column.number ?? 0 }
  }
  // postgres.js' Result is an Array subclass whose species is Array: slice() gives a plain array.
  return { rows: result.slice() as R[], rowCount: result.count ?? 0, command: space === -1 ? tag : tag.slice(0, space), fields }
}

function isResultList(raw: PostgresJsResult | PostgresJsResult[]): raw is PostgresJsResult[] {
  return !('count' in raw) && raw.length > 0
}
