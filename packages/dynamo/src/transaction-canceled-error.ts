import { TesseraError } from '@tessera/core'
import type { AttributeMap } from './key-identity'

/** The kind of one operation of a transaction. */
export type TransactOperationType = 'put' | 'update' | 'delete' | 'conditionCheck' | 'get'

/** Why DynamoDB canceled one operation of a transaction (`'None'`: this one was fine, another was not). */
export interface CancellationReason {
  /** Position of the operation in the list passed. */
  index: number
  type: TransactOperationType
  table: string
  /**
   * DynamoDB's code: `'None'`, `'ConditionalCheckFailed'`, `'TransactionConflict'`, `'ItemCollectionSizeLimitExceeded'`,
   * `'ThrottlingError'`, `'ProvisionedThroughputExceeded'`, `'ValidationError'`…
   */
  code: string
  message: string | undefined
  /** The item as it was, for a failed condition when the operation asked for it (`ReturnValuesOnConditionCheckFailure: 'ALL_OLD'`). */
  item: AttributeMap | undefined
}

const RETRYABLE_CODES = new Set(['TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded'])

/**
 * DynamoDB canceled a transaction: nothing of it was applied. `reasons` has one entry per operation;
 * `failures` only those whose code is not `'None'`. Retryable when every failure is a conflict or throttling.
 */
export class TransactionCanceledError extends TesseraError {
  readonly operation: 'transactWrite' | 'transactGet'
  readonly reasons: readonly CancellationReason[]
  readonly failures: readonly CancellationReason[]
  /** The `ClientRequestToken` of the canceled attempt (writes only). */
  readonly clientRequestToken: string | undefined
  constructor(
    operation: 'transactWrite' | 'transactGet',
    reasons: readonly CancellationReason[],
    options: { cause?: unknown; clientRequestToken?: string | undefined } = {},
  ) {
    const failures = reasons.filter((reason) => reason.code !== 'None')
    const listed = failures
      .map(
        (reason) =>
          `operation ${reason.index} (${reason.type} on ${reason.table}): ${reason.code}${reason.message ? ` (${reason.message})` : ''}`,
      )
      .join('; ')
    super(`${operation} canceled, nothing was applied: ${listed || 'no reason given'}`, {
      code: 'DYNAMO_TRANSACTION_CANCELED',
      retryable: failures.length > 0 && failures.every((reason) => RETRYABLE_CODES.has(reason.code)),
      cause: options.cause,
    })
    this.operation = operation
    this.reasons = reasons
    this.failures = failures
    this.clientRequestToken = options.clientRequestToken
  }
}
