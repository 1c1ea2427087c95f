import { ConfigError, describeValue, type Queryable } from '@tessera/core'
import {
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryCompiler,
} from 'kysely'
import type { QueryableCapabilities } from './queryable-shapes'
import { TesseraAdapter } from './tessera-adapter'
import { TesseraDriver } from './tessera-driver'

/** Options of {@link createTesseraDialect}. */
export interface TesseraDialectOptions {
  /**
   * What Kysely's statements run on: a provider (`createPgProvider`, `createPostgresJsProvider`, `createProvider`),
   * a Tessera transaction, or any other `Queryable` (a cluster, a tenant scope). Required. The dialect never closes it:
   * `db.destroy()` leaves it open, as its owner may use it elsewhere.
   */
  queryable: Queryable
}

/**
 * Kysely's PostgreSQL dialect over a Tessera queryable: the statements Kysely builds run through `queryable.query`,
 * so they get the provider's retries, hooks, typed errors, routing and telemetry. Introspector and query compiler are
 * Kysely's own PostgreSQL ones; the adapter is Kysely's `PostgresAdapter` with a guard for the `Migrator` (see `withConnection`).
 *
 * @example
 * const db = new Kysely<Database>({ dialect: new TesseraDialect({ queryable: provider }) })
 */
export class TesseraDialect implements Dialect {
  private readonly queryable: QueryableCapabilities

  constructor(options: TesseraDialectOptions) {
    this.queryable = checkOptions(options)
  }

  createDriver(): Driver {
    return new TesseraDriver(this.queryable)
  }

  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler()
  }

  createAdapter(): DialectAdapter {
    return new TesseraAdapter()
  }

  // biome-ignore lint/suspicious/noExplicitAny: Kysely's Dialect interface declares Kysely<any> here.
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new PostgresIntrospector(db)
  }
}

/**
 * The Kysely dialect over a Tessera queryable; the same as `new TesseraDialect(options)`.
 *
 * @example
 * import { Kysely } from 'kysely'
 * const db = new Kysely<Database>({ dialect: createTesseraDialect({ queryable: provider }) })
 */
export function createTesseraDialect(options: TesseraDialectOptions): TesseraDialect {
  return new TesseraDialect(options)
}

function checkOptions(options: TesseraDialectOptions): QueryableCapabilities {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(`expected an options object { queryable }, got ${describeValue(options)}`, { subject: 'Tessera dialect options' })
  }
  const queryable = (options as { queryable?: unknown }).queryable
  if (typeof queryable !== 'object' || queryable === null || typeof (queryable as { query?: unknown }).query !== 'function') {
    throw new ConfigError(
      `queryable is ${describeValue(queryable)}; accepted: a Tessera provider, transaction or any object with query(sql, params)`,
      { subject: 'Tessera dialect options' },
    )
  }
  return queryable as QueryableCapabilities
}
