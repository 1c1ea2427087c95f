import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { dynamoDbLocalClientConfig } from '../../../tooling/test-services/dynamodb-local'
import { endpointOf } from '../../../tooling/test-services/endpoint'
import { startTcpProxy, type TcpProxy } from '../../../tooling/test-services/tcp-proxy'
import { BatchIncompleteError, type BatchWriteEntry, batchWrite, transactWrite } from '../src/index'
import { createTestTable, dropTable, dynamoDbLocalEndpoint, localClient } from './dynamodb-local'

// Real network faults between the engines and DynamoDB Local: a TCP proxy that resets or stalls connections.
let direct: DynamoDBClient
let table: string
let proxy: TcpProxy
let proxied: DynamoDBClient

beforeAll(async () => {
  direct = localClient()
  table = await createTestTable(direct, { prefix: 'net' })
})
afterAll(async () => {
  await dropTable(direct, table)
  direct.destroy()
})
afterEach(async () => {
  proxied?.destroy()
  await proxy?.close()
})

async function throughProxy(): Promise<DynamoDBClient> {
  const endpoint = dynamoDbLocalEndpoint()
  proxy = await startTcpProxy({ target: endpointOf(endpoint) })
  proxied = new DynamoDBClient({ ...dynamoDbLocalClientConfig(proxy.url(endpoint).replace(/\/$/, '')), maxAttempts: 1 })
  return proxied
}

function puts(prefix: string, count: number): BatchWriteEntry[] {
  return Array.from({ length: count }, (_, i) => ({ table, put: { pk: { S: `${prefix}#${i}` } } }))
}

async function count(prefix: string): Promise<number> {
  const page = await direct.send(
    new ScanCommand({
      TableName: table,
      FilterExpression: 'begins_with(pk, :p)',
      ExpressionAttributeValues: { ':p': { S: `${prefix}#` } },
      ConsistentRead: true,
    }),
  )
  return page.Count ?? 0
}

describe('network faults', () => {
  it('batchWrite retries requests whose connections were reset, and writes everything once the network is back', async () => {
    const client = await throughProxy()
    proxy.setMode('reset')
    const heal = setTimeout(() => proxy.setMode('pass'), 300)
    const result = await batchWrite(client, puts('reset', 60), {
      keyAttributes: { [table]: ['pk'] },
      retry: { maxAttempts: 200, baseDelayMs: 20, maxDelayMs: 100 },
    })
    clearTimeout(heal)
    expect(result.written).toBe(60)
    expect(result.requests).toBeGreaterThan(3)
    expect(await count('reset')).toBe(60)
  })

  it('a batchWrite whose replies never come ends on abort with its in-flight entries reported unknown', async () => {
    const client = await throughProxy()
    proxy.setMode('stall')
    const controller = new AbortController()
    const run = batchWrite(client, puts('stall', 30), { keyAttributes: { [table]: ['pk'] }, signal: controller.signal, concurrency: 1 })
    setTimeout(() => controller.abort(), 300)
    const error = (await run.catch((e: unknown) => e)) as BatchIncompleteError
    expect(error).toBeInstanceOf(BatchIncompleteError)
    // The first chunk was sent and may or may not be written; the second was never sent.
    expect(error.unprocessed.map((u) => u.reason)).toEqual([...Array(25).fill('unknown'), ...Array(5).fill('aborted')])
  })

  it('a transaction whose reply is cut by a reset is resent with its token and applied once', async () => {
    const client = await throughProxy()
    let resets = 0
    // Reset exactly the first TransactWriteItems connection after the request reached DynamoDB Local.
    const dropped = proxy.dropReplyTo((bytes) => {
      if (!bytes.includes('TransactWriteItems')) return false
      resets++
      return true
    })
    const result = await transactWrite(
      client,
      [
        {
          Update: {
            TableName: table,
            Key: { pk: { S: 'tx#1' } },
            UpdateExpression: 'ADD hits :one',
            ExpressionAttributeValues: { ':one': { N: '1' } },
          },
        },
      ],
      { retry: { maxAttempts: 5, baseDelayMs: 10, maxDelayMs: 50 } },
    )
    await dropped
    expect(resets).toBeGreaterThanOrEqual(1)
    expect(result.attempts).toBe(2)
    const page = await direct.send(
      new ScanCommand({
        TableName: table,
        FilterExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': { S: 'tx#1' } },
        ConsistentRead: true,
      }),
    )
    expect(page.Items?.[0]?.hits).toEqual({ N: '1' })
  })
})
