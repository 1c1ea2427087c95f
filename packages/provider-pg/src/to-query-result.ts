import type { FieldInfo, QueryResult } from '@tessera/core'
import { untaggedRowCount } from '@tessera/core/driver'
import type { PgRawResult } from './pg-client'

/**
 * Turns pg's `Result` into core's {@link QueryResult}. Rows are already converted by the provider's codec
 * registry (pg called its parsers while reading them), so they pass through; fields are copied to the four
 * documented properties so results compare equal across drivers.
 */
export function toQueryResult<R>(raw: PgRawResult): QueryResult<R> {
  const described = raw.fields
  const fields = new Array<FieldInfo>(described.length)
  for (let i = 0; i < described.length; i++) {
    const field = described[i]!
    fields[i] = { name: field.name, dataTypeID: field.dataTypeID, tableID: field.tableID ?? 0, columnID: field.columnID ?? 0 }
  }
  const command = raw.command ?? ''
  return { rows: raw.rows as R[], rowCount: raw.rowCount ?? untaggedRowCount(command, raw.rows.length), command, fields }
}
