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
import { createPgBatchDriver } from './batch'
import { createPgListener } from './listener'
import { type PgProviderOptions, resolvePgOptions } from './options'
import { PgEngine } from './pg-engine'

/** A {@link Provider} over node-postgres, plus the codec registry its connections use. */
export interface PgProvider extends Provider {
  readonly driver: 'pg'
  /**
   * The provider's own codec registry (never pg's global `types`). Register codecs by OID at any time; types
   * registered by name are resolved on the next new connection.
   */
  readonly types: TypeRegistry
}

const HEALTH_SQL = "SELECT current_setting('server_version') AS version, pg_is_in_recovery() AS recovery"
const HEALTH_ACQUIRE_TIMEOUT_MS = 5_000

/**
 * Creates a {@link Provider} over `pg.Client` connections pooled by `@tessera/pool`. Options are validated
 * here; connections open lazily (or `pool.min` of them at once, in the background).
 *
 * @throws ConfigError listing every invalid option.
 * @example
 * import { createPgProvider } from '@tessera/provider-pg'
 * import { sql } from '@tessera/core'
 *
 * const db = createPgProvider({ connectionString: 'postgres://app@localhost/app', pool: { max: 20 } })
 * const { rows } = await db.query(sql`SELECT id, name FROM users WHERE id = ${id}`)
 * await db.close()
 */
export function createPgProvider(options: PgProviderOptions): PgProvider {
  const engine = new PgEngine(resolvePgOptions(options))
  const listener = createPgListener(engine)
  const batchDriver = createPgBatchDriver(engine)
  let closing: Promise<void> | undefined

  const provider: PgProvider = {
    driver: 'pg',
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
        await engine.tracedExecute('SELECT pg_notify($1, $2)', [channel, payload ?? ''], undefined, 'query')
      } catch (error) {
        throw engine.report(engine.normalize(error), 'notify', 'SELECT pg_notify($1, $2)')
      }
    },

    async health(): Promise<HealthReport> {
      const started = performance.now()
      if (engine.closed) return { status: 'down', error: 'the provider is closed', details: { pool: engine.pool.stats() } }
      try {
        const result = await engine.execute(HEALTH_SQL, [], undefined, HEALTH_ACQUIRE_TIMEOUT_MS)
        const row = result.rows[0] as { version: string; recovery: boolean } | undefined
        return {
          status: 'up',
          latencyMs: performance.now() - started,
          details: { serverVersion: row?.version, inRecovery: row?.recovery, pool: engine.pool.stats() },
        }
      } catch (error) {
        return {
          status: 'down',
          latencyMs: performance.now() - started,
          error: error instanceof Error ? error.message : String(error),
          details: { pool: engine.pool.stats() },
        }
      }
    },

    stats(): PoolStats {
      return engine.pool.stats()
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
        await engine.pool.drain({ timeoutMs: closeOptions?.timeoutMs ?? 30_000 })
      })()
      return closing
    },
  }
  return provider
}
