// @tessera/dynamo against what people use instead: building the request parameters of put / get / query / update
// (no I/O) against a hand-written params object + marshall, ElectroDB's `.params()` and DynamoDB-Toolbox's
// `.params()`; end-to-end get and query against the raw SDK on DynamoDB Local; and the time to import the package
// against importing the SDK itself.
import { spawnSync } from 'node:child_process'
import { loadavg } from 'node:os'
import {
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { marshall } from '@aws-sdk/util-dynamodb'
import { createDynamo, defineModel, field } from '@tessera/dynamo'
import {
  item,
  number,
  string,
  Table,
  Entity as ToolboxEntity,
  GetItemCommand as ToolboxGet,
  PutItemCommand as ToolboxPut,
  QueryCommand as ToolboxQuery,
  UpdateItemCommand as ToolboxUpdate,
} from 'dynamodb-toolbox'
import { Entity as ElectroEntity } from 'electrodb'
import { startDynamoDbLocal } from '../../tooling/test-services/dynamodb-local'
import { compare, consume, type GroupResult, writeReport } from './harness'

const TABLE = 'bench_app'
const user = { id: 'u-42', email: 'ada@example.test', name: 'Ada Lovelace', org: 'acme', logins: 7 }

const User = defineModel(
  'User',
  { id: field.string(), email: field.string(), name: field.string(), org: field.string(), logins: field.number() },
  {
    table: TABLE,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: key templates
    keys: { partition: { attribute: 'pk', template: 'USER#${id}' }, sort: { attribute: 'sk', template: 'PROFILE' } },
    indexes: {
      gsi1: {
        type: 'gsi',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: key templates
        partition: { attribute: 'gsi1pk', template: 'ORG#${org}' },
        // biome-ignore lint/suspicious/noTemplateCurlyInString: key templates
        sort: { attribute: 'gsi1sk', template: 'USER#${name}' },
      },
    },
  },
)

function handPut() {
  return {
    TableName: TABLE,
    Item: marshall({
      pk: `USER#${user.id}`,
      sk: 'PROFILE',
      gsi1pk: `ORG#${user.org}`,
      gsi1sk: `USER#${user.name}`,
      _entity: 'User',
      ...user,
    }),
  }
}
function handGet() {
  return { TableName: TABLE, Key: marshall({ pk: `USER#${user.id}`, sk: 'PROFILE' }) }
}
function handQuery() {
  return {
    TableName: TABLE,
    IndexName: 'gsi1',
    KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :sk)',
    FilterExpression: '#e = :e',
    ExpressionAttributeNames: { '#pk': 'gsi1pk', '#sk': 'gsi1sk', '#e': '_entity' },
    ExpressionAttributeValues: marshall({ ':pk': `ORG#${user.org}`, ':sk': 'USER#A', ':e': 'User' }),
  }
}
function handUpdate() {
  return {
    TableName: TABLE,
    Key: marshall({ pk: `USER#${user.id}`, sk: 'PROFILE' }),
    UpdateExpression: 'SET #n = :n, #g = :g ADD #l :l',
    ConditionExpression: 'attribute_exists(#pk)',
    ExpressionAttributeNames: { '#n': 'name', '#g': 'gsi1sk', '#l': 'logins', '#pk': 'pk' },
    ExpressionAttributeValues: marshall({ ':n': 'Ada L.', ':g': 'USER#Ada L.', ':l': 1 }),
    ReturnValues: 'ALL_NEW',
  }
}

function electro(client: DynamoDBDocumentClient) {
  return new ElectroEntity(
    {
      model: { entity: 'User', version: '1', service: 'app' },
      attributes: {
        id: { type: 'string', required: true },
        email: { type: 'string', required: true },
        name: { type: 'string', required: true },
        org: { type: 'string', required: true },
        logins: { type: 'number' },
      },
      indexes: {
        primary: { pk: { field: 'pk', composite: ['id'] }, sk: { field: 'sk', composite: [] } },
        byOrg: { index: 'gsi1', pk: { field: 'gsi1pk', composite: ['org'] }, sk: { field: 'gsi1sk', composite: ['name'] } },
      },
    },
    { table: TABLE, client },
  )
}

function toolbox(documentClient: DynamoDBDocumentClient) {
  const table = new Table({
    name: TABLE,
    partitionKey: { name: 'pk', type: 'string' },
    sortKey: { name: 'sk', type: 'string' },
    indexes: { gsi1: { type: 'global', partitionKey: { name: 'gsi1pk', type: 'string' }, sortKey: { name: 'gsi1sk', type: 'string' } } },
    documentClient,
  })
  const entity = new ToolboxEntity({
    name: 'User',
    table,
    schema: item({
      id: string().key(),
      email: string(),
      name: string(),
      org: string(),
      logins: number(),
    }),
    computeKey: ({ id }) => ({ pk: `USER#${id}`, sk: 'PROFILE' }),
  })
  return { table, entity }
}

