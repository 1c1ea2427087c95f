import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CreateTableCommand, DynamoDBClient, PutItemCommand, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DYNAMODB_LOCAL_CREDENTIALS, DYNAMODB_LOCAL_REGION, DYNAMODB_URL_ENV } from '../../../tooling/test-services'
import { runTessera, tempProject, uniqueName } from './helpers'
import { typeCheck } from './type-check'

const endpoint = (): string => {
  const url = process.env[DYNAMODB_URL_ENV]
  if (url === undefined) throw new Error(`${DYNAMODB_URL_ENV} is not set: the dynamodb global setup did not run`)
  return url
}
/** The CLI's environment for DynamoDB Local: endpoint, region and its dummy credentials. */
const dynamoEnv = () => ({
  TESSERA_DYNAMO_ENDPOINT: endpoint(),
  TESSERA_DYNAMO_REGION: DYNAMODB_LOCAL_REGION,
  AWS_ACCESS_KEY_ID: DYNAMODB_LOCAL_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: DYNAMODB_LOCAL_CREDENTIALS.secretAccessKey,
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
})

let client: DynamoDBClient
const table = uniqueName('cli_orders')

beforeAll(async () => {
  client = new DynamoDBClient({ endpoint: endpoint(), region: DYNAMODB_LOCAL_REGION, credentials: { ...DYNAMODB_LOCAL_CREDENTIALS } })
  await client.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'customerId', AttributeType: 'S' },
        { AttributeName: 'orderNo', AttributeType: 'N' },
        { AttributeName: 'status', AttributeType: 'S' },
        { AttributeName: 'placed_at', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'customerId', KeyType: 'HASH' },
        { AttributeName: 'orderNo', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'byStatus',
          KeySchema: [
            { AttributeName: 'status', KeyType: 'HASH' },
            { AttributeName: 'placed_at', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['total'] },
        },
      ],
      LocalSecondaryIndexes: [
        {
          IndexName: 'byPlacedAt',
          KeySchema: [
            { AttributeName: 'customerId', KeyType: 'HASH' },
            { AttributeName: 'placed_at', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ],
    }),
  )
  await client.send(new UpdateTimeToLiveCommand({ TableName: table, TimeToLiveSpecification: { Enabled: true, AttributeName: 'expires' } }))
  for (let orderNo = 1; orderNo <= 3; orderNo++) {
    await client.send(
      new PutItemCommand({
        TableName: table,
        Item: {
          customerId: { S: 'c1' },
          orderNo: { N: String(orderNo) },
          status: { S: orderNo === 3 ? 'open' : 'shipped' },
          placed_at: { S: `2025-01-0${orderNo}T00:00:00Z` },
          total: { N: String(orderNo * 10) },
          lines: { L: [{ S: 'x' }] },
          paid: { BOOL: orderNo !== 3 },
          ...(orderNo === 1 ? { note: { S: 'gift' } } : {}),
          expires: { N: '1900000000' },
        },
      }),
    )
  }
}, 120_000)

afterAll(() => client?.destroy())

describe('tessera generate dynamo', () => {
  it('writes a defineModel for a table (keys, GSI, LSI, TTL, sampled attributes) that compiles and reads its items', async () => {
    const cwd = tempProject()
    const run = await runTessera(['generate', 'dynamo', '--table', table, '--sample', '10', '--name', 'Order', '--out', 'src/models.ts'], {
      cwd,
      env: dynamoEnv(),
    })
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(run.stdout).toBe(`wrote model Order to ${join(cwd, 'src/models.ts')}\n`)
    const code = readFileSync(join(cwd, 'src/models.ts'), 'utf8')
    expect(code).toContain('customerId: field.string(),')
    expect(code).toContain('orderNo: field.number(),')
    expect(code).toContain("placedAt: field.string().attribute('placed_at'),")
    expect(code).toContain('note: field.string().optional(),')
    expect(code).toContain('expires: field.ttl(),')
    expect(code).toContain('lines: field.list(),')
    expect(code).toContain('paid: field.boolean(),')
    expect(code).toContain("keys: { partition: 'customerId', sort: 'orderNo' },")
    expect(code).toContain("byStatus: { type: 'gsi', partition: 'status', sort: 'placedAt', projection: ['total'] },")
    expect(code).toContain("byPlacedAt: { type: 'lsi', partition: 'customerId', sort: 'placedAt', projection: 'keys' },")
    expect(code).toContain('entity: false,')

    // It compiles, and it works: read an item through the generated model.
    writeFileSync(
      join(cwd, 'src/read.ts'),
      `import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { createDynamo } from '@tessera/dynamo'
import { Order } from './models.js'
const client = new DynamoDBClient({ endpoint: process.env.TESSERA_DYNAMO_ENDPOINT ?? '', region: 'us-east-1' })
const db = createDynamo({ client })
const order = await db.model(Order).get({ customerId: 'c1', orderNo: 1 })
const status: string | undefined = order?.status
console.log(JSON.stringify({ status, note: order?.note, total: order?.total }))
`,
    )
    const compiled = await typeCheck(cwd, ['src/models.ts', 'src/read.ts'], ['node'])
    expect(compiled.output).toBe('')
    const read = await runNode(cwd, 'src/read.ts')
    expect(read).toEqual({ status: 'shipped', note: 'gift', total: 10 })
  })

  it('says which table is missing, with exit code 2', async () => {
    const run = await runTessera(['generate', 'dynamo', '--table', 'nope_missing'], { cwd: tempProject(), env: dynamoEnv() })
    expect(run.code).toBe(2)
    expect(run.stderr.trim()).toBe(`error: no DynamoDB table nope_missing at ${endpoint()}`)
  })
})

