import type { Socket } from 'node:net'
import type { ConnectionTarget } from '@tessera/core'
import { handOverSocket, openTargetSocket, type SocketSettings, type TargetSocket } from './target-sockets'

/**
 * The physical connections of one postgres.js instance, seen through the `socket` option: postgres.js asks the
 * factory for a socket whenever it opens a connection. This is how the provider counts connections opened and closed
 * (postgres.js keeps no public count) and learns when the connection of a reserved checkout dies, which postgres.js
 * does not tell a reservation (a statement sent on it afterwards would throw inside postgres.js).
 *
 * The first socket is opened before the instance, by `createTargetSocketOpener`, so that the instance is made for
 * the server libpq's rules chose (`targetOptions`); should postgres.js ask for another, it goes to the same server.
 */
export class SocketTracker {
  created = 0
  destroyed = 0
  /** Backend PIDs of open sessions, learnt from the BackendKeyData message on unencrypted sockets. */
  private readonly livePids = new Set<number>()
  /** The server every socket of the instance connects to: where its CancelRequests go. */
  readonly target: ConnectionTarget
  /** The socket opened before the instance, until postgres.js asks for it. */
  private first: Socket | undefined

  constructor(
    first: TargetSocket,
    private readonly settings: SocketSettings,
    /** Called when an established session's socket closes. */
    private readonly onClosed?: () => void,
  ) {
    this.first = first.socket
    this.target = first.target
  }

  /** Sockets not yet closed. */
  private readonly open = new Set<Socket>()

  /** Calls `listener` once, when the open socket closes (at once when none is open); returns what unsubscribes. */
  onceClosed(listener: () => void): () => void {
    const sockets = [...this.open]
    if (sockets.length === 0) {
      listener()
      return () => {}
    }
    let called = false
    const once = () => {
      if (called) return
      called = true
      for (const socket of sockets) socket.removeListener('close', once)
      listener()
    }
    for (const socket of sockets) socket.once('close', once)
    return () => {
      for (const socket of sockets) socket.removeListener('close', once)
    }
  }

  /** Drops every socket at once (a session closed while statements were outstanding). */
  destroyAll(): void {
    this.first?.destroy()
    for (const socket of this.open) socket.destroy()
  }

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

  /** Arms the response scanner of an open, unencrypted session, by backend PID (see `arm`). */
  private readonly armers = new Map<number, (onReady: (status: number) => void, observe?: ReplyObserver) => boolean>()

  /**
   * Has the socket of the session with this PID read the next server reply through a {@link ResponseScanner}, up to
   * and including its ReadyForQuery, whose transaction status byte is passed to `onReady`. Call it only while nothing
   * is outstanding on that session (an idle reserved connection, before its statement is written), so the reply
   * starts at a message boundary. Returns false (nothing armed) for an unknown PID, a TLS session, or a socket whose
   * scanner is still armed.
   */
  arm(pid: number | null | undefined, onReady: (status: number) => void, observe?: ReplyObserver): boolean {
    if (pid === null || pid === undefined) return false
    const arm = this.armers.get(pid)
    return arm === undefined ? false : arm(onReady, observe)
  }

