import { CreateTableCommand, DeleteTableCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb'
import { expect, it } from 'vitest'
import { uniqueName } from '../../../tooling/test-services/env'
import { localClient } from './dynamodb-local'

it('reaches the DynamoDB Local of this run: a table created, an item written and read back', async () => {
  const client = localClient()
  const table = uniqueName('local')
  await client.send(
    new CreateTableCommand({
      TableName: table,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  )
  await client.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'a' }, n: { N: '1' } } }))
  const got = await client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'a' } } }))
  expect(got.Item).toEqual({ pk: { S: 'a' }, n: { N: '1' } })
  await client.send(new DeleteTableCommand({ TableName: table }))
  client.destroy()
})