async function paramBuilding(): Promise<GroupResult[]> {
  const raw = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  })
  const doc = DynamoDBDocumentClient.from(raw)
  const db = createDynamo({ client: raw })
  const users = db.model(User)
  const electroUser = electro(doc)
  const { table, entity } = toolbox(doc)
  const options = { opsPerSample: 2_000, rounds: 60, warmupRounds: 10 }
  const groups: GroupResult[] = []
  groups.push(
    await compare(
      'build PutItem params (one user, composed keys of the table and one GSI)',
      [
        { name: 'hand-written params + marshall', fn: () => consume(handPut()) },
        { name: '@tessera/dynamo params.put', fn: () => consume(users.params.put(user)) },
        { name: 'ElectroDB put().params()', fn: () => consume(electroUser.put(user).params()) },
        { name: 'DynamoDB-Toolbox PutItemCommand.params()', fn: () => consume(entity.build(ToolboxPut).item(user).params()) },
      ],
      options,
    ),
  )
  groups.push(
    await compare(
      'build GetItem params',
      [
        { name: 'hand-written params + marshall', fn: () => consume(handGet()) },
        { name: '@tessera/dynamo params.get', fn: () => consume(users.params.get({ id: user.id })) },
        { name: 'ElectroDB get().params()', fn: () => consume(electroUser.get({ id: user.id }).params()) },
        { name: 'DynamoDB-Toolbox GetItemCommand.params()', fn: () => consume(entity.build(ToolboxGet).key({ id: user.id }).params()) },
      ],
      options,
    ),
  )
  groups.push(
    await compare(
      'build Query params (GSI, partition = org, sort begins with a name prefix)',
      [
        { name: 'hand-written params + marshall', fn: () => consume(handQuery()) },
        {
          name: '@tessera/dynamo query().params() (index chosen automatically)',
          fn: () =>
            consume(
              users
                .query()
                .where({ org: user.org, name: { beginsWith: 'A' } })
                .params(),
            ),
        },
        {
          name: 'ElectroDB query.byOrg().begins().params()',
          fn: () => consume(electroUser.query.byOrg({ org: user.org }).begins({ name: 'A' }).params()),
        },
        {
          name: 'DynamoDB-Toolbox QueryCommand.params()',
          fn: () =>
            consume(
              table
                .build(ToolboxQuery)
                .entities(entity)
                .query({ index: 'gsi1', partition: `ORG#${user.org}`, range: { beginsWith: 'USER#A' } })
                .params(),
            ),
        },
      ],
      options,
    ),
  )
  groups.push(
    await compare(
      'build UpdateItem params (set name, recompute the GSI sort key, add to a number)',
      [
        { name: 'hand-written params + marshall', fn: () => consume(handUpdate()) },
        {
          name: '@tessera/dynamo update().params()',
          fn: () => consume(users.update({ id: user.id }).set({ name: 'Ada L.' }).add('logins', 1).params()),
        },
        {
          name: 'ElectroDB update().set().add().params()',
          fn: () => consume(electroUser.update({ id: user.id }).set({ name: 'Ada L.', org: user.org }).add({ logins: 1 }).params()),
        },
        {
          name: 'DynamoDB-Toolbox UpdateItemCommand.params()',
          fn: () => consume(entity.build(ToolboxUpdate).item({ id: user.id, name: 'Ada L.' }).params()),
        },
      ],
      options,
    ),
  )
  raw.destroy()
  return groups
}

async function endToEnd(): Promise<GroupResult[]> {
  const local = await startDynamoDbLocal()
  const client = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: local.endpoint,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    maxAttempts: 1,
  })
  try {
    await client.send(
      new CreateTableCommand({
        TableName: TABLE,
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
        ],
      }),
    )
    await waitUntilTableExists({ client, maxWaitTime: 60 }, { TableName: TABLE })
    const db = createDynamo({ client })
    const users = db.model(User)
    for (let n = 0; n < 20; n++) await users.put({ ...user, id: `u-${n}`, name: `A${String(n).padStart(2, '0')}` })
    await client.send(new PutItemCommand(handPut()))
    const options = { opsPerSample: 20, rounds: 60, warmupRounds: 5 }
    const get = await compare(
      'end to end: GetItem of one user on DynamoDB Local',
      [
        {
          name: 'raw SDK GetItemCommand (item left marshalled)',
          fn: async () => consume((await client.send(new GetItemCommand(handGet()))).Item),
        },
        { name: '@tessera/dynamo get', fn: async () => consume(await users.get({ id: user.id })) },
      ],
      options,
    )
    const query = await compare(
      'end to end: Query of 20 users on a GSI on DynamoDB Local',
      [
        {
          name: 'raw SDK QueryCommand (items left marshalled)',
          fn: async () => consume((await client.send(new QueryCommand(handQuery()))).Items),
        },
        {
          name: '@tessera/dynamo query().all()',
          fn: async () =>
            consume(
              await users
                .query()
                .where({ org: user.org, name: { beginsWith: 'A' } })
                .all(),
            ),
        },
      ],
      options,
    )
    await client.send(new DeleteTableCommand({ TableName: TABLE }))
    return [get, query]
  } finally {
    client.destroy()
    await local.stop()
  }
}

