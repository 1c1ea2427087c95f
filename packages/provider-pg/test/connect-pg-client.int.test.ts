import { AbortError, ConnectionError, TLS_REFUSED } from '@tessera/core'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { connectPgClient } from '../src/connect-pg-client'
import { resolvePgOptions } from '../src/options'
import type { PgClientLike, PgRawResult } from '../src/pg-client'
import { adminClient, PG_URL } from './helpers'

const url = new URL(PG_URL)
const base = `postgres://${url.username || 'postgres'}@`
const database = url.pathname.slice(1) || 'postgres'
const host = url.hostname || '127.0.0.1'
const port = Number(url.port || 5432)
/** A port nothing listens on. */
const CLOSED_PORT = 5999

const opened: PgClientLike[] = []

/** Connects as provider-pg would with these options, through real pg clients. */
async function connect(connectionString: string, signal?: AbortSignal) {
  const options = resolvePgOptions({ connectionString, connectTimeoutMs: 3_000 })
  const connected = await connectPgClient(options.Client, options.clientConfig, options.connection, signal)
  opened.push(connected.client)
  return connected
}

async function serverOf(client: PgClientLike): Promise<{ port: number | null; ssl: boolean }> {
  const result = await new Promise<PgRawResult | PgRawResult[]>((resolve, reject) => {
    const text = 'SELECT inet_server_port()::text AS port, ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()'
    client.query(text, undefined, (error, raw) => (error === null ? resolve(raw) : reject(error)))
  })
  const row = (Array.isArray(result) ? result[0]! : result).rows[0]!
  return { port: row.port === null ? null : Number(row.port), ssl: row.ssl === 'true' }
}

let serverHasTls = false

beforeAll(async () => {
  const admin = await adminClient()
  serverHasTls = (await admin.query('SHOW ssl')).rows[0].ssl === 'on'
  await admin.end()
})

afterEach(async () => {
  await Promise.all(opened.splice(0).map((client) => client.end().catch(() => undefined)))
})

describe('connectPgClient', () => {
  it('connects to the next server of a host list when the first cannot be reached', async () => {
    const { client, attempt } = await connect(`${base}${host}:${CLOSED_PORT},${host}:${port}/${database}`)
    expect(attempt.target).toMatchObject({ host, port })
    expect((await serverOf(client)).port).toBe(port)
  })

  it('keeps a server that suits target_session_attrs=read-write and passes over one that does not suit standby', async () => {
    const readWrite = await connect(`${base}${host}:${CLOSED_PORT},${host}:${port}/${database}?target_session_attrs=read-write`)
    expect(readWrite.attempt.target.port).toBe(port)
    const error = await connect(`${base}${host}:${port}/${database}?target_session_attrs=standby`).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(ConnectionError)
    expect((error as Error).message).toBe(
      `could not connect to any of 1 servers (${host}:${port}: the server is not a standby (target_session_attrs=standby))`,
    )
  })

  it('takes the primary for prefer-standby when there is no standby', async () => {
    const { attempt } = await connect(`${base}${host}:${port}/${database}?target_session_attrs=prefer-standby`)
    expect(attempt.target.port).toBe(port)
  })

  it('connects under sslmode=prefer, in plain text when the server has no TLS', async () => {
    const { client, attempt } = await connect(`${base}${host}:${port}/${database}?sslmode=prefer`)
    expect(attempt.tls).toBe(serverHasTls)
    expect((await serverOf(client)).ssl).toBe(serverHasTls)
  })

  it('connects under sslmode=allow in plain text', async () => {
    const { client } = await connect(`${base}${host}:${port}/${database}?sslmode=allow`)
    expect((await serverOf(client)).ssl).toBe(false)
  })

  it('fails under sslmode=require on a server without TLS, saying so and naming it', async () => {
    if (serverHasTls) return
    const error = await connect(`${base}${host}:${port}/${database}?sslmode=require`).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(ConnectionError)
    expect(error).toMatchObject({
      driverCode: TLS_REFUSED,
      retryable: false,
      message: `The server does not support SSL connections (server ${host}:${port})`,
    })
  })

  it('fails on a missing socket directory with ENOENT, naming the socket', async () => {
    const error = await connect(`postgres:///${database}?host=/no/such/socket-dir`).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(ConnectionError)
    expect(error).toMatchObject({ driverCode: 'ENOENT' })
    expect((error as Error).message).toContain('/no/such/socket-dir/.s.PGSQL.5432')
  })

  it('stops when aborted', async () => {
    const controller = new AbortController()
    controller.abort()
    const error = await connect(`${base}${host}:${port}/${database}`, controller.signal).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(AbortError)
  })
})

describe('connectPgClient when the backend dies between connect and hand-over', () => {
  it('a FATAL arriving while the new session is idle (pg_terminate_backend) is not an uncaught error event', async () => {
    const admin = await adminClient()
    try {
      // A pg.Client whose session-state read ends only after the server terminated this (then idle) backend: the
      // FATAL arrives with no query running, and pg emits it as an 'error' event, before the provider's connection
      // object (which listens for it) exists. Without a listener, that event is an uncaught exception.
      const pg = (await import('pg')).default
      class KilledWhileIdle extends pg.Client {
        armed = true
        // biome-ignore lint/suspicious/noExplicitAny: pg's overloaded query signature
        override query(...args: any[]): any {
          const callback = args[2] as ((error: Error | null, result: unknown) => void) | undefined
          if (!this.armed || typeof callback !== 'function') return (super.query as (...a: unknown[]) => unknown)(...args)
          this.armed = false
          return (super.query as (...a: unknown[]) => unknown)(args[0], args[1], (error: Error | null, result: unknown) => {
            const pid = (this as unknown as { processID: number }).processID
            admin
              .query('SELECT pg_terminate_backend($1)', [pid])
              .then(() => new Promise((resolve) => setTimeout(resolve, 200)))
              .then(() => callback(error, result))
          })
        }
      }
      // target_session_attrs makes connectPgClient read the session state: the read this client stalls.
      const stateRead = new URL(PG_URL)
      stateRead.searchParams.set('target_session_attrs', 'read-write')
      const options = resolvePgOptions({ connectionString: stateRead.toString(), Client: KilledWhileIdle as never })
      const connected = await connectPgClient(options.Client, options.clientConfig, options.connection)
      opened.push(connected.client)
      // The backend really died while the session was idle, and the process is still here (vitest fails the run on
      // an uncaught exception).
      const pid = (connected.client as unknown as { processID: number }).processID
      const { rows } = await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1', [pid])
      expect(rows[0].n).toBe(0)
    } finally {
      await admin.end()
    }
  })
})
