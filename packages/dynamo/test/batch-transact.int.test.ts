import diagnostics_channel from 'node:diagnostics_channel'
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { CHANNELS, type DynamoCommandMessage, ValidationError } from '@tessera/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDynamo, type Dynamo, DynamoInputError, TransactionCanceledError, transactGet } from '../src/index'
import { dropTable, faultyClient, localClient } from './dynamodb-local'
import { createAppTable, orderModel, testEncryption, userModel } from './model-fixtures'

let client: DynamoDBClient
let table: string
let db: Dynamo
let User: ReturnType<typeof userModel>
let Order: ReturnType<typeof orderModel>

beforeAll(async () => {
  client = localClient()
  table = await createAppTable(client)
  User = userModel(table)
  Order = orderModel(table)
  db = createDynamo({ client, encryption: testEncryption() })
})
afterAll(async () => {
  await dropTable(client, table)
  client.destroy()
})

const fast = { maxAttempts: 6, baseDelayMs: 1, maxDelayMs: 5 }

describe('model batches', () => {
  it('writes 60 orders through injected UnprocessedItems and reads them back in the order asked', async () => {
    const customer = `c-${Math.random().toString(36).slice(2)}`
    const orders = Array.from({ length: 60 }, (_, n) => ({ customer, day: `2024-06-${String(n).padStart(2, '0')}`, id: 'o', total: n }))
    const flaky = createDynamo({
      client: faultyClient(client, [{ kind: 'unprocess', times: 2, keep: 5, command: 'BatchWriteItem' }]),
      encryption: testEncryption(),
    })
    const result = await flaky.model(Order).batchWrite({ put: orders }, { retry: fast })
    expect(result).toMatchObject({ written: 60, unprocessed: [] })
    const keys = [...orders].reverse().map(({ customer: c, day, id }) => ({ customer: c, day, id }))
    const { items } = await db.model(Order).batchGet([...keys, { customer, day: 'none', id: 'o' }])
    expect(items.slice(0, 60).map((order) => order?.total)).toEqual(orders.map((order) => order.total).reverse())
    expect(items[60]).toBeUndefined()
    expect(await db.model(Order).query().where({ customer }).count()).toBe(60)
    const deleted = await db.model(Order).batchWrite({ delete: keys.slice(0, 10) })
    expect(deleted.written).toBe(10)
    expect(await db.model(Order).query().where({ customer }).count()).toBe(50)
  })

  it('refuses a batch write of a versioned model and a bad item before sending anything', async () => {
    await expect(db.model(User).batchWrite({ put: [] })).rejects.toThrow(/version field/)
    // @ts-expect-error total is a number
    await expect(db.model(Order).batchWrite({ put: [{ customer: 'c', day: 'd', id: 'i', total: 'x' }] })).rejects.toBeInstanceOf(
      ValidationError,
    )
  })
})

describe('transactions across models', () => {
  it('creates a user and an order and bumps a versioned user in one transaction, returning what it wrote', async () => {
    const id = `t-${Math.random().toString(36).slice(2)}`
    const other = await db.model(User).create({ id: `${id}-b`, email: 'b@x.test', name: 'b', org: 'o' })
    const result = await db.transact([
      db.model(User).tx.create({ id, email: 'a@x.test', name: 'a', org: 'o' }),
      db.model(Order).tx.put({ customer: id, day: '2024-07-01', id: 'o1', total: 5 }),
      db.model(User).tx.update({ id: other.id, version: 0 }, (u) => u.set({ name: 'b2' }).increment('logins')),
    ])
    expect(result.items[0]).toMatchObject({ id, version: 0 })
    expect(result.items[1]).toEqual({ customer: id, day: '2024-07-01', id: 'o1', total: 5 })
    expect(result.items[2]).toBeUndefined()
    expect(await db.model(User).getOrThrow({ id: other.id })).toMatchObject({ name: 'b2', logins: 1, version: 1 })
  })

  it('is cancelled as a whole with the reason of each operation: a stale version writes nothing', async () => {
    const id = `t-${Math.random().toString(36).slice(2)}`
    await db.model(User).create({ id, email: 'a@x.test', name: 'a', org: 'o' })
    const error = await db
      .transact([
        db.model(Order).tx.put({ customer: id, day: '2024-07-02', id: 'o2', total: 9 }),
        db.model(User).tx.update({ id, version: 3 }, (u) => u.set({ name: 'stale' })),
      ])
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TransactionCanceledError)
    expect((error as TransactionCanceledError).reasons.map((reason) => reason.code)).toEqual(['None', 'ConditionalCheckFailed'])
    expect(await db.model(Order).get({ customer: id, day: '2024-07-02', id: 'o2' })).toBeUndefined()
  })

  it('refuses more than 100 operations before sending', async () => {
    const operations = Array.from({ length: 101 }, (_, n) => db.model(Order).tx.put({ customer: 'many', day: `d${n}`, id: 'o', total: n }))
    await expect(db.transact(operations)).rejects.toBeInstanceOf(DynamoInputError)
    expect(await db.model(Order).query().where({ customer: 'many' }).count()).toBe(0)
  })

  it('checks a condition on another item', async () => {
    const id = `t-${Math.random().toString(36).slice(2)}`
    await db.model(User).create({ id, email: 'a@x.test', name: 'a', org: 'o', status: 'disabled' })
    const error = await db
      .transact([
        db.model(User).tx.check({ id }, { status: 'active' }),
        db.model(Order).tx.put({ customer: id, day: 'd', id: 'o', total: 1 }),
      ])
      .catch((e: unknown) => e)
    expect((error as TransactionCanceledError).failures.map((reason) => [reason.index, reason.code])).toEqual([
      [0, 'ConditionalCheckFailed'],
    ])
  })
})

describe('tracing of batches and transactions', () => {
  it('publishes one tessera:dynamo:command message per request the engines send, with its table', async () => {
    const messages: DynamoCommandMessage[] = []
    const channel = diagnostics_channel.tracingChannel<unknown, DynamoCommandMessage>(CHANNELS.dynamoCommand)
    const subscriber = {
      start() {},
      end() {},
      asyncStart() {},
      asyncEnd: (message: DynamoCommandMessage) => messages.push(message),
      error() {},
    }
    const customer = `c-${Math.random().toString(36).slice(2)}`
    const orders = Array.from({ length: 30 }, (_, n) => ({ customer, day: `2024-07-${String(n).padStart(2, '0')}`, id: 'o', total: n }))
    const keys = orders.map(({ customer: c, day, id }) => ({ customer: c, day, id }))
    channel.subscribe(subscriber)
    try {
      await db.model(Order).batchWrite({ put: orders }) // 25 + 5: two requests
      await db.model(Order).batchGet(keys) // one request
      await db.transact([db.model(Order).tx.put({ ...orders[0]!, total: 100 }), db.model(Order).tx.delete(keys[1]!)])
      const got = await transactGet(client, [{ Get: { TableName: table, Key: { pk: { S: `CUST#${customer}` }, sk: { S: 'none' } } } }])
      expect(got.items).toEqual([undefined])
    } finally {
      channel.unsubscribe(subscriber)
    }
    expect(messages.map((message) => message.command)).toEqual([
      'BatchWriteItem',
      'BatchWriteItem',
      'BatchGetItem',
      'TransactWriteItems',
      'TransactGetItems',
    ])
    for (const message of messages) expect(message.table).toBe(table)
  })
})
