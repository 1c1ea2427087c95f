import { type DynamoDBClient, GetItemCommand, PutItemCommand, QueryCommand, ScanCommand } from '@aws-sdk/client-dynamodb'
import { isTesseraError } from '@tessera/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type AuditEvent,
  auditedClient,
  batchWrite,
  createTenantScope,
  DynamoInputError,
  tenantGuardedClient,
  transactWrite,
} from '../src/index'
import { createTestTable, dropTable, faultyClient, localClient } from './dynamodb-local'

let client: DynamoDBClient
let table: string

beforeAll(async () => {
  client = localClient()
  table = await createTestTable(client, { sort: true, prefix: 'ten' })
})
afterAll(async () => {
  await dropTable(client, table)
  client.destroy()
})

function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  )
}

describe('tenancy', () => {
  const acme = createTenantScope({ tenantId: 'acme', partitionKeys: ['pk'] })
  const globex = createTenantScope({ tenantId: 'globex', partitionKeys: ['pk'] })

  it('prefixes partition keys and strips them again', () => {
    expect(acme.scope({ pk: { S: 'USER#1' }, sk: { S: 'A' } })).toEqual({ pk: { S: 'acme#USER#1' }, sk: { S: 'A' } })
    expect(acme.unscope({ pk: { S: 'acme#USER#1' }, n: { N: '1' } })).toEqual({ pk: { S: 'USER#1' }, n: { N: '1' } })
    expect(() => acme.unscope({ pk: { S: 'globex#USER#1' } })).toThrow(/outside tenant "acme"/)
    expect(() => createTenantScope({ tenantId: 'ac#me', partitionKeys: ['pk'] })).toThrow(DynamoInputError)
    expect(() => acme.scope({ pk: { N: '1' } })).toThrow(/must be a string \(S\)/)
  })

  it('lets a tenant read and write its own items through the guarded client', async () => {
    const guarded = tenantGuardedClient(client, acme)
    await guarded.send(
      new PutItemCommand({ TableName: table, Item: acme.scope({ pk: { S: 'USER#1' }, sk: { S: 'PROFILE' }, name: { S: 'Ada' } }) }),
    )
    await batchWrite(guarded, [{ table, put: acme.scope({ pk: { S: 'USER#1' }, sk: { S: 'ORDER#1' } }) }], {
      keyAttributes: { [table]: ['pk', 'sk'] },
    })
    const got = await guarded.send(new GetItemCommand({ TableName: table, Key: acme.scope({ pk: { S: 'USER#1' }, sk: { S: 'PROFILE' } }) }))
    expect(acme.unscope(got.Item)).toEqual({ pk: { S: 'USER#1' }, sk: { S: 'PROFILE' }, name: { S: 'Ada' } })
    const page = await guarded.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: 'acme#USER#1' } },
      }),
    )
    expect(page.Items).toHaveLength(2)
  })

  it('refuses to send an unscoped or foreign key, and never returns another tenant’s items', async () => {
    await client.send(
      new PutItemCommand({ TableName: table, Item: globex.scope({ pk: { S: 'USER#1' }, sk: { S: 'PROFILE' }, secret: { S: 'g' } }) }),
    )
    const sent: string[] = []
    const guarded = tenantGuardedClient(client, acme)
    const recording = tenantGuardedClient(
      {
        send: (command, options) => {
          sent.push(String(command.constructor.name))
          return client.send(command, options)
        },
      },
      acme,
    )
    const foreignKey = await rejection(
      recording.send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'globex#USER#1' }, sk: { S: 'PROFILE' } } })),
    )
    expect(isTesseraError(foreignKey) && foreignKey.code).toBe('DYNAMO_TENANT_MISMATCH')
    expect(sent).toEqual([])

    // A query naming another tenant's partition goes out, but its items never come back.
    const query = await rejection(
      recording.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: 'globex#USER#1' } },
        }),
      ),
    )
    expect((query as Error).message).toMatch(/Query met an item outside tenant "acme" \(pk="globex#USER#1"\)/)
    const scan = await rejection(guarded.send(new ScanCommand({ TableName: table })))
    expect(isTesseraError(scan) && scan.code).toBe('DYNAMO_TENANT_MISMATCH')
  })
})

