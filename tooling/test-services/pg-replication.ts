import { execFile, execFileSync } from 'node:child_process'
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { freePort } from './free-port'
import { type OwnedProcess, osUser, spawnOwnedProcess, waitUntilServing } from './owned-process'

const run = promisify(execFile)

/** Options of {@link startPgReplication}. */
export interface PgReplicationOptions {
  /** Streaming replicas of the primary. Default 2. */
  replicas?: number | undefined
  /**
   * The replica (`'replica1'`…) the primary waits for at every commit (`synchronous_standby_names`), so that a
   * commit reported ok is on that replica too and survives its promotion. Default: none (asynchronous replication:
   * the last commits before a primary crash may be missing on a promoted replica).
   */
  synchronousStandby?: string | undefined
  /** How long one node may take to accept queries. Default 60000 ms (a loaded machine). */
  readyTimeoutMs?: number | undefined
}

/** One PostgreSQL server of a {@link PgReplication}. */
export interface PgNode {
  /** `'primary'`, `'replica1'`, `'replica2'`…: the role it was started with (a promoted replica keeps its name). */
  readonly name: string
  readonly port: number
  /** `postgres://postgres@127.0.0.1:<port>/postgres`. */
  readonly url: string
  /** The node's URL for another database of the same server. */
  urlFor(database: string): string
  readonly dataDir: string
  /** Whether its postmaster is running (as far as this handle knows). */
  readonly running: boolean
}

/** How `pg_ctl stop` stops a node: `immediate` is a crash (no checkpoint, clients cut), `fast` a clean shutdown. */
export type PgStopMode = 'immediate' | 'fast'

/** A primary and its streaming replicas, on free ports of 127.0.0.1, each in its own temporary data directory. */
export interface PgReplication {
  /** The node started as the primary. */
  readonly primary: PgNode
  /** The nodes started as replicas, in order. */
  readonly replicas: readonly PgNode[]
  /** Every node: the primary first. */
  readonly nodes: readonly PgNode[]
  /** `pg_ctl stop -m <mode>` (default `immediate`): resolves once the postmaster has exited. */
  stopNode(node: PgNode, mode?: PgStopMode): Promise<void>
  /** Starts a stopped node again with its data directory; resolves once it accepts queries. */
  startNode(node: PgNode): Promise<void>
  /** `pg_ctl promote -w`: the replica leaves recovery on a new timeline; resolves once it accepts writes. */
  promote(replica: PgNode): Promise<void>
  /**
   * Points a replica at another primary (`ALTER SYSTEM SET primary_conninfo` + reload, which PostgreSQL 13+
   * applies without a restart). With `recovery_target_timeline = 'latest'` the replica follows a promoted node's
   * new timeline, as long as it has not replayed WAL the new primary never had.
   */
  follow(replica: PgNode, primary: PgNode): Promise<void>
  /** `pg_wal_replay_pause()` on a replica: it keeps receiving WAL but applies none, so it lags. */
  pauseReplay(replica: PgNode): Promise<void>
  /** `pg_wal_replay_resume()`. */
  resumeReplay(replica: PgNode): Promise<void>
  /** Resolves once every running replica has replayed the primary's (or `primary`'s) current WAL position. */
  waitForReplicas(options?: { primary?: PgNode | undefined; timeoutMs?: number | undefined }): Promise<void>
  /** Stops every node and removes the temporary directory. Idempotent. */
  stop(): Promise<void>
}

const OS_USER = 'postgres'
const PORT_ATTEMPTS = 3

/** Settings that make a throwaway server start fast and small; durability does not matter in tests. */
const SETTINGS: Record<string, string | number> = {
  listen_addresses: "'127.0.0.1'",
  unix_socket_directories: "''",
  max_connections: 60,
  shared_buffers: "'16MB'",
  fsync: 'off',
  full_page_writes: 'off',
  wal_level: 'replica',
  max_wal_senders: 8,
  wal_keep_size: "'128MB'",
  hot_standby: 'on',
  hot_standby_feedback: 'on',
  wal_receiver_status_interval: "'1s'",
  wal_retrieve_retry_interval: "'500ms'",
  max_standby_streaming_delay: "'-1'",
  checkpoint_timeout: "'1h'",
  logging_collector: 'on',
  log_directory: "'log'",
  log_filename: "'postgresql.log'",
  log_min_messages: 'warning',
}

/**
 * Starts a PostgreSQL primary (`initdb`, `wal_level = replica`, trust auth on 127.0.0.1, no Unix socket) and
 * `replicas` streaming replicas made with `pg_basebackup -R`, each on a free port of 127.0.0.1 with its data in a
 * temporary directory. The servers run as the `postgres` OS user when this process is root, since PostgreSQL refuses
 * root; each postmaster is a child of this process that dies with it. Resolves once every node accepts queries.
 */
