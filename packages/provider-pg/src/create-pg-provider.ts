import type { TypeRegistry } from '@tessera/converter'
import type { Provider } from '@tessera/core'
import { createDriverProvider } from '@tessera/core/driver'
import { type PgProviderOptions, resolvePgOptions } from './options'
import { createPgDriver } from './pg-driver'

/** A {@link Provider} over node-postgres, plus the codec registry its connections use. */
export interface PgProvider extends Provider {
  readonly driver: 'pg'
  /**
   * The provider's own codec registry (never pg's global `types`). Register codecs by OID at any time; types
   * registered by name are resolved on the next new connection.
   */
  readonly types: TypeRegistry
}

/**
 * Creates a {@link Provider} over `pg.Client` connections pooled by `@tessera/pool`: core's one provider over the pg
 * driver (`createPgDriver`). Options are validated here; connections open lazily (or `pool.min` of them at once, in
 * the background).
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
  const resolved = resolvePgOptions(options)
  return createDriverProvider(resolved, (context) => createPgDriver(resolved, context), { types: resolved.registry }) as PgProvider
}
