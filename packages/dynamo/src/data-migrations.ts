import { randomUUID } from 'node:crypto'
import { GetItemCommand, type GetItemCommandOutput, UpdateItemCommand } from '@aws-sdk/client-dynamodb'
import { AbortError, backoffDelay, describeValue, systemClock, TesseraError, TimeoutError } from '@tessera/core'
import { type DynamoClientLike, sendOptions } from './dynamo-client-like'
import { awsErrorName, DynamoInputError, DynamoRequestError } from './dynamo-errors'
import type { AttributeMap } from './key-identity'
import { tableKeyAttributes } from './table-key-attributes'

/** What a migration's `up` and `down` get. */
export interface DataMigrationContext {
  client: DynamoClientLike
  table: string
  signal: AbortSignal | undefined
}

/** One versioned data migration. */
export interface DataMigration {
  /** A positive integer; migrations apply in ascending order and revert in descending order. */
  version: number
  name: string
  up(context: DataMigrationContext): Promise<void>
  /** Reverts `up`. Without it, the migration cannot be reverted. */
  down?: ((context: DataMigrationContext) => Promise<void>) | undefined
}

/** Options of {@link migrateData}. */
export interface MigrateDataOptions {
  table: string
  migrations: readonly DataMigration[]
  /**
   * `'up'` applies every migration not applied yet (up to `to`, when given); `'down'` reverts applied
   * migrations with a version above `to` (default 0: all). Default: `'up'`.
   */
  direction?: 'up' | 'down' | undefined
  to?: number | undefined
  /**
   * Key of the item that records applied migrations and holds the lock. Default: every key attribute of the
   * table set to the string `'#tessera#migrations'` (pass your own when a key attribute is not a string).
   */
  recordKey?: AttributeMap | undefined
  /** Who runs: stored in the lock. Default: a random UUID. */
  runnerId?: string | undefined
  /**
   * How long a lock stays valid without renewal (it is renewed after each migration): a runner that died
   * holding it blocks others at most this long. Default: 600000 ms.
   */
  lockTtlMs?: number | undefined
  /** How long to wait for another runner's lock. Default: 120000 ms. */
  lockWaitMs?: number | undefined
  signal?: AbortSignal | undefined
}

/** What {@link migrateData} did. */
export interface MigrateDataResult {
  /** Migrations this call applied (up) or reverted (down), in the order it ran them. */
  ran: { version: number; name: string }[]
  /** Versions recorded as applied when it finished, ascending. */
  applied: number[]
}

/**
 * Applies (or reverts) versioned data migrations on a table, recording each in a migrations item of that
 * table. Runners take a lock on that item with a conditional write, so two runners started together apply
 * each migration once: the second waits, then finds it recorded. A migration that throws stops the run with a
 * `TesseraError` (`DYNAMO_MIGRATION_FAILED`) naming it; the ones before it stay recorded, and the lock is
 * released.
 */
export async function migrateData(client: DynamoClientLike, options: MigrateDataOptions): Promise<MigrateDataResult> {
  const migrations = checkMigrations(options.migrations)
  const direction = options.direction ?? 'up'
  if (direction !== 'up' && direction !== 'down')
    throw new DynamoInputError(`direction must be 'up' or 'down', got ${describeValue(direction)}`)
  const signal = options.signal
  const table = options.table
  const runner = options.runnerId ?? randomUUID()
  const lockTtlMs = options.lockTtlMs ?? 600_000
  const key = options.recordKey ?? (await defaultRecordKey(client, table, signal))
  const context: DataMigrationContext = { client, table, signal }

  await acquireLock(client, table, key, runner, lockTtlMs, options.lockWaitMs ?? 120_000, signal)
  const ran: { version: number; name: string }[] = []
  try {
    const applied = await readApplied(client, table, key, signal)
    if (direction === 'up') {
      const limit = options.to ?? Number.POSITIVE_INFINITY
      for (const migration of migrations) {
        if (migration.version > limit || applied.has(migration.version)) continue
        await runStep(migration, 'up', context)
        await record(client, table, key, runner, lockTtlMs, migration, 'up', signal)
        applied.add(migration.version)
        ran.push({ version: migration.version, name: migration.name })
      }
    } else {
      const floor = options.to ?? 0
      const toRevert = [...applied].filter((version) => version > floor).sort((a, b) => b - a)
      const byVersion = new Map(migrations.map((migration) => [migration.version, migration]))
      const missing = toRevert.filter((version) => byVersion.get(version)?.down === undefined)
      if (missing.length > 0) {
        throw new DynamoInputError(`cannot revert to version ${floor}: no down() for applied version(s) ${missing.join(', ')}`)
      }
      for (const version of toRevert) {
        const migration = byVersion.get(version) as DataMigration
        await runStep(migration, 'down', context)
        await record(client, table, key, runner, lockTtlMs, migration, 'down', signal)
        applied.delete(version)
        ran.push({ version, name: migration.name })
      }
    }
    return { ran, applied: [...applied].sort((a, b) => a - b) }
  } finally {
    await releaseLock(client, table, key, runner).catch(() => {})
  }
}

