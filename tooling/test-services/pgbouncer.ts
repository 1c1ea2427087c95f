import { execFileSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import pg from 'pg'
import { type Endpoint, endpointOf, urlThrough } from './endpoint'
import { PG_URL } from './env'
import { freePort } from './free-port'
import { type OwnedProcess, osUser, spawnOwnedProcess, waitUntilServing } from './owned-process'

/** How PgBouncer hands server connections to clients: for the whole session, or for one transaction at a time. */
export type PgBouncerPoolMode = 'session' | 'transaction'

/** Options of {@link startPgBouncer}. */
export interface PgBouncerOptions {
  poolMode: PgBouncerPoolMode
  /** The PostgreSQL server connections go to (or a TCP proxy in front of it). Default: the test PostgreSQL, `PG_URL`. */
  target?: Endpoint | undefined
  /** Server connections per user and database. Default 5. */
  defaultPoolSize?: number | undefined
  /**
   * Startup parameters PgBouncer accepts and drops, where it would otherwise refuse the client with "unsupported
   * startup parameter". Only `client_encoding`, `DateStyle`, `TimeZone`, `standard_conforming_strings` and
   * `application_name` pass through. Default: none, so a test sees that refusal.
   */
  ignoreStartupParameters?: readonly string[] | undefined
}

/** A PgBouncer of this test run, in front of the test PostgreSQL. */
export interface PgBouncer {
  readonly host: string
  readonly port: number
  /** `PG_URL` pointed at this PgBouncer: same user and database. */
  readonly url: string
  /** The installed version, e.g. `'1.18.0'`. */
  readonly version: string
  /**
   * Whether PgBouncer tracks protocol-level prepared statements across server connections in transaction mode
   * (`max_prepared_statements`, PgBouncer 1.21+). Without it, a named prepared statement prepared in one
   * transaction may be missing, or another client's, in the next.
   */
  readonly preparedStatements: boolean
  readonly poolMode: PgBouncerPoolMode
  /** PgBouncer's log, to read when a test through it fails. Removed by `stop()`. */
  readonly logFile: string
  /** Stops PgBouncer (closing its client and server connections) and removes its files. Idempotent. */
  stop(): Promise<void>
}

const OS_USER = 'postgres'
const READY_TIMEOUT_MS = 10_000
const PORT_ATTEMPTS = 3
const LOG_FILE = 'pgbouncer.log'

/**
 * Starts the installed `pgbouncer` on a free port of 127.0.0.1 with its own config in a temporary directory (trust
 * auth for the `PG_URL` user, no Unix socket, `pool_mode` as asked, `max_prepared_statements` where supported),
 * waits until a query goes through it, and returns its handle. Runs as the `postgres` OS user when we are root,
 * since PgBouncer refuses root. It is stopped by `stop()`, at the latest when this process exits.
 * Throws with install instructions when PgBouncer is not installed (`apt-get install pgbouncer`).
 */
export async function startPgBouncer(options: PgBouncerOptions): Promise<PgBouncer> {
  const binary = findPgBouncer()
  const version = pgBouncerVersion(binary)
  const preparedStatements = atLeast(version, [1, 21])
  let lastFailure = ''
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const port = await freePort()
    const dir = writeConfigDir({ ...options, port, preparedStatements })
    const child = spawnOwnedProcess({ command: binary, args: [join(dir, 'pgbouncer.ini')], runAsWhenRoot: OS_USER })
    const url = urlThrough(PG_URL, { host: '127.0.0.1', port })
    const failure = await waitUntilReady(url, child)
    if (failure === undefined) {
      const logFile = join(dir, LOG_FILE)
      return handle({ host: '127.0.0.1', port, url, version, preparedStatements, poolMode: options.poolMode, logFile }, child, dir)
    }
    await child.stop()
    lastFailure = `${failure}\n${logTail(dir)}`
    removeDir(dir)
    // Another process took the free port before PgBouncer bound it: try another one.
    if (!lastFailure.includes('Address already in use')) break
  }
  throw new Error(`pgbouncer did not start: ${lastFailure}`)
}

function handle(info: Omit<PgBouncer, 'stop'>, child: OwnedProcess, dir: string): PgBouncer {
  let stopping: Promise<void> | undefined
  return {
    ...info,
    stop() {
      stopping ??= child.stop().then(() => removeDir(dir))
      return stopping
    },
  }
}

