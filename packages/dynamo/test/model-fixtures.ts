import { randomBytes } from 'node:crypto'
import { CreateTableCommand, type DynamoDBClient, waitUntilTableExists } from '@aws-sdk/client-dynamodb'
import { uniqueName } from '../../../tooling/test-services/env'
import { createLocalKeyProvider, defineModel, field, type ModelEncryptionOptions } from '../src/index'

/** The `encryption` option for models with encrypted fields (`userModel`'s `secret`): a local key provider. */
export function testEncryption(): ModelEncryptionOptions {
  return { keyProvider: createLocalKeyProvider({ masterKey: randomBytes(32) }) }
}

/**
 * A single-table design table: `pk`/`sk` strings, a GSI `gsi1` on `gsi1pk`/`gsi1sk`, a GSI `byEmail` on the plain
 * `email` attribute. Returns its name (unique per call).
 */
export async function createAppTable(client: DynamoDBClient): Promise<string> {
  const table = uniqueName('app')
  await client.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
        { AttributeName: 'gsi1pk', AttributeType: 'S' },
        { AttributeName: 'gsi1sk', AttributeType: 'S' },
        { AttributeName: 'email', AttributeType: 'S' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'gsi1',
          KeySchema: [
            { AttributeName: 'gsi1pk', KeyType: 'HASH' },
            { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
        { IndexName: 'byEmail', KeySchema: [{ AttributeName: 'email', KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' } },
      ],
    }),
  )
  await waitUntilTableExists({ client, maxWaitTime: 60 }, { TableName: table })
  return table
}

/** Users: `USER#id` / `PROFILE`, findable by email and by org (gsi1: `ORG#org` / `USER#name`). */
export function userModel(table: string) {
  return defineModel(
    'User',
    {
      id: field.string(),
      email: field.string(),
      name: field.string(),
      org: field.string(),
      status: field.string<'active' | 'disabled'>().optional(),
      tags: field.stringSet().optional().omitEmpty(),
      logins: field.number().optional(),
      history: field.list<string>().optional(),
      secret: field.string().optional().encrypted(),
      version: field.version(),
      createdAt: field.createdAt(),
      updatedAt: field.updatedAt(),
    },
    {
      table,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a key template, filled in by Tessera
      keys: { partition: { attribute: 'pk', template: 'USER#${id}' }, sort: { attribute: 'sk', template: 'PROFILE' } },
      indexes: {
        gsi1: {
          type: 'gsi',
          // biome-ignore lint/suspicious/noTemplateCurlyInString: a key template, filled in by Tessera
          partition: { attribute: 'gsi1pk', template: 'ORG#${org}' },
          // biome-ignore lint/suspicious/noTemplateCurlyInString: a key template, filled in by Tessera
          sort: { attribute: 'gsi1sk', template: 'USER#${name}' },
        },
        byEmail: { type: 'gsi', partition: 'email' },
      },
    },
  )
}

/** Orders in the same table: `CUST#customer` / `ORDER#day#id`. */
export function orderModel(table: string) {
  return defineModel(
    'Order',
    {
      customer: field.string(),
      day: field.string(),
      id: field.string(),
      total: field.number(),
      note: field.string().optional(),
    },
    {
      table,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a key template, filled in by Tessera
      keys: { partition: { attribute: 'pk', template: 'CUST#${customer}' }, sort: { attribute: 'sk', template: 'ORDER#${day}#${id}' } },
    },
  )
}
