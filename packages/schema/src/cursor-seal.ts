import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { ConfigError, describeValue } from '@tessera/core'

/** A secret for cursors: text or bytes, at least 32 bytes. */
export type CursorSecret = string | Uint8Array

/** How a repository protects its keyset cursors (`repository(entity, db, { cursor })`). */
export interface CursorOptions {
  /**
   * The secret cursors are signed with (HMAC-SHA256), or a list: the first signs, every one is accepted, so a
   * secret can be rotated without breaking the pages users hold. At least 32 bytes each. Default: a random secret
   * made once per process, so a cursor only works in the process that made it: give every process that serves
   * the same pages the same secret.
   */
  secret?: CursorSecret | readonly CursorSecret[] | undefined
  /**
   * Encrypt cursors (AES-256-GCM) as well as authenticate them, so the sort values they carry (an email, a
   * date…) cannot be read from a URL. Default: `false` (signed, readable as base64url JSON).
   */
  encrypt?: boolean | undefined
}

/** Seals the text of a cursor and opens it again; `open` returns `undefined` for anything it did not seal. */
export interface CursorSeal {
  seal(payload: string): string
  open(cursor: string): string | undefined
}

const MIN_SECRET_BYTES = 32
const MAC_BYTES = 16
const IV_BYTES = 12
const TAG_BYTES = 16
const ENCRYPTED_PREFIX = 'e.'

// One random secret per process, made at the first repository that needs it.
let processSecret: Buffer | undefined

interface DerivedKeys {
  sign: Buffer
  encrypt: Buffer
}

// The same secret never serves two purposes: one key for the MAC, another for the cipher.
function derive(secret: Buffer): DerivedKeys {
  return {
    sign: createHmac('sha256', secret).update('tessera cursor signing').digest(),
    encrypt: createHmac('sha256', secret).update('tessera cursor encryption').digest(),
  }
}

function secretBytes(secret: unknown, index: number): Buffer {
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret instanceof Uint8Array ? Buffer.from(secret) : undefined
  if (bytes === undefined || bytes.length < MIN_SECRET_BYTES) {
    throw new ConfigError(
      `cursor.secret${index === 0 ? '' : `[${index}]`} ${describeValue(secret, 12)} must be a string or bytes of at least ${MIN_SECRET_BYTES} bytes`,
      { subject: 'repository options' },
    )
  }
  return bytes
}

/**
 * The seal of an entity's cursors: signed (`<payload>.<mac>`) or encrypted (`e.<iv, ciphertext, tag>`), bound to
 * the entity name so a cursor of one entity is refused by another.
 * @throws ConfigError when a secret is shorter than 32 bytes.
 */
export function createCursorSeal(options: CursorOptions | undefined, entity: string): CursorSeal {
  const given = options?.secret
  const secrets = given === undefined ? [(processSecret ??= randomBytes(32))] : Array.isArray(given) ? given : [given]
  if (secrets.length === 0) throw new ConfigError('cursor.secret must name at least one secret', { subject: 'repository options' })
  const keys = secrets.map((secret, index) => derive(secretBytes(secret, index)))
  const current = keys[0] as DerivedKeys
  const context = Buffer.from(entity, 'utf8')
  return options?.encrypt === true ? encryptingSeal(current, keys, context) : signingSeal(current, keys, context)
}

function mac(key: Buffer, context: Buffer, payload: string): Buffer {
  return createHmac('sha256', key).update(context).update('\0').update(payload).digest().subarray(0, MAC_BYTES)
}

function signingSeal(current: DerivedKeys, keys: readonly DerivedKeys[], context: Buffer): CursorSeal {
  return {
    seal(payload) {
      return `${Buffer.from(payload).toString('base64url')}.${mac(current.sign, context, payload).toString('base64url')}`
    },
    open(cursor) {
      const dot = cursor.indexOf('.')
      if (dot <= 0 || cursor.startsWith(ENCRYPTED_PREFIX)) return undefined
      const payload = Buffer.from(cursor.slice(0, dot), 'base64url').toString('utf8')
      const given = Buffer.from(cursor.slice(dot + 1), 'base64url')
      if (given.length !== MAC_BYTES) return undefined
      return keys.some((key) => timingSafeEqual(mac(key.sign, context, payload), given)) ? payload : undefined
    },
  }
}

function encryptingSeal(current: DerivedKeys, keys: readonly DerivedKeys[], context: Buffer): CursorSeal {
  return {
    seal(payload) {
      const iv = randomBytes(IV_BYTES)
      const cipher = createCipheriv('aes-256-gcm', current.encrypt, iv)
      cipher.setAAD(context)
      const body = Buffer.concat([cipher.update(payload, 'utf8'), cipher.final()])
      return ENCRYPTED_PREFIX + Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')
    },
    open(cursor) {
      if (!cursor.startsWith(ENCRYPTED_PREFIX)) return undefined
      const bytes = Buffer.from(cursor.slice(ENCRYPTED_PREFIX.length), 'base64url')
      if (bytes.length < IV_BYTES + TAG_BYTES) return undefined
      const iv = bytes.subarray(0, IV_BYTES)
      const tag = bytes.subarray(bytes.length - TAG_BYTES)
      const body = bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)
      for (const key of keys) {
        try {
          const decipher = createDecipheriv('aes-256-gcm', key.encrypt, iv)
          decipher.setAAD(context)
          decipher.setAuthTag(tag)
          return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8')
        } catch {
          // Not sealed with this key (or tampered with): try the next one.
        }
      }
      return undefined
    },
  }
}
