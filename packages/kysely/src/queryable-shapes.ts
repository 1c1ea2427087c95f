import type { Queryable, QueryResult, Row, SqlInput, StreamOptions, Transaction, TransactionOptions } from '@tessera/core'

/**
 * The parts of a Tessera queryable the dialect uses beyond `query`, each optional: a provider has `transaction`
 * and `stream`, a transaction has `savepoint`, a provider with reserved connections has `connection`. Declared here
 * (structurally) so any queryable with the same shape works: a cluster, a tenant scope, a test double.
 */
export interface QueryableCapabilities extends Queryable {
  transaction?: (<T>(fn: (tx: Transaction) => Promise<T>, options?: TransactionOptions) => Promise<T>) | undefined
  savepoint?: (<T>(fn: (tx: Transaction) => Promise<T>) => Promise<T>) | undefined
  stream?: (<R = Row>(sql: SqlInput, params?: readonly unknown[], options?: StreamOptions) => AsyncIterable<R>) | undefined
  connection?: (<T>(fn: (connection: ReservedConnection) => Promise<T>, options?: ReserveOptions) => Promise<T>) | undefined
}

/** Options of `provider.connection(fn, options)`. */
export interface ReserveOptions {
  signal?: AbortSignal | undefined
  timeoutMs?: number | undefined
}

/**
 * One connection of a provider, held for the whole function of `provider.connection(fn)`: session state (`SET`,
 * temporary tables, session advisory locks) lasts across its statements.
 */
export interface ReservedConnection extends Queryable {
  transaction<T>(fn: (tx: Transaction) => Promise<T>, options?: TransactionOptions): Promise<T>
  stream<R = Row>(sql: SqlInput, params?: readonly unknown[], options?: StreamOptions): AsyncIterable<R>
}

/** What the dialect runs statements on at a given moment: the queryable, a reserved connection, a transaction. */
export type StatementTarget = QueryableCapabilities

/** Narrows the result of a query, for the connection's `executeQuery`. */
export type AnyQueryResult = QueryResult<Row>
