import { classifyStatement, type StatementClassification } from '@tessera/core'

/** What a statement does, as far as caching cares. */
export type StatementKind = 'read' | 'write' | 'other'

/**
 * Classifies a statement with core's statement classifier: `read` when it is read-only (`SELECT`, `WITH … SELECT`,
 * `VALUES`, `TABLE`, `SHOW`, `EXPLAIN`: see `classifyStatement`), `write` when it may change table rows (DML,
 * DDL, `CALL`, `DO`, a call of a function not known to be free of side effects…), `other` when it changes no rows
 * but is not a read either (locking reads, `nextval()`, `SET`, `BEGIN`, `LISTEN`…).
 */
export function statementKind(sql: string): StatementKind {
  return kindOf(classifyStatement(sql))
}

/** {@link statementKind} of a classification already made. */
export function kindOf(classification: StatementClassification): StatementKind {
  if (classification.readOnly) return 'read'
  return classification.writtenTables.length > 0 || !classification.writtenTablesKnown ? 'write' : 'other'
}

/**
 * The tables a statement reads or writes, by their bare names as tags use them: unquoted names folded to lower case,
 * the schema dropped (`public.Users` → `users`, `"Orgs"` → `Orgs`), so a write through another `search_path`
 * still meets the reads of the same table. Found by core's classifier; see {@link statementKind}.
 */
export function statementTables(sql: string): string[] {
  const classification = classifyStatement(sql)
  return tableTags(classification, '')
}

/** The tags of the tables a classification reads and writes: `<prefix><bare name>`, each once. */
export function tableTags(classification: StatementClassification, prefix: string): string[] {
  const tags = new Set<string>()
  for (const table of classification.tables) tags.add(prefix + bareName(table))
  for (const table of classification.writtenTables) tags.add(prefix + bareName(table))
  return [...tags]
}

/** The last part of a name as the classifier writes it (`app."My Table"` → `My Table`). */
function bareName(qualified: string): string {
  let start = 0
  let inQuotes = false
  for (let i = 0; i < qualified.length; i++) {
    const char = qualified[i]
    if (char === '"') inQuotes = !inQuotes
    else if (char === '.' && !inQuotes) start = i + 1
  }
  const last = qualified.slice(start)
  return last.startsWith('"') ? last.slice(1, -1).replaceAll('""', '"') : last
}
