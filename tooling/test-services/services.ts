import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { connect } from 'node:net'
import pg from 'pg'
import { PG_URL, REDIS_URL } from './env'

/** One server the tests need: how to probe it, and how to start this machine's own copy. */
interface Service {
  name: string
  url: string
  probe(): Promise<void>
  start(): boolean
  howToProvide: string
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function probePostgres(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 })
  try {
    await client.connect()
    await client.query('SELECT 1')
  } finally {
    await client.end().catch(() => {})
  }
}

function probeRedis(url: string): Promise<void> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname || '127.0.0.1', port: Number(port || 6379) })
    const timer = setTimeout(() => fail(new Error('no answer within 2000 ms')), 2_000)
    let answer = ''
    function fail(error: Error) {
      clearTimeout(timer)
      socket.destroy()
      reject(error)
    }
    socket.on('error', fail)
    socket.on('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk) => {
      answer += chunk.toString('utf8')
      if (!answer.includes('\r\n')) return
      clearTimeout(timer)
      socket.end()
      if (answer.startsWith('+PONG')) resolve()
      else reject(new Error(`unexpected answer to PING: ${answer.trim()}`))
    })
  })
}

function isLocal(url: string): boolean {
  const host = new URL(url).hostname
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || host === '[::1]'
}

function run(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore', timeout: 60_000 })
    return true
  } catch {
    return false
  }
}

function startLocalPostgres(): boolean {
  // Debian's wrapper starts the cluster as the postgres OS user, even when called by root.
  if (!existsSync('/etc/postgresql')) return false
  const versions = readdirSync('/etc/postgresql')
  return versions.some((version) => run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start']))
}

function startLocalRedis(): boolean {
  const args = ['--daemonize', 'yes', '--bind', '127.0.0.1', '-::1', '--port', '6379', '--save', '', '--appendonly', 'no']
  if (existsSync('/var/lib/redis')) args.push('--dir', '/var/lib/redis')
  return run('redis-server', args)
}

export const services: Service[] = [
  {
    name: 'PostgreSQL',
    url: PG_URL,
    probe: () => probePostgres(PG_URL),
    start: () => isLocal(PG_URL) && startLocalPostgres(),
    howToProvide: 'install PostgreSQL 15+ (apt-get install postgresql) or set TESSERA_PG_URL to a reachable server',
  },
  {
    name: 'Redis',
    url: REDIS_URL,
    probe: () => probeRedis(REDIS_URL),
    start: () => isLocal(REDIS_URL) && startLocalRedis(),
    howToProvide: 'install Redis 7 (apt-get install redis-server) or set TESSERA_REDIS_URL to a reachable server',
  },
]

async function waitFor(service: Service, attempts: number): Promise<unknown> {
  let lastError: unknown
  for (let i = 0; i < attempts; i++) {
    try {
      await service.probe()
      return undefined
    } catch (error) {
      lastError = error
      await sleep(500)
    }
  }
  return lastError ?? new Error('unreachable')
}

/**
 * Makes sure every service is up: probes it, starts this machine's own server when it is installed
 * but stopped, and otherwise fails with one line saying how to provide one. Never skips silently.
 */
export async function ensureServices(list: Service[] = services): Promise<void> {
  const problems: string[] = []
  for (const service of list) {
    try {
      await service.probe()
      continue
    } catch {}
    const started = service.start()
    const error = started ? await waitFor(service, 30) : await waitFor(service, 1)
    if (error === undefined) continue
    const reason = error instanceof Error ? error.message : String(error)
    problems.push(`${service.name} is not reachable at ${redact(service.url)} (${reason}): ${service.howToProvide}`)
  }
  if (problems.length > 0) throw new Error(problems.join('\n'))
}

function redact(url: string): string {
  const parsed = new URL(url)
  if (parsed.password) parsed.password = '***'
  return parsed.toString()
}
