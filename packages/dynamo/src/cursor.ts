import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import { CursorError } from './errors'
import type { AttributeMap } from './key-identity'

/**
 * The key used when `createDynamo({ cursorSecret })` is not given: random per process, so cursors do not survive a
 * restart or travel between instances. Give a shared secret for that.
 */
const PROCESS_SECRET = randomBytes(32)

/** Signs and checks cursors: `base64url(payload).base64url(hmac-sha256(payload))`. */
export interface CursorCodec {
  encode(lastKey: AttributeMap, shape: string): string
  decode(cursor: unknown, shape: string): AttributeMap
}

/** Creates a cursor codec with `secret` (default: a random per-process key). */
export function createCursorCodec(secret?: string | Uint8Array | undefined): CursorCodec {
  const key = secret === undefined ? PROCESS_SECRET : typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret)
  const sign = (payload: string) => createHmac('sha256', key).update(payload).digest()
  return {
    encode(lastKey, shape) {
      const payload = Buffer.from(JSON.stringify({ s: shapeDigest(shape), k: toJson(lastKey) }), 'utf8').toString('base64url')
      return `${payload}.${sign(payload).toString('base64url')}`
    },
    decode(cursor, shape) {
      if (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > 8192) {
        throw new CursorError(
          `expected the string a query returned as its cursor, got ${typeof cursor === 'string' ? 'an empty or oversized string' : typeof cursor}`,
        )
      }
      const [payload, signature, extra] = cursor.split('.')
      if (!payload || !signature || extra !== undefined) throw new CursorError('it is not in the form payload.signature')
      const expected = sign(payload)
      const given = Buffer.from(signature, 'base64url')
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new CursorError('its signature does not match (it was changed, or signed with another cursorSecret)')
      }
      let parsed: { s?: unknown; k?: unknown }
      try {
        parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
      } catch (error) {
        throw new CursorError(`its payload is not readable (${(error as Error).message})`)
      }
      if (parsed.s !== shapeDigest(shape))
        throw new CursorError('it was made by a different query (other table, index, conditions or order)')
      return fromJson(parsed.k)
    },
  }
}

function shapeDigest(shape: string): string {
  return createHash('sha256').update(shape).digest('base64url').slice(0, 22)
}

type JsonAttribute = { S: string } | { N: string } | { B64: string }

function toJson(key: AttributeMap): Record<string, JsonAttribute> {
  const out: Record<string, JsonAttribute> = {}
  for (const [name, value] of Object.entries(key)) {
    if (value.S !== undefined) out[name] = { S: value.S }
    else if (value.N !== undefined) out[name] = { N: value.N }
    else if (value.B !== undefined) out[name] = { B64: Buffer.from(value.B).toString('base64') }
  }
  return out
}

function fromJson(json: unknown): AttributeMap {
  if (typeof json !== 'object' || json === null) throw new CursorError('its key is missing')
  const out: AttributeMap = {}
  for (const [name, value] of Object.entries(json as Record<string, Record<string, unknown>>)) {
    let attribute: AttributeValue
    if (typeof value?.S === 'string') attribute = { S: value.S }
    else if (typeof value?.N === 'string') attribute = { N: value.N }
    else if (typeof value?.B64 === 'string') attribute = { B: Buffer.from(value.B64, 'base64') }
    else throw new CursorError(`its key attribute ${name} is not a string, number or binary`)
    out[name] = attribute
  }
  return out
}
