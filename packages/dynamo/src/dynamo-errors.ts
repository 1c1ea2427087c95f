import { describeValue, TesseraError } from '@tessera/core'
import type { ResolvedRetryBudget, RetryBudgetOptions } from './dynamo-client-like'

/**
 * Stable codes of the errors the DynamoDB engines throw (besides `ABORTED` from `@tessera/core`'s `AbortError` and `TIMEOUT` from its `TimeoutError`).
 */
export type DynamoIoErrorCode =
  | 'DYNAMO_INVALID_INPUT'
  | 'DYNAMO_DUPLICATE_KEY'
  | 'DYNAMO_BATCH_INCOMPLETE'
  | 'DYNAMO_TRANSACTION_TOO_LARGE'
  | 'DYNAMO_TRANSACTION_CANCELED'
  | 'DYNAMO_REQUEST_FAILED'
  | 'DYNAMO_MIGRATION_FAILED'
  | 'DYNAMO_DECRYPT_FAILED'
  | 'DYNAMO_TENANT_MISMATCH'
  | 'DYNAMO_STREAM_HANDLER_FAILED'
  | 'DYNAMO_DMS_INVALID'

/** Bad input to an engine, found before any request was sent. Names the value and what is accepted. */
export class DynamoInputError extends TesseraError {
  constructor(message: string, options: { code?: DynamoIoErrorCode | undefined; cause?: unknown } = {}) {
    super(message, { code: options.code ?? 'DYNAMO_INVALID_INPUT', cause: options.cause })
  }
}

/** A DynamoDB request failed for a reason the engine does not retry (or ran out of retries). */
export class DynamoRequestError extends TesseraError {
  /** The DynamoDB operation, e.g. `'BatchWriteItem'`. */
  readonly operation: string
  /** The AWS error name, e.g. `'ValidationException'`, when there was one. */
  readonly awsName: string | undefined
  constructor(operation: string, cause: unknown, options: { retryable?: boolean | undefined } = {}) {
    const awsName = awsErrorName(cause)
    const why = cause instanceof Error ? cause.message : describeValue(cause)
    super(`${operation} failed: ${awsName ? `${awsName}: ` : ''}${why}`, {
      code: 'DYNAMO_REQUEST_FAILED',
      retryable: options.retryable ?? false,
      cause,
    })
    this.operation = operation
    this.awsName = awsName
  }
}

/** The `name` of an AWS SDK error (`'ProvisionedThroughputExceededException'`…), or undefined. */
export function awsErrorName(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const name = (error as { name?: unknown }).name
  return typeof name === 'string' ? name : undefined
}

const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'LimitExceededException',
])

/** True when DynamoDB refused a request for capacity reasons: trying again later succeeds. */
export function isThrottlingError(error: unknown): boolean {
  const name = awsErrorName(error)
  return name !== undefined && THROTTLING.has(name)
}

/**
 * True for errors after which sending the same idempotent request again is safe and may succeed: throttling,
 * a 5xx from the service, and network errors that never got an HTTP status.
 */
export function isTransientError(error: unknown): boolean {
  if (isThrottlingError(error)) return true
  if (typeof error !== 'object' || error === null) return false
  const name = awsErrorName(error)
  if (name === 'InternalServerError' || name === 'ServiceUnavailable') return true
  const status = (error as { $metadata?: { httpStatusCode?: unknown } }).$metadata?.httpStatusCode
  if (typeof status === 'number') return status >= 500
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' && ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'].includes(code)
}

/** Checks and fills in a retry budget: every field a finite number in its range, else a `DynamoInputError`. */
export function resolveRetryBudget(options: RetryBudgetOptions | undefined): ResolvedRetryBudget {
  const budget = {
    maxAttempts: options?.maxAttempts ?? 10,
    baseDelayMs: options?.baseDelayMs ?? 50,
    maxDelayMs: options?.maxDelayMs ?? 5_000,
  }
  if (!Number.isInteger(budget.maxAttempts) || budget.maxAttempts < 1) {
    throw new DynamoInputError(`retry.maxAttempts must be an integer >= 1, got ${describeValue(budget.maxAttempts)}`)
  }
  for (const field of ['baseDelayMs', 'maxDelayMs'] as const) {
    const value = budget[field]
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new DynamoInputError(`retry.${field} must be a finite number >= 0, got ${describeValue(value)}`)
    }
  }
  return budget
}
