import { isTesseraError } from './errors'
import { isConnectionLoss } from './pg-errors'
import { classifyStatement } from './statement-classifier'

/**
 * Whether a statement only reads, so that running it again after a lost connection cannot apply a write twice:
 * `classifyStatement(text).readOnly` (see {@link classifyStatement}). Conservative: several statements, locking reads,
 * `SELECT … INTO`, data-modifying CTEs, `EXPLAIN ANALYZE` of a write and calls of functions known to write or take
 * locks (`nextval`, `pg_advisory_lock`, `set_config`…) are not reads.
 *
 * A user-defined function with side effects called from a `SELECT` (`SELECT send_mail()`) cannot be recognised:
 * turn retries off for such calls with `{ retry: false }`.
 */
export function isReadStatement(text: string): boolean {
  return classifyStatement(text).readOnly
}

/**
 * The default retry test for reads: the connection was lost or could not be made (class 08, a terminated
 * backend, too many connections…) and the error says a new try may work. Timeouts and cancellations the
 * caller asked for are not retried.
 */
export function isRetryableRead(error: unknown): boolean {
  return isTesseraError(error) && error.retryable && isConnectionLoss(error)
}