describe('tessera explain dynamo', () => {
  const models = `import { defineModel, field } from '@tessera/dynamo'
export const Order = defineModel('Order', {
  customerId: field.string(), orderNo: field.number(), status: field.string(), placedAt: field.string().attribute('placed_at'), total: field.number().optional(),
}, {
  table: ${JSON.stringify(table)},
  keys: { partition: 'customerId', sort: 'orderNo' },
  indexes: { byStatus: { type: 'gsi', partition: 'status', sort: 'placedAt', projection: ['total'] } },
  entity: false,
})
`

  it('prints the explanation of a script operation as a table, and as JSON', async () => {
    const cwd = tempProject({
      'src/models.ts': models,
      'ops/open.ts': `import type { Dynamo } from '@tessera/dynamo'\nimport { Order } from '../src/models.js'\nexport default (db: Dynamo) => db.model(Order).query().where({ status: 'open' }).limit(20)\n`,
    })
    const table = await runTessera(['explain', 'dynamo', '--script', 'ops/open.ts'], { cwd, env: dynamoEnv() })
    expect(table.stderr).toBe('')
    expect(table.code).toBe(0)
    expect(table.stdout).toMatch(/│ operation\s*│ Query/)
    expect(table.stdout).toMatch(/│ index\s*│ byStatus/)
    expect(table.stdout).toMatch(/│ items assumed\s*│ 20/)
    const json = await runTessera(['explain', 'dynamo', '--script', 'ops/open.ts', '--json', '--analyze'], { cwd, env: dynamoEnv() })
    expect(json.code).toBe(0)
    const explanation = JSON.parse(json.stdout)
    expect(explanation).toMatchObject({ operation: 'Query', index: 'byStatus', capacity: { unit: 'read' } })
    expect(explanation.actual).toMatchObject({ count: 1 })
  })

  it('explains an inline expression over --models, and names the models in scope when it fails', async () => {
    const cwd = tempProject({ 'src/models.ts': models })
    const run = await runTessera(
      ['explain', 'dynamo', '--models', 'src/models.ts', "Order.query().where({ customerId: 'c1' })", '--json'],
      { cwd, env: dynamoEnv() },
    )
    expect(run.stderr).toBe('')
    const explanation = JSON.parse(run.stdout)
    expect(explanation).toMatchObject({ operation: 'Query', table, keyCondition: expect.any(String) })
    expect(explanation.index).toBeUndefined()
    const bad = await runTessera(['explain', 'dynamo', '--models', 'src/models.ts', 'User.query()'], { cwd, env: dynamoEnv() })
    expect(bad.code).toBe(2)
    expect(bad.stderr.trim()).toBe('error: "User.query()" failed: User is not defined; models in scope: Order')
    const none = await runTessera(['explain', 'dynamo'], { cwd, env: dynamoEnv() })
    expect(none.code).toBe(2)
    expect(none.stderr).toMatch(/^error: give an operation: --script <file>/)
  })

  it('reports DynamoDB as up in health', async () => {
    const run = await runTessera(['health', '--json'], { cwd: tempProject(), env: dynamoEnv() })
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout).checks).toEqual([
      { kind: 'dynamo', name: 'default', target: endpoint().replace('http://', ''), ok: true, latencyMs: expect.any(Number) },
    ])
  })
})

/** Runs a TypeScript file with the CLI's own loader (jiti) and parses what it prints as JSON. */
async function runNode(cwd: string, file: string): Promise<unknown> {
  const { execFile } = await import('node:child_process')
  const jiti = (await import('node:module'))
    .createRequire(import.meta.url)
    .resolve('jiti/package.json')
    .replace(/package\.json$/, 'lib/jiti-cli.mjs')
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [jiti, join(cwd, file)], { cwd, env: { ...process.env, ...dynamoEnv() } }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`${error.message}\n${stderr}`))
      else resolve(JSON.parse(stdout))
    })
  })
}
