import { quotedEnd, skipDollarQuoted, skipEscapeString, tokenize } from './sql-lexer'
import { classifyStatement } from './statement-classifier'

/** What {@link summarizeStatement} tells about an SQL text, in OpenTelemetry's database terms. */
export interface StatementSummary {
  /** The first keyword, upper case (`'SELECT'`, `'INSERT'`, `'WITH'`…); `''` for an empty text. */
  operation: string
  /** The first table written, else the first read, as {@link classifyStatement} names it; `undefined` when none. */
  collection: string | undefined
  /** `operation` and `collection` (`'SELECT orders'`), or the operation alone: a low-cardinality span name. */
  summary: string
}

/**
 * A short, low-cardinality description of an SQL text for span names and metrics (`db.query.summary`):
 * `SELECT orders`, `INSERT app.users`, `BEGIN`. Read with PostgreSQL's lexical rules, so words inside literals and
 * comments never count.
 *
 * @example
 * summarizeStatement("SELECT * FROM orders WHERE id = 1").summary // 'SELECT orders'
 */
export function summarizeStatement(text: string): StatementSummary {
  const { tokens } = tokenize(text)
  const first = tokens.find((token) => token.kind === 'word')
  const operation = first === undefined ? '' : first.value.toUpperCase()
  const classified = classifyStatement(text)
  const collection = classified.writtenTables[0] ?? classified.tables[0]
  const summary = collection === undefined ? operation : `${operation} ${collection}`
  return { operation, collection, summary }
}

/**
 * The SQL text with every literal (strings, dollar-quoted strings, numbers) replaced by `?`, so it can be recorded
 * without the values it carries: `SELECT * FROM users WHERE email = 'a@b.c' AND age > 30` becomes
 * `SELECT * FROM users WHERE email = ? AND age > ?`. `$n` parameters, identifiers and comments stay.
 */
export function sanitizeStatement(text: string): string {
  const { tokens } = tokenize(text)
  let out = ''
  let copiedTo = 0
  for (const token of tokens) {
    if (token.kind !== 'string' && token.kind !== 'number') continue
    const end = token.kind === 'number' ? token.start + token.value.length : literalEnd(text, token.start)
    out += `${text.slice(copiedTo, token.start)}?`
    copiedTo = end
  }
  return copiedTo === 0 ? text : out + text.slice(copiedTo)
}

/** Just past the string literal starting at `start`: '…', E'…', B'…', X'…', N'…', U&'…' or $tag$…$tag$. */
function literalEnd(text: string, start: number): number {
  const char = text[start]
  if (char === '$') return skipDollarQuoted(text, start)
  if (char === "'") return quotedEnd(text, start + 1, "'")
  if (text[start + 1] === '&') return quotedEnd(text, start + 3, "'")
  if (char === 'e' || char === 'E') return skipEscapeString(text, start + 2)
  return quotedEnd(text, start + 2, "'")
}