export async function startPgReplication(options: PgReplicationOptions = {}): Promise<PgReplication> {
  const replicaCount = options.replicas ?? 2
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000
  const bindir = findBindir()
  const root = mkdtempSync(join(tmpdir(), 'tessera-pg-replication-'))
  tempDirs.add(root)
  if (process.getuid?.() === 0) {
    const { uid, gid } = osUser(OS_USER)
    chownSync(root, uid, gid)
  }
  const nodes: NodeState[] = []
  const set = replicationHandle(bindir, root, nodes, readyTimeoutMs)
  try {
    const primary = newNode('primary', join(root, 'primary'))
    nodes.push(primary)
    await asPostgres(join(bindir, 'initdb'), ['-D', primary.dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8'])
    const synchronous = options.synchronousStandby === undefined ? "''" : `'"${options.synchronousStandby}"'`
    await startWithFreePort(bindir, primary, readyTimeoutMs, { synchronous_standby_names: synchronous })
    await Promise.all(
      Array.from({ length: replicaCount }, async (_, index) => {
        const replica = newNode(`replica${index + 1}`, join(root, `replica${index + 1}`))
        nodes.push(replica)
        await asPostgres(join(bindir, 'pg_basebackup'), [
          '-h',
          '127.0.0.1',
          '-p',
          String(primary.port),
          '-U',
          'postgres',
          '-D',
          replica.dataDir,
          '-R',
          '-X',
          'stream',
          '-c',
          'fast',
          '--no-sync',
        ])
        await startWithFreePort(bindir, replica, readyTimeoutMs, { synchronous_standby_names: "''" })
      }),
    )
    nodes.sort((a, b) => (a.name === 'primary' ? -1 : b.name === 'primary' ? 1 : a.name.localeCompare(b.name)))
    await set.waitForReplicas({ timeoutMs: readyTimeoutMs })
    return set
  } catch (error) {
    await set.stop()
    throw error
  }
}

/**
 * Where initdb, pg_basebackup, pg_ctl and postgres are: `TESSERA_PG_BINDIR`, else `pg_config --bindir`, else the
 * newest `/usr/lib/postgresql/<major>/bin` (Debian), since libpq's pg_config may name a version whose server is absent.
 */
function findBindir(): string {
  const candidates: string[] = []
  if (process.env.TESSERA_PG_BINDIR) candidates.push(process.env.TESSERA_PG_BINDIR)
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim())
  } catch {
    // No pg_config: look where Debian puts the servers.
  }
  const debian = '/usr/lib/postgresql'
  if (existsSync(debian)) {
    const majors = readdirSync(debian)
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(b) - Number(a))
    candidates.push(...majors.map((major) => join(debian, major, 'bin')))
  }
  const found = candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_basebackup')))
  if (found !== undefined) return found
  throw new Error(
    `PostgreSQL server binaries not found (looked in ${candidates.join(', ') || 'nothing: no pg_config'}): apt-get install postgresql, or set TESSERA_PG_BINDIR`,
  )
}

interface NodeState extends PgNode {
  port: number
  url: string
  running: boolean
  process: OwnedProcess | undefined
}

function newNode(name: string, dataDir: string): NodeState {
  const node: NodeState = {
    name,
    dataDir,
    port: 0,
    url: '',
    running: false,
    process: undefined,
    urlFor(database: string) {
      return `postgres://postgres@127.0.0.1:${node.port}/${encodeURIComponent(database)}`
    },
  }
  return node
}

/** Picks a free port, writes it and the settings, starts the postmaster; another port when the first was taken. */
async function startWithFreePort(bindir: string, node: NodeState, readyTimeoutMs: number, extra: Record<string, string>): Promise<void> {
  let lastFailure = ''
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    node.port = await freePort()
    node.url = node.urlFor('postgres')
    // postgresql.auto.conf is read last, so these win over what pg_basebackup copied from the primary. cluster_name
    // is also the application_name a replica's WAL receiver reports, which synchronous_standby_names names.
    const lines = Object.entries({ ...SETTINGS, ...extra, cluster_name: `'${node.name}'`, port: node.port }).map(
      ([key, value]) => `${key} = ${value}`,
    )
    appendFileSync(join(node.dataDir, 'postgresql.auto.conf'), `\n${lines.join('\n')}\n`)
    const failure = await startPostmaster(bindir, node, readyTimeoutMs)
    if (failure === undefined) return
    lastFailure = failure
    if (!failure.includes('could not bind') && !failure.includes('in use')) break
  }
  throw new Error(`PostgreSQL node ${node.name} did not start: ${lastFailure}`)
}

async function startPostmaster(bindir: string, node: NodeState, readyTimeoutMs: number): Promise<string | undefined> {
  const child = spawnOwnedProcess({ command: join(bindir, 'postgres'), args: ['-D', node.dataDir], runAsWhenRoot: OS_USER })
  node.process = child
  node.running = true
  const failure = await waitUntilReady(node, child, readyTimeoutMs)
  if (failure === undefined) return undefined
  await child.stop({ graceMs: 2_000 })
  node.running = false
  return `${failure}\n${logTail(node)}`
}

