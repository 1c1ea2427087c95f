/** Where a TCP server listens. */
export interface Endpoint {
  host: string
  port: number
}

const defaultPorts: Record<string, number> = { 'postgres:': 5432, 'postgresql:': 5432, 'redis:': 6379 }

/**
 * The host and port a connection URL points at, e.g. `endpointOf(PG_URL)` to aim a proxy or PgBouncer at the
 * test PostgreSQL. A URL without a port gets its scheme's default (5432 for PostgreSQL, 6379 for Redis).
 */
export function endpointOf(url: string): Endpoint {
  const parsed = new URL(url)
  const port = parsed.port ? Number(parsed.port) : defaultPorts[parsed.protocol]
  if (port === undefined) throw new Error(`no port in ${url} and no default port for ${parsed.protocol}`)
  return { host: parsed.hostname || '127.0.0.1', port }
}

/**
 * `url` with its host and port replaced by `endpoint`; user, password, database and query stay. This is how a
 * test reaches the same database through a proxy or a PgBouncer.
 */
export function urlThrough(url: string, endpoint: Endpoint): string {
  const parsed = new URL(url)
  parsed.hostname = endpoint.host
  parsed.port = String(endpoint.port)
  return parsed.toString()
}
