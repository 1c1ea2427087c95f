import { createConnection } from 'node:net'

/** Where to send a cancel request and which backend it is for. */
export interface CancelTarget {
  host: string
  port: number
  processId: number
  secretKey: number
}

/** The protocol's CancelRequest code: 1234 in the high 16 bits, 5678 in the low. */
const CANCEL_REQUEST_CODE = 80_877_102

/**
 * Sends PostgreSQL's protocol CancelRequest for one backend on a fresh socket, the way `psql` does on Ctrl-C.
 * The server checks the process id and secret key and interrupts whatever that backend is running; it
 * answers nothing, so the request is done once the server closes the socket.
 *
 * Written out here rather than borrowed from `pg.Client.prototype.cancel`, which reads a deprecated getter
 * and needs the query object. The request is sent in clear text even when queries use TLS: the server reads
 * it before any TLS negotiation and the key only works for the current backend.
 */
export function sendCancelRequest(target: CancelTarget, timeoutMs = 5_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const onUnixSocket = target.host.startsWith('/')
    const socket = onUnixSocket
      ? createConnection(`${target.host}/.s.PGSQL.${target.port}`)
      : createConnection({ host: target.host, port: target.port })
    socket.setTimeout(timeoutMs)
    socket.once('connect', () => {
      const packet = Buffer.allocUnsafe(16)
      packet.writeInt32BE(16, 0)
      packet.writeInt32BE(CANCEL_REQUEST_CODE, 4)
      // `| 0`: drivers read the key as signed (pg) or unsigned (postgres.js); the wire takes its 32 bits either way.
      packet.writeInt32BE(target.processId | 0, 8)
      packet.writeInt32BE(target.secretKey | 0, 12)
      socket.end(packet)
    })
    socket.once('timeout', () => socket.destroy(new Error(`cancel request to ${target.host}:${target.port} timed out`)))
    socket.once('error', reject)
    socket.once('close', (hadError) => {
      if (!hadError) resolve()
    })
    // The server may keep the socket open briefly; the read side only tells us it is done.
    socket.resume()
  })
}
