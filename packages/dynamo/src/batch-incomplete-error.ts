import { TesseraError } from '@tessera/core'

/** Why a batch entry or key was not done: see `UnprocessedWrite.reason`. */
export type BatchOutcomeReason = 'unprocessed' | 'throttled' | 'failed' | 'aborted' | 'unknown'

/** Details of a batch that did not finish. */
export interface BatchIncompleteDetails<U> {
  completed: number
  total: number
  /** Exactly the entries (or keys) not done, in input order, each with its reason. */
  unprocessed: readonly U[]
  requests: number
}

/**
 * A batch finished some entries but not all: `unprocessed` lists each one with its reason. Retryable when
 * every reason is one a later try can fix (`unprocessed`, `throttled`). Nothing listed was half-written: a
 * DynamoDB write of one item is atomic; `'unknown'` entries may or may not have been written.
 */
export interface BatchMiss {
  /** Position in the entries or keys passed. */
  index: number
  reason: BatchOutcomeReason
  /** The error behind a `'failed'` or `'throttled'` reason. */
  error?: unknown
}

export class BatchIncompleteError<U extends BatchMiss = BatchMiss> extends TesseraError {
  readonly operation: 'batchWrite' | 'batchGet'
  readonly completed: number
  readonly total: number
  readonly unprocessed: readonly U[]
  readonly requests: number
  constructor(operation: 'batchWrite' | 'batchGet', details: BatchIncompleteDetails<U>) {
    const counts = new Map<string, number>()
    for (const item of details.unprocessed) counts.set(item.reason, (counts.get(item.reason) ?? 0) + 1)
    const summary = [...counts].map(([reason, count]) => `${count} ${reason}`).join(', ')
    const failure = details.unprocessed.find((item) => (item as { error?: unknown }).error instanceof Error) as
      | { error?: Error }
      | undefined
    super(
      `${operation} finished ${details.completed} of ${details.total} after ${details.requests} requests; not done: ${summary}${failure?.error ? ` (${failure.error.message})` : ''}`,
      {
        code: 'DYNAMO_BATCH_INCOMPLETE',
        retryable: details.unprocessed.every((item) => item.reason === 'unprocessed' || item.reason === 'throttled'),
        cause: failure?.error,
      },
    )
    this.operation = operation
    this.completed = details.completed
    this.total = details.total
    this.unprocessed = details.unprocessed
    this.requests = details.requests
  }
}
