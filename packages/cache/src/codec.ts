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
 * Teaches the default codec one class: how to recognise it, turn it into something the codec stores (plain data,
 * or any value the codec handles), and rebuild it.
 *
 * @example
 * const money: CodecType<Money> = { name: 'Money', is: (v) => v instanceof Money, encode: (m) => [m.cents, m.currency], decode: ([c, cur]) => new Money(c, cur) }
 */
export interface CodecType<T = unknown> {
  /** Stored with each value; keep it stable (entries written under one name are read back by that name). */
  name: string
  is(value: unknown): value is T
  encode(value: T): unknown
  /** Rebuilds the value from what `encode` returned (after a trip through the codec). */
  decode(data: unknown): T
}

export interface TaggedJsonCodecOptions {
  /** Classes the codec restores, checked before the built-in types. Default: none. */
  types?: readonly CodecType[] | undefined
}

/** What one encode found: whether decoding the text gives back an equal value (not so after a `toJSON`). */
interface EncodeContext {
  readonly types: readonly CodecType[]
  readonly ancestors: object[]
  usedToJson: boolean
}

const CODEC_STATE: unique symbol = Symbol('tessera.cache.tagged-json-codec')

interface TaggedJsonCodec extends Codec {
  [CODEC_STATE]: { types: readonly CodecType[] }
}

/**
 * A JSON codec with tagged nodes for what JSON loses. Round-trips `undefined` (in objects and arrays, distinct from
 * `null`), `NaN`, `±Infinity`, `-0`, `bigint`, `Date` (invalid dates too), `Buffer`, `Uint8Array`, `Map`, `Set`,
 * `URL`, `RegExp`, the registered `types`, and nested plain objects and arrays of these. An object with a `toJSON`
 * method is stored as what `toJSON` returns (as `JSON.stringify` does: a hidden field stays hidden). Any other class
 * instance (an `Error`, a class of yours) is refused with a `ConversionError` rather than come back as a plain
 * object; so are functions, symbols, other typed arrays and circular references.
 */
export function createTaggedJsonCodec(options: TaggedJsonCodecOptions = {}): Codec {
  const types = options.types ?? []
  const byName = new Map<string, CodecType>()
  for (const type of types) byName.set(type.name, type)
  const codec: TaggedJsonCodec = {
    [CODEC_STATE]: { types },
    encode(value) {
      return JSON.stringify(toTagged(value, { types, ancestors: [], usedToJson: false }))
    },
    decode(text) {
      const parsed: unknown = JSON.parse(text)
      return mayHoldTags(text) ? fromTagged(parsed, byName) : parsed
    },
  }
  return codec
}

/** The default codec: {@link createTaggedJsonCodec} without registered types. */
export const taggedJsonCodec: Codec = createTaggedJsonCodec()

/**
 * Encodes with `codec`, telling whether the text decodes to an equal value. Only the tagged JSON codecs can tell
 * (a `toJSON` changes the value); for another codec the answer is `true`.
 */
export function encodeAndCheck(codec: Codec, value: unknown): { text: string; isExact: boolean } {
  const state = (codec as Partial<TaggedJsonCodec>)[CODEC_STATE]
  if (state === undefined) return { text: codec.encode(value), isExact: true }
  const context: EncodeContext = { types: state.types, ancestors: [], usedToJson: false }
  const text = JSON.stringify(toTagged(value, context))
  return { text, isExact: !context.usedToJson }
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

function toTagged(value: unknown, context: EncodeContext): unknown {
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
      return value === null ? null : objectToTagged(value, context)
    default:
      throw new ConversionError({ value, target: 'a cache entry', reason: `${typeof value} values cannot be stored` })
  }
}

function objectToTagged(value: object, context: EncodeContext): unknown {
  for (const type of context.types) {
    if (type.is(value)) return tagged(`x:${type.name}`, toTagged(type.encode(value), context))
  }
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
  if (value instanceof URL) return tagged('URL', value.href)
  if (value instanceof RegExp) return tagged('R', [value.source, value.flags])
  const ancestors = context.ancestors
  if (ancestors.includes(value))
    throw new ConversionError({ value: '[circular]', target: 'a cache entry', reason: 'the value contains a circular reference' })
  ancestors.push(value)
  try {
    if (Array.isArray(value)) {
      const out: unknown[] = new Array(value.length)
      for (let i = 0; i < value.length; i++) out[i] = toTagged(value[i], context)
      return out
    }
    if (value instanceof Map) {
      const pairs: unknown[] = []
      for (const [k, v] of value) pairs.push([toTagged(k, context), toTagged(v, context)])
      return tagged('M', pairs)
    }
    if (value instanceof Set) {
      const items: unknown[] = []
      for (const item of value) items.push(toTagged(item, context))
      return tagged('S', items)
    }
    const toJson = (value as { toJSON?: unknown }).toJSON
    if (typeof toJson === 'function') {
      context.usedToJson = true
      return toTagged(toJson.call(value, ''), context)
    }
    const proto: unknown = Object.getPrototypeOf(value)
    if (proto !== Object.prototype && proto !== null) {
      const name = (value as { constructor?: { name?: unknown } | undefined }).constructor?.name
      throw new ConversionError({
        value,
        target: 'a cache entry',
        reason: `a${typeof name === 'string' && name !== '' ? ` ${name}` : 'n object of a class'} instance would come back as a plain object`,
        accepted:
          'plain objects and arrays, Date, Map, Set, Buffer, Uint8Array, URL, RegExp, bigint, objects with toJSON, or a class registered with createTaggedJsonCodec({ types })',
      })
    }
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(value)) assign(out, key, toTagged((value as Record<string, unknown>)[key], context))
    return Object.hasOwn(value, TAG) ? tagged('O', out) : out
  } finally {
    ancestors.pop()
  }
}

type TypesByName = ReadonlyMap<string, CodecType>

function fromTagged(node: unknown, types: TypesByName): unknown {
  if (typeof node !== 'object' || node === null) return node
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) node[i] = fromTagged(node[i], types)
    return node
  }
  const record = node as Record<string, unknown>
  const tag = record[TAG]
  if (tag === undefined) return fromPlainObject(record, types)
  return fromTaggedNode(tag, record.v, types)
}

function fromTaggedNode(tag: unknown, v: unknown, types: TypesByName): unknown {
  if (typeof tag === 'string' && tag.startsWith('x:')) {
    const type = types.get(tag.slice(2))
    if (type === undefined) {
      throw new ConversionError({ value: tag, target: 'a cache value', reason: `no codec type "${tag.slice(2)}" is registered` })
    }
    return type.decode(fromTagged(v, types))
  }
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
      return new Map(expectArray(v).map((pair) => expectArray(pair).map((item) => fromTagged(item, types)) as [unknown, unknown]))
    case 'S':
      return new Set(expectArray(v).map((item) => fromTagged(item, types)))
    case 'URL':
      return new URL(String(v))
    case 'R': {
      const [source, flags] = expectArray(v)
      return new RegExp(String(source), String(flags))
    }
    case 'O':
      if (typeof v !== 'object' || v === null || Array.isArray(v)) break
      return fromPlainObject(v as Record<string, unknown>, types)
  }
  throw new ConversionError({ value: tag, target: 'a cache value', reason: 'unknown or malformed tag in a stored entry' })
}

function fromPlainObject(record: Record<string, unknown>, types: TypesByName): Record<string, unknown> {
  for (const key of Object.keys(record)) assign(record, key, fromTagged(record[key], types))
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
