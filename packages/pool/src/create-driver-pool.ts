import type { Logger, ProviderPoolOptions } from '@tessera/core'
import type { DriverConnection, DriverPool } from '@tessera/core/driver'
import { createPool } from './create-pool'

const DESTROY = Object.freeze({ destroy: true })

/** Options of {@link createDriverPool}. */
export interface DriverPoolOptions<Connection> {
  /** The pool's name in diagnostics and logs. */
  name: string
  /** The driver's name in log messages (`'pg'`). */
  driver: string
  /** The provider's resolved `pool` options (`maxUses` where the driver accepts it). */
  pool: Required<ProviderPoolOptions> & { maxUses?: number | undefined }
  logger: Logger | undefined
  /** Opens one session; `signal` aborts when the pool is closing. */
  open(signal: AbortSignal): Promise<Connection>
}

/**
 * For driver authors: the pool of sessions a Tessera driver lends to core's provider, built on {@link createPool}
 * with the provider's `pool` options, so every driver has the same deadlines, eviction, leak detection, statistics
 * and drain. Sessions are closed with their own `close()`.
 */
export function createDriverPool<Connection extends DriverConnection>(options: DriverPoolOptions<Connection>): DriverPool<Connection> {
  const settings = options.pool
  const pool = createPool<Connection>({
    name: options.name,
    create: (signal) => options.open(signal),
    destroy: (connection) => connection.close(),
    min: settings.min,
    max: settings.max,
    acquireTimeoutMs: settings.acquireTimeoutMs,
    idleTimeoutMs: settings.idleTimeoutMs,
    maxLifetimeMs: settings.maxLifetimeMs,
    maxUses: settings.maxUses ?? 0,
    leakDetectionMs: settings.leakDetectionMs,
  })
  pool.on('error', ({ error, operation }) => {
    options.logger?.warn({ err: error, operation, pool: options.name }, `${options.driver} pool ${operation} failed`)
  })
  pool.on('leak', ({ heldMs, stack }) => {
    options.logger?.warn({ heldMs, stack, pool: options.name }, `a ${options.driver} connection has been held for ${heldMs} ms`)
  })
  return {
    acquire: (acquireOptions) =>
      pool.acquire(acquireOptions as { signal?: AbortSignal | undefined; timeoutMs?: number | undefined } | undefined),
    release: (connection, destroy) => pool.release(connection, destroy ? DESTROY : undefined),
    stats: () => pool.stats(),
    drain: (drainOptions) => pool.drain(drainOptions),
  }
}
