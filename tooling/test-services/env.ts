import { randomBytes } from 'node:crypto'

/** PostgreSQL used by integration tests. Override with `TESSERA_PG_URL`. */
export const PG_URL = process.env.TESSERA_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

/** Redis used by integration tests. Override with `TESSERA_REDIS_URL`. */
export const REDIS_URL = process.env.TESSERA_REDIS_URL ?? 'redis://127.0.0.1:6379'

/**
 * A name no other test run uses: for a schema, a database, a table or a key prefix,
 * so tests can run in parallel and never see each other's data. Lower-case, a valid identifier.
 */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`.toLowerCase()
}