function waitUntilReady(node: NodeState, child: OwnedProcess, timeoutMs: number): Promise<string | undefined> {
  const probe = async () => {
    await queryOnce(node.url, 'SELECT 1', 2_000)
  }
  return waitUntilServing(child, probe, { what: 'no query went through', timeoutMs, intervalMs: 100 })
}

function replicationHandle(bindir: string, root: string, nodes: NodeState[], readyTimeoutMs: number): PgReplication {
  let stopping: Promise<void> | undefined
  const stopNode = async (node: PgNode, mode: PgStopMode = 'immediate') => {
    const state = node as NodeState
    if (!state.running) return
    await asPostgres(join(bindir, 'pg_ctl'), ['stop', '-D', state.dataDir, '-m', mode, '-w', '-t', '60']).catch(() => {})
    await state.process?.stop({ graceMs: 5_000 })
    state.running = false
  }
  return {
    get primary() {
      return nodes.find((node) => node.name === 'primary') as PgNode
    },
    get replicas() {
      return nodes.filter((node) => node.name !== 'primary')
    },
    get nodes() {
      return [...nodes]
    },
    stopNode,
    async startNode(node) {
      const state = node as NodeState
      if (state.running) return
      const failure = await startPostmaster(bindir, state, readyTimeoutMs)
      if (failure !== undefined) throw new Error(`PostgreSQL node ${state.name} did not start again: ${failure}`)
    },
    async promote(replica) {
      await asPostgres(join(bindir, 'pg_ctl'), ['promote', '-D', replica.dataDir, '-w', '-t', '60'])
      await waitFor(async () => (await queryOnce(replica.url, 'SELECT pg_is_in_recovery() AS r', 2_000))[0]?.r === false, readyTimeoutMs)
    },
    async follow(replica, primary) {
      const conninfo = `host=127.0.0.1 port=${primary.port} user=postgres application_name=${replica.name}`
      await queryOnce(replica.url, `ALTER SYSTEM SET primary_conninfo = '${conninfo}'`, 10_000)
      await queryOnce(replica.url, 'SELECT pg_reload_conf()', 10_000)
    },
    async pauseReplay(replica) {
      await queryOnce(replica.url, 'SELECT pg_wal_replay_pause()', 10_000)
    },
    async resumeReplay(replica) {
      await queryOnce(replica.url, 'SELECT pg_wal_replay_resume()', 10_000)
    },
    async waitForReplicas({ primary, timeoutMs = readyTimeoutMs } = {}) {
      const source = primary ?? (nodes.find((node) => node.name === 'primary') as PgNode)
      const [row] = await queryOnce(source.url, 'SELECT pg_current_wal_insert_lsn()::text AS lsn', 10_000)
      const target = String(row?.lsn)
      const followers = nodes.filter((node) => node !== source && node.running)
      await Promise.all(
        followers.map((node) =>
          waitFor(async () => {
            const rows = await queryOnce(
              node.url,
              `SELECT pg_is_in_recovery() AND pg_last_wal_replay_lsn() >= '${target}'::pg_lsn AS caught_up`,
              2_000,
            )
            return rows[0]?.caught_up === true
          }, timeoutMs),
        ),
      )
    },
    stop() {
      stopping ??= (async () => {
        await Promise.all(nodes.map((node) => stopNode(node, 'immediate')))
        tempDirs.delete(root)
        rmSync(root, { recursive: true, force: true })
      })()
      return stopping
    },
  }
}

/** Runs a PostgreSQL program as the `postgres` OS user when we are root. */
async function asPostgres(command: string, args: readonly string[]): Promise<void> {
  const isRoot = process.getuid?.() === 0
  const file = isRoot ? 'setpriv' : command
  const fullArgs = isRoot
    ? ['--reuid', OS_USER, '--regid', String(osUser(OS_USER).gid), '--init-groups', '--', command, ...args]
    : [...args]
  try {
    await run(file, fullArgs, { cwd: tmpdir(), timeout: 120_000 })
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? ''
    throw new Error(`${command} ${args.join(' ')} failed: ${stderr.trim() || (error as Error).message}`)
  }
}

async function queryOnce(url: string, text: string, timeoutMs: number): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs })
  client.on('error', () => {})
  try {
    await client.connect()
    return (await client.query(text)).rows
  } finally {
    await client.end().catch(() => {})
  }
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let lastError = ''
  while (Date.now() < deadline) {
    try {
      if (await condition()) return
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error)
    }
    await delay(100)
  }
  throw new Error(`condition not met within ${timeoutMs} ms${lastError ? ` (${lastError})` : ''}`)
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function logTail(node: NodeState): string {
  const file = join(node.dataDir, 'log', 'postgresql.log')
  if (!existsSync(file)) return '(no log)'
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-10).join('\n')
  } catch {
    return '(log unreadable)'
  }
}

const tempDirs = new Set<string>()
process.once('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
})
