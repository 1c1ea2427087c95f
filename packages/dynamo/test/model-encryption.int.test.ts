import { randomBytes } from 'node:crypto'
import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb'
import { ConfigError, isTesseraError, ValidationError } from '@tessera/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type AttributeMap,
  ConditionFailedError,
  createDynamo,
  createLocalKeyProvider,
  type Dynamo,
  defineModel,
  field,
  type KeyProvider,
  TransactionCanceledError,
} from '../src/index'
import { dropTable, localClient } from './dynamodb-local'
import { createAppTable } from './model-fixtures'

let client: DynamoDBClient
let table: string
let db: Dynamo
let Patient: ReturnType<typeof patientModel>
const keyProvider = createLocalKeyProvider({ masterKey: randomBytes(32) })
const sentInputs: Record<string, unknown>[] = []

function patientModel(tableName: string) {
  return defineModel(
    'Patient',
    {
      id: field.string(),
      org: field.string(),
      name: field.string(),
      ssn: field.string().encrypted(),
      card: field.map<{ number: string; cvc: number }>().optional().encrypted(),
      tags: field.stringSet().optional().encrypted(),
      score: field.number().optional().encrypted(),
      visits: field.number().optional(),
    },
    {
      table: tableName,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: key templates
      keys: { partition: { attribute: 'pk', template: 'PATIENT#${id}' }, sort: { attribute: 'sk', template: 'PROFILE' } },
      indexes: {
        gsi1: {
          type: 'gsi',
          // biome-ignore lint/suspicious/noTemplateCurlyInString: key templates
          partition: { attribute: 'gsi1pk', template: 'ORG#${org}' },
          // biome-ignore lint/suspicious/noTemplateCurlyInString: key templates
          sort: { attribute: 'gsi1sk', template: 'P#${id}' },
        },
      },
    },
  )
}

beforeAll(async () => {
  client = localClient()
  table = await createAppTable(client)
  Patient = patientModel(table)
  db = createDynamo({
    client,
    encryption: { keyProvider },
    hooks: {
      onCommand: async (context, next) => {
        sentInputs.push(context.input)
        return next()
      },
    },
  })
})
afterAll(async () => {
  await dropTable(client, table)
  client.destroy()
})

let counter = 0
const nextId = () => `p${++counter}-${Math.random().toString(36).slice(2, 8)}`

function newPatient(overrides: { id?: string; org?: string } = {}) {
  const id = overrides.id ?? nextId()
  return {
    id,
    org: overrides.org ?? 'clinic',
    name: `name-${id}`,
    ssn: `SSN-${id}-6789`,
    card: { number: `4111-${id}`, cvc: 123 },
    tags: new Set([`tag-${id}`]),
    score: 987654,
    visits: 1,
  }
}

async function raw(id: string): Promise<AttributeMap> {
  const output = await client.send(
    new GetItemCommand({ TableName: table, Key: { pk: { S: `PATIENT#${id}` }, sk: { S: 'PROFILE' } }, ConsistentRead: true }),
  )
  return output.Item as AttributeMap
}

/** Every string and number text in a stored value, binary decoded as UTF-8, to look for plaintext. */
function texts(value: unknown): string[] {
  if (typeof value === 'string') return [value]
  if (value instanceof Uint8Array) return [Buffer.from(value).toString('utf8')]
  if (Array.isArray(value)) return value.flatMap(texts)
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(texts)
  return []
}

/** Checks the stored item holds envelopes for every encrypted field and none of their plaintext. */
function expectSealed(stored: AttributeMap, secrets: readonly string[]): void {
  for (const attribute of ['ssn', 'card', 'tags', 'score']) {
    if (stored[attribute] === undefined) continue
    expect(Object.keys(stored[attribute]?.M ?? {}).sort()).toEqual(['ct', 'edk', 'nonce', 'v'])
  }
  const all = texts(stored).join('\n')
  for (const secret of secrets) expect(all).not.toContain(secret)
}

function secretsOf(patient: ReturnType<typeof newPatient>): string[] {
  return [patient.ssn, patient.card.number, [...patient.tags][0] as string, String(patient.score)]
}

function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  )
}

