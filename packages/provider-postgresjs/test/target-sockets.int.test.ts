import { ConnectionError, mapPgError, TLS_REFUSED } from '@tessera/core'
import pg from 'pg'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { PG_URL } from '../../../tooling/test-services/env'
import { resolvePostgresJsOptions } from '../src/options'
import type { PostgresJsSql } from '../src/postgres-js-client'
import { connectSocket, createSessionProbe, createTargetSocketOpener, tlsRefusedError } from '../src/target-sockets'

const url = new URL(PG_URL)
const base = `postgres://${url.username || 'postgres'}@`
const database = url.pathname.slice(1) || 'postgres'
const host = url.hostname || '127.0.0.1'
const port = Number(url.port || 5432)
/** A port nothing listens on. */
const CLOSED_PORT = 5999

let socketDirectory = ''
const instances: PostgresJsSql[] = []

beforeAll(async () => {
  const admin = new pg.Client({ connectionString: PG_URL })
  await admin.connect()
  socketDirectory = (await admin.query('SHOW unix_socket_directories')).rows[0].unix_socket_directories.split(',')[0].trim()
  await admin.end()
})

afterEach(async () => {
  await Promise.all(instances.splice(0).map((sql) => sql.end({ timeout: 1 })))
})

/**
 * A postgres.js instance wired as the provider's engine should be: one host in its options, its sockets opened by
 * `createTargetSocketOpener` with a probe for target_session_attrs.
 */
function instance(connectionString: string): PostgresJsSql {
  const o = resolvePostgresJsOptions({ connectionString, connectTimeoutMs: 3_000 })
  const open = createTargetSocketOpener(o.connection, createSessionProbe(o.factory, o.driverOptions))
  const sql = o.factory(o.url, {
    ...o.driverOptions,
    max: 1,
    target_session_attrs: null,
    socket: (async () => (await open()).socket) as never,
  })
  instances.push(sql)
  return sql
}

async function serverPort(sql: PostgresJsSql): Promise<number | null> {
  const rows = (await sql.unsafe('SELECT inet_server_port() AS port')) as unknown as { port: number | null }[]
  return rows[0]!.port
}

describe('createTargetSocketOpener', () => {
  it('lets postgres.js connect to the next server of a host list when the first cannot be reached', async () => {
    expect(await serverPort(instance(`${base}${host}:${CLOSED_PORT},${host}:${port}/${database}`))).toBe(port)
  })

  it('connects to the server that suits target_session_attrs, checked before postgres.js gets the socket', async () => {
    const sql = instance(`${base}${host}:${CLOSED_PORT},${host}:${port}/${database}?target_session_attrs=read-write`)
    expect(await serverPort(sql)).toBe(port)
  })

  it('fails with a ConnectionError saying why when no server suits target_session_attrs', async () => {
    const sql = instance(`${base}${host}:${port}/${database}?target_session_attrs=standby`)
    const error = await sql.unsafe('SELECT 1').catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(ConnectionError)
    expect((error as Error).message).toBe(
      `could not connect to any of 1 servers (${host}:${port}: the server is not a standby (target_session_attrs=standby))`,
    )
  })

  it('connects to a socket directory of the list', async () => {
    const sql = instance(`postgres:///${database}?user=${url.username || 'postgres'}&host=/no/such/dir,${socketDirectory}`)
    expect(await serverPort(sql)).toBeNull()
  })

  it('tries the servers in order for every new socket', async () => {
    const tcp = { host, port, socketPath: undefined }
    const socket = { host: socketDirectory, port, socketPath: `${socketDirectory}/.s.PGSQL.${port}` }
    const open = createTargetSocketOpener({ targets: [tcp, socket], targetSessionAttrs: 'any', connectTimeoutMs: 3_000 })
    for (let round = 0; round < 2; round++) {
      const opened = await open()
      expect(opened.target).toBe(tcp)
      opened.socket.destroy()
    }
  })

  it('makes postgres.js reject with a ConnectionError naming every server when none can be reached', async () => {
    const sql = instance(`postgres:///${database}?user=${url.username || 'postgres'}&host=${host},/no/such/dir&port=${CLOSED_PORT},${port}`)
    const error = await sql.unsafe('SELECT 1').catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(ConnectionError)
    expect((error as Error).message).toBe(
      `could not connect to any of 2 servers (${host}:${CLOSED_PORT}: connect ECONNREFUSED ${host}:${CLOSED_PORT}; ` +
        `/no/such/dir/.s.PGSQL.${port}: connect ENOENT /no/such/dir/.s.PGSQL.${port})`,
    )
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
