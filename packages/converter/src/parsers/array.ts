import { ConversionError } from '@tessera/core'

/** Turns one element's text into a value. Never called for SQL NULL elements. */
export type ElementParser = (text: string) => unknown

/** Nested arrays as PostgreSQL's multi-dimensional arrays read back: `unknown[]` of elements or sub-arrays. */
export type ParsedArray = unknown[]

function malformed(text: string, reason: string): ConversionError {
  return new ConversionError({
    value: text,
    target: 'array',
    reason,
    accepted: "PostgreSQL array text such as '{1,2,NULL}', '{{1,2},{3,4}}', '{\"a\\\\\"b\",c}' or '[0:1]={1,2}'",
  })
}

/**
 * Parses PostgreSQL array text into (nested) JS arrays in one pass.
 *
 * - `NULL` (unquoted) elements become `null`; a quoted `"NULL"` is the string `NULL`.
 * - Quoted elements may contain the delimiter, braces, spaces and `\`-escaped quotes and backslashes.
 * - `{}` is `[]`; multi-dimensional arrays become nested arrays.
 * - A lower-bound prefix such as `[0:1]={1,2}` is accepted and dropped: JS arrays start at 0.
 * - `delimiter` is the element type's `typdelim`: `,` for every type except `box` (`;`).
 *
 * @param parseElement turns each non-NULL element's text into a value. Default: keep the text.
 */
export function parseArray(text: string, parseElement?: ElementParser, delimiter = ','): ParsedArray {
  let i = 0
  if (text.charCodeAt(0) === 91) {
    // `[lower:upper]...={...}`: skip the dimension decoration.
    i = text.indexOf('=') + 1
    if (i === 0) throw malformed(text, 'dimension prefix without "="')
  }
  if (text.charCodeAt(i) !== 123) throw malformed(text, 'does not start with "{"')
  const delim = delimiter.charCodeAt(0)
  const length = text.length
  const root: unknown[] = []
  const stack: unknown[][] = []
  let current = root
  i++
  while (i < length) {
    const c = text.charCodeAt(i)
    if (c === 125) {
      // '}'
      const parent = stack.pop()
      i++
      if (parent === undefined) {
        if (i !== length) throw malformed(text, 'text after the closing "}"')
        return root
      }
      current = parent
      continue
    }
    if (c === delim || c === 32) {
      i++
      continue
    }
    if (c === 123) {
      // '{'
      const child: unknown[] = []
      current.push(child)
      stack.push(current)
      current = child
      i++
      continue
    }
    if (c === 34) {
      // '"': a quoted element, maybe with backslash escapes.
      let end = text.indexOf('"', i + 1)
      let slash = text.indexOf('\\', i + 1)
      if (slash < 0 || slash > end) {
        if (end < 0) throw malformed(text, 'unterminated quoted element')
        const value = text.slice(i + 1, end)
        current.push(parseElement === undefined ? value : parseElement(value))
        i = end + 1
        continue
      }
      let value = ''
      let from = i + 1
      while (slash >= 0 && slash < end) {
        value += text.slice(from, slash) + text[slash + 1]
        from = slash + 2
        slash = text.indexOf('\\', from)
        if (end < from) end = text.indexOf('"', from)
      }
      if (end < 0) throw malformed(text, 'unterminated quoted element')
      value += text.slice(from, end)
      current.push(parseElement === undefined ? value : parseElement(value))
      i = end + 1
      continue
    }
    // An unquoted element runs to the next delimiter or '}'; PostgreSQL quotes anything with spaces.
    const start = i
    let d = c
    while (d !== delim && d !== 125) {
      if (++i >= length) throw malformed(text, 'missing closing "}"')
      d = text.charCodeAt(i)
    }
    const value = text.slice(start, i)
    if (i - start === 4 && (value === 'NULL' || value.toUpperCase() === 'NULL')) current.push(null)
    else current.push(parseElement === undefined ? value : parseElement(value))
  }
  throw malformed(text, 'missing closing "}"')
}