describe('encrypted fields through the model', () => {
  it('create stores only envelopes for encrypted fields, and get returns the plaintext values', async () => {
    const patient = newPatient()
    const created = await db.model(Patient).create(patient)
    expect(created).toEqual(patient)
    const stored = await raw(patient.id)
    expectSealed(stored, secretsOf(patient))
    expect(stored.name).toEqual({ S: patient.name })
    expect(stored.visits).toEqual({ N: '1' })
    expect(await db.model(Patient).get({ id: patient.id }, { consistent: true })).toEqual(patient)
    expect(await db.model(Patient).getOrThrow({ id: patient.id }, { select: ['ssn', 'name'] })).toEqual({
      ssn: patient.ssn,
      name: patient.name,
    })
  })

  it('put and update set() encrypt; update returning new/old and delete return decrypted items', async () => {
    const patient = newPatient()
    await db.model(Patient).put(patient)
    expectSealed(await raw(patient.id), secretsOf(patient))
    const updated = await db.model(Patient).update({ id: patient.id }).set({ ssn: 'NEW-SSN-1111', score: 5 }).increment('visits').go()
    expect(updated).toEqual({ ...patient, ssn: 'NEW-SSN-1111', score: 5, visits: 2 })
    expectSealed(await raw(patient.id), ['NEW-SSN-1111', patient.card.number])
    const old = await db.model(Patient).update({ id: patient.id }).ifNotExists({ score: 7 }).set({ name: 'n2' }).returning('old').go()
    expect(old?.ssn).toBe('NEW-SSN-1111')
    const deleted = await db.model(Patient).delete({ id: patient.id })
    expect(deleted).toEqual({ ...patient, ssn: 'NEW-SSN-1111', score: 5, visits: 2, name: 'n2' })
    expect(await raw(patient.id)).toBeUndefined()
  })

  it('query (all, first, page, pages) and scan (all, items, parallel, pages) decrypt every item', async () => {
    const org = `org-${nextId()}`
    const patients = [newPatient({ org }), newPatient({ org }), newPatient({ org })]
    for (const patient of patients) await db.model(Patient).create(patient)
    const byId = (items: readonly { id: string }[]) => [...items].sort((a, b) => a.id.localeCompare(b.id))
    const sorted = byId(patients)
    expect(byId(await db.model(Patient).query().where({ org }).all())).toEqual(sorted)
    expect(sorted).toContainEqual(await db.model(Patient).query().where({ org }).first())
    const page = await db.model(Patient).query().where({ org }).limit(2).page()
    const rest = await db.model(Patient).query().where({ org }).limit(2).cursor(page.cursor).page()
    expect(byId([...page.items, ...rest.items])).toEqual(sorted)
    const paged: { id: string }[] = []
    for await (const one of db.model(Patient).query().where({ org }).pages()) paged.push(...one.items)
    expect(byId(paged)).toEqual(sorted)

    const mine = (items: readonly { org: string; id: string }[]) => byId(items.filter((item) => item.org === org))
    expect(mine(await db.model(Patient).scan().all())).toEqual(sorted)
    const iterated: { org: string; id: string }[] = []
    for await (const item of db.model(Patient).scan().parallel(3).items()) iterated.push(item)
    expect(mine(iterated)).toEqual(sorted)
    const scanned: { org: string; id: string }[] = []
    for await (const one of db.model(Patient).scan().pages()) scanned.push(...one.items)
    expect(mine(scanned)).toEqual(sorted)
  })

  it('batchWrite puts envelopes, batchGet decrypts them', async () => {
    const patients = Array.from({ length: 30 }, () => newPatient())
    await db.model(Patient).batchWrite({ put: patients })
    for (const patient of patients.slice(0, 3)) expectSealed(await raw(patient.id), secretsOf(patient))
    const { items } = await db.model(Patient).batchGet([...patients.map(({ id }) => ({ id })), { id: 'nobody' }], { consistent: true })
    expect(items).toEqual([...patients, undefined])
  })

  it('transaction creates, puts and updates store envelopes and return plaintext items', async () => {
    const [first, second] = [newPatient(), newPatient()]
    const existing = newPatient()
    await db.model(Patient).create(existing)
    const operation = db.model(Patient).tx.create(first)
    const result = await db.transact([
      operation,
      db.model(Patient).tx.put(second),
      db.model(Patient).tx.update({ id: existing.id }, (update) => update.set({ ssn: 'TX-SSN-2222' })),
    ])
    expect(result.items).toEqual([first, second, undefined])
    expectSealed(await raw(first.id), secretsOf(first))
    expectSealed(await raw(second.id), secretsOf(second))
    expectSealed(await raw(existing.id), ['TX-SSN-2222'])
    expect((await db.model(Patient).get({ id: existing.id }))?.ssn).toBe('TX-SSN-2222')
  })

  it('every request DynamoDB received (as the onCommand hook saw it) holds no plaintext of an encrypted field', async () => {
    const patient = newPatient()
    const from = sentInputs.length
    await db.model(Patient).create(patient)
    await db.model(Patient).update({ id: patient.id }).set({ ssn: 'HOOK-SSN-3333' }).go()
    await db.model(Patient).explainPut({ ...patient, ssn: 'EXPLAIN-SSN-4444' }, { analyze: true })
    const seen = texts(sentInputs.slice(from)).join('\n')
    expect(sentInputs.length - from).toBe(3)
    for (const secret of [...secretsOf(patient), 'HOOK-SSN-3333', 'EXPLAIN-SSN-4444']) expect(seen).not.toContain(secret)
    expect((await db.model(Patient).get({ id: patient.id }))?.ssn).toBe('EXPLAIN-SSN-4444')
  })

  it('a ConditionFailedError carries the stored item decrypted', async () => {
    const patient = newPatient()
    await db.model(Patient).create(patient)
    const error = await failure(db.model(Patient).create({ ...patient, ssn: 'other' }))
    expect(error).toBeInstanceOf(ConditionFailedError)
    expect((error as ConditionFailedError).item).toMatchObject({ ssn: patient.ssn, card: patient.card })
  })

  it('an altered or moved envelope is a DYNAMO_DECRYPT_FAILED error on read, without plaintext in the message', async () => {
    const patient = newPatient()
    await db.model(Patient).create(patient)
    const stored = await raw(patient.id)
    const ct = new Uint8Array(stored.ssn?.M?.ct?.B ?? [])
    ct[0] = (ct[0] ?? 0) ^ 1
    const altered: AttributeValue = { M: { ...stored.ssn?.M, ct: { B: ct } } }
    const key = { pk: { S: `PATIENT#${patient.id}` }, sk: { S: 'PROFILE' } }
    await client.send(
      new UpdateItemCommand({ TableName: table, Key: key, UpdateExpression: 'SET ssn = :v', ExpressionAttributeValues: { ':v': altered } }),
    )
    const readError = await failure(db.model(Patient).get({ id: patient.id }))
    expect(isTesseraError(readError) && readError.code).toBe('DYNAMO_DECRYPT_FAILED')
    expect((readError as Error).message).toContain('"ssn"')
    expect((readError as Error).message).not.toContain(patient.ssn)
    // The card's (valid) envelope moved into ssn: its associated data names card, so it does not open as ssn.
    await client.send(
      new UpdateItemCommand({
        TableName: table,
        Key: key,
        UpdateExpression: 'SET ssn = :v',
        ExpressionAttributeValues: { ':v': stored.card as AttributeValue },
      }),
    )
    const movedError = await failure(db.model(Patient).query().where({ org: patient.org }).all())
    expect(isTesseraError(movedError) && movedError.code).toBe('DYNAMO_DECRYPT_FAILED')
  })

  it('refuses operations DynamoDB cannot apply to ciphertext, before sending anything', async () => {
    const model = db.model(Patient)
    const before = db.stats().commands
    const messages = await Promise.all(
      [
        model.update({ id: 'x' }).increment('score').go(),
        model
          .update({ id: 'x' })
          .add('tags', new Set(['t']))
          .go(),
        model
          .update({ id: 'x' })
          .delete('tags', new Set(['t']))
          .go(),
        model.query().where({ org: 'clinic' }).filter({ ssn: 'x' }).all(),
        model
          .scan()
          .filter({ score: { gt: 1 } })
          .all(),
        model.put(newPatient(), { condition: { ssn: { exists: true } } }),
      ].map(async (promise) => {
        const error = await failure(promise)
        expect(error).toBeInstanceOf(ValidationError)
        return (error as Error).message
      }),
    )
    expect(messages[0]).toMatch(/score: is encrypted: DynamoDB cannot increment its ciphertext/)
    expect(messages[1]).toMatch(/tags: is encrypted: DynamoDB cannot add/)
    expect(messages[2]).toMatch(/tags: is encrypted: DynamoDB cannot delete/)
    for (const message of messages.slice(3)) expect(message).toMatch(/is encrypted: its stored value is ciphertext/)
    expect(db.stats().commands).toBe(before)
  })

  it('explain() works on a model with encrypted fields, and an analysed put writes envelopes', async () => {
    const patient = newPatient()
    const plan = await db.model(Patient).explainPut(patient)
    expect(plan.operation).toBe('PutItem')
    expect(plan.capacity.units).toBeGreaterThan(0)
    expect((await db.model(Patient).query().where({ org: 'clinic' }).limit(5).explain()).index).toBe('gsi1')
    expect((await db.model(Patient).explainGet({ id: patient.id })).operation).toBe('GetItem')
    expect((await db.model(Patient).update({ id: patient.id }).set({ ssn: 'x' }).explain()).operation).toBe('UpdateItem')
    const analysed = await db.model(Patient).explainPut(patient, { analyze: true })
    expect(analysed.actual?.capacityUnits).toBeGreaterThan(0)
    expectSealed(await raw(patient.id), secretsOf(patient))
  })
})

