import type { TypeRegistry } from '@tessera/converter'
import type { Provider } from '@tessera/core'
import { createDriverProvider } from '@tessera/core/driver'
import { type PostgresJsProviderOptions, resolvePostgresJsOptions } from './options'
import { createPostgresJsDriver } from './postgres-js-driver'

/** A {@link Provider} over postgres.js, plus the codec registry its connections use. */
export interface PostgresJsProvider extends Provider {
  readonly driver: 'postgres.js'
  /**
   * The provider's own codec registry. Register codecs by OID at any time; types registered by name are resolved on
   * the next new connection.
   */
  readonly types: TypeRegistry
}

/**
 * Creates a {@link Provider} over postgres.js: core's one provider over the postgres.js driver
 * (`createPostgresJsDriver`). Statements are pipelined on a session and prepared automatically, values are read and
 * parameters written by `@tessera/converter`, errors are mapped by `mapPgError`, so results, errors, hooks and
 * diagnostics equal provider-pg's. Options are validated here; sessions open on demand.
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
  const resolved = resolvePostgresJsOptions(options)
  return createDriverProvider(resolved, (context) => createPostgresJsDriver(resolved, context), {
    types: resolved.registry,
  }) as PostgresJsProvider
}
