/** What a statement does, as far as caching cares. */
export type StatementKind = 'read' | 'write' | 'other'

const WRITE_VERBS = new Set(['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'MERGE', 'COPY'])
const IDENTIFIER = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)`
const QUALIFIED = `${IDENTIFIER}(?:\\s*\\.\\s*${IDENTIFIER})*`
const READ_TABLES = new RegExp(String.raw`\b(?:FROM|JOIN)\s+(?:ONLY\s+)?(${QUALIFIED})`, 'gi')
const WRITE_TABLES = new RegExp(
  String.raw`\b(?:INSERT\s+INTO|UPDATE(?:\s+ONLY)?|DELETE\s+FROM(?:\s+ONLY)?|MERGE\s+INTO|COPY|TRUNCATE(?:\s+TABLE)?(?:\s+ONLY)?)\s+(${QUALIFIED}(?:\s*,\s*${QUALIFIED})*)`,
  'gi',
)
const LOCKING = /\bFOR\s+(?:NO\s+KEY\s+)?(?:UPDATE|SHARE|KEY\s+SHARE)\b/i
const WRITE_ANYWHERE = /\b(?:INSERT|UPDATE|DELETE|MERGE|TRUNCATE)\b/i

/** Removes comments and string literals, so words inside them are not mistaken for keywords or tables. */
function strip(sql: string): string {
  return sql
    .replace(/--[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/'(?:[^']|'')*'/g, "''")
}

/**
 * Classifies a statement: `read` for a SELECT (or a WITH … SELECT without data-modifying parts, or VALUES/TABLE)
 * that takes no row locks; `write` for INSERT/UPDATE/DELETE/TRUNCATE/MERGE/COPY (and WITH queries containing one);
 * `other` for everything else (DDL, SET, CALL…), which is neither cached nor invalidates anything.
 */
export function statementKind(sql: string): StatementKind {
  const text = strip(sql).trimStart()
  const verb = /^\(*\s*([A-Za-z]+)/.exec(text)?.[1]?.toUpperCase()
  if (verb === undefined) return 'other'
  if (WRITE_VERBS.has(verb)) return 'write'
  if (verb === 'WITH') return WRITE_ANYWHERE.test(text) ? 'write' : LOCKING.test(text) ? 'other' : 'read'
  if (verb === 'SELECT' || verb === 'VALUES' || verb === 'TABLE') return LOCKING.test(text) ? 'other' : 'read'
  return 'other'
}

/** `"Users"` → `Users`, `users` → `users`, `public.users` → `users`: unquoted names fold to lower case, the schema is dropped. */
function tableName(qualified: string): string {
  const parts = qualified.split(/\s*\.\s*(?=(?:[^"]*"[^"]*")*[^"]*$)/)
  const last = (parts[parts.length - 1] ?? qualified).trim()
  return last.startsWith('"') ? last.slice(1, -1).replace(/""/g, '"') : last.toLowerCase()
}

/**
 * The tables a statement reads or writes, found by a simple scan: identifiers after FROM and JOIN (reads), after
 * INSERT INTO / UPDATE / DELETE FROM / MERGE INTO / TRUNCATE / COPY (writes). Limits: no view or function
 * expansion (a view is its own name, not its base tables), comma-separated FROM lists count only the first table,
 * and a table touched only inside a function call is missed. Pass your own `tables` function to `queryCache`
 * where that matters.
 */
export function statementTables(sql: string): string[] {
  const text = strip(sql)
  const found = new Set<string>()
  for (const match of text.matchAll(READ_TABLES)) {
    const name = match[1]
    if (name !== undefined && !/^(?:SELECT|LATERAL)$/i.test(name)) found.add(tableName(name))
  }
  for (const match of text.matchAll(WRITE_TABLES)) {
    for (const name of (match[1] ?? '').split(/\s*,\s*/)) if (name) found.add(tableName(name))
  }
  return [...found]
}
