import { isTesseraError } from './errors'
import { isConnectionLoss } from './pg-errors'

/**
 * Whether a statement only reads, so that running it again after a lost connection cannot apply a write twice.
 * A heuristic on the text, deliberately conservative:
 *
 * - `SELECT …` / `WITH …` count as reads unless the text contains `INSERT`, `UPDATE` (also `FOR UPDATE`),
 *   `DELETE`, `MERGE` or `INTO` (`SELECT … INTO new_table`) anywhere;
 * - `SHOW`, `VALUES`, `TABLE` are reads; `EXPLAIN` is a read unless it says `ANALYZE` (which runs the statement);
 * - anything else (`INSERT`, `CALL`, DDL, `DO`, several statements…) is not.
 *
 * A function with side effects called from a `SELECT` (`SELECT nextval(…)`, `SELECT send_mail()`) cannot be
 * recognised: turn retries off for such calls with `{ retry: false }`.
 */
export function isReadStatement(text: string): boolean {
  const body = stripLeadingNoise(text)
  const keyword = /^[a-z]+/i.exec(body)?.[0]?.toLowerCase()
  switch (keyword) {
    case 'select':
    case 'with':
      return !WRITE_WORDS.test(body) && !hasSecondStatement(body)
    case 'show':
    case 'values':
    case 'table':
      return !hasSecondStatement(body)
    case 'explain':
      return !/\banalyze\b/i.test(body) && !WRITE_WORDS.test(body) && !hasSecondStatement(body)
    default:
      return false
  }
}

const WRITE_WORDS = /\b(insert|update|delete|merge|into)\b/i

/** Skips whitespace, comments and opening parentheses (`(SELECT …) UNION …`). */
function stripLeadingNoise(text: string): string {
  let i = 0
  while (i < text.length) {
    const char = text[i]!
    if (char === ' ' || char === '\n' || char === '\t' || char === '\r' || char === '(') {
      i++
    } else if (text.startsWith('--', i)) {
      const end = text.indexOf('\n', i)
      i = end === -1 ? text.length : end + 1
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2)
      i = end === -1 ? text.length : end + 2
    } else break
  }
  return text.slice(i)
}

/** A `;` followed by more than whitespace: a multi-statement string, which may hide a write. */
function hasSecondStatement(body: string): boolean {
  const semicolon = body.indexOf(';')
  return semicolon !== -1 && body.slice(semicolon + 1).trim() !== ''
}

/**
 * The default retry test for reads: the connection was lost or could not be made (class 08, a terminated
 * backend, too many connections…) and the error says a new try may work. Timeouts and cancellations the
 * caller asked for are not retried.
 */
export function isRetryableRead(error: unknown): boolean {
  return isTesseraError(error) && error.retryable && isConnectionLoss(error)
}
