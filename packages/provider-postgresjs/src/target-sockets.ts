import { createConnection, type Socket } from 'node:net'
import {
  type ConnectionSettings,
  type ConnectionTarget,
  connectFirstTarget,
  describeTarget,
  SESSION_STATE_SQL,
  type SessionState,
  sessionStateOf,
} from '@tessera/core'
import type { PostgresJsFactory, PostgresJsOptions } from './postgres-js-client'

/** A socket connected to one of the servers, with which one. */
export interface TargetSocket {
  socket: Socket
  target: ConnectionTarget
}

/** Reads the state of a server for `target_session_attrs` (see {@link createSessionProbe}). */
export type SessionProbe = (target: ConnectionTarget) => Promise<SessionState>

/**
 * Opens the sockets of a postgres.js instance on the server libpq would choose, by core's `connectFirstTarget`, the
 * rules provider-pg follows too: the servers in order, an unreachable one skipped, and with `target_session_attrs`
 * the first whose session suits (checked by `probe` on a session of its own before the socket is handed over).
 *
 * postgres.js cannot do this itself behind a `socket` factory: it neither connects the socket nor moves to its next
 * host, and given several hosts it swallows a failed connect to wait for a next host that never comes. So the
 * provider gives postgres.js one host and this factory, and postgres.js' own `target_session_attrs` can be `null`.
 * TLS stays postgres.js' part (its `ssl` option).
 *
 * @throws what `connectFirstTarget` throws: the socket error of a single server (`ECONNREFUSED`, `ENOENT`), else a
 * `ConnectionError` naming every server and why it was passed over.
 * @example
 * const open = createTargetSocketOpener(o.connection, createSessionProbe(o.factory, o.driverOptions))
 * o.factory(undefined, { ...o.driverOptions, target_session_attrs: null, socket: async () => (await open()).socket })
 */
export function createTargetSocketOpener(
  connection: Pick<ConnectionSettings, 'targets' | 'targetSessionAttrs' | 'connectTimeoutMs'>,
  probe?: SessionProbe,
): () => Promise<TargetSocket> {
  const targetSessionAttrs = probe === undefined ? 'any' : connection.targetSessionAttrs
  return async () => {
    const targetOf = new WeakMap<Socket, ConnectionTarget>()
    const { session, attempt } = await connectFirstTarget<Socket>(
      // TLS is negotiated by postgres.js on the socket: one plain attempt per server here.
      { targets: connection.targets, sslMode: 'disable', targetSessionAttrs },
      {
        async open({ target }) {
          const socket = await connectSocket(target, connection.connectTimeoutMs)
          targetOf.set(socket, target)
          return socket
        },
        state: (socket) => probe!(targetOf.get(socket)!),
        async close(socket) {
          socket.destroy()
        },
      },
    )
    return { socket: session, target: attempt.target }
  }
}

/**
 * A {@link SessionProbe} over postgres.js: a session of its own on the target (with the provider's user, database,
 * password and TLS), asked {@link SESSION_STATE_SQL}, then closed.
 */
export function createSessionProbe(factory: PostgresJsFactory, driverOptions: PostgresJsOptions): SessionProbe {
  return async (target) => {
    const sql = factory(undefined, {
      ...driverOptions,
      host: target.host,
      port: target.port,
      ...(target.socketPath === undefined ? {} : { path: target.socketPath, ssl: false }),
      max: 1,
      idle_timeout: null,
      max_lifetime: null,
      target_session_attrs: null,
      onnotice: () => {},
    })
    try {
      const rows = (await sql.unsafe(SESSION_STATE_SQL, [], { prepare: false })) as unknown as Record<string, unknown>[]
      return sessionStateOf(rows[0])
    } finally {
      await sql.end({ timeout: 1 })
    }
  }
}

/**
 * A socket to `target` once it is connected, with `host` and `port` set as postgres.js reads them (TLS server name,
 * error messages). Rejects with the socket's error, or a `CONNECT_TIMEOUT` error after `timeoutMs` (0: no limit).
 */
export function connectSocket(target: ConnectionTarget, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket =
      target.socketPath === undefined ? createConnection({ host: target.host, port: target.port }) : createConnection(target.socketPath)
    Object.assign(socket, { host: target.host, port: target.port })
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            const error = Object.assign(new Error(`connect timed out after ${timeoutMs} ms: ${describeTarget(target)}`), {
              code: 'CONNECT_TIMEOUT',
            })
            socket.destroy(error)
          }, timeoutMs)
        : undefined
    timer?.unref()
    const onError = (error: Error) => {
      clearTimeout(timer)
      reject(error)
    }
    socket.once('error', onError)
    socket.once('connect', () => {
      clearTimeout(timer)
      socket.off('error', onError)
      resolve(socket)
    })
  })
}

/**
 * The error to destroy a socket with when the server answers an SSLRequest with `N` and the sslmode requires TLS
 * (postgres.js would go on with a TLS handshake the server never answers and report only a reset connection). It
 * carries node-postgres' message, which core's `mapPgError` turns into a `ConnectionError` with driverCode
 * `TLS_REFUSED`, the same on both providers.
 */
export function tlsRefusedError(target: ConnectionTarget): Error {
  return Object.assign(new Error('The server does not support SSL connections'), { address: describeTarget(target) })
}