describe('audit hook', () => {
  it('reports each applied write with actor, action, key, before and after, and skips unprocessed items', async () => {
    const events: AuditEvent[] = []
    let actor = 'alice'
    const faulty = faultyClient(client, [{ kind: 'unprocess', times: 1, keep: 1, command: 'BatchWriteItem' }])
    const audited = auditedClient(faulty, {
      hook: (event) => void events.push(event),
      actor: () => actor,
      keyAttributes: { [table]: ['pk', 'sk'] },
    })
    const item = { pk: { S: 'audit' }, sk: { S: '1' }, v: { N: '1' } }
    await audited.send(new PutItemCommand({ TableName: table, Item: item }))
    actor = 'bob'
    await audited.send(new PutItemCommand({ TableName: table, Item: { ...item, v: { N: '2' } }, ReturnValues: 'ALL_OLD' }))
    expect(events.map((e) => [e.actor, e.operation, e.action])).toEqual([
      ['alice', 'PutItem', 'put'],
      ['bob', 'PutItem', 'put'],
    ])
    expect(events[1]).toMatchObject({ table, key: { pk: { S: 'audit' }, sk: { S: '1' } }, before: item, after: { ...item, v: { N: '2' } } })
    expect(events[1]?.at).toBeInstanceOf(Date)

    events.length = 0
    await batchWrite(
      audited,
      [
        { table, put: { pk: { S: 'audit' }, sk: { S: '2' } } },
        { table, delete: { pk: { S: 'audit' }, sk: { S: '1' } } },
      ],
      { keyAttributes: { [table]: ['pk', 'sk'] }, retry: { baseDelayMs: 1, maxDelayMs: 2 } },
    )
    // The first request wrote one entry and returned the other unprocessed; the retry wrote it.
    expect(events.map((e) => [e.operation, e.action, e.key?.sk?.S])).toEqual([
      ['BatchWriteItem', 'put', '2'],
      ['BatchWriteItem', 'delete', '1'],
    ])

    events.length = 0
    await transactWrite(audited, [
      { Put: { TableName: table, Item: { pk: { S: 'audit' }, sk: { S: '3' } } } },
      { ConditionCheck: { TableName: table, Key: { pk: { S: 'audit' }, sk: { S: '2' } }, ConditionExpression: 'attribute_exists(pk)' } },
    ])
    expect(events.map((e) => [e.operation, e.action, e.key?.sk?.S])).toEqual([['TransactWriteItems', 'put', '3']])

    events.length = 0
    const failed = await rejection(
      transactWrite(audited, [
        { ConditionCheck: { TableName: table, Key: { pk: { S: 'nope' }, sk: { S: '0' } }, ConditionExpression: 'attribute_exists(pk)' } },
        { Delete: { TableName: table, Key: { pk: { S: 'audit' }, sk: { S: '3' } } } },
      ]),
    )
    expect(isTesseraError(failed) && failed.code).toBe('DYNAMO_TRANSACTION_CANCELED')
    expect(events).toEqual([])
  })

  it('hands a failing hook to onHookError and still returns the applied write', async () => {
    const errors: unknown[] = []
    const audited = auditedClient(client, {
      hook: () => {
        throw new Error('audit sink down')
      },
      onHookError: (error) => errors.push(error),
    })
    await audited.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'audit' }, sk: { S: '9' } } }))
    expect((errors[0] as Error).message).toBe('audit sink down')
    const stored = await client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'audit' }, sk: { S: '9' } } }))
    expect(stored.Item).toBeDefined()
  })
})
