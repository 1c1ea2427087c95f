import { DynamoDBClient, ListTablesCommand, PutItemCommand } from '@aws-sdk/client-dynamodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { answersListTables, createTestTables, type DynamoDbLocal, dynamoDbLocalClientConfig, startDynamoDbLocal } from '../src/testing'

// The kit as a user runs it: its own DynamoDB Local, started with the default spawner.
describe('@tessera/dynamo/testing', () => {
  let local: DynamoDbLocal
  let client: DynamoDBClient

  beforeAll(async () => {
    local = await startDynamoDbLocal()
    client = new DynamoDBClient({ ...local.clientConfig(), maxAttempts: 1 })
  }, 180_000)

  afterAll(async () => {
    client?.destroy()
    await local?.stop()
  })

  it('starts DynamoDB Local on 127.0.0.1 and creates and drops unique tables per test', async () => {
    expect(local.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const tables = createTestTables(client, { prefix: 'kit' })
    const first = await tables.create()
    const second = await tables.create({
      partitionKey: { name: 'id', type: 'N' },
      globalIndexes: [{ name: 'byEmail', partitionKey: { name: 'email', type: 'S' } }],
    })
    expect(first).not.toBe(second)
    expect(first).toMatch(/^kit_\d+_[0-9a-f]{10}$/)
    await client.send(new PutItemCommand({ TableName: first, Item: { pk: { S: 'a' }, sk: { S: 'b' } } }))
    await client.send(new PutItemCommand({ TableName: second, Item: { id: { N: '1' }, email: { S: 'x@y' } } }))
    expect((await client.send(new ListTablesCommand({}))).TableNames).toEqual(expect.arrayContaining([first, second]))
    await tables.dropAll()
    expect(tables.names).toEqual([])
    const left = (await client.send(new ListTablesCommand({}))).TableNames ?? []
    expect(left).not.toContain(first)
    expect(left).not.toContain(second)
    await tables.drop(first) // already gone: fine
  })

  it('refuses a client config for any host but 127.0.0.1', () => {
    expect(() => dynamoDbLocalClientConfig('http://localhost:8000')).toThrow(/must be on 127.0.0.1/)
  })

  it('stops: the port no longer answers, and stop() is idempotent', async () => {
    const other = await startDynamoDbLocal()
    expect(await answersListTables(other.port)).toBe(true)
    await other.stop()
    expect(other.running).toBe(false)
    expect(await answersListTables(other.port, 1_000)).toBe(false)
    await other.stop()
  }, 180_000)
})
