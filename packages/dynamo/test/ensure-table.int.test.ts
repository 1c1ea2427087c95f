import {
  DeleteTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb'
import { isTesseraError } from '@tessera/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { uniqueName } from '../../../tooling/test-services/env'
import { type DataMigration, DynamoInputError, ensureTable, migrateData, type TableDefinition } from '../src/index'
import { localClient } from './dynamodb-local'

let client: DynamoDBClient
const created: string[] = []

beforeAll(() => {
  client = localClient()
})
afterAll(async () => {
  await Promise.all(created.map((TableName) => client.send(new DeleteTableCommand({ TableName })).catch(() => {})))
  client.destroy()
})

function definition(overrides: Partial<TableDefinition> = {}): TableDefinition {
  const name = uniqueName('ens')
  created.push(name)
  return { name, partitionKey: { name: 'pk', type: 'S' }, sortKey: { name: 'sk', type: 'S' }, ...overrides }
}

describe('ensureTable', () => {
  it('keeps waiting through a server error while it polls, and still fails on an error that is not transient', async () => {
    let describes = 0
    const flaky = {
      send(command: object, options?: unknown) {
        // The second DescribeTable (the first poll while the table is created) answers 500, as DynamoDB does at times.
        if (command instanceof DescribeTableCommand && ++describes === 2) {
          return Promise.reject(
            Object.assign(new Error('internal failure'), { name: 'InternalFailure', $metadata: { httpStatusCode: 500 } }),
          )
        }
        return client.send(command as never, options as never)
      },
    }
    const table = definition()
    const result = await ensureTable(flaky as unknown as DynamoDBClient, table, { pollIntervalMs: 50 })
    expect(result.changes.length).toBeGreaterThan(0)
    expect(describes).toBeGreaterThan(2)

    const broken = {
      send(command: object, options?: unknown) {
        if (command instanceof DescribeTableCommand) {
          return Promise.reject(
            Object.assign(new Error('no access'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } }),
          )
        }
        return client.send(command as never, options as never)
      },
    }
    await expect(ensureTable(broken as unknown as DynamoDBClient, definition(), { pollIntervalMs: 50 })).rejects.toSatisfy(isTesseraError)
  })

  it('creates the table with its indexes, stream and TTL, then changes nothing on a second run', async () => {
    const table = definition({
      globalIndexes: [{ name: 'byEmail', partitionKey: { name: 'email', type: 'S' } }],
      localIndexes: [{ name: 'byCreated', sortKey: { name: 'createdAt', type: 'S' }, projection: { type: 'KEYS_ONLY' } }],
    })
    const first = await ensureTable(client, table, { ttl: 'expiresAt', streams: 'NEW_AND_OLD_IMAGES', pollIntervalMs: 50 })
    expect(first.changes).toEqual([
      { type: 'create-table', table: table.name },
      { type: 'enable-stream', table: table.name, viewType: 'NEW_AND_OLD_IMAGES' },
      { type: 'enable-ttl', table: table.name, attribute: 'expiresAt' },
    ])
    expect(first.streamArn).toMatch(/stream/)
    const described = (await client.send(new DescribeTableCommand({ TableName: table.name }))).Table
    expect(described?.GlobalSecondaryIndexes?.map((i) => i.IndexName)).toEqual(['byEmail'])
    expect(described?.LocalSecondaryIndexes?.map((i) => i.IndexName)).toEqual(['byCreated'])
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: table.name }))
    expect(ttl.TimeToLiveDescription).toMatchObject({ AttributeName: 'expiresAt', TimeToLiveStatus: 'ENABLED' })

    const second = await ensureTable(client, table, { ttl: 'expiresAt', streams: 'NEW_AND_OLD_IMAGES', pollIntervalMs: 50 })
    expect(second.changes).toEqual([])
    expect(second.streamArn).toBe(first.streamArn)
  })

  it('adds missing global indexes one at a time, each ACTIVE before the next, keeping the data', async () => {
    const table = definition()
    await ensureTable(client, table, { pollIntervalMs: 50 })
    await client.send(new PutItemCommand({ TableName: table.name, Item: { pk: { S: 'a' }, sk: { S: '1' }, email: { S: 'a@x' } } }))
    const grown = {
      ...table,
      globalIndexes: [
        { name: 'byEmail', partitionKey: { name: 'email', type: 'S' as const } },
        {
          name: 'byStatus',
          partitionKey: { name: 'status', type: 'S' as const },
          sortKey: { name: 'n', type: 'N' as const },
          projection: { type: 'INCLUDE' as const, attributes: ['email'] },
        },
      ],
    }
    const result = await ensureTable(client, grown, { pollIntervalMs: 50 })
    expect(result.changes).toEqual([
      { type: 'add-index', table: table.name, index: 'byEmail' },
      { type: 'add-index', table: table.name, index: 'byStatus' },
    ])
    const described = (await client.send(new DescribeTableCommand({ TableName: table.name }))).Table
    expect(described?.GlobalSecondaryIndexes?.map((i) => [i.IndexName, i.IndexStatus]).sort()).toEqual([
      ['byEmail', 'ACTIVE'],
      ['byStatus', 'ACTIVE'],
    ])
    expect((await client.send(new GetItemCommand({ TableName: table.name, Key: { pk: { S: 'a' }, sk: { S: '1' } } }))).Item?.email).toEqual(
      { S: 'a@x' },
    )
    expect((await ensureTable(client, grown, { pollIntervalMs: 50 })).changes).toEqual([])
  })

  it('turns the stream on for an existing table, and refuses TTL on a second attribute', async () => {
    const table = definition()
    await ensureTable(client, table, { ttl: 'expiresAt', pollIntervalMs: 50 })
    const result = await ensureTable(client, table, { streams: 'NEW_IMAGE', ttl: 'expiresAt', pollIntervalMs: 50 })
    expect(result.changes).toEqual([{ type: 'enable-stream', table: table.name, viewType: 'NEW_IMAGE' }])
    expect(result.streamArn).toMatch(/stream/)
    await expect(ensureTable(client, table, { ttl: 'deleteAt', pollIntervalMs: 50 })).rejects.toThrow(
      /has TTL on "expiresAt", not "deleteAt"/,
    )
    await expect(ensureTable(client, table, { streams: 'KEYS_ONLY', pollIntervalMs: 50 })).rejects.toThrow(
      /its stream is NEW_IMAGE, not KEYS_ONLY/,
    )
  })

  it('creates a provisioned table with its capacity on the table and each index', async () => {
    const table = definition({ globalIndexes: [{ name: 'byX', partitionKey: { name: 'x', type: 'N' } }] })
    await ensureTable(client, table, { billing: { readCapacity: 3, writeCapacity: 2 }, pollIntervalMs: 50 })
    const described = (await client.send(new DescribeTableCommand({ TableName: table.name }))).Table
    expect(described?.ProvisionedThroughput).toMatchObject({ ReadCapacityUnits: 3, WriteCapacityUnits: 2 })
    expect(described?.GlobalSecondaryIndexes?.[0]?.ProvisionedThroughput).toMatchObject({ ReadCapacityUnits: 3, WriteCapacityUnits: 2 })
  })

  it('refuses what it cannot change before changing anything', async () => {
    const table = definition()
    await ensureTable(client, table, { pollIntervalMs: 50 })
    const other = {
      ...table,
      sortKey: { name: 'other', type: 'N' as const },
      globalIndexes: [{ name: 'byX', partitionKey: { name: 'x', type: 'S' as const } }],
    }
    const error = (await ensureTable(client, other).catch((e: unknown) => e)) as DynamoInputError
    expect(error).toBeInstanceOf(DynamoInputError)
    expect(error.message).toContain('key schema')
    const described = (await client.send(new DescribeTableCommand({ TableName: table.name }))).Table
    expect(described?.GlobalSecondaryIndexes).toBeUndefined()
    await expect(ensureTable(client, { ...table, localIndexes: [{ name: 'late', sortKey: { name: 'z', type: 'S' } }] })).rejects.toThrow(
      /local index late is missing; DynamoDB only creates local indexes with the table/,
    )
    await expect(ensureTable(client, { name: 'x', partitionKey: { name: 'pk', type: 'Q' as 'S' } })).rejects.toThrow(
      /partitionKey.type must be 'S', 'N' or 'B', got "Q"/,
    )
    await expect(ensureTable(client, { ...table, globalIndexes: [{ name: 'g', partitionKey: { name: 'x', type: 'S' } }] })).rejects.toThrow(
      /globalIndexes\[0\].name must be 3-255 characters/,
    )
  })
})

