import type { ProviderOptions, ProviderPoolOptions } from './contracts'

/**
 * Options both built-in providers add to {@link ProviderOptions}. Core cannot import the provider packages (they
 * depend on it), so their shapes are repeated here loosely; each provider checks its own at run time.
 */
export interface BuiltInProviderOptions extends ProviderOptions {
  /** Type policies of `@tessera/converter` (`{ int8: 'number' }`…). */
  types?: Readonly<Record<string, unknown>> | undefined
  /** Enum type names to read as strings. */
  enums?: readonly string[] | undefined
  /**
   * The pool's name in diagnostics and metrics (`db.client.connection.pool.name`), so two pools are told apart.
   * Default: `host:port/database` of the first server (`'127.0.0.1:5432/app'`).
   */
  name?: string | undefined
  /** Put parameter values into `tessera:query` messages. Default: `false`. */
  diagnosticsIncludeParams?: boolean | undefined
}

/**
 * The options each driver accepts in `createProvider({ driver, … })`, by driver name. A driver registered with
 * `registerDriver` can add its own by declaration merging, and then gets the same compile-time checks:
 *
 * @example
 * declare module '@tessera/core' { interface DriverOptionsMap { pglite: { dataDir: string } } }
 */
export interface DriverOptionsMap {
  pg: BuiltInProviderOptions & {
    pool?: (ProviderPoolOptions & { maxUses?: number | undefined }) | undefined
    /** Named prepared statements kept per connection. */
    preparedStatementCacheSize?: number | undefined
    /** A `pg.Client`-compatible class to use instead of `pg`'s. */
    Client?: (new (config: never) => object) | undefined
  }
  'postgres.js': BuiltInProviderOptions & {
    /** The `postgres` function to use (postgres.js 3 or 4) instead of the installed one. */
    sql?: ((...args: never[]) => unknown) | undefined
  }
}

/**
 * Options of `createProvider`: `driver` plus that driver's options, checked by the compiler for the built-in drivers
 * (and for drivers added to {@link DriverOptionsMap}); any other registered driver takes any object.
 */
export type CreateProviderOptions<Driver extends string = keyof DriverOptionsMap> = {
  /**
   * `'pg'` (node-postgres, through `@tessera/provider-pg`), `'postgres.js'` (through `@tessera/provider-postgresjs`),
   * or a name given to `registerDriver`.
   */
  driver: Driver
} & (Driver extends keyof DriverOptionsMap ? DriverOptionsMap[Driver] : Record<string, unknown>)
