import { randomBytes } from 'node:crypto'
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb'
import type { _Record, DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams'
import { isTesseraError } from '@tessera/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { uniqueName } from '../../../tooling/test-services/env'
import {
  createDynamo,
  createLocalKeyProvider,
  type Dynamo,
  decodeStreamRecord,
  defineModel,
  ensureTable,
  field,
  type StreamRecordLike,
} from '../src/index'
import { localClient, localStreamsClient, readStream } from './dynamodb-local'

let client: DynamoDBClient
let streams: DynamoDBStreamsClient
let table: string
let db: Dynamo
let records: _Record[]
const keyProvider = createLocalKeyProvider({ masterKey: randomBytes(32) })

function models(tableName: string) {
  const Patient = defineModel(
    'Patient',
    {
      id: field.string(),
      name: field.string(),
      ssn: field.string().encrypted(),
      card: field.map<{ number: string }>().optional().encrypted(),
    },
    // biome-ignore lint/suspicious/noTemplateCurlyInString: key templates
    { table: tableName, keys: { partition: { attribute: 'pk', template: 'PATIENT#${id}' }, sort: { attribute: 'sk', template: 'P' } } },
  )
  const Visit = defineModel(
    'Visit',
    { patient: field.string(), day: field.string(), note: field.string().encrypted() },
    {
      table: tableName,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: key templates
      keys: { partition: { attribute: 'pk', template: 'PATIENT#${patient}' }, sort: { attribute: 'sk', template: 'VISIT#${day}' } },
    },
  )
  return { Patient, Visit }
}
let Patient: ReturnType<typeof models>['Patient']
let Visit: ReturnType<typeof models>['Visit']

beforeAll(async () => {
  client = localClient()
  streams = localStreamsClient()
  table = uniqueName('mstr')
  ;({ Patient, Visit } = models(table))
  const { streamArn } = await ensureTable(
    client,
    { name: table, partitionKey: { name: 'pk', type: 'S' }, sortKey: { name: 'sk', type: 'S' } },
    { streams: 'NEW_AND_OLD_IMAGES', pollIntervalMs: 50 },
  )
  db = createDynamo({ client, encryption: { keyProvider } })
  await db.model(Patient).create({ id: '1', name: 'Ada', ssn: 'STREAM-SSN-1111', card: { number: 'STREAM-CARD-2222' } })
  await db.model(Patient).update({ id: '1' }).set({ ssn: 'STREAM-SSN-3333' }).go()
  await db.model(Visit).create({ patient: '1', day: '2026-01-02', note: 'STREAM-NOTE-4444' })
  await db.model(Patient).delete({ id: '1' })
  records = await readStream(streams, streamArn as string, 4)
})

afterAll(async () => {
  await client.send(new DeleteTableCommand({ TableName: table })).catch(() => {})
  client.destroy()
  streams.destroy()
})

const SECRETS = ['STREAM-SSN-1111', 'STREAM-CARD-2222', 'STREAM-SSN-3333', 'STREAM-NOTE-4444']

describe('stream records through models', () => {
  it('the raw decoder shows envelopes only (no plaintext reached the stream)', () => {
    const decoded = JSON.stringify(
      records.map((record) => decodeStreamRecord(record as StreamRecordLike)),
      (_, value) => (value instanceof Uint8Array ? Buffer.from(value).toString('utf8') : value),
    )
    for (const secret of SECRETS) expect(decoded).not.toContain(secret)
  })

  it('db.model(M).decodeStreamRecord returns the model items decrypted', async () => {
    const [insert, modify] = await Promise.all([
      db.model(Patient).decodeStreamRecord(records[0] as StreamRecordLike),
      db.model(Patient).decodeStreamRecord(records[1] as StreamRecordLike),
    ])
    expect(insert).toMatchObject({ type: 'insert', old: undefined, keys: { pk: 'PATIENT#1', sk: 'P' } })
    expect(insert.new).toEqual({ id: '1', name: 'Ada', ssn: 'STREAM-SSN-1111', card: { number: 'STREAM-CARD-2222' } })
    expect(modify.type).toBe('modify')
    expect([modify.old?.ssn, modify.new?.ssn]).toEqual(['STREAM-SSN-1111', 'STREAM-SSN-3333'])
  })

  it('db.streamRouter() routes each record to its model handler with decrypted items', async () => {
    const seen: string[] = []
    const router = db
      .streamRouter()
      .on(Patient, (change) => {
        seen.push(`patient ${change.type} ${change.old?.ssn ?? '-'} ${change.new?.ssn ?? '-'}`)
      })
      .on(Visit, (change) => {
        seen.push(`visit ${change.type} ${change.new?.note}`)
      })
    const result = await router.processBatch(records as StreamRecordLike[])
    expect(result).toMatchObject({ handled: 4, unmatched: 0, batchItemFailures: [], error: undefined })
    expect(seen).toEqual([
      'patient insert - STREAM-SSN-1111',
      'patient modify STREAM-SSN-1111 STREAM-SSN-3333',
      'visit insert STREAM-NOTE-4444',
      'patient remove STREAM-SSN-3333 -',
    ])
  })

  it('under another key provider a record fails with DYNAMO_DECRYPT_FAILED and is reported for redelivery', async () => {
    const other = createDynamo({ client, encryption: { keyProvider: createLocalKeyProvider({ masterKey: randomBytes(32) }) } })
    const decoded = await other
      .model(Patient)
      .decodeStreamRecord(records[0] as StreamRecordLike)
      .then(
        () => undefined,
        (error: unknown) => error,
      )
    expect(isTesseraError(decoded) && decoded.code).toBe('DYNAMO_DECRYPT_FAILED')
    const handled: string[] = []
    const result = await other
      .streamRouter()
      .on(Patient, () => {
        handled.push('patient')
      })
      .processBatch(records as StreamRecordLike[])
    expect(handled).toEqual([])
    expect(result.batchItemFailures).toHaveLength(4)
    expect(isTesseraError(result.error?.cause) && result.error.cause.code).toBe('DYNAMO_DECRYPT_FAILED')
    for (const secret of SECRETS) expect(result.error?.message).not.toContain(secret)
  })

  it('records of a model without a handler go to onUnmatched; two models with one marker are refused', async () => {
    const unmatched: string[] = []
    const result = await db
      .streamRouter({ onUnmatched: (change) => void unmatched.push(change.type) })
      .on(Visit, () => {})
      .processBatch(records as StreamRecordLike[])
    expect(result).toMatchObject({ handled: 1, unmatched: 3 })
    expect(unmatched).toEqual(['insert', 'modify', 'remove'])
    const Twin = defineModel('Twin', { id: field.string() }, { table, keys: { partition: 'id' }, entity: 'Patient' })
    expect(() =>
      db
        .streamRouter()
        .on(Patient, () => {})
        .on(Twin, () => {}),
    ).toThrow(/both have entity marker Patient/)
  })
})
