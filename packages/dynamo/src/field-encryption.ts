import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import { describeValue, TesseraError } from '@tessera/core'
import { DynamoInputError } from './dynamo-errors'
import type { AttributeMap } from './key-identity'

/** A fresh data key: its bytes to encrypt with, and the same key encrypted by the key provider, to store. */
export interface DataKey {
  /** 32 bytes (AES-256). Used in memory only; never stored. */
  plaintext: Uint8Array
  /** The key as the provider wrapped it; stored in every envelope. */
  encrypted: Uint8Array
}

/**
 * Where data keys come from: a KMS-like service (AWS KMS `GenerateDataKey` with `KeySpec: 'AES_256'` and
 * `Decrypt` fit this shape directly) or {@link createLocalKeyProvider} for tests and development.
 */
export interface KeyProvider {
  generateDataKey(): Promise<DataKey>
  decrypt(encryptedKey: Uint8Array): Promise<Uint8Array>
}

/** Options of {@link createFieldEncryptor}. */
export interface FieldEncryptorOptions {
  keyProvider: KeyProvider
  /** Attributes to encrypt. */
  fields: readonly string[]
  /** Key attributes (table and index keys): listing one in `fields` is a definition error. Default: none. */
  keyAttributes?: readonly string[] | undefined
}

/** Encrypts and decrypts the configured attributes of raw items. */
export interface FieldEncryptor {
  readonly fields: readonly string[]
  /** A copy of `item` with each present configured attribute replaced by its envelope; one new data key per call. */
  encryptItem(item: AttributeMap): Promise<AttributeMap>
  /** A copy of `item` with each envelope replaced by the attribute value it holds. Tampering is a `DYNAMO_DECRYPT_FAILED` error. */
  decryptItem(item: AttributeMap): Promise<AttributeMap>
}

const ENVELOPE_VERSION = 1
const NONCE_BYTES = 12
const TAG_BYTES = 16

/** The associated data binding a ciphertext to its attribute, as DynamORM recommends: moving it to another attribute fails. */
export function encryptionContext(attribute: string): Buffer {
  return Buffer.from(`dynamorm:encrypted:v1|attr=${attribute}`, 'utf8')
}

/**
 * Field encryption with AES-256-GCM envelopes. Each `encryptItem` call asks the key provider for one data key;
 * every encrypted attribute of that item gets its own random 12-byte nonce and the attribute name as
 * associated data. The stored value is DynamORM's envelope (DMS v0.1): a map `{ v: 1, edk, nonce, ct }` where
 * `ct` is the ciphertext followed by the 16-byte GCM tag. The plaintext is the attribute's typed DynamoDB JSON,
 * so its type (S, N, M, SS…) survives the round trip.
 *
 * @example
 * const encryptor = createFieldEncryptor({ keyProvider: createLocalKeyProvider({ masterKey }), fields: ['ssn'] })
 * await client.send(new PutItemCommand({ TableName: 'people', Item: await encryptor.encryptItem(item) }))
 */
export function createFieldEncryptor(options: FieldEncryptorOptions): FieldEncryptor {
  const provider = options?.keyProvider
  if (typeof provider?.generateDataKey !== 'function' || typeof provider.decrypt !== 'function') {
    throw new DynamoInputError(`keyProvider must have generateDataKey() and decrypt(encryptedKey), got ${describeValue(provider)}`)
  }
  const fields = [...(options.fields ?? [])]
  if (fields.length === 0 || fields.some((field) => typeof field !== 'string' || field === '')) {
    throw new DynamoInputError(`fields must be a non-empty list of attribute names, got ${describeValue(options.fields)}`)
  }
  const keys = new Set(options.keyAttributes ?? [])
  const asKeys = fields.filter((field) => keys.has(field))
  if (asKeys.length > 0) {
    throw new DynamoInputError(`encrypted attributes cannot be keys (ciphertext differs on every write): ${asKeys.join(', ')}`)
  }

  return {
    fields,
    async encryptItem(item) {
      const present = fields.filter((field) => item[field] !== undefined)
      if (present.length === 0) return { ...item }
      const dataKey = await provider.generateDataKey()
      checkDataKey(dataKey.plaintext)
      const out: AttributeMap = { ...item }
      for (const field of present) out[field] = seal(field, item[field] as AttributeValue, dataKey)
      return out
    },
    async decryptItem(item) {
      const out: AttributeMap = { ...item }
      const unwrapped = new Map<string, Promise<Uint8Array>>()
      for (const field of fields) {
        const value = item[field]
        if (value === undefined) continue
        const envelope = readEnvelope(field, value)
        const cacheKey = Buffer.from(envelope.edk).toString('base64')
        let key = unwrapped.get(cacheKey)
        if (key === undefined) {
          key = provider.decrypt(envelope.edk).catch((error: unknown) => {
            throw decryptFailed(field, 'the key provider could not decrypt its data key', error)
          })
          unwrapped.set(cacheKey, key)
        }
        out[field] = open(field, envelope, await key)
      }
      return out
    },
  }
}

function checkDataKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== 32) {
    throw new DynamoInputError(`the key provider returned a data key of ${describeValue(key?.length)} bytes; AES-256 needs 32`)
  }
}

function seal(field: string, value: AttributeValue, dataKey: DataKey): AttributeValue {
  const nonce = randomBytes(NONCE_BYTES)
  const cipher = createCipheriv('aes-256-gcm', dataKey.plaintext, nonce)
  cipher.setAAD(encryptionContext(field))
  const body = Buffer.concat([cipher.update(JSON.stringify(toJson(value)), 'utf8'), cipher.final()])
  return {
    M: {
      v: { N: String(ENVELOPE_VERSION) },
      edk: { B: new Uint8Array(dataKey.encrypted) },
      nonce: { B: new Uint8Array(nonce) },
      ct: { B: new Uint8Array(Buffer.concat([body, cipher.getAuthTag()])) },
    },
  }
}

