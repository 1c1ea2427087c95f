import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { answersListTables, type DynamoDbLocal, startDynamoDbLocal } from '../dynamodb-local'

describe('startDynamoDbLocal', () => {
  let local: DynamoDbLocal

  beforeAll(async () => {
    local = await startDynamoDbLocal()
  }, 180_000)

  afterAll(async () => {
    await local?.stop()
  })

  it('answers ListTables on 127.0.0.1 with a client config that names only loopback and dummy credentials', async () => {
    expect(local.running).toBe(true)
    expect(local.endpoint).toBe(`http://127.0.0.1:${local.port}`)
    expect(await answersListTables(local.port)).toBe(true)
    expect(local.clientConfig()).toEqual({
      endpoint: local.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'tessera', secretAccessKey: 'tessera' },
    })
    expect(process.env.AWS_EC2_METADATA_DISABLED).toBe('true')
  })

  it('stops: the port no longer answers and stop() is idempotent', async () => {
    const other = await startDynamoDbLocal()
    expect(await answersListTables(other.port)).toBe(true)
    await other.stop()
    expect(other.running).toBe(false)
    expect(await answersListTables(other.port, 1_000)).toBe(false)
    await other.stop()
  }, 180_000)
})
