import { DataError } from './pg-errors'
import { SqlError } from './sql'
import {
  DASH,
  DASH_SIGN,
  DIGIT,
  DOLLAR_SIGN,
  DOUBLE_QUOTE,
  kindOf,
  LETTER,
  LOWER_E,
  OTHER,
  QUOTE,
  SINGLE_QUOTE,
  STAR,
  skipBlockComment,
  skipDollarQuoted,
  skipEscapeString,
  skipLineComment,
  skipQuoted,
  UPPER_E,
} from './sql-lexer'

/** Past this, PostgreSQL refuses the parameter number anyway; stop growing it so it stays an exact integer. */
const PLACEHOLDER_CAP = 0x7fffffff

/**
 * Checks, before anything is sent, that a statement's text and parameter values fit together, so that bad input
 * fails with an error saying what is wrong instead of a protocol violation (08P01, which the drivers report like a
 * lost connection) or an error that differs between drivers:
 *
 * - at most `maxParameters` values: the driver's protocol limit, which the caller passes in (65535 for pg);
 * - no NUL character in the text: the protocol ends the text at the first NUL (08P01 "invalid message format");
 * - when values are given, the highest `$n` placeholder is `$<values.length>`: fewer values than placeholders is a
 *   protocol violation, and more values fail differently on each driver. Placeholders inside string literals,
 *   quoted identifiers, dollar-quoted strings and comments do not count (see {@link highestPlaceholder});
 * - no NUL character in a string value, or in a string element of an array value: PostgreSQL text cannot hold
 *   one (22021); send binary data as a `Buffer`.
 *
 * Without values the placeholders are not checked: `PREPARE p AS SELECT $1` and a function body such as
 * `CREATE FUNCTION f(int) … RETURN $1` legitimately use `$1` with no values, and a stray `$1` then gets the server's
 * own clear error (42P02 "there is no parameter $1"). Cost: one `indexOf` over the text without values; with values,
 * one pass over the text, and one `indexOf` per string value (or string array element).
 *
 * @throws SqlError for too many values, a NUL in the text, or placeholders that do not match the values.
 * @throws DataError (code 22021) for a string value containing NUL, naming its `$n`.
 * @example
 * checkStatement('SELECT $1::int, $2::int', [1], 65535)
 * // SqlError: the statement uses $1..$2 but 1 parameter value was given …
 */
export function checkStatement(text: string, values: readonly unknown[], maxParameters: number): void {
  if (values.length > maxParameters) {
    throw new SqlError(
      `the statement has ${values.length} parameter values; this driver sends at most ${maxParameters} per statement (split a multi-row insert into batches)`,
      { value: values.length },
    )
  }
  const nul = text.indexOf('\0')
  if (nul !== -1) {
    throw new SqlError(`the statement text contains a NUL character at index ${nul}; PostgreSQL cannot receive SQL text with NUL in it`, {
      value: text,
    })
  }
  if (values.length === 0) return
  const highest = text.indexOf('$') === -1 ? 0 : highestPlaceholder(text)
  if (highest !== values.length) throw placeholderMismatch(text, highest, values.length)
  for (let i = 0; i < values.length; i++) checkValue(text, values[i], i + 1)
}

function placeholderMismatch(text: string, highest: number, count: number): SqlError {
  const given = count === 1 ? '1 parameter value was given' : `${count} parameter values were given`
  const uses = highest === 0 ? 'uses no $n placeholders' : highest === 1 ? 'uses $1' : `uses $1..$${highest}`
  const advice =
    highest > count
      ? 'PostgreSQL needs a value for every placeholder up to the highest'
      : 'every value needs a placeholder in the text ($n inside quotes or comments does not count)'
  return new SqlError(`the statement ${uses} but ${given}; ${advice}`, { value: text })
}

/** Throws for a string holding NUL, at the top level or one array level down. The value itself stays out of the error: it may be a secret. */
function checkValue(text: string, value: unknown, position: number): void {
  if (typeof value === 'string') {
    if (value.indexOf('\0') !== -1) throw nulInValue(text, position, undefined)
    return
  }
  if (!Array.isArray(value)) return
  for (let i = 0; i < value.length; i++) {
    const element: unknown = value[i]
    if (typeof element === 'string' && element.indexOf('\0') !== -1) throw nulInValue(text, position, i)
  }
}

function nulInValue(text: string, position: number, element: number | undefined): DataError {
  const where = element === undefined ? `parameter $${position} is` : `the array in parameter $${position} holds, at index ${element},`
  return new DataError({
    code: '22021',
    message: `${where} a string containing a NUL character (\\u0000), which PostgreSQL text cannot hold; remove it, or send binary data as a Buffer (bytea)`,
    query: text,
  })
}

/**
 * The highest `$n` in `text` that PostgreSQL reads as a parameter, or 0 when there is none. One pass, following
 * PostgreSQL's lexer: it skips '…' literals ('' inside), E'…' literals (backslash escapes too), "…" identifiers,
 * $$…$$ and $tag$…$tag$ strings, -- comments and nested /* … *\/ comments, and a `$` inside a word (`price$1` is one
 * identifier). Backslashes in '…' are literal, as with `standard_conforming_strings = on`, the default since
 * PostgreSQL 9.1. Never throws: an unterminated literal or comment runs to the end of the text.
 */
export function highestPlaceholder(text: string): number {
  const length = text.length
  let highest = 0
  let i = 0
  while (i < length) {
    const code = text.charCodeAt(i)
    const kind = kindOf(code)
    // Most characters: one comparison and on. Digits outside a word start a number, which cannot hold a `$`.
    if (kind === OTHER || kind === DIGIT) {
      i++
      continue
    }
    switch (kind) {
      case LETTER: {
        const start = i
        i++
        // Letters, digits and `$` continue a word: `price$1` is one identifier, as is `a$$b`.
        while (i < length) {
          const next = kindOf(text.charCodeAt(i))
          if (next !== LETTER && next !== DIGIT && next !== DOLLAR_SIGN) break
          i++
        }
        // E'…' (or e'…') is an escape string, where \' does not end the literal.
        if (i - start === 1 && (code === UPPER_E || code === LOWER_E) && text.charCodeAt(i) === SINGLE_QUOTE) {
          i = skipEscapeString(text, i + 1)
        }
        break
      }
      case DOLLAR_SIGN: {
        if (kindOf(text.charCodeAt(i + 1)) !== DIGIT) {
          i = skipDollarQuoted(text, i)
          break
        }
        let number = 0
        i++
        while (i < length) {
          const digit = text.charCodeAt(i)
          if (kindOf(digit) !== DIGIT) break
          if (number < PLACEHOLDER_CAP) number = number * 10 + (digit - 0x30)
          i++
        }
        if (number > highest) highest = number
        break
      }
      case QUOTE:
        i = skipQuoted(text, i + 1, "'")
        break
      case DOUBLE_QUOTE:
        i = skipQuoted(text, i + 1, '"')
        break
      case DASH_SIGN:
        i = text.charCodeAt(i + 1) === DASH ? skipLineComment(text, i + 2) : i + 1
        break
      default:
        i = text.charCodeAt(i + 1) === STAR ? skipBlockComment(text, i + 2) : i + 1
    }
  }
  return highest
}
