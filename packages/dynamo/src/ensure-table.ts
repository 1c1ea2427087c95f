import {
  type AttributeDefinition,
  CreateTableCommand,
  DescribeTableCommand,
  type DescribeTableCommandOutput,
  DescribeTimeToLiveCommand,
  type DescribeTimeToLiveCommandOutput,
  type KeySchemaElement,
  type Projection,
  type StreamViewType,
  type TableDescription,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb'
import { AbortError, describeValue, systemClock, TimeoutError } from '@tessera/core'
import { type DynamoClientLike, sendOptions } from './dynamo-client-like'
import { awsErrorName, DynamoInputError, DynamoRequestError, isTransientError } from './dynamo-errors'

/** A key attribute: its name and DynamoDB scalar type. */
export interface KeyAttribute {
  name: string
  type: 'S' | 'N' | 'B'
}

/** Which attributes an index copies. */
export interface IndexProjection {
  /** Default: `'ALL'`. */
  type: 'ALL' | 'KEYS_ONLY' | 'INCLUDE'
  /** The non-key attributes of an `INCLUDE` projection. */
  attributes?: readonly string[] | undefined
}

/** A global secondary index. */
export interface GlobalIndexDefinition {
  name: string
  partitionKey: KeyAttribute
  sortKey?: KeyAttribute | undefined
  /** Default: `{ type: 'ALL' }`. */
  projection?: IndexProjection | undefined
}

/** A local secondary index: the table's partition key with another sort key. Only created with the table. */
export interface LocalIndexDefinition {
  name: string
  sortKey: KeyAttribute
  /** Default: `{ type: 'ALL' }`. */
  projection?: IndexProjection | undefined
}

/** The shape of a table, as the model layer derives it from its models. */
export interface TableDefinition {
  name: string
  partitionKey: KeyAttribute
  sortKey?: KeyAttribute | undefined
  globalIndexes?: readonly GlobalIndexDefinition[] | undefined
  localIndexes?: readonly LocalIndexDefinition[] | undefined
}

/** Options of {@link ensureTable}. */
export interface EnsureTableOptions {
  /**
   * Billing of a table this call creates (an existing table's billing is left as it is). `'on-demand'`, or
   * provisioned capacity used for the table and each index it creates. Default: `'on-demand'`.
   */
  billing?: 'on-demand' | { readCapacity: number; writeCapacity: number } | undefined
  /** The attribute holding each item's expiry (epoch seconds); TTL is enabled on it. Default: TTL left as it is. */
  ttl?: string | undefined
  /** Turns the table's stream on with this view type. Default: the stream is left as it is. */
  streams?: StreamViewType | undefined
  /** How long to wait for the table and each new index to become `ACTIVE`. Default: 300000 ms. */
  timeoutMs?: number | undefined
  /** How often to ask while waiting. Default: 250 ms. */
  pollIntervalMs?: number | undefined
  signal?: AbortSignal | undefined
}

/** One change {@link ensureTable} made. */
export type TableChange =
  | { type: 'create-table'; table: string }
  | { type: 'add-index'; table: string; index: string }
  | { type: 'enable-ttl'; table: string; attribute: string }
  | { type: 'enable-stream'; table: string; viewType: StreamViewType }

/** What {@link ensureTable} did: an empty `changes` means the table already matched. */
export interface EnsureTableResult {
  table: string
  changes: TableChange[]
  /** The table's stream ARN, when its stream is on. */
  streamArn: string | undefined
}

/**
 * Makes the table match `definition`: creates it (with its indexes, stream and billing) when missing, otherwise
 * adds the global indexes it lacks with `UpdateTable`, one at a time, waiting after each until table and index
 * are `ACTIVE`; then turns the stream and TTL on when asked. Idempotent: a second call changes nothing and
 * reports no changes. Differences it cannot fix (another key schema, an index of the same name with other
 * keys, a missing local index, TTL on another attribute, a stream of another view type) are reported as a
 * {@link DynamoInputError} before anything is changed. Indexes the table has but the definition lacks are
 * left alone.
 */
export async function ensureTable(
  client: DynamoClientLike,
  definition: TableDefinition,
  options: EnsureTableOptions = {},
): Promise<EnsureTableResult> {
  validateDefinition(definition)
  const settings = {
    timeoutMs: options.timeoutMs ?? 300_000,
    pollIntervalMs: options.pollIntervalMs ?? 250,
    signal: options.signal,
  }
  const table = definition.name
  const changes: TableChange[] = []
  let description = await describe(client, table, options.signal)
  if (description === undefined) {
    await send(client, 'CreateTable', new CreateTableCommand(createTableInput(definition, options)), options.signal)
    changes.push({ type: 'create-table', table })
    if (options.streams) changes.push({ type: 'enable-stream', table, viewType: options.streams })
    description = await waitUntil(
      client,
      table,
      settings,
      'table to become ACTIVE',
      (t) => t.TableStatus === 'ACTIVE' && allIndexesActive(t),
    )
  } else {
    checkCompatible(definition, description, options)
    description = await waitUntil(
      client,
      table,
      settings,
      'table to become ACTIVE',
      (t) => t.TableStatus === 'ACTIVE' && allIndexesActive(t),
    )
    const existing = new Set((description.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName))
    for (const index of definition.globalIndexes ?? []) {
      if (existing.has(index.name)) continue
      await send(
        client,
        'UpdateTable',
        new UpdateTableCommand({
          TableName: table,
          AttributeDefinitions: attributeDefinitions([definition.partitionKey, definition.sortKey, index.partitionKey, index.sortKey]),
          GlobalSecondaryIndexUpdates: [{ Create: globalIndexInput(index, options.billing) }],
        }),
        options.signal,
      )
      changes.push({ type: 'add-index', table, index: index.name })
      description = await waitUntil(client, table, settings, `index ${index.name} to become ACTIVE`, (t) => {
        const created = t.GlobalSecondaryIndexes?.find((candidate) => candidate.IndexName === index.name)
        return t.TableStatus === 'ACTIVE' && created?.IndexStatus === 'ACTIVE'
      })
    }
    if (options.streams && description.StreamSpecification?.StreamEnabled !== true) {
      await send(
        client,
        'UpdateTable',
        new UpdateTableCommand({ TableName: table, StreamSpecification: { StreamEnabled: true, StreamViewType: options.streams } }),
        options.signal,
      )
      changes.push({ type: 'enable-stream', table, viewType: options.streams })
      description = await waitUntil(
        client,
        table,
        settings,
        'stream to be enabled',
        (t) => t.TableStatus === 'ACTIVE' && t.LatestStreamArn !== undefined,
      )
    }
  }
  if (options.ttl !== undefined) {
    const ttl = await timeToLive(client, table, options.signal)
    const status = ttl.TimeToLiveDescription?.TimeToLiveStatus
    const attribute = ttl.TimeToLiveDescription?.AttributeName
    if ((status === 'ENABLED' || status === 'ENABLING') && attribute !== options.ttl) {
      throw new DynamoInputError(
        `table ${table} has TTL on ${JSON.stringify(attribute)}, not ${JSON.stringify(options.ttl)}; disable it first (DynamoDB allows one TTL attribute)`,
      )
    }
    if (status !== 'ENABLED' && status !== 'ENABLING') {
      await send(
        client,
        'UpdateTimeToLive',
        new UpdateTimeToLiveCommand({ TableName: table, TimeToLiveSpecification: { AttributeName: options.ttl, Enabled: true } }),
        options.signal,
      )
      changes.push({ type: 'enable-ttl', table, attribute: options.ttl })
    }
  }
  return { table, changes, streamArn: description.StreamSpecification?.StreamEnabled ? description.LatestStreamArn : undefined }
}

function validateDefinition(definition: TableDefinition): void {
  const problems: string[] = []
  if (typeof definition !== 'object' || definition === null)
    throw new DynamoInputError(`table definition must be an object, got ${describeValue(definition)}`)
  if (typeof definition.name !== 'string' || !/^[A-Za-z0-9_.-]{3,255}$/.test(definition.name)) {
    problems.push(`name must be 3-255 characters of A-Z a-z 0-9 _ - ., got ${describeValue(definition.name)}`)
  }
  const types = new Map<string, string>()
  const checkKey = (where: string, key: KeyAttribute | undefined, required: boolean) => {
    if (key === undefined) {
      if (required) problems.push(`${where} is required`)
      return
    }
    if (typeof key.name !== 'string' || key.name === '')
      problems.push(`${where}.name must be a non-empty string, got ${describeValue(key.name)}`)
    if (!['S', 'N', 'B'].includes(key.type)) problems.push(`${where}.type must be 'S', 'N' or 'B', got ${describeValue(key.type)}`)
    const known = types.get(key.name)
    if (known !== undefined && known !== key.type) problems.push(`attribute ${key.name} is ${known} in one key and ${key.type} in another`)
    types.set(key.name, key.type)
  }
  checkKey('partitionKey', definition.partitionKey, true)
  checkKey('sortKey', definition.sortKey, false)
  const names = new Set<string>()
  const checkIndexName = (where: string, name: unknown) => {
    if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{3,255}$/.test(name)) {
      problems.push(`${where}.name must be 3-255 characters of A-Z a-z 0-9 _ - ., got ${describeValue(name)}`)
    }
  }
  for (const [position, index] of (definition.globalIndexes ?? []).entries()) {
    checkIndexName(`globalIndexes[${position}]`, index.name)
    if (names.has(index.name)) problems.push(`index name ${JSON.stringify(index.name)} is used twice`)
    names.add(index.name)
    checkKey(`globalIndexes[${position}].partitionKey`, index.partitionKey, true)
    checkKey(`globalIndexes[${position}].sortKey`, index.sortKey, false)
  }
  for (const [position, index] of (definition.localIndexes ?? []).entries()) {
    checkIndexName(`localIndexes[${position}]`, index.name)
    if (names.has(index.name)) problems.push(`index name ${JSON.stringify(index.name)} is used twice`)
    names.add(index.name)
    checkKey(`localIndexes[${position}].sortKey`, index.sortKey, true)
  }
  if ((definition.localIndexes ?? []).length > 0 && definition.sortKey === undefined)
    problems.push('local indexes need a table with a sort key')
  if (problems.length > 0)
    throw new DynamoInputError(`invalid table definition${definition.name ? ` ${definition.name}` : ''}: ${problems.join('; ')}`)
}

