import { BatchGetItemCommand, type BatchGetItemCommandOutput, type KeysAndAttributes } from '@aws-sdk/client-dynamodb'
import { AbortError, backoffDelay, describeValue, systemClock } from '@tessera/core'
import { BatchIncompleteError, type BatchOutcomeReason } from './batch-incomplete-error'
import type { BatchProgress } from './batch-write'
import { publishedSend, tableList } from './command-runner'
import { type DynamoClientLike, type RetryBudgetOptions, sendOptions } from './dynamo-client-like'
import { DynamoInputError, DynamoRequestError, isTransientError, resolveRetryBudget } from './dynamo-errors'
import { type AttributeMap, keyIdentity } from './key-identity'
import { chunk, runBounded } from './run-bounded'

/** DynamoDB's limit of keys in one `BatchGetItem`. */
export const BATCH_GET_LIMIT = 100

/** One key to read. */
export interface BatchGetKey {
  table: string
  /** The full primary key (partition and, if the table has one, sort key attributes), nothing else. */
  key: AttributeMap
}

/** How to read the items of one table. */
export interface BatchGetTableOptions {
  /** Strongly consistent reads. Default: `false` (eventually consistent, half the read capacity). */
  consistentRead?: boolean | undefined
  /** Attributes to return (the key attributes are always added). Default: all. */
  attributes?: readonly string[] | undefined
}

/** A key the batch did not read, and why (the reasons of `UnprocessedWrite`). */
export interface UnprocessedGet {
  key: BatchGetKey
  index: number
  reason: BatchOutcomeReason
  error?: unknown
}

/** Options of {@link batchGet}. */
export interface BatchGetOptions {
  /** Per-table read options, by table name. Default: eventually consistent, all attributes. */
  tables?: Record<string, BatchGetTableOptions> | undefined
  /** `BatchGetItem` requests in flight at once. Default: 4. */
  concurrency?: number | undefined
  /** How long to keep retrying unprocessed keys and throttled requests. Default: 10 attempts, 50 ms base, 5 s cap. */
  retry?: RetryBudgetOptions | undefined
  /** Called after each reply. Default: none. */
  onProgress?: ((progress: BatchProgress) => void) | undefined
  /** Stops sending; keys not read are reported `'aborted'` (or `'unknown'` while in flight). */
  signal?: AbortSignal | undefined
  /** When `true`, keys not read are returned in `unprocessed` instead of thrown. Default: `false`. */
  allowUnprocessed?: boolean | undefined
}

/** What {@link batchGet} read. */
export interface BatchGetResult {
  /**
   * One entry per key passed, in the same order: `item` is the item, or `undefined` when no item has that key
   * (or the key was not read: see `unprocessed`).
   */
  results: { table: string; key: AttributeMap; item: AttributeMap | undefined }[]
  /** Items found, in the order of `results`. */
  items: { table: string; item: AttributeMap }[]
  /** Keys not read, each with its reason (empty unless `allowUnprocessed`). */
  unprocessed: UnprocessedGet[]
  requests: number
}

interface PendingKey {
  key: BatchGetKey
  index: number
  identity: string
  keyAttributes: string[]
}

/**
 * Reads `keys` (over one or more tables) with `BatchGetItem`, 100 keys per request, several requests at once;
 * `UnprocessedKeys` and throttled requests are retried with exponential backoff and full jitter until done or
 * the retry budget runs out. The same key given twice is read once and reported at both positions.
 *
 * @example
 * const { results } = await batchGet(client, [{ table: 'users', key: { pk: { S: 'user#1' } } }])
 */
