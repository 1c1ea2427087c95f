import { DescribeTableCommand, type DescribeTableCommandOutput } from '@aws-sdk/client-dynamodb'
import { type DynamoClientLike, sendOptions } from './dynamo-client-like'
import { DynamoRequestError } from './dynamo-errors'

const cache = new WeakMap<DynamoClientLike, Map<string, Promise<readonly string[]>>>()

/**
 * The key attribute names of `table` (partition, then sort), read once per client with `DescribeTable` and
 * remembered. Engines call it only for tables whose keys the caller did not pass.
 */
export function tableKeyAttributes(client: DynamoClientLike, table: string, signal?: AbortSignal | undefined): Promise<readonly string[]> {
  let tables = cache.get(client)
  if (tables === undefined) {
    tables = new Map()
    cache.set(client, tables)
  }
  const known = tables.get(table)
  if (known) return known
  const lookup = describeKeys(client, table, signal)
  tables.set(table, lookup)
  // A failed lookup is not remembered: the next call asks again.
  lookup.catch(() => tables.delete(table))
  return lookup
}

async function describeKeys(client: DynamoClientLike, table: string, signal: AbortSignal | undefined): Promise<readonly string[]> {
  let output: DescribeTableCommandOutput
  try {
    output = await client.send(new DescribeTableCommand({ TableName: table }), sendOptions(signal))
  } catch (error) {
    throw new DynamoRequestError('DescribeTable', error)
  }
  const schema = output.Table?.KeySchema ?? []
  const ordered = [...schema].sort((a, b) => (a.KeyType === 'HASH' ? -1 : b.KeyType === 'HASH' ? 1 : 0))
  return ordered.map((element) => element.AttributeName as string)
}