function checkMigrations(migrations: readonly DataMigration[]): DataMigration[] {
  if (!Array.isArray(migrations)) throw new DynamoInputError(`migrations must be an array, got ${describeValue(migrations)}`)
  const seen = new Set<number>()
  for (const [index, migration] of migrations.entries()) {
    if (!Number.isSafeInteger(migration?.version) || migration.version < 1) {
      throw new DynamoInputError(`migrations[${index}].version must be a positive integer, got ${describeValue(migration?.version)}`)
    }
    if (seen.has(migration.version)) throw new DynamoInputError(`migration version ${migration.version} appears twice`)
    seen.add(migration.version)
    if (typeof migration.name !== 'string' || migration.name === '')
      throw new DynamoInputError(`migrations[${index}].name must be a non-empty string`)
    if (typeof migration.up !== 'function') throw new DynamoInputError(`migrations[${index}] (${migration.name}) needs an up() function`)
  }
  return [...migrations].sort((a, b) => a.version - b.version)
}

async function defaultRecordKey(client: DynamoClientLike, table: string, signal: AbortSignal | undefined): Promise<AttributeMap> {
  const names = await tableKeyAttributes(client, table, signal)
  return Object.fromEntries(names.map((name) => [name, { S: '#tessera#migrations' }]))
}

const NAMES = { '#applied': 'migrationsApplied', '#owner': 'migrationsLockOwner', '#expires': 'migrationsLockExpiresAt' }

async function acquireLock(
  client: DynamoClientLike,
  table: string,
  key: AttributeMap,
  runner: string,
  lockTtlMs: number,
  lockWaitMs: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  const deadline = Date.now() + lockWaitMs
  for (let attempt = 0; ; attempt++) {
    if (signal?.aborted) throw new AbortError('migrateData', { cause: signal.reason })
    const now = Date.now()
    try {
      await client.send(
        new UpdateItemCommand({
          TableName: table,
          Key: key,
          UpdateExpression: 'SET #owner = :me, #expires = :expires, #applied = if_not_exists(#applied, :empty)',
          ConditionExpression: 'attribute_not_exists(#owner) OR #expires < :now OR #owner = :me',
          ExpressionAttributeNames: NAMES,
          ExpressionAttributeValues: {
            ':me': { S: runner },
            ':expires': { N: String(now + lockTtlMs) },
            ':now': { N: String(now) },
            ':empty': { M: {} },
          },
        }),
        sendOptions(signal),
      )
      return
    } catch (error) {
      if (signal?.aborted) throw new AbortError('migrateData', { cause: error })
      if (awsErrorName(error) !== 'ConditionalCheckFailedException') throw new DynamoRequestError('UpdateItem', error)
    }
    if (Date.now() > deadline) throw new TimeoutError({ operation: `waiting for the migrations lock of ${table}`, timeoutMs: lockWaitMs })
    await systemClock.sleep(backoffDelay(attempt, { baseMs: 50, capMs: 1_000 }), signal)
  }
}

async function readApplied(
  client: DynamoClientLike,
  table: string,
  key: AttributeMap,
  signal: AbortSignal | undefined,
): Promise<Set<number>> {
  let output: GetItemCommandOutput
  try {
    output = await client.send(new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }), sendOptions(signal))
  } catch (error) {
    throw new DynamoRequestError('GetItem', error)
  }
  return new Set(Object.keys(output.Item?.[NAMES['#applied']]?.M ?? {}).map(Number))
}

async function runStep(migration: DataMigration, direction: 'up' | 'down', context: DataMigrationContext): Promise<void> {
  try {
    await (direction === 'up' ? migration.up(context) : (migration.down as NonNullable<DataMigration['down']>)(context))
  } catch (error) {
    throw new TesseraError(
      `data migration ${migration.version} (${migration.name}) failed going ${direction}: ${error instanceof Error ? error.message : describeValue(error)}`,
      {
        code: 'DYNAMO_MIGRATION_FAILED',
        cause: error,
      },
    )
  }
}

async function record(
  client: DynamoClientLike,
  table: string,
  key: AttributeMap,
  runner: string,
  lockTtlMs: number,
  migration: DataMigration,
  direction: 'up' | 'down',
  signal: AbortSignal | undefined,
): Promise<void> {
  const names = { ...NAMES, '#version': String(migration.version) }
  const entry = { M: { name: { S: migration.name }, appliedAt: { S: new Date().toISOString() }, runner: { S: runner } } }
  try {
    await client.send(
      new UpdateItemCommand({
        TableName: table,
        Key: key,
        UpdateExpression:
          direction === 'up' ? 'SET #applied.#version = :entry, #expires = :expires' : 'REMOVE #applied.#version SET #expires = :expires',
        ConditionExpression: '#owner = :me',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: {
          ':me': { S: runner },
          ':expires': { N: String(Date.now() + lockTtlMs) },
          ...(direction === 'up' ? { ':entry': entry } : {}),
        },
      }),
      sendOptions(signal),
    )
  } catch (error) {
    if (awsErrorName(error) === 'ConditionalCheckFailedException') {
      throw new TesseraError(
        `data migration ${migration.version} (${migration.name}) ran, but this runner lost the migrations lock before recording it (it ran longer than lockTtlMs); check the data before running again`,
        { code: 'DYNAMO_MIGRATION_FAILED', cause: error },
      )
    }
    throw new DynamoRequestError('UpdateItem', error)
  }
}

async function releaseLock(client: DynamoClientLike, table: string, key: AttributeMap, runner: string): Promise<void> {
  await client.send(
    new UpdateItemCommand({
      TableName: table,
      Key: key,
      UpdateExpression: 'REMOVE #owner, #expires',
      ConditionExpression: '#owner = :me',
      ExpressionAttributeNames: { '#owner': NAMES['#owner'], '#expires': NAMES['#expires'] },
      ExpressionAttributeValues: { ':me': { S: runner } },
    }),
  )
}