function keySchema(partition: KeyAttribute, sort: KeyAttribute | undefined): KeySchemaElement[] {
  const schema: KeySchemaElement[] = [{ AttributeName: partition.name, KeyType: 'HASH' }]
  if (sort) schema.push({ AttributeName: sort.name, KeyType: 'RANGE' })
  return schema
}

function attributeDefinitions(keys: readonly (KeyAttribute | undefined)[]): AttributeDefinition[] {
  const byName = new Map<string, AttributeDefinition>()
  for (const key of keys) if (key) byName.set(key.name, { AttributeName: key.name, AttributeType: key.type })
  return [...byName.values()]
}

function projection(given: IndexProjection | undefined): Projection {
  const type = given?.type ?? 'ALL'
  return type === 'INCLUDE' ? { ProjectionType: type, NonKeyAttributes: [...(given?.attributes ?? [])] } : { ProjectionType: type }
}

function throughput(billing: EnsureTableOptions['billing']) {
  return typeof billing === 'object'
    ? { ProvisionedThroughput: { ReadCapacityUnits: billing.readCapacity, WriteCapacityUnits: billing.writeCapacity } }
    : {}
}

function globalIndexInput(index: GlobalIndexDefinition, billing: EnsureTableOptions['billing']) {
  return {
    IndexName: index.name,
    KeySchema: keySchema(index.partitionKey, index.sortKey),
    Projection: projection(index.projection),
    ...throughput(billing),
  }
}

