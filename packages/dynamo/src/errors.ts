import { describeValue, NotFoundError, TesseraError } from '@tessera/core'

/** A write's condition (yours, or `ifNotExists` on create) did not hold; nothing was written. */
export class ConditionFailedError extends TesseraError {
  readonly model: string
  readonly key: unknown
  /** The item as it was, when DynamoDB returned it. */
  readonly item: unknown
  constructor(details: { model: string; key: unknown; reason: string; item?: unknown }, options: { cause?: unknown } = {}) {
    super(`${details.model} ${describeValue(details.key)}: ${details.reason}`, { code: 'CONDITION_FAILED', cause: options.cause })
    this.model = details.model
    this.key = details.key
    this.item = details.item
  }
}

/** `getOrThrow`, `update` or `delete` found no item with that key. */
export class ItemNotFoundError extends NotFoundError {
  constructor(details: { model: string; key: unknown }) {
    super({ entity: details.model, key: details.key })
  }
}

/** A cursor that was tampered with, signed with another key, or made by a different query. */
export class CursorError extends TesseraError {
  constructor(reason: string) {
    super(`invalid cursor: ${reason}; pass back the cursor exactly as a query with the same shape returned it`, {
      code: 'CURSOR_INVALID',
    })
  }
}

/** DynamoDB refused a request; `awsCode` is its exception name. Throttling and server errors are retryable. */
export class DynamoRequestError extends TesseraError {
  readonly awsCode: string
  readonly command: string
  constructor(details: { command: string; awsCode: string; message: string }, options: { cause?: unknown } = {}) {
    super(`${details.command} failed: ${details.awsCode}: ${details.message}`, {
      code: 'DYNAMO_REQUEST_FAILED',
      retryable: RETRYABLE_AWS_CODES.has(details.awsCode),
      cause: options.cause,
    })
    this.awsCode = details.awsCode
    this.command = details.command
  }
}

const RETRYABLE_AWS_CODES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TransactionConflictException',
])

/** The exception name of an AWS SDK error, or `undefined`. */
export function awsErrorName(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const name = (error as { name?: unknown }).name
  return typeof name === 'string' ? name : undefined
}
