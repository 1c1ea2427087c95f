/**
 * PostgreSQL's lexical rules, once: what a character can start, and how to skip a '…' literal, an E'…' literal, a
 * "…" identifier, a $tag$…$tag$ string, a -- comment and a nested /* … *\/ comment. `highestPlaceholder` scans with
 * them on the hot path; {@link tokenize} turns a text into tokens for the statement classifier.
 */

// Character codes the scanner compares against.
export const DOLLAR = 0x24
export const SINGLE_QUOTE = 0x27
export const STAR = 0x2a
export const SLASH = 0x2f
export const DASH = 0x2d
export const BACKSLASH = 0x5c
export const LINE_FEED = 0x0a
export const CARRIAGE_RETURN = 0x0d
export const UPPER_E = 0x45
export const LOWER_E = 0x65

// What an ASCII character can start, looked up in a table: one load per character instead of a chain of range
// comparisons (the scan runs on every statement with values). Every non-ASCII character is a word character, as in
// PostgreSQL's lexer, which works on bytes and counts 0x80-0xFF as letters.
export const OTHER = 0
export const LETTER = 1
export const DIGIT = 2
export const DOLLAR_SIGN = 3
export const QUOTE = 4
export const DOUBLE_QUOTE = 5
export const DASH_SIGN = 6
export const SLASH_SIGN = 7
export const ASCII_KINDS = new Uint8Array(128)
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
export function kindOf(code: number): number {
  if (code < 128) return ASCII_KINDS[code] as number
  return code >= 128 ? LETTER : OTHER
}

/**
 * From just after the opening quote to just after the closing one. A doubled quote inside needs no care: reading it as
 * the end of one literal and the start of the next skips the same characters.
 */
export function skipQuoted(text: string, from: number, quote: "'" | '"'): number {
  const close = text.indexOf(quote, from)
  return close === -1 ? text.length : close + 1
}