const IMPORT_ROUNDS = 15

function importTime(): GroupResult {
  const measure = (specifier: string) => {
    const script = `const t=process.hrtime.bigint();await import(${JSON.stringify(specifier)});console.log(Number(process.hrtime.bigint()-t)/1e6)`
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: new URL('..', import.meta.url).pathname,
      encoding: 'utf8',
    })
    const ms = Number(result.stdout.trim())
    if (!Number.isFinite(ms)) throw new Error(`importing ${specifier} failed: ${result.stderr}`)
    return ms
  }
  // Interleaved (SDK, then ours, in each round), so a load change during the run hits both rows alike.
  const sdkSamples: number[] = []
  const tesseraSamples: number[] = []
  for (let round = 0; round < IMPORT_ROUNDS; round++) {
    sdkSamples.push(measure('@aws-sdk/client-dynamodb'))
    tesseraSamples.push(measure('@tessera/dynamo'))
  }
  const median = (samples: number[]) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)]!
  const sdk = median(sdkSamples)
  const tessera = median(tesseraSamples)
  const ms = (value: number) => ({ ms: [value], cpuUs: [value * 1000] })
  console.log(`import: SDK ${sdk.toFixed(1)} ms, @tessera/dynamo (with the SDK) ${tessera.toFixed(1)} ms`)
  return {
    title: `import time (median of ${IMPORT_ROUNDS} fresh processes each, interleaved; ms): SDK ${sdk.toFixed(1)} ms, @tessera/dynamo incl. SDK ${tessera.toFixed(1)} ms, difference ${(tessera - sdk).toFixed(1)} ms`,
    opsPerSample: 1,
    results: [
      {
        name: 'import @aws-sdk/client-dynamodb',
        opsPerSec: 1000 / sdk,
        p50Ns: sdk * 1e6,
        p99Ns: sdk * 1e6,
        ratio: 1,
        cpuUsPerOp: ms(sdk).cpuUs[0]!,
      },
      {
        name: 'import @tessera/dynamo (loads the SDK too)',
        opsPerSec: 1000 / tessera,
        p50Ns: tessera * 1e6,
        p99Ns: tessera * 1e6,
        ratio: sdk / tessera,
        cpuUsPerOp: ms(tessera).cpuUs[0]!,
      },
    ],
    // Round i of both: the SDK's i-th import and ours (wall time; the CPU column repeats it).
    samples: [sdkSamples, tesseraSamples].map((wall) => ({ ms: wall, cpuUs: wall.map((value) => value * 1000) })),
  }
}

const loadBefore = loadavg()[0] ?? 0
const groups = [...(await paramBuilding()), ...(await endToEnd()), importTime()]
const loadAfter = loadavg()[0] ?? 0
writeReport(
  'dynamo',
  'Parameter building (no I/O) against a hand-written params object + `marshall`, ElectroDB 3 and DynamoDB-Toolbox 2; end to end against the raw SDK on DynamoDB Local (Java, same machine); import time. ElectroDB and DynamoDB-Toolbox build DocumentClient params (plain values: the DocumentClient marshalls them later, at send time), so their rows leave out marshalling that the other rows include.',
  groups,
  [
    `Load average (1 min) of the 2-core machine: ${loadBefore.toFixed(1)} when the run began, ${loadAfter.toFixed(1)} when it ended${loadBefore > 1 || loadAfter > 1 ? ': the machine was shared with other jobs, absolute numbers are noisy; the ratios compare cases run interleaved in the same process' : ''}.`,
    'Import time: wall time of `await import()` in a fresh Node process, which includes loading the SDK for both rows; the CPU column there repeats the wall time. `yaml` (for `parseDms`) is loaded on the first DMS document, not at import: its cost (about 50 ms) moved to the first `parseDms` call.',
  ],
)
