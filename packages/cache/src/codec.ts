import { ConversionError } from '@tessera/core'

/**
 * Turns values into the text stored in Redis and back. One codec serves every tier that stores text (today: L2),
 * so a value read from Redis equals the value that was written. `decode` may throw: the cache turns that into a
 * miss and a log line.
 */
export interface Codec {
  encode(value: unknown): string
  decode(text: string): unknown
}

// Tagged nodes are `{ "$t": <tag>, "v": <payload> }`. A plain object that has its own `$t` key is wrapped in an
// `O` node so it can never be mistaken for a tagged one.
const TAG = '$t'

/**
 * The default codec: JSON with tagged nodes for what JSON loses. Round-trips `undefined` (in objects and arrays,
 * distinct from `null`), `NaN`, `±Infinity`, `-0`, `bigint`, `Date` (invalid dates too), `Buffer`, `Uint8Array`,
 * `Map`, `Set`, and nested objects and arrays of these. Class instances come back as plain objects (like JSON).
 * Functions, symbols, other typed arrays and circular references are refused with a `ConversionError`.
 */
export const taggedJsonCodec: Codec = {
  encode(value) {
    return JSON.stringify(toTagged(value, []))
  },
  decode(text) {
    const parsed: unknown = JSON.parse(text)
    return mayHoldTags(text) ? fromTagged(parsed) : parsed
  },
}

/**
 * Whether the text can contain a tagged node (or an `O`-wrapped object), i.e. a `$t` key. Such a key is written
 * `"$t"`, or with `\u` escapes in a hand-made text. Most cached values (plain objects, arrays, strings, finite
 * numbers) have neither, and their parsed JSON is already the value: the walk that restores tagged nodes is skipped.
 */
function mayHoldTags(text: string): boolean {
  // One-character searches first: they are several times faster than substring searches and settle most texts.
  return (text.includes('$') && text.includes('"$t"')) || (text.includes('\\') && text.includes('\\u'))
}

function tagged(tag: string, v: unknown): Record<string, unknown> {
  return { [TAG]: tag, v }
}

function toTagged(value: unknown, ancestors: object[]): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value
    case 'number':
      if (Number.isFinite(value)) return Object.is(value, -0) ? tagged('n', '-0') : value
      return tagged('n', String(value))
    case 'undefined':
      return tagged('u', 0)
    case 'bigint':
      return tagged('bi', value.toString())
    case 'object':
      return value === null ? null : objectToTagged(value, ancestors)
    default:
      throw new ConversionError({ value, target: 'a cache entry', reason: `${typeof value} values cannot be stored` })
  }
}

function objectToTagged(value: object, ancestors: object[]): unknown {
  if (value instanceof Date) return tagged('D', Number.isNaN(value.getTime()) ? null : value.getTime())
  if (Buffer.isBuffer(value)) return tagged('B', value.toString('base64'))
  if (value instanceof Uint8Array) return tagged('U8', Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64'))
  if (ArrayBuffer.isView(value)) {
    throw new ConversionError({
      value,
      target: 'a cache entry',
      reason: `${value.constructor.name} is not supported`,
      accepted: 'Buffer, Uint8Array',
    })
  }
  if (ancestors.includes(value))
    throw new ConversionError({ value: '[circular]', target: 'a cache entry', reason: 'the value contains a circular reference' })
  ancestors.push(value)
  try {
    if (Array.isArray(value)) {
      const out: unknown[] = new Array(value.length)
      for (let i = 0; i < value.length; i++) out[i] = toTagged(value[i], ancestors)
      return out
    }
    if (value instanceof Map) {
      const pairs: unknown[] = []
      for (const [k, v] of value) pairs.push([toTagged(k, ancestors), toTagged(v, ancestors)])
      return tagged('M', pairs)
    }
    if (value instanceof Set) {
      const items: unknown[] = []
      for (const item of value) items.push(toTagged(item, ancestors))
      return tagged('S', items)
    }
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(value)) assign(out, key, toTagged((value as Record<string, unknown>)[key], ancestors))
    return Object.hasOwn(value, TAG) ? tagged('O', out) : out
  } finally {
    ancestors.pop()
  }
}

function fromTagged(node: unknown): unknown {
  if (typeof node !== 'object' || node === null) return node
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) node[i] = fromTagged(node[i])
    return node
  }
  const record = node as Record<string, unknown>
  const tag = record[TAG]
  if (tag === undefined) return fromPlainObject(record)
  return fromTaggedNode(tag, record.v)
}

function fromTaggedNode(tag: unknown, v: unknown): unknown {
  switch (tag) {
    case 'u':
      return undefined
    case 'n':
      return v === '-0' ? -0 : Number(v)
    case 'bi':
      return BigInt(String(v))
    case 'D':
      return new Date(v === null ? Number.NaN : Number(v))
    case 'B':
      return Buffer.from(String(v), 'base64')
    case 'U8': {
      const bytes = Buffer.from(String(v), 'base64')
      return new Uint8Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))
    }
    case 'M':
      return new Map(expectArray(v).map((pair) => expectArray(pair).map(fromTagged) as [unknown, unknown]))
    case 'S':
      return new Set(expectArray(v).map(fromTagged))
    case 'O':
      if (typeof v !== 'object' || v === null || Array.isArray(v)) break
      return fromPlainObject(v as Record<string, unknown>)
  }
  throw new ConversionError({ value: tag, target: 'a cache value', reason: 'unknown or malformed tag in a stored entry' })
}

function fromPlainObject(record: Record<string, unknown>): Record<string, unknown> {
  for (const key of Object.keys(record)) assign(record, key, fromTagged(record[key]))
  return record
}

// `out.__proto__ = x` would set the prototype instead of a property; JSON.parse makes it an own property, so must we.
function assign(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
  else target[key] = value
}

function expectArray(value: unknown): unknown[] {
  if (!Array.isArray(value)) throw new ConversionError({ value, target: 'a cache value', reason: 'expected an array in a stored entry' })
  return value
}
