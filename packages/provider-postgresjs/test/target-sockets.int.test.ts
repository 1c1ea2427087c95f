import { createServer, type Server, type Socket } from 'node:net'
import { AbortError, ConnectionError, mapPgError, TLS_REFUSED } from '@tessera/core'
import pg from 'pg'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { deferred } from '../../../tooling/test-services/deferred'
import { PG_URL } from '../../../tooling/test-services/env'
import { resolvePostgresJsOptions } from '../src/options'
import type { PostgresJsSql } from '../src/postgres-js-client'
import {
  connectSocket,
  createSessionProbe,
  createTargetSocketOpener,
  handOverSocket,
  openTargetSocket,
  targetOptions,
  tlsRefusedError,
} from '../src/target-sockets'

const url = new URL(PG_URL)
const base = `postgres://${url.username || 'postgres'}@`
const database = url.pathname.slice(1) || 'postgres'
const host = url.hostname || '127.0.0.1'
const port = Number(url.port || 5432)
/** A port nothing listens on. */
const CLOSED_PORT = 5999

let socketDirectory = ''
let serverHasTls = false
const instances: PostgresJsSql[] = []

beforeAll(async () => {
  const admin = new pg.Client({ connectionString: PG_URL })
  await admin.connect()
  socketDirectory = (await admin.query('SHOW unix_socket_directories')).rows[0].unix_socket_directories.split(',')[0].trim()
  serverHasTls = (await admin.query('SHOW ssl')).rows[0].ssl === 'on'
  await admin.end()
})

afterEach(async () => {
  await Promise.all(instances.splice(0).map((sql) => sql.end({ timeout: 1 })))
})

/**
 * A postgres.js instance wired as the provider's driver does: a socket opened by `createTargetSocketOpener` with a
 * probe for target_session_attrs, then an instance for that server alone.
 */
async function instance(connectionString: string): Promise<PostgresJsSql> {
  const o = resolvePostgresJsOptions({ connectionString, connectTimeoutMs: 3_000 })
  const open = createTargetSocketOpener(o.connection, createSessionProbe(o.factory, o.driverOptions))
  const { socket, target } = await open()
  const sql = o.factory(undefined, { ...o.driverOptions, ...targetOptions(target, o.driverOptions.ssl), max: 1, socket: () => socket })
  instances.push(sql)
  return sql
}

/** The opener's rejection, as the provider's driver sees it. */
async function openError(connectionString: string): Promise<unknown> {
  const o = resolvePostgresJsOptions({ connectionString, connectTimeoutMs: 3_000 })
  const open = createTargetSocketOpener(o.connection, createSessionProbe(o.factory, o.driverOptions))
  return open().then(
    ({ socket }) => socket.destroy(),
    (error: unknown) => error,
  )
}

async function serverPort(sql: PostgresJsSql): Promise<number | null> {
  const rows = (await sql.unsafe('SELECT inet_server_port() AS port')) as unknown as { port: number | null }[]
  return rows[0]!.port
}

describe('createTargetSocketOpener', () => {
  it('lets postgres.js connect to the next server of a host list when the first cannot be reached', async () => {
    expect(await serverPort(await instance(`${base}${host}:${CLOSED_PORT},${host}:${port}/${database}`))).toBe(port)
  })

  it('connects to the server that suits target_session_attrs, checked before postgres.js gets the socket', async () => {
    const sql = await instance(`${base}${host}:${CLOSED_PORT},${host}:${port}/${database}?target_session_attrs=read-write`)
    expect(await serverPort(sql)).toBe(port)
  })

  it('fails with a ConnectionError saying why when no server suits target_session_attrs', async () => {
    const error = await openError(`${base}${host}:${port}/${database}?target_session_attrs=standby`)
    expect(error).toBeInstanceOf(ConnectionError)
    expect((error as Error).message).toBe(
      `could not connect to any of 1 servers (${host}:${port}: the server is not a standby (target_session_attrs=standby))`,
    )
  })

  it('connects to a socket directory of the list', async () => {
    const sql = await instance(`postgres:///${database}?user=${url.username || 'postgres'}&host=/no/such/dir,${socketDirectory}`)
    expect(await serverPort(sql)).toBeNull()
  })

  it('tries the servers in order for every new socket', async () => {
    const tcp = { host, port, socketPath: undefined }
    const socket = { host: socketDirectory, port, socketPath: `${socketDirectory}/.s.PGSQL.${port}` }
    const open = createTargetSocketOpener({
      targets: [tcp, socket],
      sslMode: 'disable',
      targetSessionAttrs: 'any',
      connectTimeoutMs: 3_000,
    })
    for (let round = 0; round < 2; round++) {
      const opened = await open()
      expect(opened.target).toBe(tcp)
      opened.socket.destroy()
    }
  })

  it('rejects with a ConnectionError naming every server when none can be reached', async () => {
    const error = await openError(
      `postgres:///${database}?user=${url.username || 'postgres'}&host=${host},/no/such/dir&port=${CLOSED_PORT},${port}`,
    )
    expect(error).toBeInstanceOf(ConnectionError)
    expect((error as Error).message).toBe(
      `could not connect to any of 2 servers (${host}:${CLOSED_PORT}: connect ECONNREFUSED ${host}:${CLOSED_PORT}; ` +
        `/no/such/dir/.s.PGSQL.${port}: connect ENOENT /no/such/dir/.s.PGSQL.${port})`,
    )
  })

  it('rejects with an AbortError, trying no further server, when the signal has aborted', async () => {
    const open = createTargetSocketOpener({
      targets: [
        { host, port, socketPath: undefined },
        { host: socketDirectory, port, socketPath: `${socketDirectory}/.s.PGSQL.${port}` },
      ],
      sslMode: 'disable',
      targetSessionAttrs: 'any',
      connectTimeoutMs: 3_000,
    })
    expect(await open(AbortSignal.abort()).catch((caught: unknown) => caught)).toBeInstanceOf(AbortError)
  })
})

