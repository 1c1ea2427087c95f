import { DeleteItemCommand, DeleteTableCommand, type DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb'
import type { _Record, DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { uniqueName } from '../../../tooling/test-services/env'
import { createStreamRouter, type DecodedStreamRecord, decodeStreamRecord, ensureTable } from '../src/index'
import { localClient, localStreamsClient, readStream } from './dynamodb-local'

let client: DynamoDBClient
let streams: DynamoDBStreamsClient
let table: string
let records: _Record[]

beforeAll(async () => {
  client = localClient()
  streams = localStreamsClient()
  table = uniqueName('str')
  const { streamArn } = await ensureTable(
    client,
    { name: table, partitionKey: { name: 'pk', type: 'S' }, sortKey: { name: 'sk', type: 'S' } },
    { streams: 'NEW_AND_OLD_IMAGES', pollIntervalMs: 50 },
  )
  const user = { pk: { S: 'USER#1' }, sk: { S: 'PROFILE' } }
  await client.send(
    new PutItemCommand({
      TableName: table,
      Item: { ...user, entity: { S: 'User' }, name: { S: 'Ada' }, avatar: { B: new Uint8Array([1, 2, 3]) } },
    }),
  )
  await client.send(
    new UpdateItemCommand({
      TableName: table,
      Key: user,
      UpdateExpression: 'SET #n = :n',
      ExpressionAttributeNames: { '#n': 'name' },
      ExpressionAttributeValues: { ':n': { S: 'Grace' } },
    }),
  )
  await client.send(
    new PutItemCommand({
      TableName: table,
      Item: { pk: { S: 'USER#1' }, sk: { S: 'ORDER#9' }, entity: { S: 'Order' }, total: { N: '12.5' } },
    }),
  )
  await client.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'X' }, sk: { S: 'Y' } } }))
  await client.send(new DeleteItemCommand({ TableName: table, Key: user }))
  records = await readStream(streams, streamArn as string, 5)
})

afterAll(async () => {
  await client.send(new DeleteTableCommand({ TableName: table })).catch(() => {})
  client.destroy()
  streams.destroy()
})

describe('decodeStreamRecord', () => {
  it('decodes insert, modify and remove records of a real stream into plain old and new images', () => {
    const decoded = records.map((record) => decodeStreamRecord(record))
    expect(decoded.map((change) => change.type)).toEqual(['insert', 'modify', 'insert', 'insert', 'remove'])
    const [insert, modify, , , remove] = decoded as DecodedStreamRecord[]
    expect(insert?.keys).toEqual({ pk: 'USER#1', sk: 'PROFILE' })
    expect(insert?.old).toBeUndefined()
    expect(insert?.new).toEqual({ pk: 'USER#1', sk: 'PROFILE', entity: 'User', name: 'Ada', avatar: new Uint8Array([1, 2, 3]) })
    expect(modify?.old?.name).toBe('Ada')
    expect(modify?.new?.name).toBe('Grace')
    expect(remove?.new).toBeUndefined()
    expect(remove?.old?.name).toBe('Grace')
    expect(insert?.sequenceNumber).toEqual(expect.any(String))
    expect(insert?.approximateCreationTime).toBeInstanceOf(Date)
  })

  it('decodes the Lambda event form (binary as base64) the same way', () => {
    const lambda = {
      eventID: '1',
      eventName: 'INSERT',
      dynamodb: {
        Keys: { pk: { S: 'a' } },
        NewImage: { pk: { S: 'a' }, data: { B: 'AQID' }, n: { N: '7' } },
        ApproximateCreationDateTime: 1_700_000_000,
      },
    }
    const change = decodeStreamRecord(lambda)
    expect(change.new).toEqual({ pk: 'a', data: new Uint8Array([1, 2, 3]), n: 7 })
    expect(change.approximateCreationTime?.toISOString()).toBe('2023-11-14T22:13:20.000Z')
    expect(() => decodeStreamRecord({ eventName: 'aws:sqs' })).toThrow(/eventName must be INSERT, MODIFY or REMOVE, got "aws:sqs"/)
  })
})

describe('createStreamRouter', () => {
  it('routes each record of a single-table stream to its model by the entity marker', async () => {
    const seen: string[] = []
    const router = createStreamRouter({
      markerAttribute: 'entity',
      handlers: {
        User: (change) => {
          seen.push(`User ${change.type} ${String((change.new ?? change.old)?.name)}`)
        },
        Order: (change) => {
          seen.push(`Order ${change.type} ${String(change.new?.total)}`)
        },
      },
      onUnmatched: (change) => {
        seen.push(`unmatched ${String(change.keys.pk)}`)
      },
    })
    const result = await router.processBatch(records)
    expect(result).toEqual({ handled: 4, unmatched: 1, batchItemFailures: [], error: undefined })
    expect(seen).toEqual(['User insert Ada', 'User modify Grace', 'Order insert 12.5', 'unmatched X', 'User remove Grace'])
  })

  it('stops at a failing handler and reports it and every later record as batch item failures', async () => {
    const router = createStreamRouter({
      markerAttribute: 'entity',
      handlers: {
        User: () => {},
        Order: () => {
          throw new Error('order sync down')
        },
      },
    })
    const result = await router.processBatch(records)
    expect(result.handled).toBe(2)
    expect(result.batchItemFailures).toEqual(records.slice(2).map((r) => ({ itemIdentifier: r.dynamodb?.SequenceNumber })))
    expect(result.error?.code).toBe('DYNAMO_STREAM_HANDLER_FAILED')
    expect(result.error?.message).toContain('order sync down')
  })
})
