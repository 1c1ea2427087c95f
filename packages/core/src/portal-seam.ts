import type { QueryResult } from './contracts'

/**
 * For driver authors: one statement run through a portal, a batch of rows per Execute (`provider.stream` of
 * `INSERT/UPDATE/DELETE … RETURNING`, which a cursor cannot hold). The server runs the statement at the first Execute
 * and keeps its rows; the client holds one batch at a time.
 */
export interface DriverPortal {
  /** The next batch (its rows converted as `run` converts them), or `undefined` once every row was handed over. Rejects with the raw error. */
  next(): Promise<QueryResult | undefined>
  /** Stops reading; resolves once the session can run the next statement. Never rejects. */
  close(): Promise<void>
}
