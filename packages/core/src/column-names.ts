import type { FieldInfo, QueryResult, Row } from './contracts'
import { ConfigError, describeValue } from './errors'

/** Distinct column names remembered before the memo starts over (a bound, not a tuning knob). */
const MAX_REMEMBERED_NAMES = 10_000

/**
 * For provider authors: applies the `columnNames` option to results. The function is called once per distinct column
 * name (memoised), the new names are worked out once per result from its `fields`, and only then are the rows rebuilt
 * with them, one object per row. A result whose names the function leaves as they are is returned untouched (no
 * per-row work); array rows (`rowMode: 'array'`) keep their values and get renamed `fields`.
 */
export function createColumnRenamer(transform: (column: string) => string): (result: QueryResult) => QueryResult {
  const memo = new Map<string, string>()
  const nameOf = (column: string): string => {
    let name = memo.get(column)
    if (name !== undefined) return name
    try {
      name = transform(column)
    } catch (error) {
      throw new ConfigError(`columnNames threw for column ${describeValue(column)}`, { subject: 'columnNames option', cause: error })
    }
    if (typeof name !== 'string' || name === '') {
      throw new ConfigError(
        `columnNames turned column ${describeValue(column)} into ${describeValue(name)}; it must return a non-empty string`,
        {
          subject: 'columnNames option',
        },
      )
    }
    if (memo.size >= MAX_REMEMBERED_NAMES) memo.clear()
    memo.set(column, name)
    return name
  }
  return (result) => {
    const fields = result.fields
    const count = fields.length
    if (count === 0) return result
    const names = new Array<string>(count)
    let changed = false
    for (let i = 0; i < count; i++) {
      names[i] = nameOf(fields[i]!.name)
      if (names[i] !== fields[i]!.name) changed = true
    }
    if (!changed) return result
    const renamedFields = new Array<FieldInfo>(count)
    for (let i = 0; i < count; i++) renamedFields[i] = { ...fields[i]!, name: names[i]! }
    const rows = result.rows
    if (rows.length === 0 || Array.isArray(rows[0])) return { ...result, fields: renamedFields }
    const renamedRows = new Array<Row>(rows.length)
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r] as Row
      const renamed: Row = {}
      for (let i = 0; i < count; i++) renamed[names[i]!] = row[fields[i]!.name]
      renamedRows[r] = renamed
    }
    return { ...result, rows: renamedRows, fields: renamedFields }
  }
}
