import { ConversionError } from '@tessera/core'

/** Returns the text unchanged: text-like types, and any type without a codec. */
export function parseText(text: string): string {
  return text
}

/** `t` / `f` → `true` / `false`. */
export function parseBool(text: string): boolean {
  if (text === 't') return true
  if (text === 'f') return false
  // Other spellings only arrive through hand-made input; accept what PostgreSQL itself accepts on input.
  const lower = text.trim().toLowerCase()
  if (lower === 'true' || lower === 'yes' || lower === 'on' || lower === '1') return true
  if (lower === 'false' || lower === 'no' || lower === 'off' || lower === '0') return false
  throw new ConversionError({ value: text, target: 'boolean', reason: 'not a PostgreSQL boolean', accepted: "'t' or 'f'" })
}

/** int2, int4, oid and the floats (`NaN`, `Infinity`, `-Infinity` included): all fit a JS number exactly. */
export function parseNumber(text: string): number {
  const value = +text
  if (Number.isNaN(value) && text !== 'NaN') {
    throw new ConversionError({ value: text, target: 'number', reason: 'not a number', accepted: 'PostgreSQL integer or float text' })
  }
  return value
}

/** int8 → `bigint`: exact over the whole int8 range. */
export function parseInt8AsBigInt(text: string): bigint {
  try {
    return BigInt(text)
  } catch (cause) {
    throw new ConversionError({ value: text, target: 'bigint', reason: 'not an integer', accepted: 'PostgreSQL int8 text' }, { cause })
  }
}

/**
 * int8 → `number`, refusing values a double cannot hold exactly instead of silently losing digits.
 * @throws ConversionError outside ±(2^53 − 1)
 */
export function parseInt8AsNumber(text: string): number {
  const value = +text
  // Up to 15 digits always fits; only longer text needs the safe-integer check.
  if (text.length <= 15 && !Number.isNaN(value)) return value
  if (Number.isSafeInteger(value)) return value
  throw new ConversionError({
    value: text,
    target: 'number',
    reason: 'outside the safe integer range ±9007199254740991; digits would be lost',
    accepted: "integers within ±9007199254740991, or the int8 policy 'bigint' / 'string'",
  })
}

/** numeric → `number`. Precision beyond a double's ~15–17 significant digits is rounded. */
export function parseNumericAsNumber(text: string): number {
  return +text
}

/** json / jsonb → the parsed value. Numbers beyond a double's precision are rounded, as by `JSON.parse`. */
export function parseJson(text: string): unknown {
  return JSON.parse(text)
}

/** bytea (hex `\x…` or the legacy escape format) → `Buffer`. */
export function parseByteaAsBuffer(text: string): Buffer {
  if (text.charCodeAt(0) === 92 && text.charCodeAt(1) === 120) {
    const hex = text.slice(2)
    const bytes = Buffer.from(hex, 'hex')
    // Buffer.from stops silently at the first bad pair; a short result means the text was not hex.
    if (bytes.length * 2 !== hex.length) throw badBytea(text)
    return bytes
  }
  return parseEscapedBytea(text)
}

/** bytea → a plain `Uint8Array` (not a `Buffer`), for code that runs beyond Node too. */
export function parseByteaAsUint8Array(text: string): Uint8Array {
  return new Uint8Array(parseByteaAsBuffer(text))
}

function parseEscapedBytea(text: string): Buffer {
  const out = Buffer.allocUnsafe(text.length)
  let length = 0
  let i = 0
  while (i < text.length) {
    const c = text.charCodeAt(i)
    if (c !== 92) {
      out[length++] = c
      i++
      continue
    }
    if (text.charCodeAt(i + 1) === 92) {
      out[length++] = 92
      i += 2
      continue
    }
    const octal = text.slice(i + 1, i + 4)
    if (!/^[0-3][0-7][0-7]$/.test(octal)) throw badBytea(text)
    out[length++] = Number.parseInt(octal, 8)
    i += 4
  }
  return Buffer.from(out.subarray(0, length))
}

function badBytea(text: string): ConversionError {
  return new ConversionError({
    value: text,
    target: 'bytes',
    reason: 'malformed bytea text',
    accepted: "hex format '\\x0a1b…' or escape format with \\\\ and \\ooo",
  })
}

/** A point `{ x, y }` as PostgreSQL's `point` type holds it. */
export interface Point {
  x: number
  y: number
}

/** point `(x,y)` → `{ x, y }`. */
export function parsePoint(text: string): Point {
  const comma = text.indexOf(',')
  if (text.charCodeAt(0) !== 40 || comma < 0 || text.charCodeAt(text.length - 1) !== 41) {
    throw new ConversionError({ value: text, target: 'point', reason: 'malformed point', accepted: "'(x,y)'" })
  }
  return { x: +text.slice(1, comma), y: +text.slice(comma + 1, -1) }
}

/** pgvector's `vector` (and `halfvec`) `[1,2,3]` → `number[]`. */
export function parseVector(text: string): number[] {
  if (text.charCodeAt(0) !== 91 || text.charCodeAt(text.length - 1) !== 93) {
    throw new ConversionError({ value: text, target: 'vector', reason: 'malformed vector', accepted: "'[1,2,3]'" })
  }
  const inner = text.slice(1, -1)
  if (inner.length === 0) return []
  const parts = inner.split(',')
  const out = new Array<number>(parts.length)
  for (let i = 0; i < parts.length; i++) out[i] = +(parts[i] as string)
  return out
}
