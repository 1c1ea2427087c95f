const TRANSACTION_WORDS = new Set(['begin', 'start', 'commit', 'end', 'rollback', 'abort', 'prepare', 'savepoint', 'release'])

/**
 * For driver authors: whether a parameterless text may leave the session's transaction state changed: a
 * transaction-control statement, or possibly several statements in one text. A driver reads the session's transaction
 * status after such a text (and distrusts it when the text failed), so a session left inside a transaction block is
 * never lent again.
 */
export function mayChangeTransactionState(text: string): boolean {
  let start = 0
  while (start < text.length && text.charCodeAt(start) <= 32) start++
  let end = start
  while (end < text.length) {
    const code = text.charCodeAt(end) | 32
    if (code < 97 || code > 122) break
    end++
  }
  if (TRANSACTION_WORDS.has(text.slice(start, end).toLowerCase())) return true
  return maySeparateStatements(text)
}

/**
 * For driver authors: whether a text without parameters may hold several statements: it has a `;` with something
 * other than `;` and whitespace after it. (A `;` in a literal or comment also counts: such a text is merely treated
 * as if it had several.)
 */
export function maySeparateStatements(text: string): boolean {
  let at = text.indexOf(';')
  if (at < 0) return false
  while (++at < text.length) {
    const code = text.charCodeAt(at)
    if (code !== 59 && code !== 32 && code !== 10 && code !== 13 && code !== 9) return true
  }
  return false
}
