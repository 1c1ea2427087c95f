import { ConfigError, describeValue, isTesseraError, TesseraError } from '@tessera/core'
import type { AnyModel, FieldMeta } from './define-model'
import { createFieldEncryptor, type FieldEncryptor, type KeyProvider } from './field-encryption'
import type { AttributeMap } from './key-identity'
import { runBounded } from './run-bounded'

/** Key provider requests a page or batch of items makes at once. */
const KEY_REQUESTS_AT_ONCE = 8

/** The `encryption` option of `createDynamo`: where the data keys of `.encrypted()` fields come from. */
export interface ModelEncryptionOptions {
  /**
   * Makes and unwraps data keys: AWS KMS (`GenerateDataKey` with `KeySpec: 'AES_256'`, `Decrypt`) or
   * `createLocalKeyProvider({ masterKey })` for tests and development. Required.
   */
  keyProvider: KeyProvider
}

/** Checks the `encryption` option of `createDynamo`; a problem is returned as text. */
export function checkEncryptionOptions(encryption: unknown): string | undefined {
  if (encryption === undefined) return undefined
  const provider = (encryption as { keyProvider?: Partial<KeyProvider> } | null)?.keyProvider
  if (typeof provider?.generateDataKey === 'function' && typeof provider.decrypt === 'function') return undefined
  return `encryption.keyProvider must have generateDataKey() and decrypt(encryptedKey), got ${describeValue(provider)}`
}

/** The stored names of a model's encrypted fields. */
export function encryptedAttributes(model: AnyModel): string[] {
  return (model.fieldList as readonly FieldMeta[]).filter((meta) => meta.isEncrypted).map((meta) => meta.attribute)
}

/**
 * The encryptor of a model's `.encrypted()` fields, or `undefined` when it has none. A model with encrypted fields
 * and no key provider is a `ConfigError`: its fields would otherwise be written as plaintext.
 */
export function modelEncryptor(model: AnyModel, encryption: ModelEncryptionOptions | undefined): FieldEncryptor | undefined {
  const fields = encryptedAttributes(model)
  if (fields.length === 0) return undefined
  if (encryption === undefined) {
    throw new ConfigError(
      `model ${model.name} has encrypted fields (${fields.join(', ')}) but createDynamo has no encryption.keyProvider: ` +
        'pass createDynamo({ encryption: { keyProvider } }) so that they are never written as plaintext',
    )
  }
  const keyAttributes = [model.partitionKey, model.sortKey, ...model.indexes.flatMap((index) => [index.partition, index.sort])]
    .filter((key) => key !== undefined)
    .map((key) => key.attribute)
  return createFieldEncryptor({ keyProvider: encryption.keyProvider, fields, keyAttributes })
}

/**
 * Encrypts the encrypted fields of a stored item (a copy); the item as is for a model without them. A key provider
 * that fails is a `DYNAMO_ENCRYPT_FAILED` error (its error as the cause), and nothing is sent.
 */
export async function sealItem(encryptor: FieldEncryptor | undefined, item: AttributeMap): Promise<AttributeMap> {
  if (!encryptor) return item
  try {
    return await encryptor.encryptItem(item)
  } catch (error) {
    if (isTesseraError(error)) throw error
    throw new TesseraError(`cannot encrypt ${encryptor.fields.join(', ')}: the key provider's generateDataKey() failed`, {
      code: 'DYNAMO_ENCRYPT_FAILED',
      cause: error,
    })
  }
}

/** Decrypts the encrypted fields of a stored item (a copy); the item as is for a model without them. */
export async function openItem(encryptor: FieldEncryptor | undefined, item: AttributeMap): Promise<AttributeMap> {
  return encryptor ? encryptor.decryptItem(item) : item
}

/** Decrypts many stored items (a page, a batch), at most 8 key provider requests at once; order kept. */
export async function openItems(encryptor: FieldEncryptor | undefined, items: readonly AttributeMap[]): Promise<AttributeMap[]> {
  if (!encryptor) return [...items]
  const out: AttributeMap[] = new Array(items.length)
  await runBounded([...items.keys()], KEY_REQUESTS_AT_ONCE, async (position) => {
    out[position] = await encryptor.decryptItem(items[position] as AttributeMap)
  })
  return out
}

/** Encrypts many stored items (a batch write), one data key each, at most 8 key provider requests at once; order kept. */
export async function sealItems(encryptor: FieldEncryptor | undefined, items: readonly AttributeMap[]): Promise<AttributeMap[]> {
  if (!encryptor) return [...items]
  const out: AttributeMap[] = new Array(items.length)
  await runBounded([...items.keys()], KEY_REQUESTS_AT_ONCE, async (position) => {
    out[position] = await sealItem(encryptor, items[position] as AttributeMap)
  })
  return out
}

/** The fields of `model` whose values `stored` holds unencrypted (its encrypted fields that are present). */
export function plaintextFields(model: AnyModel, stored: AttributeMap): string[] {
  const out: string[] = []
  for (const meta of model.fieldList as readonly FieldMeta[])
    if (meta.isEncrypted && stored[meta.attribute] !== undefined) out.push(meta.name)
  return out
}

/**
 * Refuses to hand out a request that would carry encrypted fields as plaintext: a synchronous accessor cannot
 * encrypt (the key provider is asynchronous), so it points to the asynchronous one that returns the request sealed.
 */
export function refusePlaintext(subject: string, fields: readonly string[], sealedVariant: string): void {
  if (fields.length === 0) return
  throw new TesseraError(
    `${subject} would hold encrypted field${fields.length === 1 ? '' : 's'} ${fields.join(', ')} as plaintext, ` +
      `and a synchronous call cannot encrypt: use ${sealedVariant}, which returns the request with ${fields.length === 1 ? 'it' : 'them'} encrypted`,
    { code: 'DYNAMO_PLAINTEXT_REFUSED' },
  )
}
