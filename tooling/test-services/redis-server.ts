import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { type OwnedProcess, spawnOwnedProcess } from './owned-process'

/** One redis-server (or sentinel) process of this test run on 127.0.0.1. */
export interface RedisProcess {
  readonly host: '127.0.0.1'
  readonly port: number
  /** Its log file, to read when a test fails. */
  readonly logFile: string
  /** Whether the process is running. */
  readonly running: boolean
  /** SIGKILL: the server dies as in a crash, without closing its clients. */
  kill(): Promise<void>
  /** Starts it again with the same configuration (same port, same data directory). */
  restart(): Promise<void>
  /** SIGTERM, then SIGKILL. Idempotent. */
  stop(): Promise<void>
}

/** Runs `redis-cli -p port args…` and returns its output (RESP replies printed raw). */
export function redisCli(port: number, args: readonly string[], timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'redis-cli',
      ['-h', '127.0.0.1', '-p', String(port), ...args],
      { timeout: timeoutMs, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`redis-cli -p ${port} ${args.join(' ')}: ${stderr || error.message}`))
        else resolve(stdout.trim())
      },
    )
  })
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `check` until it returns a value other than undefined, or throws `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError = ''
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined) return value
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error)
    }
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms${lastError ? ` (${lastError})` : ''}`)
    await sleep(50)
  }
}

/** A temporary directory removed at `removeDir`, or at the latest when this process exits. */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  tempDirs.add(dir)
  return dir
}

export function removeDir(dir: string): void {
  tempDirs.delete(dir)
  rmSync(dir, { recursive: true, force: true })
}

const tempDirs = new Set<string>()
process.once('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
})

/**
 * Starts `redis-server` (or, with `sentinel`, a sentinel) on `port` with `args` (config directives as `--name value`),
 * no persistence, logging to `dir/<port>.log`, and waits until it answers PING. The config file, when given, is
 * the first argument (sentinels need one they can rewrite).
 */
export async function startRedisProcess(options: {
  port: number
  dir: string
  args: readonly string[]
  configFile?: string | undefined
  sentinel?: boolean | undefined
}): Promise<RedisProcess> {
  const { port, dir } = options
  const dataDir = join(dir, String(port))
  mkdirSync(dataDir, { recursive: true })
  const logFile = join(dir, `${port}.log`)
  const { command, modeArgs } = options.sentinel ? sentinelCommand() : { command: 'redis-server', modeArgs: [] as string[] }
  const args = [
    ...(options.configFile === undefined ? [] : [options.configFile]),
    ...modeArgs,
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--protected-mode',
    'no',
    '--dir',
    dataDir,
    '--logfile',
    logFile,
    '--daemonize',
    'no',
    ...(options.sentinel ? [] : ['--save', '', '--appendonly', 'no']),
    ...options.args,
  ]
  let child: OwnedProcess | undefined
  const spawnIt = async () => {
    child = spawnOwnedProcess({ command, args })
    const started = child
    await waitFor(`redis on port ${port} answering PING`, async () => {
      if (!started.running) {
        const exit = await started.exited
        throw new Error(`it exited (code ${exit.code}, signal ${exit.signal}): ${tail(logFile)}`)
      }
      return (await redisCli(port, ['PING'], 1_000)) === 'PONG' ? true : undefined
    })
  }
  await spawnIt()
  return {
    host: '127.0.0.1',
    port,
    logFile,
    get running() {
      return child?.running ?? false
    },
    async kill() {
      if (child?.running) {
        const exited = child.exited
        process.kill(child.pid as number, 'SIGKILL')
        await exited
      }
    },
    async restart() {
      if (child?.running) throw new Error(`redis on port ${port} is still running`)
      await spawnIt()
    },
    async stop() {
      await child?.stop({ graceMs: 2_000 })
    },
  }
}

/**
 * The sentinel binary: `TESSERA_REDIS_SENTINEL`, Debian's `redis-sentinel`, or else `redis-server --sentinel` (the
 * same program: `redis-sentinel` is redis-server started under another name).
 */
function sentinelCommand(): { command: string; modeArgs: string[] } {
  const fromEnv = process.env.TESSERA_REDIS_SENTINEL
  if (fromEnv) return { command: fromEnv, modeArgs: [] }
  const onPath = ['/usr/bin', ...(process.env.PATH ?? '').split(delimiter).filter(Boolean)]
    .map((dir) => join(dir, 'redis-sentinel'))
    .find((path) => existsSync(path))
  if (onPath) return { command: onPath, modeArgs: [] }
  return { command: 'redis-server', modeArgs: ['--sentinel'] }
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-8).join('\n')
  } catch {
    return '(no log)'
  }
}