describe('migrateData', () => {
  async function migrationTable(): Promise<string> {
    const table = definition()
    await ensureTable(client, table, { pollIntervalMs: 50 })
    return table.name
  }

  function counting(table: string, version: number): DataMigration {
    const bump = (delta: number) => async () => {
      await client.send(
        new UpdateItemCommand({
          TableName: table,
          Key: { pk: { S: 'counter' }, sk: { S: String(version) } },
          UpdateExpression: 'ADD runs :d',
          ExpressionAttributeValues: { ':d': { N: String(delta) } },
        }),
      )
      // Long enough that a second runner arrives while this one holds the lock.
      await new Promise((resolve) => setTimeout(resolve, 30))
    }
    return { version, name: `bump ${version}`, up: bump(1), down: bump(-1) }
  }

  async function runs(table: string, version: number): Promise<number> {
    const item = (
      await client.send(
        new GetItemCommand({ TableName: table, Key: { pk: { S: 'counter' }, sk: { S: String(version) } }, ConsistentRead: true }),
      )
    ).Item
    return Number(item?.runs?.N ?? 0)
  }

  it('applies pending migrations in order once, records them, and reverts with down', async () => {
    const table = await migrationTable()
    const migrations = [counting(table, 2), counting(table, 1)]
    expect(await migrateData(client, { table, migrations })).toEqual({
      ran: [
        { version: 1, name: 'bump 1' },
        { version: 2, name: 'bump 2' },
      ],
      applied: [1, 2],
    })
    expect(await migrateData(client, { table, migrations })).toEqual({ ran: [], applied: [1, 2] })
    expect(await migrateData(client, { table, migrations, direction: 'down', to: 1 })).toEqual({
      ran: [{ version: 2, name: 'bump 2' }],
      applied: [1],
    })
    expect([await runs(table, 1), await runs(table, 2)]).toEqual([1, 0])
  })

  it('two runners racing apply each migration exactly once', async () => {
    const table = await migrationTable()
    const migrations = [counting(table, 1), counting(table, 2), counting(table, 3)]
    const [a, b] = await Promise.all([
      migrateData(client, { table, migrations, runnerId: 'a' }),
      migrateData(client, { table, migrations, runnerId: 'b' }),
    ])
    expect([...a.ran, ...b.ran].map((m) => m.version).sort()).toEqual([1, 2, 3])
    // The lock is held for a whole run: the runner that waited finds everything recorded.
    expect([a.ran.length, b.ran.length].sort()).toEqual([0, 3])
    expect(a.applied).toEqual([1, 2, 3])
    expect(b.applied).toEqual([1, 2, 3])
    expect([await runs(table, 1), await runs(table, 2), await runs(table, 3)]).toEqual([1, 1, 1])
  })

  it('stops at a failing migration with a named error, keeps the earlier ones recorded and frees the lock', async () => {
    const table = await migrationTable()
    const failing: DataMigration = {
      version: 2,
      name: 'breaks',
      up: async () => {
        throw new Error('boom')
      },
    }
    const error = await migrateData(client, { table, migrations: [counting(table, 1), failing] }).catch((e: unknown) => e)
    expect(isTesseraError(error) && error.code).toBe('DYNAMO_MIGRATION_FAILED')
    expect((error as Error).message).toContain('data migration 2 (breaks) failed going up: boom')
    const fixed = await migrateData(client, { table, migrations: [counting(table, 1), counting(table, 2)], lockWaitMs: 5_000 })
    expect(fixed).toEqual({ ran: [{ version: 2, name: 'bump 2' }], applied: [1, 2] })
    await expect(
      migrateData(client, { table, migrations: [counting(table, 1), { version: 1, name: 'x', up: async () => {} }] }),
    ).rejects.toThrow(/migration version 1 appears twice/)
  })
})
