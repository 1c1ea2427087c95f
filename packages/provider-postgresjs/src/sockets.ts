import { createConnection, type Socket } from 'node:net'
import { CHANNELS, publish } from '@tessera/core'

/**
 * The physical connections of one postgres.js instance, seen through the `socket` option: postgres.js asks the
 * factory for a socket whenever it opens a connection. This is how the provider counts connections opened and closed
 * (postgres.js keeps no public count) and learns when the connection of a reserved checkout dies, which postgres.js
 * does not tell a reservation (a statement sent on it afterwards would throw inside postgres.js).
 */
export class SocketTracker {
  created = 0
  destroyed = 0
  /** Backend PIDs of open sessions, learnt from the BackendKeyData message on unencrypted sockets. */
  private readonly livePids = new Set<number>()

  constructor(
    private readonly pool: string,
    readonly host: string,
    readonly port: number,
    readonly path: string | undefined,
  ) {}

  /** Open sessions. */
  get size(): number {
    return this.created - this.destroyed
  }

  /** Whether the session with this PID is known to have closed (PIDs never seen, as over TLS, count as alive). */
  isClosed(pid: number | null | undefined): boolean {
    return pid !== null && pid !== undefined && this.seenPids.has(pid) && !this.livePids.has(pid)
  }

  private readonly closeWaiters = new Map<number, Array<() => void>>()

  /** Resolves when the session with this PID has closed, or after `limitMs` (PIDs never seen, as over TLS). */
  waitClosed(pid: number, limitMs: number): Promise<void> {
    if (this.isClosed(pid)) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, limitMs)
      timer.unref()
      const waiters = this.closeWaiters.get(pid) ?? []
      waiters.push(() => {
        clearTimeout(timer)
        resolve()
      })
      this.closeWaiters.set(pid, waiters)
    })
  }

  /** Every PID ever seen open, so `isClosed` can tell "closed" from "never tracked" (TLS sessions). */
  readonly seenPids = new Set<number>()

  /** postgres.js' `socket` option. */
  readonly create = (): Socket => {
    const socket = this.path === undefined ? createConnection({ host: this.host, port: this.port }) : createConnection(this.path)
    // postgres.js reads these for TLS SNI and its error messages.
    Object.assign(socket, { host: this.host, port: this.port })
    let established = false
    let pid: number | undefined
    let pending: Buffer | undefined
    const onData = (chunk: Buffer) => {
      if (!established) {
        established = true
        this.created++
        publish(CHANNELS.poolCreate, { pool: this.pool, size: this.size })
      }
      // Look for BackendKeyData ('K'): it names the backend PID. TLS sessions are encrypted here: no PID is learnt.
      const buffer = pending === undefined ? chunk : Buffer.concat([pending, chunk])
      let offset = 0
      while (buffer.length - offset >= 5) {
        const type = buffer[offset]!
        const length = buffer.readUInt32BE(offset + 1)
        if (buffer.length - offset < length + 1) break
        if (type === 75 && length === 12) {
          pid = buffer.readUInt32BE(offset + 5)
          this.livePids.add(pid)
          this.seenPids.add(pid)
        }
        // ReadyForQuery ('Z'): the startup is over, and so is our interest in this socket's data.
        if (type === 90) return stopWatching()
        offset += length + 1
      }
      pending = offset < buffer.length ? buffer.subarray(offset) : undefined
      if (buffer[0] === 83 || buffer[0] === 78) stopWatching() // 'S'/'N' answer to an SSLRequest: encrypted from here on
    }
    const stopWatching = () => {
      socket.removeListener('data', onData)
      pending = undefined
    }
    const onClose = () => {
      if (pid !== undefined) {
        this.livePids.delete(pid)
        const waiters = this.closeWaiters.get(pid)
        this.closeWaiters.delete(pid)
        for (const wake of waiters ?? []) wake()
      }
      if (!established) return
      this.destroyed++
      publish(CHANNELS.poolDestroy, { pool: this.pool, reason: 'error', size: this.size })
    }
    socket.on('data', onData)
    socket.once('close', onClose)
    // postgres.js calls removeAllListeners() before wrapping the socket in TLS: keep our close listener.
    const removeAll = socket.removeAllListeners.bind(socket)
    socket.removeAllListeners = (event?: string | symbol) => {
      removeAll(event as string)
      if (event === undefined || event === 'close') socket.once('close', onClose)
      return socket
    }
    return socket
  }
}
