import { TesseraError } from './errors'

/**
 * For provider authors: work was started after `close()`. Not retryable: the provider will not run anything again.
 *
 * @example
 * if (engine.closed) throw new ProviderClosedError('query', 'pg') // "query was called after close(): this pg provider is closed…"
 */
export class ProviderClosedError extends TesseraError {
  /** `driver` names the provider in the message (`'pg'`, `'postgres.js'`). */
  constructor(operation: string, driver?: string, options: { cause?: unknown } = {}) {
    const provider = driver === undefined ? 'provider' : `${driver} provider`
    const message =
      options.cause === undefined
        ? `${operation} was called after close(): this ${provider} is closed and runs nothing more; create a new one`
        : `${operation} was cut: close() ended its connection; create a new provider to run it again`
    super(message, { code: 'PROVIDER_CLOSED', cause: options.cause })
  }
}

/**
 * A transaction (or savepoint) object was used after its function returned, when it was already committed
 * or rolled back. Usually a missing `await` inside the transaction function.
 */
export class TransactionEndedError extends TesseraError {
  constructor(kind: 'transaction' | 'savepoint') {
    super(`this ${kind} has already ended (committed or rolled back); run queries only while its function runs, and await every one`, {
      code: 'TRANSACTION_ENDED',
    })
  }
}

/**
 * The position of the failed statement in a `batch`, added to the error the batch rejects with (a
 * `UniqueViolationError`, …, unchanged otherwise), or `undefined` for errors not from a batch statement.
 *
 * @example
 * try { await db.batch(queries) } catch (error) { console.log(batchIndexOf(error)) } // 2
 */
export function batchIndexOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const index = (error as { batchIndex?: unknown }).batchIndex
  return typeof index === 'number' ? index : undefined
}

/**
 * For provider authors: records which batch statement failed on the error itself (read back with
 * {@link batchIndexOf}), so its class survives for `instanceof`. A frozen error is left as it is.
 */
export function markBatchIndex(error: unknown, index: number): void {
  if (typeof error !== 'object' || error === null) return
  try {
    Object.defineProperty(error, 'batchIndex', { value: index, enumerable: true, writable: true, configurable: true })
  } catch {
    // A frozen error keeps its shape.
  }
}

/**
 * A connection lent by `provider.connection(fn)` was used after `fn` settled, when it was already reset and given
 * back to the pool. Usually a missing `await` inside `fn`, or the connection object kept in a variable.
 */
export class ConnectionReleasedError extends TesseraError {
  constructor(operation: string) {
    super(
      `${operation} was called on a connection that was already given back: use the connection only while the function passed to connection() runs, and await every call`,
      { code: 'CONNECTION_RELEASED' },
    )
  }
}

/**
 * A connection lent by `provider.connection(fn)` was asked to run something while a transaction, batch or stream of
 * its own held it: the new work would have run inside that transaction. Run it through the transaction object, or
 * after the transaction (batch, stream) ended.
 */
export class ConnectionBusyError extends TesseraError {
  readonly heldBy: 'transaction' | 'batch' | 'stream'
  constructor(operation: string, heldBy: 'transaction' | 'batch' | 'stream') {
    super(
      `${operation} was called on a connection while a ${heldBy} of it is still running: await the ${heldBy} first${heldBy === 'transaction' ? ', or run the statement through the transaction object' : ''}`,
      { code: 'CONNECTION_BUSY' },
    )
    this.heldBy = heldBy
  }
}
