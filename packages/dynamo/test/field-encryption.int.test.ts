import { randomBytes } from 'node:crypto'
import { type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb'
import { isTesseraError } from '@tessera/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AttributeMap, createFieldEncryptor, createLocalKeyProvider, DynamoInputError, type KeyProvider } from '../src/index'
import { createTestTable, dropTable, localClient } from './dynamodb-local'

let client: DynamoDBClient
let table: string
const masterKey = randomBytes(32)

beforeAll(async () => {
  client = localClient()
  table = await createTestTable(client, { prefix: 'enc' })
})
afterAll(async () => {
  await dropTable(client, table)
  client.destroy()
})

const person: AttributeMap = {
  pk: { S: 'person#1' },
  name: { S: 'Ada' },
  ssn: { S: '123-45-6789' },
  card: { M: { number: { S: '4111' }, cvc: { N: '123' }, photo: { B: new Uint8Array([9, 8, 7]) } } },
  tags: { SS: ['a', 'b'] },
}

async function stored(pk: string): Promise<AttributeMap> {
  return (await client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: pk } }, ConsistentRead: true }))).Item as AttributeMap
}

function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  )
}

describe('field encryption', () => {
  it('stores DynamORM envelopes in DynamoDB and decrypts them back to the exact typed values', async () => {
    const encryptor = createFieldEncryptor({ keyProvider: createLocalKeyProvider({ masterKey }), fields: ['ssn', 'card', 'tags'] })
    await client.send(new PutItemCommand({ TableName: table, Item: await encryptor.encryptItem(person) }))
    const raw = await stored('person#1')
    expect(raw.name).toEqual({ S: 'Ada' })
    expect(Object.keys(raw.ssn?.M ?? {}).sort()).toEqual(['ct', 'edk', 'nonce', 'v'])
    expect(raw.ssn?.M?.v).toEqual({ N: '1' })
    expect(raw.ssn?.M?.nonce?.B).toHaveLength(12)
    expect(Buffer.from(raw.ssn?.M?.ct?.B ?? []).toString('utf8')).not.toContain('6789')
    // One data key per item: every envelope of the item carries the same wrapped key, each its own nonce.
    expect(raw.card?.M?.edk).toEqual(raw.ssn?.M?.edk)
    expect(raw.card?.M?.nonce).not.toEqual(raw.ssn?.M?.nonce)
    expect(await encryptor.decryptItem(raw)).toEqual(person)
  })

  it('uses a new data key for every item', async () => {
    const encryptor = createFieldEncryptor({ keyProvider: createLocalKeyProvider({ masterKey }), fields: ['ssn'] })
    const first = await encryptor.encryptItem(person)
    const second = await encryptor.encryptItem(person)
    expect(first.ssn?.M?.edk).not.toEqual(second.ssn?.M?.edk)
  })

  it('detects a tampered ciphertext, an envelope moved to another attribute and the wrong master key', async () => {
    const encryptor = createFieldEncryptor({ keyProvider: createLocalKeyProvider({ masterKey }), fields: ['ssn', 'other'] })
    const sealed = await encryptor.encryptItem({ ...person, other: { S: 'x' } })
    const ct = new Uint8Array(sealed.ssn?.M?.ct?.B ?? [])
    ct[0] = (ct[0] ?? 0) ^ 1
    const tampered = { ...sealed, ssn: { M: { ...sealed.ssn?.M, ct: { B: ct } } } }
    const error = await failure(encryptor.decryptItem(tampered))
    expect(isTesseraError(error) && error.code).toBe('DYNAMO_DECRYPT_FAILED')
    expect((error as Error).message).toContain('cannot decrypt attribute "ssn": authentication failed')
    expect((error as Error).message).not.toContain('6789')

    const moved = { ...sealed, other: sealed.ssn as AttributeMap[string] }
    expect(((await failure(encryptor.decryptItem(moved))) as Error).message).toContain('cannot decrypt attribute "other"')

    const otherKey = createFieldEncryptor({ keyProvider: createLocalKeyProvider({ masterKey: randomBytes(32) }), fields: ['ssn'] })
    expect(isTesseraError(await failure(otherKey.decryptItem(sealed)))).toBe(true)

    const notEnvelope = await failure(encryptor.decryptItem({ ...sealed, ssn: { S: 'plain' } }))
    expect((notEnvelope as Error).message).toContain('not a version 1 envelope')
  })

  it('works with any KMS-like key provider and refuses bad definitions', async () => {
    const calls: string[] = []
    const local = createLocalKeyProvider({ masterKey: masterKey.toString('base64') })
    const provider: KeyProvider = {
      generateDataKey: () => {
        calls.push('generate')
        return local.generateDataKey()
      },
      decrypt: (key) => {
        calls.push('decrypt')
        return local.decrypt(key)
      },
    }
    const encryptor = createFieldEncryptor({ keyProvider: provider, fields: ['ssn', 'card'] })
    expect(await encryptor.decryptItem(await encryptor.encryptItem(person))).toEqual(person)
    expect(calls).toEqual(['generate', 'decrypt'])
    expect(() => createFieldEncryptor({ keyProvider: provider, fields: ['pk'], keyAttributes: ['pk', 'sk'] })).toThrow(DynamoInputError)
    expect(() => createFieldEncryptor({ keyProvider: provider, fields: ['pk'], keyAttributes: ['pk'] })).toThrow(
      /encrypted attributes cannot be keys/,
    )
    expect(() => createLocalKeyProvider({ masterKey: new Uint8Array(16) })).toThrow(/masterKey must be 32 bytes/)
  })
})
