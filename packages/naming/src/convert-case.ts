import { createMemo } from './memo'
import { parseName } from './words'

function lower(word: string): string {
  return word.toLowerCase()
}

function capitalise(word: string): string {
  // Slice by code point so an astral first letter is upper-cased whole.
  const first = String.fromCodePoint(word.codePointAt(0) ?? 0)
  return first.toUpperCase() + word.slice(first.length).toLowerCase()
}

function join(name: string, separator: string, shape: (word: string, index: number) => string): string {
  const { prefix, words, suffix } = parseName(name)
  return prefix + words.map(shape).join(separator) + suffix
}

const snake = createMemo((name) => join(name, '_', lower))
const camel = createMemo((name) => join(name, '', (word, index) => (index === 0 ? lower(word) : capitalise(word))))
const pascal = createMemo((name) => join(name, '', capitalise))
const kebab = createMemo((name) => join(name, '-', lower))
const screaming = createMemo((name) => join(name, '_', (word) => word.toUpperCase()))

/** Every conversion cache, so tests can inspect and empty them. Internal. */
export const conversionCaches = { snake, camel, pascal, kebab, screaming } as const

/**
 * Converts a name to `snake_case`: words from {@link splitWords}, lower-cased, joined by `_`.
 * Leading and trailing underscores are kept. Memoised (bounded): a repeated name is a map lookup.
 *
 * @throws {NamingError} if `name` is not a string or has no letter or digit.
 * @example
 * toSnake('userID')        // 'user_id'
 * toSnake('HTTPServerURL') // 'http_server_url'
 */
export function toSnake(name: string): string {
  return snake(name)
}

/**
 * Converts a name to `camelCase`: first word lower-case, the others capitalised (`ID` → `Id`).
 * Word boundaries are kept: `first_name` → `firstName`, never `firstname`. Memoised (bounded).
 *
 * @throws {NamingError} if `name` is not a string or has no letter or digit.
 * @example
 * toCamel('user_id') // 'userId'
 */
export function toCamel(name: string): string {
  return camel(name)
}

/**
 * Converts a name to `PascalCase`: every word capitalised. Memoised (bounded).
 *
 * @throws {NamingError} if `name` is not a string or has no letter or digit.
 * @example
 * toPascal('user_category') // 'UserCategory'
 */
export function toPascal(name: string): string {
  return pascal(name)
}

/**
 * Converts a name to `kebab-case`: words lower-cased, joined by `-`. Leading and trailing
 * underscores stay underscores (`_private` → `_private`). Memoised (bounded).
 *
 * @throws {NamingError} if `name` is not a string or has no letter or digit.
 * @example
 * toKebab('userCategory') // 'user-category'
 */
export function toKebab(name: string): string {
  return kebab(name)
}

/**
 * Converts a name to `SCREAMING_SNAKE_CASE`: words upper-cased, joined by `_`. Memoised (bounded).
 *
 * @throws {NamingError} if `name` is not a string or has no letter or digit.
 * @example
 * toScreamingSnake('maxRetryCount') // 'MAX_RETRY_COUNT'
 */
export function toScreamingSnake(name: string): string {
  return screaming(name)
}
