import { usageError } from './cli-error'
import type { CommandContext } from './command-context'
import { withDatabase } from './connect'
import type { DynamoConfig } from './define-config'
import { createDynamoClient, importOptional } from './dynamo-client'
import { EXIT_CODES, type ExitCode } from './exit-codes'
import type { ResolvedDatabase } from './load-config'
import { errorLine } from './output'

/** One server's health. */
export interface HealthCheck {
  kind: 'postgres' | 'redis' | 'dynamo'
  name: string
  /** Host, port and database: never the password. */
  target: string
  ok: boolean
  /** Round trip of one trivial request on an open connection (`SELECT 1`, `PING`, `ListTables` with `Limit: 1`). */
  latencyMs?: number | undefined
  version?: string | undefined
  /** PostgreSQL: `'primary'` or `'replica'` (`pg_is_in_recovery()`); Redis: `INFO replication`'s role. */
  role?: string | undefined
  error?: string | undefined
}

/** `tessera health` options. */
export interface HealthOptions {
  /** Per check, in ms. Default: 5000. */
  timeout?: string | undefined
}

function redacted(url: string): string {
  try {
    const parsed = new URL(url)
    return `${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`
  } catch {
    return '(invalid URL)'
  }
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now()
  const value = await fn()
  return { value, ms: Math.round((performance.now() - started) * 10) / 10 }
}

async function checkPostgres(database: ResolvedDatabase, timeoutMs: number): Promise<HealthCheck> {
  const check: HealthCheck = { kind: 'postgres', name: database.name, target: redacted(database.url), ok: false }
  try {
    await withDatabase(
      database,
      async (db) => {
        const { rows } = await db.query<{ version: string; in_recovery: boolean }>(
          `SELECT current_setting('server_version') AS version, pg_is_in_recovery() AS in_recovery`,
          undefined,
          { timeoutMs, retry: false },
        )
        const { ms } = await timed(() => db.query('SELECT 1', undefined, { timeoutMs, retry: false }))
        check.version = rows[0]?.version
        check.role = rows[0]?.in_recovery === true ? 'replica' : 'primary'
        check.latencyMs = ms
        check.ok = true
      },
      { connectTimeoutMs: timeoutMs },
    )
  } catch (error) {
    check.error = errorLine(error)
  }
  return check
}

interface RedisClient {
  connect(): Promise<void>
  ping(): Promise<string>
  info(section: string): Promise<string>
  disconnect(): void
  on(event: 'error', listener: (error: Error) => void): unknown
}
type RedisConstructor = new (url: string, options: Record<string, unknown>) => RedisClient

function infoField(info: string, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim()
}

async function checkRedis(name: string, url: string, timeoutMs: number): Promise<HealthCheck> {
  const check: HealthCheck = { kind: 'redis', name, target: redacted(url), ok: false }
  const module = await importOptional<{ Redis?: RedisConstructor; default?: RedisConstructor }>('ioredis')
  const Redis = module?.Redis ?? module?.default
  if (Redis === undefined) {
    check.error = 'ioredis is not installed: npm install ioredis (the CLI checks Redis with it)'
    return check
  }
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  })
  // ioredis reports the socket's error as an event (and would print it as unhandled); the command only rejects
  // with "Connection is closed", so the event says why.
  let socketError: Error | undefined
  client.on('error', (error) => {
    socketError ??= error
  })
  try {
    await client.connect()
    const { ms } = await timed(() => client.ping())
    check.latencyMs = ms
    check.version = infoField(await client.info('server'), 'redis_version')
    check.role = infoField(await client.info('replication'), 'role')
    check.ok = true
  } catch (error) {
    check.error = errorLine(socketError ?? error)
  } finally {
    client.disconnect()
  }
  return check
}

async function checkDynamo(config: DynamoConfig, timeoutMs: number): Promise<HealthCheck> {
  const check: HealthCheck = {
    kind: 'dynamo',
    name: 'default',
    target: config.endpoint === undefined ? `aws ${config.region ?? '(default region)'}` : redacted(config.endpoint),
    ok: false,
  }
  let dynamo: Awaited<ReturnType<typeof createDynamoClient>>
  try {
    dynamo = await createDynamoClient(config, 1)
  } catch (error) {
    check.error = errorLine(error)
    return check
  }
  const { sdk, client } = dynamo
  try {
    const list = () => client.send(new sdk.ListTablesCommand({ Limit: 1 }), { abortSignal: AbortSignal.timeout(timeoutMs) })
    await list() // opens the connection
    const { ms } = await timed(list)
    check.latencyMs = ms
    check.ok = true
  } catch (error) {
    check.error = errorLine(error)
  } finally {
    client.destroy()
  }
  return check
}

/** `tessera health`: checks every configured PostgreSQL, Redis and DynamoDB endpoint at once; exit code 3 when one is down. */
export async function healthCommand(context: CommandContext, options: HealthOptions): Promise<ExitCode> {
  const timeoutMs = options.timeout === undefined ? 5_000 : Number(options.timeout)
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0)
    throw usageError(`--timeout must be a whole number of milliseconds > 0, got ${JSON.stringify(options.timeout)}`)
  const { config, output } = context
  const pending: Promise<HealthCheck>[] = []
  for (const database of config.databases.values()) pending.push(checkPostgres(database, timeoutMs))
  for (const [name, url] of config.redis) pending.push(checkRedis(name, url, timeoutMs))
  if (config.dynamo !== undefined) pending.push(checkDynamo(config.dynamo, timeoutMs))
  if (pending.length === 0) {
    throw usageError(
      'nothing to check: configure postgres / databases, redis or dynamo in tessera.config.ts, or set TESSERA_PG_URL, TESSERA_REDIS_URL, TESSERA_DYNAMO_ENDPOINT',
    )
  }
  const checks = await Promise.all(pending)
  const ok = checks.every((check) => check.ok)
  if (output.json) {
    output.printJson({ ok, checks })
  } else {
    const c = output.colors
    output.table(
      ['kind', 'name', 'target', 'status', 'latency', 'version', 'role', 'error'],
      checks.map((check) => [
        check.kind,
        check.name,
        check.target,
        check.ok ? c.green('up') : c.red('down'),
        check.latencyMs === undefined ? '' : `${check.latencyMs} ms`,
        check.version,
        check.role,
        check.error,
      ]),
    )
    output.line(ok ? c.green(`all ${checks.length} up`) : c.red(`${checks.filter((check) => !check.ok).length} of ${checks.length} down`))
  }
  return ok ? EXIT_CODES.ok : EXIT_CODES.unhealthy
}
