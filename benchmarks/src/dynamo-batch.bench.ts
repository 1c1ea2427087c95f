// The engines of @tessera/dynamo against the raw AWS SDK on DynamoDB Local (started here, in memory): a batch write of
// 100 items (4 BatchWriteItem requests, run 4 at a time in both cases), a batch get of 100 keys (one BatchGetItem),
// and a transaction of 10 puts. The raw cases do the least that is correct without the engine's guarantees (no
// duplicate check, a bare loop on UnprocessedItems, no per-item report).
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  type BatchWriteItemCommandOutput,
  CreateTableCommand,
  DynamoDBClient,
  TransactWriteItemsCommand,
  type WriteRequest,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb'
import { batchGet, batchWrite, transactWrite } from '@tessera/dynamo'
import { startDynamoDbLocal } from '../../tooling/test-services/dynamodb-local'
import { compare, consume, type GroupResult, writeReport } from './harness'

const local = await startDynamoDbLocal()
const client = new DynamoDBClient({ ...local.clientConfig(), maxAttempts: 1 })
const table = 'bench_batch'
await client.send(
  new CreateTableCommand({
    TableName: table,
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    BillingMode: 'PAY_PER_REQUEST',
  }),
)
await waitUntilTableExists({ client, maxWaitTime: 60 }, { TableName: table })

const items = Array.from({ length: 100 }, (_, i) => ({ pk: { S: `item#${i}` }, name: { S: `name ${i}` }, n: { N: String(i) } }))
const keys = items.map((item) => ({ pk: item.pk }))

async function rawBatchWrite(): Promise<void> {
  const chunks: WriteRequest[][] = []
  for (let i = 0; i < items.length; i += 25) chunks.push(items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })))
  await Promise.all(
    chunks.map(async (chunk) => {
      let pending: Record<string, WriteRequest[]> | undefined = { [table]: chunk }
      while (pending && Object.keys(pending).length > 0) {
        const output: BatchWriteItemCommandOutput = await client.send(new BatchWriteItemCommand({ RequestItems: pending }))
        pending = output.UnprocessedItems
      }
    }),
  )
}

const groups: GroupResult[] = []
groups.push(
  await compare(
    'batch write: 100 items, 4 requests of 25 in flight together',
    [
      { name: 'raw SDK BatchWriteItem ×4 (Promise.all)', fn: rawBatchWrite },
      {
        name: '@tessera/dynamo batchWrite',
        fn: () =>
          batchWrite(
            client,
            items.map((put) => ({ table, put })),
            { keyAttributes: { [table]: ['pk'] } },
          ),
      },
    ],
    { opsPerSample: 1, rounds: 150, warmupRounds: 10 },
  ),
)
groups.push(
  await compare(
    'batch get: 100 keys in one request',
    [
      {
        name: 'raw SDK BatchGetItem',
        fn: async () => consume(await client.send(new BatchGetItemCommand({ RequestItems: { [table]: { Keys: keys } } }))),
      },
      {
        name: '@tessera/dynamo batchGet',
        fn: async () =>
          consume(
            await batchGet(
              client,
              keys.map((key) => ({ table, key })),
            ),
          ),
      },
    ],
    { opsPerSample: 1, rounds: 200, warmupRounds: 10 },
  ),
)
const tenPuts = items.slice(0, 10).map((Item) => ({ Put: { TableName: table, Item } }))
groups.push(
  await compare(
    'transaction: 10 puts',
    [
      { name: 'raw SDK TransactWriteItems', fn: () => client.send(new TransactWriteItemsCommand({ TransactItems: tenPuts })) },
      { name: '@tessera/dynamo transactWrite', fn: () => transactWrite(client, tenPuts, { keyAttributes: { [table]: ['pk'] } }) },
    ],
    { opsPerSample: 1, rounds: 200, warmupRounds: 10 },
  ),
)

client.destroy()
await local.stop()

const ratio = (group: GroupResult | undefined) => (group?.results[1]?.ratio ?? 0).toFixed(2)
writeReport(
  'dynamo-batch',
  'The batch and transaction engines of @tessera/dynamo against the raw AWS SDK v3, end to end on DynamoDB Local 10.3.0 (in memory, same machine).',
  groups,
  [
    `Throughput ratio to the raw SDK: batch write ${ratio(groups[0])}, batch get ${ratio(groups[1])}, transaction ${ratio(groups[2])} (goal ≥ 0.95).`,
    'DynamoDB Local (a JVM) runs on the same 2-core machine as the client, and other jobs shared the machine during the run: the wall-clock ratios carry that noise; the client CPU column is the engines’ own cost.',
  ],
)
