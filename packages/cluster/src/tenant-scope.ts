import {
  type BatchOptions,
  type BatchQuery,
  batchIndexOf,
  isReadStatement,
  isRetryableRead,
  isSqlQuery,
  type Provider,
  type Queryable,
  type QueryOptions,
  type QueryResult,
  type RetryPolicy,
  type Row,
  retry,
  type SqlInput,
  type StreamOptions,
  type Transaction,
  type TransactionOptions,
} from '@tessera/core'
import { bridgeRows } from './row-bridge'

/**
 * One tenant's view of the data: the `Queryable` surface of a provider, where every statement runs with the tenant's
 * schema first on `search_path` (`schema`), with `app.tenant_id` set (`rls`), or on the tenant's own database
 * (`database`). `@tessera/schema` repositories and the Kysely dialect take it wherever they take a provider.
 *
 * Not offered, because they would outlive the statement that carries the tenant state: `listen`/`notify` (use the
 * provider), `connection` (hold a connection with the provider and set the state yourself), `copyFrom`/`copyTo`,
 * `queryMulti`.
 */
export interface TenantScope extends Queryable {
  /** The tenant this scope runs for. */
  readonly tenantId: string
  /**
   * One statement for the tenant. With the `schema` and `rls` strategies, `BEGIN`, the `set_config(…, true)` that
   * carries the tenant, the statement and `COMMIT` are pipelined in one round trip (the provider's atomic `batch`);
   * options `batch` cannot carry (`schema`, `rowMode`, `prepare`, a `sql.type()` query) make it a
   * transaction of its own instead, one round trip per statement. A read cut by a lost connection runs again per the
   * tenancy's `retry` policy (a `database` tenant's per its provider's policy).
   */
  query<R = Row>(sql: SqlInput<R>, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<R>>
  /** A transaction for the tenant: its state is set first (`SET LOCAL`), so every statement of `fn` sees it. */
  transaction<T>(fn: (tx: Transaction) => Promise<T>, options?: TransactionOptions): Promise<T>
  /**
   * The statements pipelined. `atomic` defaults to `true` here (the tenant state lives in the batch's transaction);
   * `atomic: false` runs each statement as a tenant statement of its own, in order: a failing one does not stop the
   * others, and the call rejects with the first failure (`batchIndexOf(error)`).
   */
  batch(queries: readonly BatchQuery[], options?: BatchOptions): Promise<QueryResult[]>
  /**
   * Rows through a cursor, on a connection held for the whole iteration with the tenant state set for its session;
   * the provider resets the session (`RESET ALL`…) before the connection goes back to the pool.
   */
  stream<R = Row>(sql: SqlInput<R>, params?: readonly unknown[], options?: StreamOptions): AsyncIterable<R>
}

/** What a scope needs from its tenancy: where to run, and the statement that carries the tenant state. */
export interface ScopeRuntime {
  readonly tenantId: string
  /** Admits the call (closed? allowlist? bulkhead slot?) and runs `fn` on the tenant's provider. */
  run<T>(signal: AbortSignal | undefined, fn: (provider: Provider) => Promise<T>): Promise<T>
  /** The `set_config` statement, transaction-local or session-wide; `undefined` for the `database` strategy. */
  setting: ((local: boolean) => BatchQuery) | undefined
  readonly maxParameters: number | undefined
  /** Retry policy of a tenant read cut by a lost connection (`schema`/`rls`); `false`: never. */
  readonly retry: RetryPolicy | false
}

// Core marks a `sql.type(schema)` query with this registered symbol (core's `ROW_SCHEMA`, not exported to users).
const ROW_SCHEMA = Symbol.for('tessera.rowSchema')

/** Only `signal`, `timeoutMs` and `retry` (applied around the batch) survive the trip through `batch`. */
function fitsInBatch(sql: SqlInput, options: QueryOptions | undefined): boolean {
  if (typeof sql === 'object' && sql !== null && (sql as { [ROW_SCHEMA]?: unknown })[ROW_SCHEMA] !== undefined) return false
  if (options === undefined) return true
  return options.schema === undefined && options.rowMode === undefined && options.prepare === undefined
}

export function createTenantScope(runtime: ScopeRuntime): TenantScope {
  const { setting } = runtime

  const query = <R>(sql: SqlInput<R>, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<R>> =>
    runtime.run(options?.signal, async (provider) => {
      if (setting === undefined) return provider.query<R>(sql, params, options)
      if (fitsInBatch(sql, options)) {
        const once = async () => {
          const results = await provider.batch([setting(true), { sql, params }], {
            atomic: true,
            signal: options?.signal,
            timeoutMs: options?.timeoutMs,
          })
          return results[1] as QueryResult<R>
        }
        const policy = options?.retry ?? runtime.retry
        // The whole batch is one transaction: a read whose connection was lost applied nothing, so it can run again.
        if (policy === false || !isReadStatement(textOf(sql))) return once()
        return retry(once, { ...policy, retryOn: policy.retryOn ?? isRetryableRead, signal: options?.signal ?? policy.signal })
      }
      return provider.transaction(
        async (tx) => {
          const set = setting(true)
          await tx.query(set.sql, set.params)
          return tx.query<R>(sql, params, options)
        },
        { signal: options?.signal },
      )
    })

  const transaction = <T>(fn: (tx: Transaction) => Promise<T>, options?: TransactionOptions): Promise<T> =>
    runtime.run(options?.signal, (provider) => {
      if (setting === undefined) return provider.transaction(fn, options)
      return provider.transaction(async (tx) => {
        const set = setting(true)
        await tx.query(set.sql, set.params)
        return fn(tx)
      }, options)
    })

  const batch = async (queries: readonly BatchQuery[], options: BatchOptions = {}): Promise<QueryResult[]> => {
    if (setting === undefined) return runtime.run(options.signal, (provider) => provider.batch(queries, options))
    if (options.atomic === false) return separateStatements(queries, options)
    if (!Array.isArray(queries) || queries.length === 0) {
      // The provider's batch validates the input and returns [] for an empty array without a round trip.
      return runtime.run(options.signal, (provider) => provider.batch(queries, options))
    }
    return runtime.run(options.signal, async (provider) => {
      try {
        const results = await provider.batch([setting(true), ...queries], { ...options, atomic: true })
        return results.slice(1)
      } catch (error) {
        shiftBatchIndex(error)
        throw error
      }
    })
  }

  const separateStatements = async (queries: readonly BatchQuery[], options: BatchOptions): Promise<QueryResult[]> => {
    const results: QueryResult[] = []
    let firstFailure: { index: number; error: unknown } | undefined
    for (let index = 0; index < queries.length; index++) {
      const entry = queries[index]!
      try {
        results.push(await query(entry.sql, entry.params, { signal: options.signal, timeoutMs: options.timeoutMs }))
      } catch (error) {
        firstFailure ??= { index, error }
        if (options.signal?.aborted) break
      }
    }
    if (firstFailure !== undefined) {
      markIndex(firstFailure.error, firstFailure.index)
      throw firstFailure.error
    }
    return results
  }

  const stream = <R>(sql: SqlInput<R>, params?: readonly unknown[], options?: StreamOptions): AsyncIterable<R> =>
    bridgeRows<R>((push) =>
      runtime.run(options?.signal, async (provider) => {
        if (setting === undefined) {
          for await (const row of provider.stream<R>(sql, params, options)) await push(row)
          return
        }
        await provider.connection(
          async (connection) => {
            const set = setting(false)
            await connection.query(set.sql, set.params)
            for await (const row of connection.stream<R>(sql, params, options)) await push(row)
          },
          { signal: options?.signal },
        )
      }),
    )

  return {
    tenantId: runtime.tenantId,
    maxParameters: runtime.maxParameters,
    query,
    transaction,
    batch,
    stream,
  }
}

function textOf(sql: SqlInput): string {
  if (typeof sql === 'string') return sql
  return isSqlQuery(sql) ? sql.text : ''
}

/** The user's statement `i` is the batch's statement `i + 1`: the `set_config` came first. */
function shiftBatchIndex(error: unknown): void {
  const index = batchIndexOf(error)
  if (index === undefined) return
  markIndex(error, index === 0 ? undefined : index - 1)
}

function markIndex(error: unknown, index: number | undefined): void {
  if (typeof error !== 'object' || error === null) return
  try {
    Object.defineProperty(error, 'batchIndex', { value: index, enumerable: true, writable: true, configurable: true })
  } catch {
    // A frozen error keeps its shape.
  }
}
