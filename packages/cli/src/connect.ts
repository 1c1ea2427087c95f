import type { Provider } from '@tessera/core'
import { createPgProvider } from '@tessera/provider-pg'
import type { ResolvedDatabase } from './load-config'

/** What the CLI's sessions are called in `pg_stat_activity` (and in the lock-holder message). */
export const APPLICATION_NAME = 'tessera-cli'

/**
 * Opens a provider on `database`, runs `fn` and closes it (also when `fn` throws). The pool holds up to 5
 * connections: the migration lock holds one, the migrator uses one or two more.
 */
export async function withDatabase<T>(
  database: ResolvedDatabase,
  fn: (db: Provider) => Promise<T>,
  options: { connectTimeoutMs?: number | undefined } = {},
): Promise<T> {
  const db = createPgProvider({
    connectionString: database.url,
    applicationName: APPLICATION_NAME,
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    pool: { max: 5 },
  })
  try {
    return await fn(db)
  } finally {
    await db.close({ timeoutMs: 5_000 })
  }
}
