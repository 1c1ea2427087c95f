import { randomUUID } from 'node:crypto'
import {
  type CancellationReason as SdkCancellationReason,
  type TransactGetItem,
  TransactGetItemsCommand,
  type TransactGetItemsCommandOutput,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb'
import { AbortError, backoffDelay, describeValue, systemClock } from '@tessera/core'
import { publishedSend, tableList } from './command-runner'
import { type DynamoClientLike, type ResolvedRetryBudget, type RetryBudgetOptions, sendOptions } from './dynamo-client-like'
import { awsErrorName, DynamoInputError, DynamoRequestError, isTransientError, resolveRetryBudget } from './dynamo-errors'
import { assertItemSize } from './item-size'
import { type AttributeMap, keyIdentity } from './key-identity'
import { type CancellationReason, TransactionCanceledError, type TransactOperationType } from './transaction-canceled-error'

/** DynamoDB's limit of operations in one transaction. */
export const TRANSACT_LIMIT = 100

/** One operation of a transaction as it is sent (a raw `TransactWriteItem`). */
export type TransactWriteOperation = TransactWriteItem

/** What one operation wrote (or checked). */
export interface WrittenOperation {
  index: number
  type: Exclude<TransactOperationType, 'get'>
  table: string
  /** The key of an update, delete or condition check (and of a put when its table's key attributes are known). */
  key: AttributeMap | undefined
  /** The whole item of a put, exactly as sent. */
  item: AttributeMap | undefined
}

/** Options of {@link transactWrite}. */
export interface TransactWriteOptions {
  /**
   * The idempotency token (at most 36 characters): DynamoDB applies a transaction with the same token at most
   * once within 10 minutes, so the engine resends it after a lost reply or a 5xx. Default: a random UUID.
   */
  clientRequestToken?: string | undefined
  /**
   * Retry budget for transient errors (resent with the same token) and for cancellations caused only by
   * `TransactionConflict` or throttling (resent with a new token: nothing was applied). Default: 10 attempts,
   * 50 ms base, 5 s cap. `{ maxAttempts: 1 }` never retries.
   */
  retry?: RetryBudgetOptions | undefined
  /**
   * Ask DynamoDB for the current item of every operation with a condition that fails
   * (`ReturnValuesOnConditionCheckFailure: 'ALL_OLD'` where the operation does not say otherwise). Default: `false`.
   */
  returnItemOnConditionFailure?: boolean | undefined
  /** Key attribute names per table, to check that no item appears twice and to report the keys of puts. Default: none. */
  keyAttributes?: Record<string, readonly string[]> | undefined
  /** Stops waiting; a transaction in flight may still be applied (its token makes a resend safe). */
  signal?: AbortSignal | undefined
}

/** What {@link transactWrite} did. */
export interface TransactWriteResult {
  /** One entry per operation, in order. */
  written: WrittenOperation[]
  /** The token of the attempt that was applied. */
  clientRequestToken: string
  /** Requests sent, retries included. */
  attempts: number
}

/**
 * Runs up to 100 put / update / delete / condition-check operations as one DynamoDB transaction and returns
 * what it wrote. More than 100 operations, an empty list, a malformed operation or one item twice is a
 * {@link DynamoInputError} before anything is sent. A cancellation is a {@link TransactionCanceledError} naming
 * each operation's reason; conflicts and throttling are retried within the budget first.
 *
 * @example
 * const { written } = await transactWrite(client, [
 *   { Put: { TableName: 'accounts', Item: { pk: { S: 'acct#2' }, balance: { N: '10' } }, ConditionExpression: 'attribute_not_exists(pk)' } },
 *   { Update: { TableName: 'accounts', Key: { pk: { S: 'acct#1' } }, UpdateExpression: 'SET balance = balance - :v', ExpressionAttributeValues: { ':v': { N: '10' } } } },
 * ])
 */
export async function transactWrite(
  client: DynamoClientLike,
  operations: readonly TransactWriteOperation[],
  options: TransactWriteOptions = {},
): Promise<TransactWriteResult> {
  const budget = resolveRetryBudget(options.retry)
  const described = describeOperations('transactWrite', operations, options.keyAttributes)
  const token = options.clientRequestToken ?? randomUUID()
  if (typeof token !== 'string' || token.length < 1 || token.length > 36) {
    throw new DynamoInputError(`clientRequestToken must be a string of 1 to 36 characters, got ${describeValue(token)}`)
  }
  const items = options.returnItemOnConditionFailure ? operations.map(withReturnOnConditionFailure) : [...operations]
  const signal = options.signal
  let currentToken = token
  let attempts = 0
  for (;;) {
    if (signal?.aborted) throw new AbortError('transactWrite', { cause: signal.reason })
    attempts++
    try {
      await publishedSend({ command: 'TransactWriteItems', table: tableList(described.map(({ table }) => table)) }, () =>
        client.send(new TransactWriteItemsCommand({ TransactItems: items, ClientRequestToken: currentToken }), sendOptions(signal)),
      )
      const written = described.map(({ index, type, table, key, item }) => ({
        index,
        type: type as WrittenOperation['type'],
        table,
        key,
        item,
      }))
      return { written, clientRequestToken: currentToken, attempts }
    } catch (error) {
      if (signal?.aborted) throw new AbortError('transactWrite', { cause: error })
      const canceled =
        awsErrorName(error) === 'TransactionCanceledException'
          ? toCanceledError('transactWrite', error, described, currentToken)
          : undefined
      const sameTokenRetry = canceled === undefined && (isTransientError(error) || awsErrorName(error) === 'TransactionInProgressException')
      const retryable = sameTokenRetry || canceled?.retryable === true
      if (!retryable || attempts >= budget.maxAttempts) throw canceled ?? new DynamoRequestError('TransactWriteItems', error, { retryable })
      // Canceled means nothing was applied: the retry is a new transaction, with a new token.
      if (canceled) currentToken = randomUUID()
      await pause(attempts, budget, signal, 'transactWrite')
    }
  }
}

/** Options of {@link transactGet}. */
export interface TransactGetOptions {
  /** Retry budget for transient errors and conflict cancellations. Default: 10 attempts, 50 ms base, 5 s cap. */
  retry?: RetryBudgetOptions | undefined
  signal?: AbortSignal | undefined
}

/**
 * Reads up to 100 items in one serializable snapshot (`TransactGetItems`). Returns one entry per get, in order:
 * the item, or `undefined` when there is none.
 */
export async function transactGet(
  client: DynamoClientLike,
  gets: readonly TransactGetItem[],
  options: TransactGetOptions = {},
): Promise<{ items: (AttributeMap | undefined)[]; attempts: number }> {
  const budget = resolveRetryBudget(options.retry)
  const described = describeOperations('transactGet', gets, undefined)
  const signal = options.signal
  let attempts = 0
  for (;;) {
    if (signal?.aborted) throw new AbortError('transactGet', { cause: signal.reason })
    attempts++
    let output: TransactGetItemsCommandOutput
    try {
      output = await publishedSend({ command: 'TransactGetItems', table: tableList(described.map(({ table }) => table)) }, () =>
        client.send(new TransactGetItemsCommand({ TransactItems: [...gets] }), sendOptions(signal)),
      )
    } catch (error) {
      if (signal?.aborted) throw new AbortError('transactGet', { cause: error })
      const canceled =
        awsErrorName(error) === 'TransactionCanceledException' ? toCanceledError('transactGet', error, described, undefined) : undefined
      const retryable = canceled ? canceled.retryable : isTransientError(error)
      if (!retryable || attempts >= budget.maxAttempts) throw canceled ?? new DynamoRequestError('TransactGetItems', error, { retryable })
      await pause(attempts, budget, signal, 'transactGet')
      continue
    }
    const responses = output.Responses ?? []
    return { items: gets.map((_, index) => responses[index]?.Item), attempts }
  }
}

async function pause(attempts: number, budget: ResolvedRetryBudget, signal: AbortSignal | undefined, operation: string): Promise<void> {
  try {
    await systemClock.sleep(backoffDelay(attempts - 1, { baseMs: budget.baseDelayMs, capMs: budget.maxDelayMs }), signal)
  } catch (error) {
    throw new AbortError(operation, { cause: error })
  }
}

interface DescribedOperation {
  index: number
  type: TransactOperationType
  table: string
  key: AttributeMap | undefined
  item: AttributeMap | undefined
}

const PARTS = { Put: 'put', Update: 'update', Delete: 'delete', ConditionCheck: 'conditionCheck', Get: 'get' } as const

function describeOperations(
  operation: 'transactWrite' | 'transactGet',
  operations: readonly (TransactWriteItem | TransactGetItem)[],
  keyAttributes: Record<string, readonly string[]> | undefined,
): DescribedOperation[] {
  if (!Array.isArray(operations) || operations.length === 0) {
    throw new DynamoInputError(`${operation} needs 1 to ${TRANSACT_LIMIT} operations, got ${describeValue(operations)}`)
  }
  if (operations.length > TRANSACT_LIMIT) {
    throw new DynamoInputError(
      `${operation} got ${operations.length} operations; DynamoDB allows at most ${TRANSACT_LIMIT} in one transaction (split it, or use a batch when atomicity is not needed)`,
      { code: 'DYNAMO_TRANSACTION_TOO_LARGE' },
    )
  }
  const allowed = operation === 'transactGet' ? ['Get'] : ['Put', 'Update', 'Delete', 'ConditionCheck']
  const seen = new Map<string, number>()
  return operations.map((entry, index) => {
    const present =
      typeof entry === 'object' && entry !== null
        ? Object.keys(entry).filter((name) => (entry as Record<string, unknown>)[name] !== undefined)
        : []
    const part = present[0]
    if (present.length !== 1 || part === undefined || !allowed.includes(part)) {
      throw new DynamoInputError(`operation ${index} must have exactly one of ${allowed.join(', ')}, got ${describeValue(entry)}`)
    }
    const body = (entry as Record<string, { TableName?: unknown; Key?: AttributeMap | undefined; Item?: AttributeMap | undefined }>)[
      part
    ] as {
      TableName?: unknown
      Key?: AttributeMap | undefined
      Item?: AttributeMap | undefined
    }
    if (typeof body.TableName !== 'string' || body.TableName === '') {
      throw new DynamoInputError(`operation ${index} (${part}) needs a TableName, got ${describeValue(body.TableName)}`)
    }
    const table = body.TableName
    const type = PARTS[part as keyof typeof PARTS]
    const knownKeys = keyAttributes?.[table]
    let key = body.Key
    if (part === 'Put') {
      if (typeof body.Item !== 'object' || body.Item === null)
        throw new DynamoInputError(`operation ${index} (Put on ${table}) needs an Item`)
      assertItemSize(body.Item, `operation ${index} (Put on ${table})`)
      if (knownKeys) key = Object.fromEntries(knownKeys.map((name) => [name, (body.Item as AttributeMap)[name]])) as AttributeMap
    } else if (typeof key !== 'object' || key === null) {
      throw new DynamoInputError(`operation ${index} (${part} on ${table}) needs a Key`)
    }
    if (key !== undefined && operation === 'transactWrite') {
      const identity = keyIdentity(table, key, knownKeys ?? Object.keys(key))
      const first = seen.get(identity)
      if (first !== undefined) {
        throw new DynamoInputError(
          `operations ${first} and ${index} touch the same item (table ${JSON.stringify(table)}, key ${describeValue(key)}); DynamoDB rejects a transaction that names one item twice`,
          { code: 'DYNAMO_DUPLICATE_KEY' },
        )
      }
      seen.set(identity, index)
    }
    return { index, type, table, key, item: part === 'Put' ? body.Item : undefined }
  })
}

function withReturnOnConditionFailure(operation: TransactWriteItem): TransactWriteItem {
  const [part, body] = Object.entries(operation).find(([, value]) => value !== undefined) as [
    keyof TransactWriteItem,
    Record<string, unknown>,
  ]
  if (body.ConditionExpression === undefined || body.ReturnValuesOnConditionCheckFailure !== undefined) return operation
  return { [part]: { ...body, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } } as TransactWriteItem
}

function toCanceledError(
  operation: 'transactWrite' | 'transactGet',
  error: unknown,
  described: readonly DescribedOperation[],
  token: string | undefined,
): TransactionCanceledError {
  const sdkReasons = ((error as { CancellationReasons?: SdkCancellationReason[] | undefined }).CancellationReasons ??
    []) as SdkCancellationReason[]
  const reasons: CancellationReason[] = described.map((op, index) => {
    const reason = sdkReasons[index]
    return {
      index,
      type: op.type,
      table: op.table,
      code: reason?.Code ?? 'Unknown',
      message: reason?.Message,
      item: reason?.Item,
    }
  })
  return new TransactionCanceledError(operation, reasons, { cause: error, clientRequestToken: token })
}