interface Envelope {
  edk: Uint8Array
  nonce: Uint8Array
  ct: Uint8Array
}

function readEnvelope(field: string, value: AttributeValue): Envelope {
  const map = value.M
  const version = map?.v?.N
  const edk = map?.edk?.B
  const nonce = map?.nonce?.B
  const ct = map?.ct?.B
  if (version !== String(ENVELOPE_VERSION) || !edk || !nonce || !ct || nonce.length !== NONCE_BYTES || ct.length < TAG_BYTES) {
    throw decryptFailed(field, `it is not a version ${ENVELOPE_VERSION} envelope { v, edk, nonce, ct }`)
  }
  return { edk, nonce, ct }
}

function open(field: string, envelope: Envelope, key: Uint8Array): AttributeValue {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, envelope.nonce)
    decipher.setAAD(encryptionContext(field))
    decipher.setAuthTag(envelope.ct.subarray(envelope.ct.length - TAG_BYTES))
    const plain = Buffer.concat([decipher.update(envelope.ct.subarray(0, envelope.ct.length - TAG_BYTES)), decipher.final()])
    return fromJson(JSON.parse(plain.toString('utf8')))
  } catch (error) {
    // The message never includes plaintext or key material.
    throw decryptFailed(
      field,
      'authentication failed: the envelope was altered, moved from another attribute, or sealed with another key',
      error,
    )
  }
}

function decryptFailed(field: string, why: string, cause?: unknown): TesseraError {
  return new TesseraError(`cannot decrypt attribute ${JSON.stringify(field)}: ${why}`, { code: 'DYNAMO_DECRYPT_FAILED', cause })
}

type JsonAttribute = Record<string, unknown>

/** Typed DynamoDB JSON with binary as base64, as the DMS cursor encoding writes it. */
function toJson(value: AttributeValue): JsonAttribute {
  if (value.B !== undefined) return { B: Buffer.from(value.B).toString('base64') }
  if (value.BS !== undefined) return { BS: value.BS.map((entry) => Buffer.from(entry).toString('base64')) }
  if (value.L !== undefined) return { L: value.L.map(toJson) }
  if (value.M !== undefined) return { M: Object.fromEntries(Object.entries(value.M).map(([name, inner]) => [name, toJson(inner)])) }
  return value as unknown as JsonAttribute
}

function fromJson(value: JsonAttribute): AttributeValue {
  if (typeof value.B === 'string') return { B: new Uint8Array(Buffer.from(value.B, 'base64')) }
  if (Array.isArray(value.BS)) return { BS: value.BS.map((entry: string) => new Uint8Array(Buffer.from(entry, 'base64'))) }
  if (Array.isArray(value.L)) return { L: value.L.map((entry) => fromJson(entry as JsonAttribute)) }
  if (typeof value.M === 'object' && value.M !== null) {
    return {
      M: Object.fromEntries(Object.entries(value.M as Record<string, JsonAttribute>).map(([name, inner]) => [name, fromJson(inner)])),
    }
  }
  return value as unknown as AttributeValue
}

/** Options of {@link createLocalKeyProvider}. */
export interface LocalKeyProviderOptions {
  /** The 32-byte key that wraps data keys (bytes, or base64 text). Keep it out of the source code. */
  masterKey: Uint8Array | string
}

const LOCAL_WRAP_CONTEXT = Buffer.from('tessera:local-key-provider:v1', 'utf8')

/**
 * A key provider for tests and development: data keys are random and wrapped with AES-256-GCM under a master
 * key held in this process (`1 | nonce | tag | wrapped key`). Not a substitute for a KMS in production: whoever
 * holds the master key can read every field.
 */
export function createLocalKeyProvider(options: LocalKeyProviderOptions): KeyProvider {
  const master = typeof options?.masterKey === 'string' ? Buffer.from(options.masterKey, 'base64') : options?.masterKey
  if (!(master instanceof Uint8Array) || master.length !== 32) {
    throw new DynamoInputError(`masterKey must be 32 bytes (or their base64), got ${describeValue(master?.length)} bytes`)
  }
  return {
    async generateDataKey() {
      const plaintext = new Uint8Array(randomBytes(32))
      const nonce = randomBytes(NONCE_BYTES)
      const cipher = createCipheriv('aes-256-gcm', master, nonce)
      cipher.setAAD(LOCAL_WRAP_CONTEXT)
      const wrapped = Buffer.concat([cipher.update(plaintext), cipher.final()])
      return { plaintext, encrypted: new Uint8Array(Buffer.concat([Buffer.from([1]), nonce, cipher.getAuthTag(), wrapped])) }
    },
    async decrypt(encryptedKey) {
      const bytes = Buffer.from(encryptedKey)
      if (bytes.length !== 1 + NONCE_BYTES + TAG_BYTES + 32 || bytes[0] !== 1) {
        throw new TesseraError('not a data key wrapped by the local key provider', { code: 'DYNAMO_DECRYPT_FAILED' })
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', master, bytes.subarray(1, 1 + NONCE_BYTES))
        decipher.setAAD(LOCAL_WRAP_CONTEXT)
        decipher.setAuthTag(bytes.subarray(1 + NONCE_BYTES, 1 + NONCE_BYTES + TAG_BYTES))
        return new Uint8Array(Buffer.concat([decipher.update(bytes.subarray(1 + NONCE_BYTES + TAG_BYTES)), decipher.final()]))
      } catch (error) {
        throw new TesseraError('the data key was not wrapped by this master key, or was altered', {
          code: 'DYNAMO_DECRYPT_FAILED',
          cause: error,
        })
      }
    },
  }
}
