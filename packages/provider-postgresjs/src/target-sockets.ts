import { createConnection, type Socket } from 'node:net'
import { AbortError, type ConnectionSettings, type ConnectionTarget, describeTarget, type SslMode } from '@tessera/core'
import { connectFirstTarget, SESSION_STATE_SQL, type SessionState, sessionStateOf } from '@tessera/core/driver'
import type { PostgresJsFactory, PostgresJsOptions } from './postgres-js-client'

/** A socket connected to one of the servers, with which one. */
export interface TargetSocket {
  socket: Socket
  target: ConnectionTarget
}

/** Opens a socket on the server to use (see {@link createTargetSocketOpener}); an abort destroys the socket under way. */
export type TargetSocketOpener = (signal?: AbortSignal) => Promise<TargetSocket>

/** Reads the state of a server for `target_session_attrs` (see {@link createSessionProbe}). */
export type SessionProbe = (target: ConnectionTarget) => Promise<SessionState>

/** What a socket to one server needs to know: how long its connect may take, and whether TLS is required on it. */
export type SocketSettings = Pick<ConnectionSettings, 'sslMode' | 'connectTimeoutMs'>

/**
 * Opens the sockets of a postgres.js instance on the server libpq would choose, by core's `connectFirstTarget`, the
 * rules provider-pg follows too: the servers in order, an unreachable one skipped, and with `target_session_attrs`
 * the first whose session suits (checked by `probe` on a session of its own before the socket is handed over).
 *
 * postgres.js 3 cannot do this itself behind a `socket` factory: it neither connects the socket nor moves to its next
 * host, and given several hosts it swallows a failed connect to wait for a next host that never comes. So the
 * provider opens the socket first, then gives postgres.js that server alone (see {@link targetOptions}), with its own
 * `target_session_attrs` `null`. TLS stays postgres.js' part (its `ssl` option), refused TLS excepted (see
 * {@link openTargetSocket}).
 *
 * @throws what `connectFirstTarget` throws: the socket error of a single server (`ECONNREFUSED`, `ENOENT`), else a
 * `ConnectionError` naming every server and why it was passed over; an `AbortError` when `signal` aborts.
 * @example
 * const open = createTargetSocketOpener(o.connection, createSessionProbe(o.factory, o.driverOptions))
 * const { socket, target } = await open()
 * o.factory(undefined, { ...o.driverOptions, ...targetOptions(target, o.driverOptions.ssl), socket: () => socket })
 */
