import { spawn } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { type PgBouncer, type PgBouncerOptions, startPgBouncer } from '../pgbouncer'

const started: PgBouncer[] = []
const clients: pg.Client[] = []

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.end().catch(() => {})))
  await Promise.all(started.splice(0).map((bouncer) => bouncer.stop()))
})

async function bouncer(options: PgBouncerOptions): Promise<PgBouncer> {
  const pgbouncer = await startPgBouncer(options)
  started.push(pgbouncer)
  return pgbouncer
}

async function clientOf(url: string, config: pg.ClientConfig = {}): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, ...config })
  client.on('error', () => {})
  clients.push(client)
  await client.connect()
  return client
}

async function backendPid(client: pg.Client): Promise<number> {
  const { rows } = await client.query('SELECT pg_backend_pid() AS pid')
  return rows[0].pid
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe('startPgBouncer', () => {
  it('runs queries in transaction mode, two clients sharing one server connection', async () => {
    const pgbouncer = await bouncer({ poolMode: 'transaction', defaultPoolSize: 1 })
    expect(pgbouncer.url).toContain(`127.0.0.1:${pgbouncer.port}/`)
    const first = await clientOf(pgbouncer.url)
    const second = await clientOf(pgbouncer.url)
    expect((await first.query('SELECT 1 + 1 AS two')).rows).toEqual([{ two: 2 }])
    expect(await backendPid(first)).toBe(await backendPid(second))
  })

  it('gives each client its own server connection in session mode', async () => {
    const pgbouncer = await bouncer({ poolMode: 'session', defaultPoolSize: 2 })
    const first = await clientOf(pgbouncer.url)
    const second = await clientOf(pgbouncer.url)
    expect(await backendPid(first)).not.toBe(await backendPid(second))
  })

  it('reports the configured pool mode on its admin console', async () => {
    const pgbouncer = await bouncer({ poolMode: 'transaction' })
    const adminConsole = await clientOf(pgbouncer.url.replace(/\/[^/?]*(\?|$)/, '/pgbouncer$1'))
    const { rows } = await adminConsole.query('SHOW CONFIG')
    const setting = (key: string) => rows.find((row) => row.key === key)?.value
    expect(setting('pool_mode')).toBe('transaction')
    expect(setting('listen_addr')).toBe('127.0.0.1')
    if (pgbouncer.preparedStatements) expect(Number(setting('max_prepared_statements'))).toBeGreaterThan(0)
  })

  it('refuses startup parameters it cannot track unless told to ignore them', async () => {
    const strict = await bouncer({ poolMode: 'transaction' })
    await expect(clientOf(strict.url, { options: '-c IntervalStyle=postgres' })).rejects.toThrow(/unsupported startup parameter/)
    const lenient = await bouncer({ poolMode: 'transaction', ignoreStartupParameters: ['options'] })
    const client = await clientOf(lenient.url, { options: '-c IntervalStyle=postgres' })
    expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
  })

  it('stop() ends the process and frees its port', async () => {
    const pgbouncer = await startPgBouncer({ poolMode: 'transaction' })
    expect(await accepts(pgbouncer.port)).toBe(true)
    await pgbouncer.stop()
    await pgbouncer.stop()
    expect(await accepts(pgbouncer.port)).toBe(false)
  })

  it('names the fix when pgbouncer is missing', async () => {
    const previous = process.env.TESSERA_PGBOUNCER
    process.env.TESSERA_PGBOUNCER = '/nonexistent/pgbouncer'
    try {
      await expect(startPgBouncer({ poolMode: 'transaction' })).rejects.toThrow(/TESSERA_PGBOUNCER is \/nonexistent\/pgbouncer/)
    } finally {
      if (previous === undefined) delete process.env.TESSERA_PGBOUNCER
      else process.env.TESSERA_PGBOUNCER = previous
    }
  })
})

describe('startPgBouncer leaves no orphan', () => {
  const fixture = fileURLToPath(new URL('./fixtures/pgbouncer-owner.ts', import.meta.url))
  const repoRoot = fileURLToPath(new URL('../../..', import.meta.url))

  /** Runs the fixture in its own Node process and resolves with the PgBouncer it reports. */
  function startOwner(mode: 'exit' | 'wait') {
    const owner = spawn(process.execPath, ['--import', 'tsx', fixture, mode], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] })
    const reported = new Promise<{ port: number; logFile: string }>((resolve, reject) => {
      let output = ''
      owner.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString()
        const line = output.split('\n')[0]
        if (output.includes('\n') && line) resolve(JSON.parse(line))
      })
      owner.once('exit', () => reject(new Error(`the owner exited before reporting a port: ${output}`)))
    })
    return { owner, reported }
  }

  it('stops PgBouncer when its owner exits without calling stop()', async () => {
    const { reported } = startOwner('exit')
    const { port, logFile } = await reported
    await eventually(async () => !(await accepts(port)))
    expect(existsSync(logFile)).toBe(false)
  })

  it('stops PgBouncer when its owner is killed with SIGKILL', async () => {
    const { owner, reported } = startOwner('wait')
    const { port, logFile } = await reported
    expect(await accepts(port)).toBe(true)
    owner.kill('SIGKILL')
    await eventually(async () => !(await accepts(port)))
    // No hook runs on SIGKILL, so its files stay behind.
    rmSync(dirname(logFile), { recursive: true, force: true })
  })
})
