import { randomBytes } from 'node:crypto'
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb'
import type { DynamoClientLike } from './dynamo-client-like'
import { awsErrorName, DynamoRequestError } from './dynamo-errors'
import { type EnsureTableOptions, ensureTable, type TableDefinition } from './ensure-table'

/** Options of {@link createTestTables}. */
export interface TestTablesOptions {
  /** Start of every table name. Default: `'test'`. */
  prefix?: string | undefined
}

/** Tables a test creates, each with a name no other test (or test process) uses, dropped together at the end. */
export interface TestTables {
  /**
   * Creates a table with a unique name (with `ensureTable`, so its indexes are `ACTIVE`) and returns the name.
   * Default shape: string `pk` partition key and string `sk` sort key.
   */
  create(definition?: Partial<Omit<TableDefinition, 'name'>> | undefined, options?: EnsureTableOptions | undefined): Promise<string>
  /** Names created and not dropped yet. */
  readonly names: readonly string[]
  /** Drops one table; a table already gone is fine. */
  drop(name: string): Promise<void>
  /** Drops every table created here. */
  dropAll(): Promise<void>
}

/**
 * Per-test tables on DynamoDB Local (or any endpoint), so tests run in parallel without seeing each other's data.
 *
 * @example
 * const tables = createTestTables(client)
 * afterEach(() => tables.dropAll())
 * it('writes', async () => {
 *   const table = await tables.create()
 * })
 */
export function createTestTables(client: DynamoClientLike, options: TestTablesOptions = {}): TestTables {
  const prefix = options.prefix ?? 'test'
  const names: string[] = []
  const drop = async (name: string) => {
    try {
      await client.send(new DeleteTableCommand({ TableName: name }))
    } catch (error) {
      if (awsErrorName(error) !== 'ResourceNotFoundException') throw new DynamoRequestError('DeleteTable', error)
    }
    const index = names.indexOf(name)
    if (index >= 0) names.splice(index, 1)
  }
  return {
    names,
    async create(definition = {}, ensureOptions = {}) {
      const name = `${prefix}_${process.pid}_${randomBytes(5).toString('hex')}`
      names.push(name)
      await ensureTable(
        client,
        {
          partitionKey: { name: 'pk', type: 'S' },
          sortKey: definition.partitionKey ? definition.sortKey : { name: 'sk', type: 'S' },
          ...definition,
          name,
        },
        { pollIntervalMs: 50, ...ensureOptions },
      )
      return name
    },
    drop,
    async dropAll() {
      await Promise.all([...names].map(drop))
    },
  }
}