export function createTargetSocketOpener(
  connection: Pick<ConnectionSettings, 'targets' | 'sslMode' | 'targetSessionAttrs' | 'connectTimeoutMs'>,
  probe?: SessionProbe,
): TargetSocketOpener {
  const targetSessionAttrs = probe === undefined ? 'any' : connection.targetSessionAttrs
  return async (signal) => {
    const targetOf = new WeakMap<Socket, ConnectionTarget>()
    const { session, attempt } = await connectFirstTarget<Socket>(
      // TLS is negotiated by postgres.js on the socket: one plain attempt per server here.
      { targets: connection.targets, sslMode: 'disable', targetSessionAttrs },
      {
        async open({ target }) {
          const socket = await openTargetSocket(target, connection, signal)
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
      ...targetOptions(target, driverOptions.ssl),
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
 * postgres.js' options for an instance on `target`: that server alone (its host name also serves for TLS SNI and
 * error messages), and no TLS over a Unix socket, whatever `ssl` says (libpq ignores sslmode there).
 */
export function targetOptions(
  target: ConnectionTarget,
  ssl: PostgresJsOptions['ssl'],
): Pick<PostgresJsOptions, 'host' | 'port' | 'path' | 'ssl'> {
  if (target.socketPath === undefined) return { host: target.host, port: target.port, ssl }
  return { host: target.host, port: target.port, path: target.socketPath, ssl: false }
}

/**
 * A socket on `target` ready for postgres.js: connected, and, when the sslmode requires TLS on a TCP server, ended
 * with {@link tlsRefusedError} if the server refuses TLS. postgres.js would go on with a TLS handshake the server never
 * reads and report only a reset connection (3.4), or its own error (4.x); this way both majors fail as pg does.
 */
export async function openTargetSocket(target: ConnectionTarget, settings: SocketSettings, signal?: AbortSignal): Promise<Socket> {
  const socket = await connectSocket(target, settings.connectTimeoutMs, signal)
  if (target.socketPath === undefined && requiresTls(settings.sslMode)) failOnTlsRefusal(socket, target)
  return socket
}

/**
 * A socket to `target` once it is connected, with `host` and `port` set as postgres.js reads them (TLS server name,
 * error messages). Rejects with the socket's error, a `CONNECT_TIMEOUT` error after `timeoutMs` (0: no limit), or an
 * `AbortError` when `signal` aborts. Once connected, the socket's errors are held until {@link handOverSocket}.
 */
export function connectSocket(target: ConnectionTarget, timeoutMs: number, signal?: AbortSignal): Promise<Socket> {
  if (signal?.aborted) return Promise.reject(new AbortError('connect', { cause: signal.reason }))
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
    const onAbort = () => socket.destroy(new AbortError('connect', { cause: signal?.reason }))
    signal?.addEventListener('abort', onAbort, { once: true })
    const settle = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
    const onError = (error: Error) => {
      settle()
      reject(error)
    }
    socket.once('error', onError)
    socket.once('connect', () => {
      settle()
      socket.off('error', onError)
      socket.on('error', holdError)
      resolve(socket)
    })
  })
}

/**
 * Hands a socket from {@link openTargetSocket} to postgres.js (its `socket` option). Between its connect and now the
 * socket waited (a probe session for `target_session_attrs`, the instance being made) with only a listener that held
 * its errors: a reset meanwhile would otherwise have been an uncaught exception. postgres.js listens from now on; a
 * socket that died while it waited throws its error instead, so postgres.js fails the connect at once.
 */
export function handOverSocket(socket: Socket): Socket {
  socket.off('error', holdError)
  const error = heldErrors.get(socket)
  if (error !== undefined) throw error
  if (socket.destroyed) throw Object.assign(new Error('the connection was closed before it was used'), { code: 'CONNECTION_CLOSED' })
  return socket
}

/** The first error of each connected socket not yet handed over. */
const heldErrors = new WeakMap<Socket, Error>()

function holdError(this: Socket, error: Error): void {
  if (!heldErrors.has(this)) heldErrors.set(this, error)
}

/**
 * The error to destroy a socket with when the server answers an SSLRequest with `N` and the sslmode requires TLS. It
 * carries node-postgres' message, which core's `mapPgError` turns into a `ConnectionError` with driverCode
 * `TLS_REFUSED`, the same on both providers. The code is postgres.js 4's own for this failure: given a socket error
 * without a code, postgres.js 4 reports `CONNECTION_CLOSED`, which it retries until its connect timeout.
 */
export function tlsRefusedError(target: ConnectionTarget): Error {
  return Object.assign(new Error('The server does not support SSL connections'), {
    code: 'SSL_NOT_SUPPORTED',
    address: describeTarget(target),
  })
}

/** The one-byte answer to an SSLRequest from a server without TLS. */
const SSL_REFUSED = 78 // 'N'

function requiresTls(sslMode: SslMode): boolean {
  return sslMode === 'require' || sslMode === 'verify-ca' || sslMode === 'verify-full'
}

/**
 * Reads the first chunk the server sends, the answer to postgres.js' SSLRequest, before postgres.js does: a refusal
 * destroys the socket with {@link tlsRefusedError} and postgres.js never sees it. `emit` is wrapped rather than a
 * listener added, because a listener cannot keep the chunk from postgres.js' own. Later chunks pass straight through.
 */
function failOnTlsRefusal(socket: Socket, target: ConnectionTarget): void {
  const emit = socket.emit as (this: Socket, event: string | symbol, ...args: unknown[]) => boolean
  let answered = false
  socket.emit = ((event: string | symbol, ...args: unknown[]): boolean => {
    if (event !== 'data' || answered) return emit.call(socket, event, ...args)
    answered = true
    if ((args[0] as Buffer)[0] !== SSL_REFUSED) return emit.call(socket, event, ...args)
    socket.destroy(tlsRefusedError(target))
    return true
  }) as Socket['emit']
}