export function skipEscapeString(text: string, from: number): number {
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

export function skipLineComment(text: string, from: number): number {
  let i = from
  while (i < text.length) {
    const code = text.charCodeAt(i)
    if (code === LINE_FEED || code === CARRIAGE_RETURN) return i + 1
    i++
  }
  return i
}

/** Block comments nest in PostgreSQL: `/* a /* b *\/ still a comment *\/`. */
export function skipBlockComment(text: string, from: number): number {
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
export function skipDollarQuoted(text: string, start: number): number {
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

/** What a {@link Token} is. */
export type TokenKind =
  /** An unquoted word (keyword or identifier); `value` is folded to lower case, as PostgreSQL folds it. */
  | 'word'
  /** A "quoted identifier" (also U&"…"); `value` is the name with "" undone, case kept. */
  | 'quoted'
  /** A string: '…', E'…', B'…', X'…', N'…', U&'…' or $tag$…$tag$; `value` is the raw text between the quotes. */
  | 'string'
  | 'number'
  /** A `$n` parameter. */
  | 'parameter'
  /** One of `( ) [ ] , ; .` */
  | 'punctuation'
  /** A run of operator characters (`::`, `=`, `->>`…). */
  | 'operator'

export interface Token {
  kind: TokenKind
  value: string
  /** Index of the token's first character in the text. */
  start: number
}

/** What {@link tokenize} found. */
export interface Tokens {
  tokens: Token[]
  /** A literal, quoted identifier or comment runs to the end of the text (PostgreSQL would reject the text). */
  unterminated: boolean
  /** A '…' literal holds a backslash, which reads differently when `standard_conforming_strings` is off. */
  backslashInLiteral: boolean
}

const PUNCTUATION = new Set(['(', ')', '[', ']', ',', ';', '.'])
const OPERATOR_CHARS = new Set(['+', '-', '*', '/', '<', '>', '=', '~', '!', '@', '#', '%', '^', '&', '|', '`', '?', ':'])

/**
 * Splits SQL text into tokens with the rules above; comments and whitespace are dropped. With `backslashEscapes`,
 * '…' literals treat `\` as an escape, as PostgreSQL does with `standard_conforming_strings = off`. Never throws.
 */
export function tokenize(text: string, backslashEscapes = false): Tokens {
  const tokens: Token[] = []
  const length = text.length
  let unterminated = false
  let backslashInLiteral = false
  let i = 0
  while (i < length) {
    const code = text.charCodeAt(i)
    const kind = kindOf(code)
    const start = i
    if (kind === LETTER) {
      i++
      while (i < length) {
        const next = kindOf(text.charCodeAt(i))
        if (next !== LETTER && next !== DIGIT && next !== DOLLAR_SIGN) break
        i++
      }
      const word = text.slice(start, i)
      const next = text.charCodeAt(i)
      // A prefix glued to a quote: E'…' (escapes), B'…', X'…', N'…', U&'…' and U&"…".
      if (next === SINGLE_QUOTE && word.length === 1) {
        const escapes = code === UPPER_E || code === LOWER_E
        const end = escapes || backslashEscapes ? skipEscapeString(text, i + 1) : quotedEnd(text, i + 1, "'")
        if (!escapes && !backslashInLiteral && text.slice(i + 1, end).includes('\\')) backslashInLiteral = true
        if (!closes(text, end, "'", i + 1)) unterminated = true
        tokens.push({ kind: 'string', value: text.slice(i + 1, end - 1), start })
        i = end
        continue
      }
      if ((word === 'u' || word === 'U') && next === 0x26 && (text[i + 1] === "'" || text[i + 1] === '"')) {
        const quote = text[i + 1] as "'" | '"'
        const end = quote === "'" && backslashEscapes ? skipEscapeString(text, i + 2) : quotedEnd(text, i + 2, quote)
        if (!closes(text, end, quote, i + 2)) unterminated = true
        const value = text.slice(i + 2, end - 1)
        tokens.push(quote === "'" ? { kind: 'string', value, start } : { kind: 'quoted', value: value.replaceAll('""', '"'), start })
        i = end
        continue
      }
      tokens.push({ kind: 'word', value: word.toLowerCase(), start })
      continue
    }
    if (kind === DIGIT || (code === 0x2e && kindOf(text.charCodeAt(i + 1)) === DIGIT)) {
      i++
      while (i < length) {
        const next = text.charCodeAt(i)
        const nextKind = kindOf(next)
        if (nextKind === DIGIT || nextKind === LETTER || (next === 0x2e && text.charCodeAt(i + 1) !== 0x2e)) i++
        else if ((next === 0x2b || next === DASH) && (text.charCodeAt(i - 1) | 32) === LOWER_E) i++
        else break
      }
      tokens.push({ kind: 'number', value: text.slice(start, i), start })
      continue
    }
    switch (kind) {
      case DOLLAR_SIGN: {
        if (kindOf(text.charCodeAt(i + 1)) === DIGIT) {
          i++
          while (i < length && kindOf(text.charCodeAt(i)) === DIGIT) i++
          tokens.push({ kind: 'parameter', value: text.slice(start, i), start })
          continue
        }
        const end = skipDollarQuoted(text, i)
        if (end === i + 1) {
          tokens.push({ kind: 'operator', value: '$', start })
          i = end
          continue
        }
        const tagEnd = text.indexOf('$', i + 1) + 1
        const tag = text.slice(i, tagEnd)
        const closed = end - tag.length >= tagEnd && text.startsWith(tag, end - tag.length)
        if (!closed) unterminated = true
        tokens.push({ kind: 'string', value: text.slice(tagEnd, closed ? end - tag.length : end), start })
        i = end
        continue
      }
      case QUOTE: {
        const end = backslashEscapes ? skipEscapeString(text, i + 1) : quotedEnd(text, i + 1, "'")
        if (!closes(text, end, "'", i + 1)) unterminated = true
        if (!backslashInLiteral && text.slice(i + 1, end).includes('\\')) backslashInLiteral = true
        tokens.push({ kind: 'string', value: text.slice(i + 1, end - 1), start })
        i = end
        continue
      }
      case DOUBLE_QUOTE: {
        const end = quotedEnd(text, i + 1, '"')
        if (!closes(text, end, '"', i + 1)) unterminated = true
        tokens.push({ kind: 'quoted', value: text.slice(i + 1, end - 1).replaceAll('""', '"'), start })
        i = end
        continue
      }
    }
    if (code === DASH && text.charCodeAt(i + 1) === DASH) {
      i = skipLineComment(text, i + 2)
      continue
    }
    if (code === SLASH && text.charCodeAt(i + 1) === STAR) {
      const end = skipBlockComment(text, i + 2)
      if (!(end >= i + 4 && text.charCodeAt(end - 1) === SLASH && text.charCodeAt(end - 2) === STAR)) unterminated = true
      i = end
      continue
    }
    const char = text[i] as string
    if (PUNCTUATION.has(char)) {
      tokens.push({ kind: 'punctuation', value: char, start })
      i++
      continue
    }
    if (OPERATOR_CHARS.has(char)) {
      i++
      // An operator ends where a comment starts.
      while (i < length && OPERATOR_CHARS.has(text[i] as string) && !text.startsWith('--', i) && !text.startsWith('/*', i)) i++
      tokens.push({ kind: 'operator', value: text.slice(start, i), start })
      continue
    }
    // Whitespace and anything else.
    i++
  }
  return { tokens, unterminated, backslashInLiteral }
}

/** Whether the literal opened just before `from` and skipped to `end` was closed by `quote` (not cut by the end of the text). */
function closes(text: string, end: number, quote: string, from: number): boolean {
  return end > from && text[end - 1] === quote
}

/** Past a '…' or "…" whose doubled quotes stand for one quote. */
export function quotedEnd(text: string, from: number, quote: "'" | '"'): number {
  let end = skipQuoted(text, from, quote)
  while (end < text.length && text[end] === quote) end = skipQuoted(text, end + 1, quote)
  return end
}