export async function batchGet(
  client: DynamoClientLike,
  keys: readonly BatchGetKey[],
  options: BatchGetOptions = {},
): Promise<BatchGetResult> {
  const budget = resolveRetryBudget(options.retry)
  const concurrency = options.concurrency ?? 4
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new DynamoInputError(`concurrency must be an integer >= 1, got ${describeValue(concurrency)}`)
  }
  if (!Array.isArray(keys)) throw new DynamoInputError(`keys must be an array of { table, key }, got ${describeValue(keys)}`)
  const signal = options.signal
  if (signal?.aborted) throw new AbortError('batchGet', { cause: signal.reason })

  const all: PendingKey[] = keys.map((key, index) => {
    if (
      typeof key !== 'object' ||
      key === null ||
      typeof key.table !== 'string' ||
      key.table === '' ||
      typeof key.key !== 'object' ||
      key.key === null
    ) {
      throw new DynamoInputError(`key ${index} must be { table: string, key: attribute map }, got ${describeValue(key)}`)
    }
    const keyAttributes = Object.keys(key.key).sort()
    if (keyAttributes.length === 0 || keyAttributes.length > 2) {
      throw new DynamoInputError(`key ${index} must name 1 or 2 key attributes, got ${describeValue(key.key)}`)
    }
    return { key, index, identity: keyIdentity(key.table, key.key, keyAttributes), keyAttributes }
  })
  const unique = new Map<string, PendingKey>()
  for (const pending of all) if (!unique.has(pending.identity)) unique.set(pending.identity, pending)

  const found = new Map<string, AttributeMap>()
  const notDone = new Map<string, { reason: BatchOutcomeReason; error?: unknown }>()
  let completed = 0
  let requests = 0
  const report = () => options.onProgress?.({ completed, total: unique.size, requests })

  const runChunk = async (items: PendingKey[]) => {
    let left = items
    let lastError: unknown
    const give = (reason: BatchOutcomeReason, error?: unknown) => {
      for (const item of left) notDone.set(item.identity, error === undefined ? { reason } : { reason, error })
    }
    for (let attempt = 0; left.length > 0; attempt++) {
      if (attempt >= budget.maxAttempts) return give(lastError === undefined ? 'unprocessed' : 'throttled', lastError)
      if (attempt > 0) {
        try {
          await systemClock.sleep(backoffDelay(attempt - 1, { baseMs: budget.baseDelayMs, capMs: budget.maxDelayMs }), signal)
        } catch {
          return give('aborted')
        }
      }
      if (signal?.aborted) return give('aborted')
      requests++
      let output: BatchGetItemCommandOutput
      try {
        const request = requestItems(left, options.tables)
        output = await publishedSend({ command: 'BatchGetItem', table: tableList(Object.keys(request)) }, () =>
          client.send(new BatchGetItemCommand({ RequestItems: request }), sendOptions(signal)),
        )
      } catch (error) {
        // A read has no side effect: a read cut short by the signal is simply not done.
        if (signal?.aborted) return give('aborted', error)
        if (isTransientError(error)) {
          lastError = error
          report()
          continue
        }
        give('failed', new DynamoRequestError('BatchGetItem', error))
        report()
        return
      }
      lastError = undefined
      // One identity per returned item and distinct key shape of its table (almost always one shape).
      const pendingIdentities = new Set(left.map((item) => item.identity))
      const shapes = new Map<string, string[][]>()
      for (const item of left) {
        const known = shapes.get(item.key.table) ?? []
        if (!known.some((shape) => shape.join('\u0000') === item.keyAttributes.join('\u0000'))) known.push(item.keyAttributes)
        shapes.set(item.key.table, known)
      }
      for (const [table, items] of Object.entries(output.Responses ?? {})) {
        for (const item of items) {
          for (const shape of shapes.get(table) ?? []) {
            const identity = safeIdentity(table, item, shape)
            if (identity !== undefined && pendingIdentities.has(identity)) {
              found.set(identity, item)
              break
            }
          }
        }
      }
      const returned = new Set<string>()
      for (const [table, request] of Object.entries(output.UnprocessedKeys ?? {})) {
        for (const key of request.Keys ?? []) returned.add(keyIdentity(table, key, Object.keys(key).sort()))
      }
      const next = left.filter((item) => returned.has(item.identity))
      completed += left.length - next.length
      left = next
      report()
    }
  }

  await runBounded(chunk([...unique.values()], BATCH_GET_LIMIT), concurrency, runChunk)
  const unprocessed: UnprocessedGet[] = []
  for (const pending of all) {
    const missing = notDone.get(pending.identity)
    if (missing) unprocessed.push({ key: pending.key, index: pending.index, ...missing })
  }
  if (unprocessed.length > 0 && options.allowUnprocessed !== true) {
    throw new BatchIncompleteError('batchGet', { completed, total: unique.size, unprocessed, requests })
  }
  const results = all.map(({ key, identity }) => ({ table: key.table, key: key.key, item: found.get(identity) }))
  const items = results.flatMap(({ table, item }) => (item === undefined ? [] : [{ table, item }]))
  return { results, items, unprocessed, requests }
}

function safeIdentity(table: string, item: AttributeMap, keyAttributes: readonly string[]): string | undefined {
  try {
    return keyIdentity(table, item, keyAttributes)
  } catch {
    return undefined
  }
}

function requestItems(
  items: readonly PendingKey[],
  tables: Record<string, BatchGetTableOptions> | undefined,
): Record<string, KeysAndAttributes> {
  const byTable: Record<string, KeysAndAttributes> = {}
  for (const { key, keyAttributes } of items) {
    let request = byTable[key.table]
    if (request === undefined) {
      request = { Keys: [] }
      const tableOptions = tables?.[key.table]
      if (tableOptions?.consistentRead) request.ConsistentRead = true
      if (tableOptions?.attributes && tableOptions.attributes.length > 0) {
        const names = [...new Set([...keyAttributes, ...tableOptions.attributes])]
        request.ProjectionExpression = names.map((_, position) => `#p${position}`).join(', ')
        request.ExpressionAttributeNames = Object.fromEntries(names.map((name, position) => [`#p${position}`, name]))
      }
      byTable[key.table] = request
    }
    request.Keys?.push(key.key)
  }
  return byTable
}
