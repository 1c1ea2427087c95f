import { createHash } from 'node:crypto'

// Names are memoised per text: hashing costs about a microsecond, a Map hit a few nanoseconds.
const names = new Map<string, string>()
const MAX_REMEMBERED_NAMES = 10_000

/**
 * A stable prepared-statement name for a statement text: the same on every connection and every process,
 * so `pg_prepared_statements` is readable. 64 bits of SHA-1: a collision is practically impossible, and pg
 * refuses (rather than misbinds) one that happens anyway.
 */
export function statementName(text: string): string {
  let name = names.get(text)
  if (name !== undefined) return name
  name = `tessera_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`
  if (names.size >= MAX_REMEMBERED_NAMES) names.clear()
  names.set(text, name)
  return name
}