  /**
   * postgres.js' `socket` option. A socket's reads pass through a {@link ResponseScanner} only during the startup
   * (to learn the backend PID) and while armed for one reply (`arm`); otherwise postgres.js reads the socket directly.
   */
  readonly create = async (): Promise<Socket> => {
    const waiting = this.first
    this.first = undefined
    const socket = handOverSocket(waiting ?? (await openTargetSocket(this.target, this.settings)))
    let established = false
    let pid: number | undefined
    /** The ReadyForQuery ending the startup or the armed reply has been read. */
    let replyEnded = false
    let onReady: ((status: number) => void) | undefined
    const scanner = new ResponseScanner(
      (backendPid) => {
        pid = backendPid
        this.livePids.add(backendPid)
        this.seenPids.add(backendPid)
        this.armers.set(backendPid, arm)
      },
      (status) => {
        replyEnded = true
        scanner.observe = undefined
        const notify = onReady
        onReady = undefined
        notify?.(status)
      },
    )
    const plainEmit = socket.emit as (this: Socket, event: string | symbol, ...args: unknown[]) => boolean
    let scanning = true
    const scanningEmit = ((event: string | symbol, ...args: unknown[]): boolean => {
      if (event !== 'data') return plainEmit.call(socket, event, ...args)
      if (!established) {
        established = true
        this.created++
      }
      const chunk = scanner.scan(args[0] as Buffer)
      // Done: the reply (or the startup) is over and nothing of a later message was read. postgres.js reads directly again.
      if (scanner.encrypted || (replyEnded && scanner.atBoundary)) {
        scanning = false
        socket.emit = plainEmit as Socket['emit']
      }
      return chunk.length === 0 ? true : plainEmit.call(socket, 'data', chunk)
    }) as Socket['emit']
    const arm = (ready: (status: number) => void, observe?: ReplyObserver): boolean => {
      if (scanning || scanner.encrypted || socket.destroyed) return false
      scanner.resume()
      scanner.observe = observe
      replyEnded = false
      onReady = ready
      scanning = true
      socket.emit = scanningEmit
      return true
    }
    socket.emit = scanningEmit
    this.open.add(socket)
    const onClose = () => {
      this.open.delete(socket)
      if (pid !== undefined) {
        this.livePids.delete(pid)
        if (this.armers.get(pid) === arm) this.armers.delete(pid)
        const waiters = this.closeWaiters.get(pid)
        this.closeWaiters.delete(pid)
        for (const wake of waiters ?? []) wake()
      }
      if (!established) return
      this.destroyed++
      this.onClosed?.()
    }
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

/** Receives one whole server message (its type byte, then length and body). */
export type ReplyObserver = (type: number, message: Buffer) => void

export const COMMAND_COMPLETE = 67 // 'C'
const ROW_DESCRIPTION = 84 // 'T'
const READY_FOR_QUERY = 90 // 'Z'
const BACKEND_KEY_DATA = 75 // 'K'
const AUTHENTICATION = 82 // 'R'
export const ERROR_RESPONSE = 69 // 'E'
const SSL_REFUSED = 78 // 'N': the one-byte answer to an SSLRequest when the server has no TLS

/** A RowDescription of zero columns: what the server sends for a row-returning statement without columns (`SELECT`). */
const NO_COLUMNS = Buffer.from([ROW_DESCRIPTION, 0, 0, 0, 6, 0, 0])

/**
 * Reads the message boundaries of a connection's server stream, for two things:
 *
 * - the backend PID (BackendKeyData at startup), which names the session in `isClosed` and `arm`;
 * - separating the results of a multi-statement text. postgres.js starts a new result only at a RowDescription, so
 *   statements that return no rows (`INSERT …; UPDATE …`) would land in the result before them: the last command with
 *   the first count, and the rows of a SELECT before them. pg returns one result per statement, and provider-pg the
 *   last one. Before each CommandComplete that follows another one in the same response with no RowDescription
 *   between, a zero-column RowDescription is inserted: postgres.js then gives that statement a result of its own,
 *   with no rows and no fields, as pg does. Only a simple-protocol response (a text without parameters) can hold
 *   two CommandCompletes before its ReadyForQuery; an extended-protocol statement ends in its own Sync.
 *
 * The socket factory feeds it the startup and, once armed (`SocketTracker.arm`), the one reply to a text that may
 * hold several statements; everything else bypasses it. Each ReadyForQuery is reported with its transaction status.
 *
 * TLS connections are encrypted at this level: the scanner steps aside at the server's 'S' answer to the SSLRequest,
 * and over TLS such a text keeps postgres.js' merged result (see the README).
 */
export class ResponseScanner {
  /** While set, receives every CommandComplete and ErrorResponse of the armed reply, whole (a COPY's outcome). */
  observe: ReplyObserver | undefined
  /** Body bytes of the current message still to come. */
  private skip = 0
  /** An incomplete message header held back from the last chunk (at most 4 bytes), or an incomplete BackendKeyData or ReadyForQuery. */
  private held: Buffer | undefined
  private commandSeen = false
  private started = false
  private tls = false

  constructor(
    private readonly onBackendPid: (pid: number) => void,
    private readonly onReadyForQuery?: (status: number) => void,
  ) {}

  /** The stream is encrypted (TLS): nothing can be read or inserted. */
  get encrypted(): boolean {
    return this.tls
  }

  /** The last chunk ended at a message boundary. */
  get atBoundary(): boolean {
    return this.skip === 0 && this.held === undefined
  }

  /** Starts reading afresh after the startup, at a message boundary (the stream was read past the scanner meanwhile). */
  resume(): void {
    this.skip = 0
    this.held = undefined
    this.commandSeen = false
    this.started = true
  }

  /** Reads one chunk; returns what postgres.js should read instead (the same buffer unless something was inserted). */
  scan(input: Buffer): Buffer {
    if (this.tls) return input
    let chunk = this.held === undefined ? input : Buffer.concat([this.held, input])
    this.held = undefined
    let offset = 0
    if (!this.started && chunk.length > 0) {
      this.started = true
      const first = chunk[0]
      if (first === SSL_REFUSED) offset = 1
      else if (first !== AUTHENTICATION && first !== ERROR_RESPONSE) {
        // 'S' (TLS from here on), or a direct TLS handshake: nothing here is readable.
        this.tls = true
        return chunk
      }
    }
    if (this.skip > 0) {
      if (this.skip >= chunk.length - offset) {
        this.skip -= chunk.length - offset
        return chunk
      }
      offset += this.skip
      this.skip = 0
    }
    let inserts: number[] | undefined
    while (offset < chunk.length) {
      if (chunk.length - offset < 5) {
        this.held = chunk.subarray(offset)
        chunk = chunk.subarray(0, offset)
        break
      }
      const type = chunk[offset]
      if (type === COMMAND_COMPLETE) {
        if (this.commandSeen) (inserts ??= []).push(offset)
        this.commandSeen = true
      } else if (type === ROW_DESCRIPTION || type === READY_FOR_QUERY) {
        this.commandSeen = false
      }
      const end = offset + 1 + chunk.readUInt32BE(offset + 1)
      const observed = this.observe !== undefined && (type === COMMAND_COMPLETE || type === ERROR_RESPONSE)
      if (type === BACKEND_KEY_DATA || type === READY_FOR_QUERY || observed) {
        if (end > chunk.length) {
          // Read it whole with the next chunk (13 or 6 bytes).
          this.held = chunk.subarray(offset)
          chunk = chunk.subarray(0, offset)
          break
        }
        if (type === BACKEND_KEY_DATA) this.onBackendPid(chunk.readUInt32BE(offset + 5))
        else if (type === READY_FOR_QUERY) this.onReadyForQuery?.(chunk[offset + 5]!)
        else this.observe?.(type!, chunk.subarray(offset, end))
      }
      if (end > chunk.length) {
        this.skip = end - chunk.length
        break
      }
      offset = end
    }
    return inserts === undefined ? chunk : insertAt(chunk, inserts, NO_COLUMNS)
  }
}

/** `chunk` with `insert` placed before each of the `positions` (ascending). */
function insertAt(chunk: Buffer, positions: readonly number[], insert: Buffer): Buffer {
  const parts: Buffer[] = []
  let from = 0
  for (const position of positions) {
    parts.push(chunk.subarray(from, position), insert)
    from = position
  }
  parts.push(chunk.subarray(from))
  return Buffer.concat(parts)
}
