import { TesseraError } from '@tessera/core'

/** Work was started after `close()`. Not retryable: this provider will not run anything again. */
export class ProviderClosedError extends TesseraError {
  constructor(operation: string) {
    super(`${operation} was called after close(): this postgres.js provider is closed and runs nothing more; create a new one`, {
      code: 'PROVIDER_CLOSED',
    })
  }
}

/**
 * A transaction (or savepoint) object was used after its function returned, when it was already committed or rolled
 * back. Usually a missing `await` inside the transaction function.
 */
export class TransactionEndedError extends TesseraError {
  constructor(kind: 'transaction' | 'savepoint') {
    super(`this ${kind} has already ended (committed or rolled back); run queries only while its function runs, and await every one`, {
      code: 'TRANSACTION_ENDED',
    })
  }
}

/**
 * The position of the failed statement in a `batch`, added to the error the batch rejects with, or `undefined` for
 * errors not from a batch statement. Same as provider-pg's.
 */
export function batchIndexOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const index = (error as { batchIndex?: unknown }).batchIndex
  return typeof index === 'number' ? index : undefined
}

/** Records which batch statement failed on the error itself, so its class survives for `instanceof`. */
export function markBatchIndex(error: unknown, index: number): void {
  if (typeof error !== 'object' || error === null) return
  try {
    Object.defineProperty(error, 'batchIndex', { value: index, enumerable: true, writable: true, configurable: true })
  } catch {
    // A frozen error keeps its shape.
  }
}
