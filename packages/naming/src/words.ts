import { assertName, NamingError } from './naming-error'

/** A name taken apart: the words, plus the underscores kept verbatim around them. */
export interface ParsedName {
  /** Leading underscores (`_private` → `_`), kept as they are by every conversion. */
  readonly prefix: string
  /** The words in their original case: `userID` → `['user', 'ID']`. Never empty. */
  readonly words: readonly string[]
  /** Trailing underscores (`type_` → `_`). */
  readonly suffix: string
}

const CONVERTIBLE = 'a string with at least one letter or digit, e.g. "userId" or "user_id"'

// Letters (with their combining marks) and digits make words; anything else separates them.
const CHUNK = /[\p{L}\p{M}\p{N}]+/gu
const UPPER = /^\p{Lu}$/u
const LOWER = /^\p{Ll}$/u
const DIGIT = /^\p{N}$/u
const HAS_LOWER = /\p{Ll}/u

function isUpper(char: string | undefined): boolean {
  return char !== undefined && UPPER.test(char)
}
function isLower(char: string | undefined): boolean {
  return char !== undefined && LOWER.test(char)
}
function isDigit(char: string | undefined): boolean {
  return char !== undefined && DIGIT.test(char)
}

/**
 * Splits a name into words, the way every conversion in this package sees it.
 *
 * Rules, in order:
 * 1. Leading and trailing underscores are not words (see {@link parseName}).
 * 2. Any character that is not a letter or digit (`_`, `-`, space, `.`, `$`…) separates words and is dropped.
 * 3. A chunk with no lower-case letter (`ID`, `USER`, `HTTP2FA`) is one word.
 * 4. Otherwise a word starts at an upper-case letter that follows a lower-case letter or a digit
 *    (`userId`, `user2Fa`), and at the last upper-case letter of a run that is followed by a
 *    lower-case letter (`HTTPServer` → `HTTP`, `Server`). Digits stay with the word before them.
 * 5. Except a plural acronym: a run followed by a lone `s` and then the end, an upper-case letter or a digit keeps
 *    the `s` (`userIDs` → `user`, `IDs`; `APIsByName` → `APIs`, `By`, `Name`).
 *
 * @throws {NamingError} if `name` is not a string or has no letter or digit.
 * @example
 * splitWords('HTTPServerURL') // ['HTTP', 'Server', 'URL']
 * splitWords('user2FACode')   // ['user2', 'FA', 'Code']
 * splitWords('userIDs')       // ['user', 'IDs']
 */
export function splitWords(name: string): string[] {
  return [...parseName(name).words]
}

/**
 * {@link splitWords} plus the leading and trailing underscores, which conversions keep verbatim
 * (`_private` → `_private`, `type_` → `type_`).
 *
 * @throws {NamingError} if `name` is not a string or has no letter or digit.
 * @example
 * parseName('__v') // { prefix: '__', words: ['v'], suffix: '' }
 */
export function parseName(name: string): ParsedName {
  assertName(name, CONVERTIBLE)
  const prefix = /^_*/.exec(name)?.[0] ?? ''
  const suffix = prefix.length === name.length ? '' : (/_*$/.exec(name)?.[0] ?? '')
  const words: string[] = []
  for (const chunk of name.matchAll(CHUNK)) splitChunk(chunk[0], words)
  if (words.length === 0) throw new NamingError({ input: name, reason: 'contains no letters or digits', accepted: CONVERTIBLE })
  return { prefix, words, suffix }
}

/**
 * Whether the `s` at `index` ends a plural acronym (`IDs`, `APIs`, `UUIDs`): a lone lower-case `s` after an
 * upper-case run, followed by the end of the chunk, an upper-case letter or a digit. Then the run keeps it
 * (`userIDs` → `user`, `IDs`) instead of lending its last letter to a word `Ds`.
 */
function isPluralS(chars: readonly string[], index: number): boolean {
  if (chars[index] !== 's') return false
  const next = chars[index + 1]
  return next === undefined || isUpper(next) || isDigit(next)
}

function splitChunk(chunk: string, into: string[]): void {
  if (!HAS_LOWER.test(chunk)) {
    into.push(chunk)
    return
  }
  // Iterate by code point so astral letters are never cut in half.
  const chars = Array.from(chunk)
  let word = chars[0] ?? ''
  for (let i = 1; i < chars.length; i++) {
    const previous = chars[i - 1]
    const current = chars[i] as string
    const startsWord =
      isUpper(current) &&
      (isLower(previous) || isDigit(previous) || (isUpper(previous) && isLower(chars[i + 1]) && !isPluralS(chars, i + 1)))
    if (startsWord) {
      into.push(word)
      word = current
    } else {
      word += current
    }
  }
  into.push(word)
}