describe('requests handed out never hold an encrypted field as plaintext', () => {
  const refused = (call: () => unknown, field: string) => {
    let error: unknown
    try {
      call()
    } catch (caught) {
      error = caught
    }
    expect(isTesseraError(error) && error.code).toBe('DYNAMO_PLAINTEXT_REFUSED')
    expect((error as Error).message).toContain(field)
    expect((error as Error).message).toMatch(/sealed/)
  }

  it('params.put/create and update().params() refuse, naming the field; sealedParams returns requests that write envelopes', async () => {
    const patient = newPatient()
    const patients = db.model(Patient)
    refused(() => patients.params.put(patient), 'ssn')
    refused(() => patients.params.create(patient), 'card')
    refused(() => patients.update({ id: patient.id }).set({ ssn: 'PARAMS-SSN-5555' }).params(), 'ssn')
    // Requests without an encrypted value are still handed out synchronously.
    expect(patients.update({ id: patient.id }).set({ visits: 3 }).params().operation).toBe('UpdateItem')
    expect(patients.params.get({ id: patient.id }).input.Key).toEqual({ pk: { S: `PATIENT#${patient.id}` }, sk: { S: 'PROFILE' } })
    expect(patients.params.delete({ id: patient.id }).operation).toBe('DeleteItem')

    const put = await patients.sealedParams.create(patient)
    expect(texts(put).join('\n')).not.toContain(patient.ssn)
    for (const secret of secretsOf(patient)) expect(texts(put).join('\n')).not.toContain(secret)
    await client.send(new PutItemCommand(put.input as never))
    expectSealed(await raw(patient.id), secretsOf(patient))
    expect(await patients.get({ id: patient.id }, { consistent: true })).toEqual(patient)

    const update = await patients.update({ id: patient.id }).set({ ssn: 'PARAMS-SSN-5555' }).sealedParams()
    expect(texts(update).join('\n')).not.toContain('PARAMS-SSN-5555')
    await client.send(new UpdateItemCommand(update.input as never))
    expectSealed(await raw(patient.id), ['PARAMS-SSN-5555'])
    expect((await patients.get({ id: patient.id }, { consistent: true }))?.ssn).toBe('PARAMS-SSN-5555')
  })

  it('tx operations that write an encrypted field refuse .operation; printing them shows no plaintext; sealed() is safe to send', async () => {
    const patient = newPatient()
    const existing = newPatient()
    await db.model(Patient).create(existing)
    const create = db.model(Patient).tx.create(patient)
    const update = db.model(Patient).tx.update({ id: existing.id }, (u) => u.set({ ssn: 'TXOP-SSN-6666' }))
    refused(() => create.operation, 'ssn')
    refused(() => update.operation, 'ssn')
    for (const shown of [JSON.stringify(create), JSON.stringify(update), String(Object.values(create))]) {
      for (const secret of [...secretsOf(patient), 'TXOP-SSN-6666']) expect(shown).not.toContain(secret)
    }
    // Operations without encrypted values show their request.
    expect(db.model(Patient).tx.update({ id: existing.id }, (u) => u.set({ visits: 9 })).operation.Update?.TableName).toBe(table)
    expect(db.model(Patient).tx.delete({ id: existing.id }).operation.Delete?.TableName).toBe(table)

    const sealed = [await create.sealed(), await update.sealed()]
    for (const secret of [...secretsOf(patient), 'TXOP-SSN-6666']) expect(texts(sealed).join('\n')).not.toContain(secret)
    await client.send(new TransactWriteItemsCommand({ TransactItems: sealed }))
    expectSealed(await raw(patient.id), secretsOf(patient))
    expect((await db.model(Patient).get({ id: existing.id }, { consistent: true }))?.ssn).toBe('TXOP-SSN-6666')
  })

  it('a canceled transaction returns the stored item of a failed condition decrypted', async () => {
    const patient = newPatient()
    await db.model(Patient).create(patient)
    const error = await failure(
      db.transact([db.model(Patient).tx.put({ ...patient, name: 'other' }, { condition: { name: 'nobody' } })], {
        returnItemOnConditionFailure: true,
      }),
    )
    expect(error).toBeInstanceOf(TransactionCanceledError)
    const item = (error as TransactionCanceledError).failures[0]?.item
    expect(item?.ssn).toEqual({ S: patient.ssn })
    expect(item?.card).toEqual({ M: { number: { S: patient.card.number }, cvc: { N: '123' } } })
  })

  it("db.transactGet returns the models' items decrypted; under another key provider it is DYNAMO_DECRYPT_FAILED", async () => {
    const [first, second] = [newPatient(), newPatient()]
    await db.model(Patient).create(first)
    await db.model(Patient).create(second)
    const { items } = await db.transactGet([
      db.model(Patient).tx.get({ id: first.id }),
      db.model(Patient).tx.get({ id: 'nobody' }),
      db.model(Patient).tx.get({ id: second.id }, { select: ['id', 'ssn'] }),
    ])
    expect(items).toEqual([first, undefined, { id: second.id, ssn: second.ssn }])
    const ssn: string | undefined = items[0]?.ssn
    expect(ssn).toBe(first.ssn)
    const other = createDynamo({ client, encryption: { keyProvider: createLocalKeyProvider({ masterKey: randomBytes(32) }) } })
    const error = await failure(other.transactGet([other.model(Patient).tx.get({ id: first.id })]))
    expect(isTesseraError(error) && error.code).toBe('DYNAMO_DECRYPT_FAILED')
    expect((error as Error).message).not.toContain(first.ssn)
  })

  it('db.transactGet refuses operations not made by tx.get, before sending', async () => {
    const error = await failure(db.transactGet([{ Get: { TableName: table, Key: {} } } as never]))
    expect(isTesseraError(error) && error.code).toBe('DYNAMO_INVALID_INPUT')
  })
})

