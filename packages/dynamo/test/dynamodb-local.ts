import {
  type AttributeDefinition,
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  type KeySchemaElement,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb'
import {
  type _Record,
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams'
import { DYNAMODB_URL_ENV, dynamoDbLocalClientConfig } from '../../../tooling/test-services/dynamodb-local'
import { uniqueName } from '../../../tooling/test-services/env'
import type { DynamoClientLike } from '../src/index'

/** The DynamoDB Local of this test run (started by the project's global setup). */
export function dynamoDbLocalEndpoint(): string {
  const endpoint = process.env[DYNAMODB_URL_ENV]
  if (!endpoint) throw new Error(`${DYNAMODB_URL_ENV} is not set: the dynamo project's global setup starts DynamoDB Local`)
  return endpoint
}

/** A client of this run's DynamoDB Local: 127.0.0.1 only, dummy credentials, no SDK retries hidden from tests. */
export function localClient(): DynamoDBClient {
  return new DynamoDBClient({ ...dynamoDbLocalClientConfig(dynamoDbLocalEndpoint()), maxAttempts: 1 })
}

/** Creates a table with a unique name (string `pk`, and string `sk` when `sort`), returns its name. */
export async function createTestTable(
  client: DynamoDBClient,
  options: { sort?: boolean | undefined; prefix?: string | undefined } = {},
): Promise<string> {
  const table = uniqueName(options.prefix ?? 't')
  const keys: KeySchemaElement[] = [{ AttributeName: 'pk', KeyType: 'HASH' }]
  const attributes: AttributeDefinition[] = [{ AttributeName: 'pk', AttributeType: 'S' }]
  if (options.sort) {
    keys.push({ AttributeName: 'sk', KeyType: 'RANGE' })
    attributes.push({ AttributeName: 'sk', AttributeType: 'S' })
  }
  await client.send(
    new CreateTableCommand({ TableName: table, KeySchema: keys, AttributeDefinitions: attributes, BillingMode: 'PAY_PER_REQUEST' }),
  )
  await waitUntilTableExists({ client, maxWaitTime: 60 }, { TableName: table })
  return table
}

export async function dropTable(client: DynamoDBClient, table: string): Promise<void> {
  await client.send(new DeleteTableCommand({ TableName: table })).catch(() => {})
}

/** A fault to inject into the next matching requests. */
export type Fault =
  | { kind: 'throw'; name: string; times: number; command?: string | undefined; extra?: Record<string, unknown> | undefined }
  | { kind: 'lose-reply'; times: number; command?: string | undefined }
  | { kind: 'unprocess'; times: number; keep?: number | undefined; command?: string | undefined }

/**
 * Wraps a real client: each fault applies to the next `times` requests of its command. `throw` fails the
 * request before it reaches DynamoDB with an error named `name` (as the SDK's would be); `unprocess` sends the
 * request with only the first `keep` (default 0) write requests or keys and reports the others in
 * `UnprocessedItems` / `UnprocessedKeys`, as DynamoDB does when it runs out of capacity mid-batch.
 */
export function faultyClient(real: DynamoClientLike, faults: Fault[]): DynamoClientLike & { sent: string[] } {
  const sent: string[] = []
  return {
    sent,
    async send(command, options) {
      const name = String(command.constructor.name).replace(/Command$/, '')
      sent.push(name)
      const fault = faults.find((candidate) => candidate.times > 0 && (candidate.command === undefined || candidate.command === name))
      if (fault === undefined) return real.send(command, options)
      fault.times--
      if (fault.kind === 'throw') {
        const error = Object.assign(new Error(`injected ${fault.name}`), {
          name: fault.name,
          $metadata: { httpStatusCode: 400 },
          ...fault.extra,
        })
        throw error
      }
      if (fault.kind === 'lose-reply') {
        // The request reaches DynamoDB and is applied; its reply is replaced by a 500, as when a connection drops.
        await real.send(command, options)
        throw Object.assign(new Error('injected lost reply'), { name: 'InternalServerError', $metadata: { httpStatusCode: 500 } })
      }
      return unprocess(real, command, fault.keep ?? 0, options)
    },
  }
}

async function unprocess(
  real: DynamoClientLike,
  command: { input: { RequestItems: Record<string, unknown> }; constructor: new (input: unknown) => unknown },
  keep: number,
  options: { abortSignal?: AbortSignal | undefined } | undefined,
) {
  const isWrite = command.constructor.name === 'BatchWriteItemCommand'
  const kept: Record<string, unknown> = {}
  const returned: Record<string, unknown> = {}
  let budget = keep
  for (const [table, request] of Object.entries(command.input.RequestItems)) {
    const list = (isWrite ? request : (request as { Keys: unknown[] }).Keys) as unknown[]
    const take = list.slice(0, budget)
    budget -= take.length
    const rest = list.slice(take.length)
    if (take.length > 0) kept[table] = isWrite ? take : { ...(request as object), Keys: take }
    if (rest.length > 0) returned[table] = isWrite ? rest : { ...(request as object), Keys: rest }
  }
  const output = Object.keys(kept).length > 0 ? await real.send(new command.constructor({ RequestItems: kept }), options) : {}
  return isWrite
    ? { ...output, UnprocessedItems: { ...(output.UnprocessedItems ?? {}), ...returned } }
    : { Responses: {}, ...output, UnprocessedKeys: { ...(output.UnprocessedKeys ?? {}), ...returned } }
}

/** Reads every record of a table's stream from the start until `count` arrived (DynamoDB Local delivers them within a second or so). */
export async function readStream(streams: DynamoDBStreamsClient, streamArn: string, count: number): Promise<_Record[]> {
  const deadline = Date.now() + 60_000
  for (;;) {
    const found: _Record[] = []
    const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }))
    for (const shard of StreamDescription?.Shards ?? []) {
      let iterator = (
        await streams.send(new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))
      ).ShardIterator
      for (let page = 0; iterator && page < 20; page++) {
        const output = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }))
        found.push(...(output.Records ?? []))
        if ((output.Records ?? []).length === 0) break
        iterator = output.NextShardIterator
      }
    }
    if (found.length >= count) return found
    if (Date.now() > deadline) throw new Error(`only ${found.length} of ${count} stream records arrived`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

/** A DynamoDB Streams client of this run's DynamoDB Local. */
export function localStreamsClient(): DynamoDBStreamsClient {
  return new DynamoDBStreamsClient({ ...dynamoDbLocalClientConfig(dynamoDbLocalEndpoint()), maxAttempts: 1 })
}
