import pg from 'pg'
import { afterAll, beforeAll } from 'vitest'
import { PG_URL, uniqueName } from './providers'

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

/**
 * A database of this test file's own, created before its tests and dropped after them; returns its URL. For what
 * is database-wide: extensions (`citext`), and `CREATE INDEX CONCURRENTLY`, which waits for every transaction of
 * the database, so neighbours' long transactions in the shared one would hold it up.
 */
export function useOwnDatabase(prefix: string): string {
  const database = uniqueName(prefix)
  beforeAll(() => admin((client) => client.query(`CREATE DATABASE ${database}`)))
  afterAll(() => admin((client) => client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)))
  const url = new URL(PG_URL)
  url.pathname = `/${database}`
  return url.toString()
}
