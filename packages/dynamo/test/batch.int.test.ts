import { type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb'
import { isTesseraError } from '@tessera/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BatchIncompleteError, type BatchProgress, type BatchWriteEntry, batchGet, batchWrite, DynamoInputError } from '../src/index'
import { createTestTable, dropTable, faultyClient, localClient } from './dynamodb-local'

let client: DynamoDBClient
const tables: string[] = []
const fast = { maxAttempts: 6, baseDelayMs: 1, maxDelayMs: 5 }

beforeAll(() => {
  client = localClient()
})
afterAll(async () => {
  await Promise.all(tables.map((table) => dropTable(client, table)))
  client.destroy()
})

async function table(sort = false): Promise<string> {
  const name = await createTestTable(client, { sort })
  tables.push(name)
  return name
}

function puts(tableName: string, count: number, from = 0): BatchWriteEntry[] {
  return Array.from({ length: count }, (_, i) => ({ table: tableName, put: { pk: { S: `item#${from + i}` }, n: { N: String(from + i) } } }))
}

async function countItems(tableName: string): Promise<number> {
  let count = 0
  let start: Record<string, never> | undefined
  do {
    const page = await client.send(new ScanCommand({ TableName: tableName, Select: 'COUNT', ExclusiveStartKey: start }))
    count += page.Count ?? 0
    start = page.LastEvaluatedKey as typeof start
  } while (start)
  return count
}

describe('batchWrite', () => {
  it('writes 130 items over two tables in 25-item requests and reports progress up to the total', async () => {
    const [a, b] = [await table(), await table()]
    const progress: BatchProgress[] = []
    const result = await batchWrite(client, [...puts(a, 80), ...puts(b, 50)], { onProgress: (p) => progress.push(p) })
    expect(result).toEqual({ written: 130, unprocessed: [], requests: 6 })
    expect(await countItems(a)).toBe(80)
    expect(await countItems(b)).toBe(50)
    expect(progress.at(-1)).toEqual({ completed: 130, total: 130, requests: 6 })
  })

  it('deletes by key in the same batch as puts', async () => {
    const a = await table()
    await batchWrite(client, puts(a, 10))
    const result = await batchWrite(client, [
      ...Array.from({ length: 10 }, (_, i) => ({ table: a, delete: { pk: { S: `item#${i}` } } })),
      ...puts(a, 3, 100),
    ])
    expect(result.written).toBe(13)
    expect(await countItems(a)).toBe(3)
  })

  it('retries UnprocessedItems until every item is written', async () => {
    const a = await table()
    const faulty = faultyClient(client, [{ kind: 'unprocess', times: 3, keep: 5, command: 'BatchWriteItem' }])
    const result = await batchWrite(faulty, puts(a, 25), { retry: fast, keyAttributes: { [a]: ['pk'] } })
    expect(result.written).toBe(25)
    expect(result.requests).toBe(4) // 5 + 5 + 5 written under the fault, then the last 10 in one request
    expect(await countItems(a)).toBe(25)
  })

  it('retries ProvisionedThroughputExceededException and writes everything once', async () => {
    const a = await table()
    const faulty = faultyClient(client, [
      { kind: 'throw', name: 'ProvisionedThroughputExceededException', times: 3, command: 'BatchWriteItem' },
    ])
    const result = await batchWrite(faulty, puts(a, 40), { retry: fast, concurrency: 1 })
    expect(result.written).toBe(40)
    expect(faulty.sent.filter((name) => name === 'BatchWriteItem')).toHaveLength(5)
    expect(await countItems(a)).toBe(40)
  })

  it('reports exactly the items still unprocessed when the retry budget runs out', async () => {
    const a = await table()
    const faulty = faultyClient(client, [{ kind: 'unprocess', times: 100, keep: 2, command: 'BatchWriteItem' }])
    const entries = puts(a, 10)
    const error = await batchWrite(faulty, entries, { retry: { ...fast, maxAttempts: 3 } }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BatchIncompleteError)
    const incomplete = error as BatchIncompleteError
    expect(incomplete.code).toBe('DYNAMO_BATCH_INCOMPLETE')
    expect(incomplete.retryable).toBe(true)
    expect(incomplete.completed).toBe(6)
    expect(incomplete.unprocessed.map((u) => (u as { index: number }).index)).toEqual([6, 7, 8, 9])
    expect(incomplete.unprocessed.every((u) => u.reason === 'unprocessed')).toBe(true)
    expect(await countItems(a)).toBe(6)
  })

  it('returns the unprocessed items instead of throwing with allowUnprocessed', async () => {
    const a = await table()
    const faulty = faultyClient(client, [{ kind: 'throw', name: 'ThrottlingException', times: 100, command: 'BatchWriteItem' }])
    const result = await batchWrite(faulty, puts(a, 3), {
      retry: { ...fast, maxAttempts: 2 },
      allowUnprocessed: true,
      keyAttributes: { [a]: ['pk'] },
    })
    expect(result.written).toBe(0)
    expect(result.unprocessed.map((u) => [u.index, u.reason])).toEqual([
      [0, 'throttled'],
      [1, 'throttled'],
      [2, 'throttled'],
    ])
  })

  it('refuses two writes of one key before sending anything', async () => {
    const a = await table(true)
    const faulty = faultyClient(client, [])
    const entries: BatchWriteEntry[] = [
      { table: a, put: { pk: { S: 'x' }, sk: { S: '1' } } },
      { table: a, put: { pk: { S: 'y' }, sk: { S: '1' } } },
      { table: a, delete: { pk: { S: 'x' }, sk: { S: '1' } } },
    ]
    const error = await batchWrite(faulty, entries, { keyAttributes: { [a]: ['pk', 'sk'] } }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DynamoInputError)
    expect((error as DynamoInputError).code).toBe('DYNAMO_DUPLICATE_KEY')
    expect((error as Error).message).toContain('entries 0 and 2')
    expect(faulty.sent).toEqual([])
    expect(await countItems(a)).toBe(0)
  })

  it('reads the key schema with DescribeTable when keyAttributes is not given', async () => {
    const a = await table(true)
    const error = await batchWrite(client, [
      { table: a, put: { pk: { S: 'x' }, sk: { S: '1' }, v: { N: '1' } } },
      { table: a, put: { pk: { S: 'x' }, sk: { S: '1' }, v: { N: '2' } } },
    ]).catch((e: unknown) => e)
    expect((error as DynamoInputError).code).toBe('DYNAMO_DUPLICATE_KEY')
  })

  it('names a malformed entry before sending', async () => {
    const faulty = faultyClient(client, [])
    const bad = [{ table: 'x', put: { pk: { S: 'a' } }, delete: { pk: { S: 'a' } } }] as unknown as BatchWriteEntry[]
    await expect(batchWrite(faulty, bad)).rejects.toThrow(/entry 0 must have exactly one of put/)
    await expect(batchWrite(faulty, [], { concurrency: 0 })).rejects.toThrow(/concurrency must be an integer >= 1, got 0/)
    expect(faulty.sent).toEqual([])
  })

  it('reports a request DynamoDB rejects as failed, with the cause, and keeps the other chunks', async () => {
    const a = await table()
    const entries: BatchWriteEntry[] = [...puts(a, 25), { table: a, put: { pk: { S: 'bad' }, n: { S: '' }, empty: { SS: [] } } }]
    const error = (await batchWrite(client, entries, { keyAttributes: { [a]: ['pk'] } }).catch((e: unknown) => e)) as BatchIncompleteError
    expect(error).toBeInstanceOf(BatchIncompleteError)
    expect(error.retryable).toBe(false)
    expect(error.completed).toBe(25)
    expect(error.unprocessed).toHaveLength(1)
    expect(error.unprocessed[0]).toMatchObject({ index: 25, reason: 'failed' })
    expect(isTesseraError(error.unprocessed[0]?.error)).toBe(true)
    expect(await countItems(a)).toBe(25)
  })

  it('stops on abort: entries not yet sent are reported aborted', async () => {
    const a = await table()
    const controller = new AbortController()
    const faulty = faultyClient(client, [
      { kind: 'throw', name: 'ProvisionedThroughputExceededException', times: 1000, command: 'BatchWriteItem' },
    ])
    const run = batchWrite(faulty, puts(a, 30), { retry: { maxAttempts: 1000, baseDelayMs: 5, maxDelayMs: 20 }, signal: controller.signal })
    setTimeout(() => controller.abort(), 50)
    const error = (await run.catch((e: unknown) => e)) as BatchIncompleteError
    expect(error).toBeInstanceOf(BatchIncompleteError)
    expect(error.unprocessed).toHaveLength(30)
    expect(error.unprocessed.every((u) => u.reason === 'aborted')).toBe(true)
  })
})

describe('batchGet', () => {
  it('reads 250 keys in 100-key requests and returns results in the order asked, misses as undefined', async () => {
    const a = await table()
    await batchWrite(client, puts(a, 240))
    const keys = Array.from({ length: 250 }, (_, i) => ({ table: a, key: { pk: { S: `item#${249 - i}` } } }))
    const result = await batchGet(client, keys)
    expect(result.requests).toBe(3)
    expect(result.results).toHaveLength(250)
    expect(result.results.slice(0, 10).every((r) => r.item === undefined)).toBe(true)
    expect(result.results[10]?.item).toEqual({ pk: { S: 'item#239' }, n: { N: '239' } })
    expect(result.results[249]?.item).toEqual({ pk: { S: 'item#0' }, n: { N: '0' } })
    expect(result.items).toHaveLength(240)
  })

  it('retries UnprocessedKeys and throttling, reads a duplicate key once, honours attributes and consistency', async () => {
    const a = await table()
    await batchWrite(client, puts(a, 20))
    const faulty = faultyClient(client, [
      { kind: 'throw', name: 'ProvisionedThroughputExceededException', times: 1, command: 'BatchGetItem' },
      { kind: 'unprocess', times: 2, keep: 4, command: 'BatchGetItem' },
    ])
    const keys = [
      ...Array.from({ length: 20 }, (_, i) => ({ table: a, key: { pk: { S: `item#${i}` } } })),
      { table: a, key: { pk: { S: 'item#3' } } },
    ]
    const result = await batchGet(faulty, keys, { retry: fast, tables: { [a]: { consistentRead: true, attributes: ['pk'] } } })
    expect(result.results.map((r) => r.item?.pk?.S)).toEqual([...Array.from({ length: 20 }, (_, i) => `item#${i}`), 'item#3'])
    expect(result.results[0]?.item).toEqual({ pk: { S: 'item#0' } })
    expect(result.requests).toBe(4)
  })

  it('reports keys left unprocessed when the budget runs out', async () => {
    const a = await table()
    await batchWrite(client, puts(a, 5))
    const faulty = faultyClient(client, [{ kind: 'unprocess', times: 100, keep: 2, command: 'BatchGetItem' }])
    const keys = Array.from({ length: 5 }, (_, i) => ({ table: a, key: { pk: { S: `item#${i}` } } }))
    const result = await batchGet(faulty, keys, { retry: { ...fast, maxAttempts: 2 }, allowUnprocessed: true })
    expect(result.unprocessed.map((u) => [u.index, u.reason])).toEqual([[4, 'unprocessed']])
    expect(result.results.filter((r) => r.item !== undefined)).toHaveLength(4)
  })
})
