import { DYNAMO_RESERVED_WORDS } from './dynamo-reserved-words'
import { assertName } from './naming-error'

const BARE_ATTRIBUTE = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * True if the attribute `name` must be written as an expression attribute name (`#placeholder`)
 * in a DynamoDB expression: it is a reserved word in any case ({@link DYNAMO_RESERVED_WORDS}),
 * starts with a digit, or has a character outside `[A-Za-z0-9_]`.
 *
 * `name` is one attribute name, not a document path: a dot is a character of the name (an attribute
 * literally called `a.b` needs a placeholder, or DynamoDB would read it as a path). For a path such
 * as `address.city`, check each segment and give each its own placeholder (`#a.#c`).
 *
 * @throws {NamingError} for a non-string or an empty string (DynamoDB attribute names are at least one character).
 * @example
 * needsDynamoPlaceholder('userId') // false
 * needsDynamoPlaceholder('status') // true (reserved)
 * needsDynamoPlaceholder('2fa')    // true (leading digit)
 */
export function needsDynamoPlaceholder(name: string): boolean {
  assertName(name, 'a non-empty attribute name')
  return !BARE_ATTRIBUTE.test(name) || DYNAMO_RESERVED_WORDS.has(name.toUpperCase())
}
