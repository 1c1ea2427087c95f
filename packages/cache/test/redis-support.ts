import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { Redis, type RedisOptions } from 'ioredis'
import { REDIS_URL, uniqueName } from '../../../tooling/test-services/env'

export { REDIS_URL, uniqueName }

/** Every connection a test opened, closed in afterAll. */
export class Connections {
  private readonly all: Redis[] = []

  open(url = REDIS_URL, options: RedisOptions = {}): Redis {
    const redis = new Redis(url, { retryStrategy: () => 50, ...options })
    redis.on('error', () => {}) // expected while a test breaks the server
    this.all.push(redis)
    return redis
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.all.map((redis) => redis.quit().catch(() => redis.disconnect())))
  }
}

/**
 * Resolves once `redis` is connected. A cache's first write sent while its client still connects may time out on a
 * loaded machine, and a write of unknown outcome is repaired (its key deleted): tests about something else connect first.
 */
export async function whenReady(redis: Redis): Promise<Redis> {
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve))
  return redis
}

/** Deletes every key under `prefix` (tests clean up after themselves). */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    cursor = next
    if (keys.length > 0) await redis.unlink(...keys)
  } while (cursor !== '0')
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}

/** A private redis-server child process the test may pause, kill and restart. */
export class PrivateRedis {
  private child: ChildProcess | undefined
  private constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const server = new PrivateRedis(await freePort())
    await server.spawn()
    return server
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  async spawn(): Promise<void> {
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    })
    const probe = new Redis(this.url, { lazyConnect: true, retryStrategy: () => 20, maxRetriesPerRequest: 1 })
    probe.on('error', () => {})
    const deadline = Date.now() + 10_000
    for (;;) {
      try {
        if (probe.status === 'wait') await probe.connect()
        await probe.ping()
        break
      } catch (error) {
        if (Date.now() > deadline) throw error
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
    probe.disconnect()
  }

  pause(): void {
    this.child?.kill('SIGSTOP')
  }

  resume(): void {
    this.child?.kill('SIGCONT')
  }

  async kill(): Promise<void> {
    const child = this.child
    if (child === undefined || child.exitCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGCONT')
    child.kill('SIGKILL')
    await exited
  }
}

/** `INFO commandstats` as command → calls. */
export async function commandCalls(redis: Redis): Promise<Record<string, number>> {
  const info = await redis.info('commandstats')
  const calls: Record<string, number> = {}
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[match[1]!] = Number(match[2])
  return calls
}
