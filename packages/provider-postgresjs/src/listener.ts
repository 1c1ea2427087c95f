import { createConnection, type Socket } from 'node:net'
import { ListenSupervisor } from '@tessera/core'
import type { PostgresJsEngine } from './engine'
import type { PostgresJsSql } from './postgres-js-client'

const NO_VALUES: readonly (string | null)[] = Object.freeze([])

/**
 * All LISTENs of one provider, supervised by core's `ListenSupervisor` (re-LISTEN after a reconnect with backoff,
 * `onLost`/`onRestored`: the same signals as provider-pg), on one dedicated connection: a second postgres.js
 * instance with `max: 1` and no idle or lifetime limit (postgres.js' own `sql.listen` re-listens after a reconnect
 * too, but tells nobody the connection was lost). After a close the same instance reconnects on the next LISTEN.
 *
 * postgres.js' `onnotify` gives the channel and payload only; the sender's PID is read from the NotificationResponse
 * on the socket (unencrypted connections; `processId` is 0 over TLS).
 */
export function createPostgresJsListener(engine: PostgresJsEngine): ListenSupervisor {
  const { o } = engine
  let instance: PostgresJsSql | undefined
  /** Sender PIDs of notifications read from the socket, not yet delivered by postgres.js. */
  const senderPids: number[] = []

  /** The listener's sockets: read NotificationResponse messages for the sender's PID, which postgres.js drops. */
  const createSocket = (): Socket => {
    const { host, port, path } = engine.sockets
    const socket = path === undefined ? createConnection({ host, port }) : createConnection(path)
    Object.assign(socket, { host, port })
    let pending: Buffer | undefined
    socket.on('data', (chunk: Buffer) => {
      const buffer = pending === undefined ? chunk : Buffer.concat([pending, chunk])
      let offset = 0
      while (buffer.length - offset >= 5) {
        const length = buffer.readUInt32BE(offset + 1)
        if (buffer.length - offset < length + 1) break
        if (buffer[offset] === 65) senderPids.push(buffer.readUInt32BE(offset + 5))
        offset += length + 1
      }
      pending = offset < buffer.length ? buffer.subarray(offset) : undefined
    })
    return socket
  }

  /** The listening instance, created on first use. */
  const sql = (): PostgresJsSql => {
    if (instance !== undefined) return instance
    const created: PostgresJsSql = o.factory(o.url, {
      ...o.driverOptions,
      max: 1,
      idle_timeout: null,
      max_lifetime: null,
      socket: o.driverOptions.ssl === undefined || o.driverOptions.ssl === false ? createSocket : undefined,
      onnotice: o.handleNotice,
      onnotify: (channel, payload) => {
        const processId = senderPids.shift() ?? 0
        supervisor.dispatch({ channel, payload: payload ?? '', processId })
      },
      onclose: () => {
        if (created !== instance) return
        senderPids.length = 0
        const cause = Object.assign(new Error('the LISTEN connection was closed'), { code: 'CONNECTION_CLOSED' })
        supervisor.connectionLost(() => engine.normalize(cause))
      },
    })
    instance = created
    return created
  }

  const supervisor = new ListenSupervisor({
    connection: {
      run: (statement) => sql().unsafe(statement, NO_VALUES, { prepare: false }),
      async end() {
        const ending = instance
        instance = undefined
        if (ending !== undefined) await ending.end({ timeout: 1 })
      },
    },
    closedError: (operation) => engine.closedError(operation),
    logger: o.logger,
  })
  return supervisor
}
