import type { Socket } from 'node:net'
import type { ConnectionInfo } from '@tessera/core'
import type { ListenerConnection, ListenerEvents } from '@tessera/core/driver'
import type { ResolvedPostgresJsOptions } from './options'
import { handOverSocket, openTargetSocket, type TargetSocketOpener, targetOptions } from './target-sockets'

const NO_VALUES: readonly (string | null)[] = Object.freeze([])

/**
 * The dedicated LISTEN session: a postgres.js instance with `max: 1` and no idle or lifetime limit. (postgres.js' own
 * `sql.listen` re-listens after a reconnect too, but tells nobody the connection was lost; core's supervisor does.)
 *
 * postgres.js' `onnotify` gives the channel and payload only; the sender's PID is read from the NotificationResponse on
 * the socket (unencrypted connections; `processId` is 0 over TLS).
 *
 * Its socket is opened by `openTarget` as the sessions' are: on the server libpq's rules choose from a host list.
 */
export async function openPostgresJsListener(
  options: ResolvedPostgresJsOptions,
  openTarget: TargetSocketOpener,
  events: ListenerEvents,
  /** Announces the session (`DriverContext.connected`). */
  connected: (info: ConnectionInfo, port: number) => Promise<void>,
): Promise<ListenerConnection> {
  /** Sender PIDs of notifications read from the socket, not yet delivered by postgres.js. */
  const senderPids: number[] = []
  /** An ErrorResponse read on the socket (a FATAL before the server closes it). */
  let finalError: Record<string, string> | undefined
  let ended = false
  const sockets = new Set<Socket>()
  const { socket: first, target } = await openTarget()
  let pending: Socket | undefined = first
  const driverTarget = targetOptions(target, options.driverOptions.ssl)
  // Messages can be read off the socket only when it carries no TLS.
  const plain = driverTarget.ssl === false || driverTarget.ssl === undefined

  /** The socket opened above, then (should postgres.js ask again) another on the same server. */
  const createSocket = async (): Promise<Socket> => {
    const waiting = pending
    pending = undefined
    const socket = handOverSocket(waiting ?? (await openTargetSocket(target, options.connection)))
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    if (plain) readServerMessages(socket)
    return socket
  }

  /** Reads the sender's PID of NotificationResponse messages (postgres.js drops it) and a final ErrorResponse. */
  const readServerMessages = (socket: Socket): void => {
    let held: Buffer | undefined
    socket.on('data', (chunk: Buffer) => {
      const buffer = held === undefined ? chunk : Buffer.concat([held, chunk])
      let offset = 0
      while (buffer.length - offset >= 5) {
        const length = buffer.readUInt32BE(offset + 1)
        if (buffer.length - offset < length + 1) break
        if (buffer[offset] === 65) senderPids.push(buffer.readUInt32BE(offset + 5))
        // The server's last word before it closes the session (57P01 terminated by an administrator…): onLost reports it,
        // as provider-pg does.
        else if (buffer[offset] === 69) finalError = readErrorResponse(buffer.subarray(offset + 5, offset + 1 + length))
        offset += length + 1
      }
      held = offset < buffer.length ? buffer.subarray(offset) : undefined
    })
  }

  const sql = options.factory(undefined, {
    ...options.driverOptions,
    ...driverTarget,
    max: 1,
    idle_timeout: null,
    max_lifetime: null,
    socket: createSocket,
    onnotice: options.handleNotice,
    onnotify: (channel, payload) => {
      events.onNotification({ channel, payload: payload ?? '', processId: senderPids.shift() ?? 0 })
    },
    onclose: () => {
      if (ended) return
      ended = true
      senderPids.length = 0
      events.onLost(finalError ?? Object.assign(new Error('the LISTEN connection was closed'), { code: 'CONNECTION_CLOSED' }))
    },
  })

  const close = async (): Promise<void> => {
    ended = true
    try {
      await sql.end({ timeout: 1 })
    } catch {
      // Closing never throws; the sockets are dropped below.
    }
    pending?.destroy()
    for (const socket of sockets) socket.destroy()
  }

  try {
    const opening = sql.unsafe('', NO_VALUES, { prepare: false })
    await opening
    // Announced like every other session (`tessera:connect`, `onConnect`).
    const pid = opening.state?.pid
    await connected(
      {
        driver: 'postgres.js',
        host: target.host,
        database: options.database,
        meta: {},
        ...(pid == null ? {} : { processId: pid }),
      },
      target.port,
    )
  } catch (error) {
    await close()
    throw error
  }
  return { run: (statement) => sql.unsafe(statement, NO_VALUES, { prepare: false }), close }
}

/** ErrorResponse field codes → the property names node-postgres gives them (what `mapPgError` reads). */
const ERROR_FIELDS: Readonly<Record<string, string>> = {
  V: 'severity',
  C: 'code',
  M: 'message',
  D: 'detail',
  H: 'hint',
  W: 'where',
  F: 'file',
  L: 'line',
  R: 'routine',
}

/** The fields of an ErrorResponse body: (code byte, C string)* then a zero byte. */
function readErrorResponse(body: Buffer): Record<string, string> {
  const fields: Record<string, string> = {}
  let at = 0
  while (at < body.length && body[at] !== 0) {
    const type = String.fromCharCode(body[at]!)
    const end = body.indexOf(0, at + 1)
    if (end < 0) break
    const name = ERROR_FIELDS[type]
    if (name !== undefined) fields[name] = body.toString('utf8', at + 1, end)
    at = end + 1
  }
  return fields
}
