import { BatchWriteItemCommand, type BatchWriteItemCommandOutput, type WriteRequest } from '@aws-sdk/client-dynamodb'
import { AbortError, backoffDelay, describeValue, systemClock } from '@tessera/core'
import { BatchIncompleteError, type BatchOutcomeReason } from './batch-incomplete-error'
import { publishedSend, tableList } from './command-runner'
import { type DynamoClientLike, type RetryBudgetOptions, sendOptions } from './dynamo-client-like'
import { DynamoInputError, DynamoRequestError, isTransientError, resolveRetryBudget } from './dynamo-errors'
import { assertItemSize } from './item-size'
import { type AttributeMap, keyIdentity } from './key-identity'
import { chunk, runBounded } from './run-bounded'
import { tableKeyAttributes } from './table-key-attributes'

/** DynamoDB's limit of write requests in one `BatchWriteItem`. */
export const BATCH_WRITE_LIMIT = 25

/** One write of a batch: a put of a whole item, or a delete by key. */
export type BatchWriteEntry =
  | { table: string; put: AttributeMap; delete?: undefined }
  | { table: string; delete: AttributeMap; put?: undefined }

/** An entry the batch did not write, and why. */
export interface UnprocessedWrite {
  entry: BatchWriteEntry
  /** Its position in the entries passed to {@link batchWrite}. */
  index: number
  /**
   * `'unprocessed'`: DynamoDB kept returning it in `UnprocessedItems` until the retry budget ran out;
   * `'throttled'`: the requests carrying it were throttled until the budget ran out; `'failed'`: a request
   * carrying it failed with an error that is not retried (see `error`); `'aborted'`: never sent, the signal
   * fired first; `'unknown'`: sent, but the signal fired before the reply, so it may or may not be written.
   */
  reason: BatchOutcomeReason
  error?: unknown
}

/** Progress of a batch, after each request's reply. */
export interface BatchProgress {
  /** Entries (or keys) known to be done. */
  completed: number
  total: number
  /** Requests sent so far, retries included. */
  requests: number
}

/** Options of {@link batchWrite}. */
export interface BatchWriteOptions {
  /** `BatchWriteItem` requests in flight at once. Default: 4. */
  concurrency?: number | undefined
  /** How long to keep retrying unprocessed items and throttled requests. Default: 10 attempts, 50 ms base, 5 s cap. */
  retry?: RetryBudgetOptions | undefined
  /**
   * The key attribute names of each table (partition first), used to find duplicate keys before sending and
   * to match `UnprocessedItems` to entries. Default: read once per table and client with `DescribeTable`.
   */
  keyAttributes?: Record<string, readonly string[]> | undefined
  /** Called after each reply. Default: none. */
  onProgress?: ((progress: BatchProgress) => void) | undefined
  /** Stops sending; entries not sent are reported `'aborted'`, entries in flight `'unknown'`. */
  signal?: AbortSignal | undefined
  /**
   * When `true`, entries not written are returned in `unprocessed` instead of thrown as a
   * {@link BatchIncompleteError}. Default: `false`.
   */
  allowUnprocessed?: boolean | undefined
}

/** What {@link batchWrite} did. */
export interface BatchWriteResult {
  /** Entries written. */
  written: number
  /** Entries not written, in the order given (empty unless `allowUnprocessed`). */
  unprocessed: UnprocessedWrite[]
  /** `BatchWriteItem` requests sent, retries included. */
  requests: number
}

interface Pending {
  entry: BatchWriteEntry
  index: number
  identity: string
}

/**
 * Writes `entries` (puts and deletes, over one or more tables) with `BatchWriteItem`, 25 per request, several
 * requests at once. Items DynamoDB returns in `UnprocessedItems`, and requests refused with
 * `ProvisionedThroughputExceededException` or another throttling or 5xx error, are retried with exponential
 * backoff and full jitter until done or the retry budget of that request runs out. Two entries with the same
 * key are a {@link DynamoInputError} (`DYNAMO_DUPLICATE_KEY`) before anything is sent, since DynamoDB rejects
 * the whole request. Entries not written are reported one by one with the reason.
 *
 * @example
 * await batchWrite(client, [
 *   { table: 'orders', put: { pk: { S: 'order#1' }, total: { N: '12' } } },
 *   { table: 'orders', delete: { pk: { S: 'order#0' } } },
 * ], { keyAttributes: { orders: ['pk'] } })
 */