describe('a model with encrypted fields and no key provider', () => {
  it('is a ConfigError at db.model(), and nothing is ever sent', async () => {
    let sent = 0
    const bare = createDynamo({
      client: {
        send: async () => {
          sent++
          return {}
        },
      },
    })
    const error = (() => {
      try {
        bare.model(Patient)
      } catch (caught) {
        return caught
      }
    })()
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message).toMatch(/model Patient has encrypted fields \(ssn, card, tags, score\).*encryption: \{ keyProvider \}/)
    expect(sent).toBe(0)
  })

  it('a bad key provider is a ConfigError of createDynamo', () => {
    expect(() => createDynamo({ client, encryption: { keyProvider: {} as KeyProvider } })).toThrow(
      /encryption.keyProvider must have generateDataKey\(\) and decrypt\(encryptedKey\)/,
    )
  })

  it('models without encrypted fields need no key provider', () => {
    const Plain = defineModel('Plain', { id: field.string() }, { table, keys: { partition: 'id' } })
    expect(createDynamo({ client }).model(Plain).model).toBe(Plain)
  })

  it('a key provider that fails is DYNAMO_ENCRYPT_FAILED, and nothing is written', async () => {
    const down: KeyProvider = {
      generateDataKey: async () => {
        throw new Error('KMS unavailable')
      },
      decrypt: keyProvider.decrypt,
    }
    const failing = createDynamo({ client, encryption: { keyProvider: down } })
    const patient = newPatient()
    const errors = await Promise.all([
      failure(failing.model(Patient).create(patient)),
      failure(failing.model(Patient).update({ id: patient.id }).set({ ssn: 'x' }).go()),
      failure(failing.model(Patient).batchWrite({ put: [patient] })),
      failure(failing.transact([failing.model(Patient).tx.put(patient)])),
    ])
    for (const error of errors) {
      expect(isTesseraError(error) && error.code).toBe('DYNAMO_ENCRYPT_FAILED')
      expect((error as Error).cause).toMatchObject({ message: 'KMS unavailable' })
    }
    expect(failing.stats().commands).toBe(0)
    expect(await raw(patient.id)).toBeUndefined()
  })

  it('data written under one key provider does not open under another', async () => {
    const patient = newPatient()
    await db.model(Patient).create(patient)
    const other = createDynamo({ client, encryption: { keyProvider: createLocalKeyProvider({ masterKey: randomBytes(32) }) } })
    const error = await failure(other.model(Patient).get({ id: patient.id }))
    expect(isTesseraError(error) && error.code).toBe('DYNAMO_DECRYPT_FAILED')
  })
})
