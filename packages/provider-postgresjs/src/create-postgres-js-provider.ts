import { performance } from 'node:perf_hooks'
import type { TypeRegistry } from '@tessera/converter'
import {
  type BatchOptions,
  type BatchQuery,
  createCursorStream,
  type HealthReport,
  type ListenOptions,
  type Notification,
  type PoolStats,
  type Provider,
  type QueryOptions,
  type QueryResult,
  type Row,
  runBatch,
  runTransaction,
  type SqlInput,
  type StreamOptions,
  type Subscription,
  type Transaction,
  type TransactionOptions,
} from '@tessera/core'
import { createPostgresJsBatchDriver } from './batch'
import { PostgresJsEngine } from './engine'
import { createPostgresJsListener } from './listener'
import { type PostgresJsProviderOptions, resolvePostgresJsOptions } from './options'

/** A {@link Provider} over postgres.js, plus the codec registry its connections use. */
export interface PostgresJsProvider extends Provider {
  readonly driver: 'postgres.js'
  /**
   * The provider's own codec registry. Register codecs before the first query: postgres.js copies parsers when the
   * provider is created (types registered by name are resolved before the first statement runs).
   */
  readonly types: TypeRegistry
}

const HEALTH_SQL = "SELECT current_setting('server_version') AS version, pg_is_in_recovery() AS recovery"
const HEALTH_ACQUIRE_TIMEOUT_MS = 5_000

/**
 * Creates a {@link Provider} over a postgres.js instance: statements are pipelined on its connections and prepared
 * automatically, values are read and parameters written by `@tessera/converter`, errors are mapped by
 * `mapPgError`, so results, errors, hooks and diagnostics equal provider-pg's. Options are validated here;
 * connections open on demand.
 *
 * @throws ConfigError listing every invalid option.
 * @example
 * import { createPostgresJsProvider } from '@tessera/provider-postgresjs'
 * import { sql } from '@tessera/core'
 *
 * const db = createPostgresJsProvider({ connectionString: 'postgres://app@localhost/app', pool: { max: 20 } })
 * const { rows } = await db.query(sql`SELECT id, name FROM users WHERE id = ${id}`)
 * await db.close()
 */
export function createPostgresJsProvider(options: PostgresJsProviderOptions): PostgresJsProvider {
  const engine = new PostgresJsEngine(resolvePostgresJsOptions(options))
  const listener = createPostgresJsListener(engine)
  const batchDriver = createPostgresJsBatchDriver(engine)
  let closing: Promise<void> | undefined

  const provider: PostgresJsProvider = {
    driver: 'postgres.js',
    types: engine.o.registry,

    query<R = Row>(sql: SqlInput, params?: readonly unknown[], queryOptions?: QueryOptions): Promise<QueryResult<R>> {
      return engine.query(sql, params, queryOptions) as Promise<QueryResult<R>>
    },

    transaction<T>(fn: (tx: Transaction) => Promise<T>, transactionOptions?: TransactionOptions): Promise<T> {
      return runTransaction(engine, fn, transactionOptions)
    },

    batch(queries: readonly BatchQuery[], batchOptions?: BatchOptions): Promise<QueryResult[]> {
      return runBatch(engine, queries, batchOptions, batchDriver)
    },

    stream<R = Row>(sql: SqlInput, params?: readonly unknown[], streamOptions?: StreamOptions): AsyncIterable<R> {
      return createCursorStream<R>(engine, sql, params, streamOptions)
    },

    async listen(channel: string, onNotify: (notification: Notification) => void, listenOptions?: ListenOptions): Promise<Subscription> {
      try {
        return await listener.listen(channel, onNotify, listenOptions)
      } catch (error) {
        throw engine.report(engine.normalize(error), 'listen')
      }
    },

    async notify(channel: string, payload?: string): Promise<void> {
      if (engine.closed) throw engine.report(engine.closedError('notify'), 'notify')
      try {
        await engine.execute('SELECT pg_notify($1, $2)', [channel, payload ?? ''], undefined)
      } catch (error) {
        throw engine.report(engine.normalize(error), 'notify', 'SELECT pg_notify($1, $2)')
      }
    },

    async health(): Promise<HealthReport> {
      const started = performance.now()
      if (engine.closed) return { status: 'down', error: 'the provider is closed', details: { pool: engine.stats() } }
      try {
        const result = await engine.execute(HEALTH_SQL, [], { timeoutMs: HEALTH_ACQUIRE_TIMEOUT_MS }, HEALTH_ACQUIRE_TIMEOUT_MS)
        const row = result.rows[0] as { version: string; recovery: boolean } | undefined
        return {
          status: 'up',
          latencyMs: performance.now() - started,
          details: { serverVersion: row?.version, inRecovery: row?.recovery, pool: engine.stats() },
        }
      } catch (error) {
        return {
          status: 'down',
          latencyMs: performance.now() - started,
          error: error instanceof Error ? error.message : String(error),
          details: { pool: engine.stats() },
        }
      }
    },

    stats(): PoolStats {
      return engine.stats()
    },

    close(closeOptions?: { timeoutMs?: number }): Promise<void> {
      if (closing !== undefined) return closing
      engine.closed = true
      closing = (async () => {
        try {
          await listener.close()
        } catch (error) {
          engine.o.logger?.warn({ err: error }, 'closing the LISTEN connection failed')
        }
        const timeoutMs = closeOptions?.timeoutMs ?? 30_000
        // Past the deadline postgres.js drops the sockets; cancel what still runs first, so the server stops it too.
        const timer = setTimeout(() => {
          for (const query of engine.inflight) query.cancel()
        }, timeoutMs)
        timer.unref()
        try {
          await Promise.all(engine.endingSessions)
          await engine.sql.end({ timeout: timeoutMs / 1000 })
        } finally {
          clearTimeout(timer)
        }
      })()
      return closing
    },
  }
  return provider
}
