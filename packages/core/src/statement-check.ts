import { DataError } from './pg-errors'
import { SqlError } from './sql'

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

// Character codes the scanner compares against.
const DOLLAR = 0x24
const SINGLE_QUOTE = 0x27
const STAR = 0x2a
const SLASH = 0x2f
const DASH = 0x2d
const BACKSLASH = 0x5c
const LINE_FEED = 0x0a
const CARRIAGE_RETURN = 0x0d
const UPPER_E = 0x45
const LOWER_E = 0x65
/** Past this, PostgreSQL refuses the parameter number anyway; stop growing it so it stays an exact integer. */
const PLACEHOLDER_CAP = 0x7fffffff

// What an ASCII character can start, looked up in a table: one load per character instead of a chain of range
// comparisons (the scan runs on every statement with values). Every non-ASCII character is a word character, as in
// PostgreSQL's lexer, which works on bytes and counts 0x80-0xFF as letters.
const OTHER = 0
const LETTER = 1
const DIGIT = 2
const DOLLAR_SIGN = 3
const QUOTE = 4
const DOUBLE_QUOTE = 5
const DASH_SIGN = 6
const SLASH_SIGN = 7
const ASCII_KINDS = new Uint8Array(128)
for (let code = 0x41; code <= 0x5a; code++) ASCII_KINDS[code] = LETTER
for (let code = 0x61; code <= 0x7a; code++) ASCII_KINDS[code] = LETTER
ASCII_KINDS[0x5f] = LETTER
for (let code = 0x30; code <= 0x39; code++) ASCII_KINDS[code] = DIGIT
ASCII_KINDS[DOLLAR] = DOLLAR_SIGN
ASCII_KINDS[SINGLE_QUOTE] = QUOTE
ASCII_KINDS[0x22] = DOUBLE_QUOTE
ASCII_KINDS[DASH] = DASH_SIGN
ASCII_KINDS[SLASH] = SLASH_SIGN

/** The kind of the character at `code`; `NaN` (read past the end of the text) is OTHER. */
function kindOf(code: number): number {
  if (code < 128) return ASCII_KINDS[code] as number
  return code >= 128 ? LETTER : OTHER
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

/**
 * From just after the opening quote to just after the closing one. A doubled quote inside needs no care: reading it as
 * the end of one literal and the start of the next skips the same characters.
 */
function skipQuoted(text: string, from: number, quote: "'" | '"'): number {
  const close = text.indexOf(quote, from)
  return close === -1 ? text.length : close + 1
}

function skipEscapeString(text: string, from: number): number {
  let i = from
  while (i < text.length) {
    const code = text.charCodeAt(i)
    if (code === BACKSLASH) i += 2
    else if (code !== SINGLE_QUOTE) i++
    else if (text.charCodeAt(i + 1) === SINGLE_QUOTE) i += 2
    else return i + 1
  }
  return text.length
}

function skipLineComment(text: string, from: number): number {
  let i = from
  while (i < text.length) {
    const code = text.charCodeAt(i)
    if (code === LINE_FEED || code === CARRIAGE_RETURN) return i + 1
    i++
  }
  return i
}

/** Block comments nest in PostgreSQL: `/* a /* b *\/ still a comment *\/`. */
function skipBlockComment(text: string, from: number): number {
  let depth = 1
  let i = from
  while (i < text.length) {
    const code = text.charCodeAt(i)
    if (code === SLASH && text.charCodeAt(i + 1) === STAR) {
      depth++
      i += 2
    } else if (code === STAR && text.charCodeAt(i + 1) === SLASH) {
      depth--
      i += 2
      if (depth === 0) return i
    } else i++
  }
  return text.length
}

/**
 * At a `$` not followed by a digit: past the whole `$tag$…$tag$` string when one starts here (the tag is empty or an
 * identifier without `$`), otherwise just past the `$`.
 */
function skipDollarQuoted(text: string, start: number): number {
  let i = start + 1
  if (kindOf(text.charCodeAt(i)) === LETTER) {
    i++
    while (i < text.length) {
      const kind = kindOf(text.charCodeAt(i))
      if (kind !== LETTER && kind !== DIGIT) break
      i++
    }
  }
  if (text.charCodeAt(i) !== DOLLAR) return start + 1
  const tag = text.slice(start, i + 1)
  const close = text.indexOf(tag, i + 1)
  return close === -1 ? text.length : close + tag.length
}
