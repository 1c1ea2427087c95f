import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { AbortError, isTesseraError } from '@tessera/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dynamoDbLocalClientConfig } from '../../../tooling/test-services/dynamodb-local'
import { endpointOf } from '../../../tooling/test-services/endpoint'
import { startTcpProxy, type TcpProxy } from '../../../tooling/test-services/tcp-proxy'
import { createDynamo, DynamoRequestError } from '../src/index'
import { dropTable, dynamoDbLocalEndpoint, localClient } from './dynamodb-local'
import { createAppTable, orderModel } from './model-fixtures'

let direct: DynamoDBClient
let proxied: DynamoDBClient
let proxy: TcpProxy
let table: string

beforeAll(async () => {
  direct = localClient()
  table = await createAppTable(direct)
  proxy = await startTcpProxy({ target: endpointOf(dynamoDbLocalEndpoint()) })
  proxied = new DynamoDBClient({ ...dynamoDbLocalClientConfig(`http://127.0.0.1:${proxy.port}`), maxAttempts: 1 })
})
afterAll(async () => {
  proxied.destroy()
  await proxy.close()
  await dropTable(direct, table)
  direct.destroy()
})

describe('faults', () => {
  it('a reply that never comes: the signal ends the wait with AbortError, and later calls work again', async () => {
    const db = createDynamo({ client: proxied })
    const orders = db.model(orderModel(table))
    await orders.create({ customer: 'f1', day: 'd', id: 'o', total: 1 })
    proxy.setMode('stall')
    const controller = new AbortController()
    const pending = orders.get({ customer: 'f1', day: 'd', id: 'o' }, { signal: controller.signal })
    setTimeout(() => controller.abort(new Error('caller gave up')), 300).unref()
    const error = await pending.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AbortError)
    proxy.setMode('pass')
    expect(await orders.get({ customer: 'f1', day: 'd', id: 'o' })).toMatchObject({ total: 1 })
  })

  it('an aborted signal sends nothing', async () => {
    const db = createDynamo({ client: direct })
    const before = db.stats().commands
    await expect(db.model(orderModel(table)).query().where({ customer: 'x' }).all({ signal: AbortSignal.abort() })).rejects.toBeInstanceOf(
      AbortError,
    )
    expect(db.stats().commands).toBe(before)
  })

  it('a connection reset is a DynamoRequestError the caller can inspect, never an unhandled rejection', async () => {
    const db = createDynamo({ client: proxied })
    proxy.setMode('reset')
    try {
      const error = await db
        .model(orderModel(table))
        .scan()
        .parallel(3)
        .all()
        .catch((e: unknown) => e)
      expect(isTesseraError(error)).toBe(true)
      expect(error).toBeInstanceOf(DynamoRequestError)
      expect((error as DynamoRequestError).retryable).toBe(true)
      expect(db.stats().failures).toBeGreaterThan(0)
    } finally {
      proxy.setMode('pass')
    }
  })
})