function createTableInput(definition: TableDefinition, options: EnsureTableOptions) {
  const globals = definition.globalIndexes ?? []
  const locals = definition.localIndexes ?? []
  return {
    TableName: definition.name,
    KeySchema: keySchema(definition.partitionKey, definition.sortKey),
    AttributeDefinitions: attributeDefinitions([
      definition.partitionKey,
      definition.sortKey,
      ...globals.flatMap((index) => [index.partitionKey, index.sortKey]),
      ...locals.map((index) => index.sortKey),
    ]),
    BillingMode: typeof options.billing === 'object' ? ('PROVISIONED' as const) : ('PAY_PER_REQUEST' as const),
    ...throughput(options.billing),
    ...(globals.length > 0 ? { GlobalSecondaryIndexes: globals.map((index) => globalIndexInput(index, options.billing)) } : {}),
    ...(locals.length > 0
      ? {
          LocalSecondaryIndexes: locals.map((index) => ({
            IndexName: index.name,
            KeySchema: keySchema(definition.partitionKey, index.sortKey),
            Projection: projection(index.projection),
          })),
        }
      : {}),
    ...(options.streams ? { StreamSpecification: { StreamEnabled: true, StreamViewType: options.streams } } : {}),
  }
}

function checkCompatible(definition: TableDefinition, table: TableDescription, options: EnsureTableOptions): void {
  const problems: string[] = []
  const wantedKeys = JSON.stringify(keySchema(definition.partitionKey, definition.sortKey))
  const haveKeys = JSON.stringify((table.KeySchema ?? []).map(({ AttributeName, KeyType }) => ({ AttributeName, KeyType })))
  if (wantedKeys !== haveKeys) problems.push(`its key schema is ${haveKeys}, the definition's is ${wantedKeys}`)
  for (const index of definition.globalIndexes ?? []) {
    const found = table.GlobalSecondaryIndexes?.find((candidate) => candidate.IndexName === index.name)
    if (!found) continue
    const wanted = JSON.stringify(keySchema(index.partitionKey, index.sortKey))
    const have = JSON.stringify((found.KeySchema ?? []).map(({ AttributeName, KeyType }) => ({ AttributeName, KeyType })))
    if (wanted !== have)
      problems.push(`index ${index.name} has keys ${have}, the definition's are ${wanted} (drop and re-create it by hand)`)
  }
  for (const index of definition.localIndexes ?? []) {
    if (!table.LocalSecondaryIndexes?.some((candidate) => candidate.IndexName === index.name)) {
      problems.push(`local index ${index.name} is missing; DynamoDB only creates local indexes with the table`)
    }
  }
  const stream = table.StreamSpecification
  if (options.streams && stream?.StreamEnabled && stream.StreamViewType !== options.streams) {
    problems.push(`its stream is ${stream.StreamViewType}, not ${options.streams}; turn it off first`)
  }
  if (problems.length > 0)
    throw new DynamoInputError(`table ${definition.name} cannot be made to match its definition: ${problems.join('; ')}`)
}

