import { createHash } from 'node:crypto'
import { quoteIdentifier } from '@tessera/core'
import { assertName, NamingError } from './naming-error'
import { POSTGRES_RESERVED_WORDS } from './postgres-reserved-words'

/** PostgreSQL keeps the first 63 bytes of an identifier (NAMEDATALEN − 1) and silently drops the rest. */
export const POSTGRES_MAX_IDENTIFIER_BYTES = 63

const HASH_HEX_CHARS = 8
// `_` + 8 hex characters, all one byte each.
const HASH_SUFFIX_BYTES = 1 + HASH_HEX_CHARS
const BARE_IDENTIFIER = /^[a-z_][a-z0-9_$]*$/
const IDENTIFIER = 'a non-empty string without NUL characters'

const encoder = new TextEncoder()

function checkIdentifier(name: unknown): asserts name is string {
  assertName(name, IDENTIFIER)
  if (name.includes('\0')) throw new NamingError({ input: name, reason: 'contains a NUL character', accepted: IDENTIFIER })
}

/**
 * Bytes `name` takes in UTF-8, which is what PostgreSQL's 63-byte limit counts.
 * @example
 * identifierByteLength('café') // 5
 */
export function identifierByteLength(name: string): number {
  return encoder.encode(name).length
}

/**
 * True if `name` must be double-quoted to be read back exactly as written: it has an upper-case
 * letter (PostgreSQL folds bare names to lower case), starts with a digit or `$`, has any character
 * outside `[a-z0-9_$]` (including every non-ASCII character), or is a reserved key word
 * ({@link POSTGRES_RESERVED_WORDS}).
 *
 * @throws {NamingError} for a non-string, an empty string or a NUL character.
 * @example
 * needsQuoting('user_id')   // false
 * needsQuoting('userId')    // true (would be folded to userid)
 * needsQuoting('order')     // true (reserved)
 */
export function needsQuoting(name: string): boolean {
  checkIdentifier(name)
  return !BARE_IDENTIFIER.test(name) || POSTGRES_RESERVED_WORDS.has(name)
}

/**
 * Wraps `name` in double quotes, doubling any `"` inside, so PostgreSQL reads it exactly as written.
 * Always quotes (predictable SQL); use {@link quoteIdentIfNeeded} for readable DDL. This is
 * `quoteIdentifier` from `@tessera/core`, the one quoter `sql.id` uses too, so the rules and errors
 * are the same everywhere. It refuses names over 63 bytes instead of letting PostgreSQL truncate
 * them silently: pass those through {@link safeIdentifier} first.
 *
 * @throws {SqlError} (from `@tessera/core`) for a non-string, an empty string, a NUL character, an
 * unpaired surrogate or more than 63 bytes in UTF-8.
 * @example
 * quoteIdent('userId')  // '"userId"'
 * quoteIdent('say "hi"') // '"say ""hi"""'
 */
export const quoteIdent: (name: string) => string = quoteIdentifier

/**
 * `name` as is when it can be written bare, otherwise {@link quoteIdent}`(name)`.
 *
 * @throws {SqlError} as {@link quoteIdent}, for every name it would refuse, bare or not.
 * @example
 * quoteIdentIfNeeded('user_id') // 'user_id'
 * quoteIdentIfNeeded('user')    // '"user"'
 */
export function quoteIdentIfNeeded(name: string): string {
  // Quoting first applies the quoter's checks to bare names too.
  const quoted = quoteIdentifier(name)
  return needsQuoting(name) ? quoted : name
}

/**
 * Makes `name` fit PostgreSQL's 63-byte limit without silent collisions. A name of 63 bytes or
 * less is returned unchanged. A longer one keeps its first 54 bytes (never cutting a UTF-8
 * character in half) and gets `_` plus the first 8 hex characters of the SHA-256 of the *full*
 * name, so two long names that share a prefix still differ. Stable: the same input always gives
 * the same output. Does not quote or change case; combine with {@link quoteIdent} as needed.
 *
 * @throws {NamingError} for a non-string, an empty string or a NUL character.
 * @example
 * safeIdentifier('user_id') // 'user_id'
 * safeIdentifier('a'.repeat(70)) // 'aaaa…a_' + 8 hex characters, 63 bytes in all
 */
export function safeIdentifier(name: string): string {
  checkIdentifier(name)
  const bytes = encoder.encode(name)
  if (bytes.length <= POSTGRES_MAX_IDENTIFIER_BYTES) return name
  let cut = POSTGRES_MAX_IDENTIFIER_BYTES - HASH_SUFFIX_BYTES
  // UTF-8 continuation bytes look like 10xxxxxx: back up to the start of the character.
  while (cut > 0 && ((bytes[cut] as number) & 0xc0) === 0x80) cut--
  const prefix = new TextDecoder().decode(bytes.subarray(0, cut))
  const hash = createHash('sha256').update(name, 'utf8').digest('hex').slice(0, HASH_HEX_CHARS)
  return `${prefix}_${hash}`
}
