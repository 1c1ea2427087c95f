import { sanitizeStatement, summarizeStatement } from '@tessera/core'

/** What spans and reports need of one SQL text, worked out once per distinct text. */
export interface StatementInfo {
  /** The span name: `SELECT orders`, or the operation alone. */
  summary: string
  operation: string
  collection: string | undefined
  /** Literals replaced by `?`. */
  sanitized: string
  /** The highest `$n` in the text. */
  paramsCount: number
  /** The attribute sets of its spans and metrics, per pool (built once, never changed: both SDK calls copy them). */
  attributeSets: Map<string, AttributeSet>
  /** The set its last run used (compared field by field before any key is built). */
  lastSet: AttributeSet | undefined
}

/** The span and metric attributes of one statement on one pool and call kind, and what they were built from. */
export interface AttributeSet {
  pool: string | undefined
  database: string | undefined
  host: string | undefined
  port: number | undefined
  operation: string
  span: Record<string, string | number>
  metric: Record<string, string | number>
}

const MAX_KEPT = 2_000
/**
 * The text without the comment the SQL commenter appended (it starts with `mark`, see `commentMark`), so one statement
 * stays one shape.
 */
export function withoutCommenterComment(text: string, mark: string): string {
  if (text.charCodeAt(text.length - 1) !== 47) return text
  const at = text.lastIndexOf(mark)
  return at === -1 ? text : text.slice(0, at)
}

function countParams(sanitized: string): number {
  let highest = 0
  for (const match of sanitized.matchAll(/\$(\d+)/g)) highest = Math.max(highest, Number(match[1]))
  return highest
}

/** A bounded memo of {@link StatementInfo} by text (statement texts repeat; it is emptied when full). */
export class StatementInfoCache {
  private readonly known = new Map<string, StatementInfo>()

  /** @param commentMark how the SQL commenter's comments start (see `commentMark`). */
  constructor(private readonly commentMark: string) {}

  get(text: string): StatementInfo {
    const own = withoutCommenterComment(text, this.commentMark)
    let info = this.known.get(own)
    if (info !== undefined) return info
    const { summary, operation, collection } = summarizeStatement(own)
    const sanitized = sanitizeStatement(own)
    info = {
      summary: summary === '' ? 'query' : summary,
      operation,
      collection,
      sanitized,
      paramsCount: countParams(sanitized),
      attributeSets: new Map(),
      lastSet: undefined,
    }
    if (this.known.size >= MAX_KEPT) this.known.clear()
    this.known.set(own, info)
    return info
  }
}