function allIndexesActive(table: TableDescription): boolean {
  return (table.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === 'ACTIVE')
}

async function describe(client: DynamoClientLike, table: string, signal: AbortSignal | undefined): Promise<TableDescription | undefined> {
  try {
    const output: DescribeTableCommandOutput = await client.send(new DescribeTableCommand({ TableName: table }), sendOptions(signal))
    return output.Table
  } catch (error) {
    if (awsErrorName(error) === 'ResourceNotFoundException') return undefined
    if (signal?.aborted) throw new AbortError('ensureTable', { cause: error })
    throw new DynamoRequestError('DescribeTable', error)
  }
}

async function timeToLive(
  client: DynamoClientLike,
  table: string,
  signal: AbortSignal | undefined,
): Promise<DescribeTimeToLiveCommandOutput> {
  return send(client, 'DescribeTimeToLive', new DescribeTimeToLiveCommand({ TableName: table }), signal)
}

async function send<T>(client: DynamoClientLike, operation: string, command: object, signal: AbortSignal | undefined): Promise<T> {
  try {
    return await client.send(command, sendOptions(signal))
  } catch (error) {
    if (signal?.aborted) throw new AbortError('ensureTable', { cause: error })
    throw new DynamoRequestError(operation, error)
  }
}

async function waitUntil(
  client: DynamoClientLike,
  table: string,
  settings: { timeoutMs: number; pollIntervalMs: number; signal: AbortSignal | undefined },
  what: string,
  done: (table: TableDescription) => boolean,
): Promise<TableDescription> {
  const deadline = Date.now() + settings.timeoutMs
  let lastError: unknown
  for (;;) {
    let description: TableDescription | undefined
    try {
      description = await describe(client, table, settings.signal)
    } catch (error) {
      // A server error or throttling while polling (DynamoDB answers 500 now and then during an index build) loses
      // one poll, not the wait: it is tried again until the deadline, which then names it.
      if (!(error instanceof DynamoRequestError) || !isTransientError(error.cause)) throw error
      lastError = error
    }
    if (description && done(description)) return description
    if (Date.now() > deadline) {
      throw new TimeoutError({ operation: `waiting for ${table}: ${what}`, timeoutMs: settings.timeoutMs }, { cause: lastError })
    }
    await systemClock.sleep(settings.pollIntervalMs, settings.signal)
  }
}
