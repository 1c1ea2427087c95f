import { type DynamoDBClient, GetItemCommand, PutItemCommand, type TransactWriteItem } from '@aws-sdk/client-dynamodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DynamoInputError, TransactionCanceledError, transactGet, transactWrite } from '../src/index'
import { createTestTable, dropTable, faultyClient, localClient } from './dynamodb-local'

let client: DynamoDBClient
let table: string
const fast = { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 5 }

beforeAll(async () => {
  client = localClient()
  table = await createTestTable(client, { prefix: 'tx' })
})
afterAll(async () => {
  await dropTable(client, table)
  client.destroy()
})

const key = (pk: string) => ({ pk: { S: pk } })
async function read(pk: string) {
  return (await client.send(new GetItemCommand({ TableName: table, Key: key(pk), ConsistentRead: true }))).Item
}

describe('transactWrite', () => {
  it('applies put, update and delete together and returns what it wrote', async () => {
    await client.send(new PutItemCommand({ TableName: table, Item: { ...key('a1'), balance: { N: '50' } } }))
    await client.send(new PutItemCommand({ TableName: table, Item: { ...key('gone'), x: { S: 'y' } } }))
    const put: TransactWriteItem = {
      Put: { TableName: table, Item: { ...key('a2'), balance: { N: '10' } }, ConditionExpression: 'attribute_not_exists(pk)' },
    }
    const result = await transactWrite(
      client,
      [
        put,
        {
          Update: {
            TableName: table,
            Key: key('a1'),
            UpdateExpression: 'SET balance = balance - :v',
            ExpressionAttributeValues: { ':v': { N: '10' } },
          },
        },
        { Delete: { TableName: table, Key: key('gone') } },
      ],
      { keyAttributes: { [table]: ['pk'] } },
    )
    expect(result.written).toEqual([
      { index: 0, type: 'put', table, key: key('a2'), item: { ...key('a2'), balance: { N: '10' } } },
      { index: 1, type: 'update', table, key: key('a1'), item: undefined },
      { index: 2, type: 'delete', table, key: key('gone'), item: undefined },
    ])
    expect(result.attempts).toBe(1)
    expect(result.clientRequestToken).toMatch(/^[0-9a-f-]{36}$/)
    expect(await read('a1')).toEqual({ ...key('a1'), balance: { N: '40' } })
    expect(await read('a2')).toEqual({ ...key('a2'), balance: { N: '10' } })
    expect(await read('gone')).toBeUndefined()
  })

  it('turns a failed condition into TransactionCanceledError naming each operation, with the item when asked, and applies nothing', async () => {
    await client.send(new PutItemCommand({ TableName: table, Item: { ...key('c1'), version: { N: '3' } } }))
    const error = (await transactWrite(
      client,
      [
        { Put: { TableName: table, Item: { ...key('c2'), v: { N: '1' } } } },
        {
          ConditionCheck: {
            TableName: table,
            Key: key('c1'),
            ConditionExpression: 'version = :v',
            ExpressionAttributeValues: { ':v': { N: '2' } },
          },
        },
      ],
      { returnItemOnConditionFailure: true },
    ).catch((e: unknown) => e)) as TransactionCanceledError
    expect(error).toBeInstanceOf(TransactionCanceledError)
    expect(error.code).toBe('DYNAMO_TRANSACTION_CANCELED')
    expect(error.retryable).toBe(false)
    expect(error.reasons.map((r) => r.code)).toEqual(['None', 'ConditionalCheckFailed'])
    expect(error.failures).toHaveLength(1)
    expect(error.failures[0]).toMatchObject({ index: 1, type: 'conditionCheck', table, item: { ...key('c1'), version: { N: '3' } } })
    expect(error.message).toContain(`operation 1 (conditionCheck on ${table}): ConditionalCheckFailed`)
    expect(await read('c2')).toBeUndefined()
  })

  it('refuses more than 100 operations, an empty list and one item twice before sending', async () => {
    const faulty = faultyClient(client, [])
    const many = Array.from({ length: 101 }, (_, i) => ({ Put: { TableName: table, Item: key(`m${i}`) } }))
    const tooMany = (await transactWrite(faulty, many).catch((e: unknown) => e)) as DynamoInputError
    expect(tooMany).toBeInstanceOf(DynamoInputError)
    expect(tooMany.code).toBe('DYNAMO_TRANSACTION_TOO_LARGE')
    expect(tooMany.message).toContain('got 101 operations')
    await expect(transactWrite(faulty, [])).rejects.toThrow(/needs 1 to 100 operations/)
    const twice = (await transactWrite(faulty, [
      { Delete: { TableName: table, Key: key('d') } },
      { Delete: { TableName: table, Key: key('d') } },
    ]).catch((e: unknown) => e)) as DynamoInputError
    expect(twice.code).toBe('DYNAMO_DUPLICATE_KEY')
    await expect(
      transactWrite(faulty, [{ Put: { TableName: table, Item: key('x') }, Delete: { TableName: table, Key: key('x') } }]),
    ).rejects.toThrow(/operation 0 must have exactly one of Put, Update, Delete, ConditionCheck/)
    expect(faulty.sent).toEqual([])
  })

  it('retries a TransactionConflict cancellation with a new token and applies once', async () => {
    const faulty = faultyClient(client, [
      {
        kind: 'throw',
        name: 'TransactionCanceledException',
        times: 2,
        command: 'TransactWriteItems',
        extra: { CancellationReasons: [{ Code: 'TransactionConflict', Message: 'conflict' }] },
      },
    ])
    const result = await transactWrite(
      faulty,
      [
        {
          Update: {
            TableName: table,
            Key: key('k1'),
            UpdateExpression: 'ADD hits :one',
            ExpressionAttributeValues: { ':one': { N: '1' } },
          },
        },
      ],
      { retry: fast, clientRequestToken: 'first-token' },
    )
    expect(result.attempts).toBe(3)
    expect(result.clientRequestToken).not.toBe('first-token')
    expect(await read('k1')).toEqual({ ...key('k1'), hits: { N: '1' } })
  })

  it('resends with the same token after a lost reply, and DynamoDB applies the transaction once', async () => {
    const faulty = faultyClient(client, [{ kind: 'lose-reply', times: 1, command: 'TransactWriteItems' }])
    const result = await transactWrite(
      faulty,
      [
        {
          Update: {
            TableName: table,
            Key: key('k2'),
            UpdateExpression: 'ADD hits :one',
            ExpressionAttributeValues: { ':one': { N: '1' } },
          },
        },
      ],
      { retry: fast, clientRequestToken: 'lost-reply-token' },
    )
    expect(result).toMatchObject({ attempts: 2, clientRequestToken: 'lost-reply-token' })
    expect(await read('k2')).toEqual({ ...key('k2'), hits: { N: '1' } })
  })

  it('gives up after the budget with a retryable TransactionCanceledError', async () => {
    const faulty = faultyClient(client, [
      { kind: 'throw', name: 'TransactionCanceledException', times: 10, extra: { CancellationReasons: [{ Code: 'TransactionConflict' }] } },
    ])
    const error = (await transactWrite(faulty, [{ Delete: { TableName: table, Key: key('z') } }], {
      retry: { ...fast, maxAttempts: 2 },
    }).catch((e: unknown) => e)) as TransactionCanceledError
    expect(error).toBeInstanceOf(TransactionCanceledError)
    expect(error.retryable).toBe(true)
    expect(error.failures.map((f) => f.code)).toEqual(['TransactionConflict'])
    expect(faulty.sent).toHaveLength(2)
  })
})

describe('transactGet', () => {
  it('reads items in one snapshot, in order, a miss as undefined', async () => {
    await client.send(new PutItemCommand({ TableName: table, Item: { ...key('g1'), n: { N: '1' } } }))
    const { items } = await transactGet(client, [
      { Get: { TableName: table, Key: key('g1') } },
      { Get: { TableName: table, Key: key('nope') } },
    ])
    expect(items).toEqual([{ ...key('g1'), n: { N: '1' } }, undefined])
  })
})