export async function batchWrite(
  client: DynamoClientLike,
  entries: readonly BatchWriteEntry[],
  options: BatchWriteOptions = {},
): Promise<BatchWriteResult> {
  const budget = resolveRetryBudget(options.retry)
  const concurrency = options.concurrency ?? 4
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new DynamoInputError(`concurrency must be an integer >= 1, got ${describeValue(concurrency)}`)
  }
  if (!Array.isArray(entries))
    throw new DynamoInputError(`entries must be an array of { table, put } or { table, delete }, got ${describeValue(entries)}`)
  const signal = options.signal
  if (signal?.aborted) throw new AbortError('batchWrite', { cause: signal.reason })

  const pending = await identify(client, entries, options.keyAttributes, signal)
  const unprocessed: UnprocessedWrite[] = []
  let written = 0
  let requests = 0
  const report = () => options.onProgress?.({ completed: written, total: entries.length, requests })

  const runChunk = async (items: Pending[]) => {
    let left = items
    let lastError: unknown
    for (let attempt = 0; left.length > 0; attempt++) {
      if (attempt >= budget.maxAttempts) {
        const reason: BatchOutcomeReason = lastError === undefined ? 'unprocessed' : 'throttled'
        for (const item of left) unprocessed.push(outcome(item, reason, lastError))
        return
      }
      if (attempt > 0) {
        try {
          await systemClock.sleep(backoffDelay(attempt - 1, { baseMs: budget.baseDelayMs, capMs: budget.maxDelayMs }), signal)
        } catch {
          for (const item of left) unprocessed.push(outcome(item, 'aborted'))
          return
        }
      }
      if (signal?.aborted) {
        for (const item of left) unprocessed.push(outcome(item, 'aborted'))
        return
      }
      requests++
      let output: BatchWriteItemCommandOutput
      try {
        const request = requestItems(left)
        output = await publishedSend({ command: 'BatchWriteItem', table: tableList(Object.keys(request)) }, () =>
          client.send(new BatchWriteItemCommand({ RequestItems: request }), sendOptions(signal)),
        )
      } catch (error) {
        if (signal?.aborted) {
          for (const item of left) unprocessed.push(outcome(item, 'unknown', error))
          return
        }
        if (isTransientError(error)) {
          lastError = error
          report()
          continue
        }
        const failure = new DynamoRequestError('BatchWriteItem', error)
        for (const item of left) unprocessed.push(outcome(item, 'failed', failure))
        report()
        return
      }
      lastError = undefined
      const returned = returnedIdentities(output.UnprocessedItems, left, options.keyAttributes, pending.keys)
      const next = left.filter((item) => returned.has(item.identity))
      written += left.length - next.length
      left = next
      report()
    }
  }

  await runBounded(chunk(pending.items, BATCH_WRITE_LIMIT), concurrency, runChunk)
  unprocessed.sort((a, b) => a.index - b.index)
  if (unprocessed.length > 0 && options.allowUnprocessed !== true) {
    throw new BatchIncompleteError('batchWrite', { completed: written, total: entries.length, unprocessed, requests })
  }
  return { written, unprocessed, requests }
}

function outcome(item: Pending, reason: BatchOutcomeReason, error?: unknown): UnprocessedWrite {
  return error === undefined ? { entry: item.entry, index: item.index, reason } : { entry: item.entry, index: item.index, reason, error }
}

async function identify(
  client: DynamoClientLike,
  entries: readonly BatchWriteEntry[],
  given: Record<string, readonly string[]> | undefined,
  signal: AbortSignal | undefined,
): Promise<{ items: Pending[]; keys: Map<string, readonly string[]> }> {
  const keys = new Map<string, readonly string[]>()
  entries.forEach((entry, index) => {
    const shape = entry as { table?: unknown; put?: unknown; delete?: unknown }
    if (typeof shape !== 'object' || shape === null || typeof shape.table !== 'string' || shape.table === '') {
      throw new DynamoInputError(`entry ${index} must have a non-empty string table, got ${describeValue(entry)}`)
    }
    const hasPut = typeof shape.put === 'object' && shape.put !== null
    const hasDelete = typeof shape.delete === 'object' && shape.delete !== null
    if (hasPut === hasDelete) {
      throw new DynamoInputError(`entry ${index} must have exactly one of put (an item) or delete (a key), got ${describeValue(entry)}`)
    }
    if (hasPut) assertItemSize(shape.put as AttributeMap, `entry ${index} (put on ${shape.table})`)
  })
  for (const entry of entries) {
    if (keys.has(entry.table)) continue
    const known = given?.[entry.table]
    keys.set(entry.table, known ?? (await tableKeyAttributes(client, entry.table, signal)))
  }
  const seen = new Map<string, number>()
  const items = entries.map((entry, index) => {
    const identity = keyIdentity(entry.table, entry.put ?? entry.delete, keys.get(entry.table) as readonly string[])
    const first = seen.get(identity)
    if (first !== undefined) {
      throw new DynamoInputError(
        `entries ${first} and ${index} write the same item (table ${JSON.stringify(entry.table)}, key ${describeValue(keyOf(entry, keys.get(entry.table) ?? []))}); DynamoDB rejects a batch that writes one key twice`,
        { code: 'DYNAMO_DUPLICATE_KEY' },
      )
    }
    seen.set(identity, index)
    return { entry, index, identity }
  })
  return { items, keys }
}

function keyOf(entry: BatchWriteEntry, keyAttributes: readonly string[]): Record<string, unknown> {
  const source = entry.put ?? entry.delete
  return Object.fromEntries(keyAttributes.map((name) => [name, source[name]]))
}

function requestItems(items: readonly Pending[]): Record<string, WriteRequest[]> {
  const byTable: Record<string, WriteRequest[]> = {}
  for (const { entry } of items) {
    const requests = byTable[entry.table] ?? []
    byTable[entry.table] = requests
    requests.push(entry.put ? { PutRequest: { Item: entry.put } } : { DeleteRequest: { Key: entry.delete } })
  }
  return byTable
}

function returnedIdentities(
  unprocessed: Record<string, WriteRequest[]> | undefined,
  sent: readonly Pending[],
  given: Record<string, readonly string[]> | undefined,
  keys: Map<string, readonly string[]>,
): Set<string> {
  const identities = new Set<string>()
  if (unprocessed === undefined) return identities
  for (const [table, requests] of Object.entries(unprocessed)) {
    const keyAttributes = given?.[table] ?? keys.get(table)
    for (const request of requests) {
      const source = request.PutRequest?.Item ?? request.DeleteRequest?.Key
      if (source === undefined || keyAttributes === undefined) continue
      identities.add(keyIdentity(table, source, keyAttributes))
    }
  }
  // Anything DynamoDB names that we did not send in this request is ignored: only sent items are retried.
  const sentIdentities = new Set(sent.map((item) => item.identity))
  for (const identity of identities) if (!sentIdentities.has(identity)) identities.delete(identity)
  return identities
}