function findPgBouncer(): string {
  const fromEnv = process.env.TESSERA_PGBOUNCER
  if (fromEnv) {
    if (existsSync(fromEnv)) return fromEnv
    throw new Error(`TESSERA_PGBOUNCER is ${fromEnv}, which does not exist: point it at the pgbouncer binary`)
  }
  const searched = ['/usr/sbin', ...(process.env.PATH ?? '').split(delimiter).filter(Boolean)]
  const found = searched.map((dir) => join(dir, 'pgbouncer')).find((path) => existsSync(path))
  if (found) return found
  throw new Error(
    'pgbouncer is not installed (looked in /usr/sbin and PATH): apt-get install pgbouncer, or set TESSERA_PGBOUNCER to its path',
  )
}

function pgBouncerVersion(binary: string): string {
  const output = execFileSync(binary, ['--version'], { encoding: 'utf8' })
  const match = /PgBouncer (\d+\.\d+(?:\.\d+)?)/.exec(output)
  if (!match?.[1]) throw new Error(`cannot read the version of ${binary} from: ${output.trim()}`)
  return match[1]
}

function atLeast(version: string, [major, minor]: [number, number]): boolean {
  const [actualMajor = 0, actualMinor = 0] = version.split('.').map(Number)
  return actualMajor > major || (actualMajor === major && actualMinor >= minor)
}

interface ConfigInput extends PgBouncerOptions {
  port: number
  preparedStatements: boolean
}

function writeConfigDir(input: ConfigInput): string {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-pgbouncer-'))
  tempDirs.add(dir)
  const target = input.target ?? endpointOf(PG_URL)
  const user = decodeURIComponent(new URL(PG_URL).username) || 'postgres'
  const settings: Record<string, string | number> = {
    listen_addr: '127.0.0.1',
    listen_port: input.port,
    // An empty directory disables the Unix socket, which would otherwise clash with a system PgBouncer in /tmp.
    unix_socket_dir: '',
    auth_type: 'trust',
    auth_file: join(dir, 'userlist.txt'),
    admin_users: user,
    pool_mode: input.poolMode,
    default_pool_size: input.defaultPoolSize ?? 5,
    max_client_conn: 200,
    logfile: join(dir, LOG_FILE),
    log_connections: 0,
    log_disconnections: 0,
  }
  const ignored = input.ignoreStartupParameters ?? []
  if (ignored.length > 0) settings.ignore_startup_parameters = ignored.join(',')
  if (input.preparedStatements) settings.max_prepared_statements = 200
  const ini = [
    '[databases]',
    `* = host=${target.host} port=${target.port}`,
    '',
    '[pgbouncer]',
    ...Object.entries(settings).map(([key, value]) => `${key} = ${value}`),
    '',
  ].join('\n')
  writeFileSync(join(dir, 'pgbouncer.ini'), ini, { mode: 0o644 })
  // trust still requires the user to be listed.
  writeFileSync(join(dir, 'userlist.txt'), `"${user}" ""\n`, { mode: 0o644 })
  if (process.getuid?.() === 0) {
    const { uid, gid } = osUser(OS_USER)
    chownSync(dir, uid, gid)
  }
  return dir
}

/** Resolves with undefined once a query goes through, or with why not once the process exits or time runs out. */
function waitUntilReady(url: string, child: OwnedProcess): Promise<string | undefined> {
  const probe = async () => {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 })
    client.on('error', () => {})
    try {
      await client.connect()
      await client.query('SELECT 1')
    } finally {
      await client.end().catch(() => {})
    }
  }
  return waitUntilServing(child, probe, { what: 'no query went through', timeoutMs: READY_TIMEOUT_MS, intervalMs: 50 })
}

function logTail(dir: string): string {
  try {
    return readFileSync(join(dir, LOG_FILE), 'utf8').split('\n').slice(-10).join('\n')
  } catch {
    return '(no log)'
  }
}

const tempDirs = new Set<string>()
process.once('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
})

function removeDir(dir: string): void {
  tempDirs.delete(dir)
  rmSync(dir, { recursive: true, force: true })
}