/** The protocol's SSLRequest, as postgres.js sends it before asking for TLS. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 4, 210, 22, 47])

/** What the reader of `socket` (postgres.js) sees after an SSLRequest: the server's answer, or the socket's error. */
function answerToSslRequest(socket: Socket): Promise<{ data?: Buffer; error?: Error }> {
  return new Promise((resolve) => {
    socket.once('data', (data: Buffer) => resolve({ data }))
    socket.once('error', (error) => resolve({ error }))
    socket.write(SSL_REQUEST)
  })
}

describe('openTargetSocket', () => {
  const tcp = () => ({ host, port, socketPath: undefined })

  it('ends the socket with the TLS refusal under sslmode=require, before its reader sees the answer', async () => {
    if (serverHasTls) return
    const socket = await openTargetSocket(tcp(), { sslMode: 'require', connectTimeoutMs: 3_000 })
    const { data, error } = await answerToSslRequest(socket)
    expect(data).toBeUndefined()
    expect(error).toMatchObject({ message: 'The server does not support SSL connections', code: 'SSL_NOT_SUPPORTED' })
  })

  it('hands the refusal to the reader under sslmode=prefer, which goes on in plain text', async () => {
    if (serverHasTls) return
    const socket = await openTargetSocket(tcp(), { sslMode: 'prefer', connectTimeoutMs: 3_000 })
    const { data, error } = await answerToSslRequest(socket)
    socket.destroy()
    expect(error).toBeUndefined()
    expect(data?.toString()).toBe('N')
  })
})

describe('handOverSocket', () => {
  let server: Server | undefined

  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined))
    server = undefined
  })

  it('throws the reset of a socket that died while it waited, instead of letting it escape as an uncaught exception', async () => {
    // The server resets the connection once the client holds it: what a failing server or a proxy does while a probe runs.
    const accepted = deferred<Socket>()
    server = createServer((connection) => accepted.resolve(connection))
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
    const address = server.address() as { port: number }
    const socket = await openTargetSocket(
      { host: '127.0.0.1', port: address.port, socketPath: undefined },
      { sslMode: 'disable', connectTimeoutMs: 3_000 },
    )
    ;(await accepted.promise).resetAndDestroy()
    await new Promise((resolve) => socket.once('close', resolve))
    expect(() => handOverSocket(socket)).toThrow(expect.objectContaining({ code: 'ECONNRESET' }))
  })

  it('hands over a socket that is still open, its errors then reaching its new listeners', async () => {
    const socket = await openTargetSocket({ host, port, socketPath: undefined }, { sslMode: 'disable', connectTimeoutMs: 3_000 })
    expect(handOverSocket(socket)).toBe(socket)
    const failed = new Promise((resolve) => socket.once('error', resolve))
    socket.destroy(new Error('boom'))
    expect(await failed).toMatchObject({ message: 'boom' })
  })
})

describe('connectSocket', () => {
  it('rejects with the socket error of a missing socket file', async () => {
    const error = await connectSocket({ host: '/no/such/dir', port, socketPath: '/no/such/dir/.s.PGSQL.5432' }, 1_000).catch(
      (caught: unknown) => caught,
    )
    expect(error).toMatchObject({ code: 'ENOENT', syscall: 'connect' })
  })
})

describe('tlsRefusedError', () => {
  it('maps to the same ConnectionError as pg reports for a server without TLS', () => {
    const mapped = mapPgError(tlsRefusedError({ host, port, socketPath: undefined }), { target: `${host}:${port}` })
    expect(mapped).toBeInstanceOf(ConnectionError)
    expect(mapped).toMatchObject({ driverCode: TLS_REFUSED, retryable: false })
    expect(mapped.message).toBe(`The server does not support SSL connections (server ${host}:${port})`)
  })
})
