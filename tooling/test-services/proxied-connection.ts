import { createConnection, type Socket } from 'node:net'
import type { Endpoint } from './endpoint'

/**
 * What the proxy does with the bytes of every connection:
 * - `'pass'`: forwards both ways.
 * - `'stall'`: forwards nothing either way; bytes wait (in Node's and the kernel's buffers) and flow again, in
 *   order, when the mode goes back to `'pass'`.
 * - `'blackhole'`: reads and discards everything both ways, including the end of the stream; sockets stay open.
 * - `'reset'`: resets (TCP RST) every open connection and every new one while the mode lasts.
 */
export type ProxyMode = 'pass' | 'stall' | 'blackhole' | 'reset'

/** What a connection asks of the proxy that owns it. */
export interface ConnectionOwner {
  readonly mode: ProxyMode
  /**
   * Sees each client chunk about to be forwarded. Returns a callback when the client's bytes so far complete a
   * match of the armed drop rule: the connection then drops the server's next reply and calls it.
   */
  inspectClientBytes(connection: ProxiedConnection, chunk: Buffer): (() => void) | undefined
  /**
   * Offered a CancelRequest about to be forwarded: returns true when the proxy holds it, and calls `forward` to send
   * it on later.
   */
  holdCancelRequest(forward: () => void): boolean
  connectionClosed(connection: ProxiedConnection): void
}

const EMPTY = Buffer.alloc(0)

/** The protocol's CancelRequest: length 16, then the code 1234 in the high 16 bits and 5678 in the low. */
const CANCEL_REQUEST_LENGTH = 16
const CANCEL_REQUEST_CODE = 80_877_102

function isCancelRequest(chunk: Buffer): boolean {
  return chunk.length >= 8 && chunk.readInt32BE(0) === CANCEL_REQUEST_LENGTH && chunk.readInt32BE(4) === CANCEL_REQUEST_CODE
}

/** One client socket and the socket the proxy opened to the target for it. */
export class ProxiedConnection {
  /** Client bytes since the drop rule was armed or last matched, so a match sees them whole however TCP split them. */
  clientBytes: Buffer = EMPTY
  private readonly server: Socket
  private onReplyDropped: (() => void) | undefined
  private openSockets = 2
  /** No client byte was seen yet: the first chunk tells whether the connection is a CancelRequest. */
  private isFirstChunk = true
  /** The client's CancelRequest waits in the proxy's hold. */
  private cancelHeld = false
  /** The client ended its side while its CancelRequest was held. */
  private endedWhileHeld = false

  constructor(
    private readonly client: Socket,
    target: Endpoint,
    private readonly owner: ConnectionOwner,
  ) {
    this.server = createConnection({ host: target.host, port: target.port })
    for (const socket of [client, this.server]) {
      socket.setNoDelay(true)
      // A failure on either side ends both: the other side sees its connection reset, as it would on a real network.
      socket.on('error', () => this.reset())
      socket.on('close', () => this.socketClosed())
    }
    client.on('data', (chunk: Buffer) => this.fromClient(chunk))
    this.server.on('data', (chunk: Buffer) => this.fromServer(chunk))
    client.on('end', () => {
      // A held cancel request's end goes on after the request itself.
      if (this.cancelHeld) this.endedWhileHeld = true
      else this.endOf(this.server)
    })
    this.server.on('end', () => this.endOf(client))
    if (owner.mode === 'stall') this.pause()
  }

  /** Stops reading both sides; what arrives meanwhile waits in the buffers. */
  pause(): void {
    this.client.pause()
    this.server.pause()
  }

  resume(): void {
    this.client.resume()
    this.server.resume()
  }

  /** Resets both sides (TCP RST where the socket is connected), so each peer sees ECONNRESET. */
  reset(): void {
    resetSocket(this.client)
    resetSocket(this.server)
  }

  /** Closes both sides at once, discarding whatever is still buffered. */
  destroy(): void {
    this.client.destroy()
    this.server.destroy()
  }

  private fromClient(chunk: Buffer): void {
    if (!this.acceptsBytes(this.client, chunk)) return
    const isFirstChunk = this.isFirstChunk
    this.isFirstChunk = false
    if (isFirstChunk && isCancelRequest(chunk) && this.holdCancel(chunk)) return
    const onReplyDropped = this.owner.inspectClientBytes(this, chunk)
    if (onReplyDropped) this.onReplyDropped = onReplyDropped
    this.forward(this.client, this.server, chunk)
  }

  /** Offers a CancelRequest to the proxy's hold; while held, the client's later bytes (and its end) wait too. */
  private holdCancel(chunk: Buffer): boolean {
    this.client.pause()
    this.cancelHeld = this.owner.holdCancelRequest(() => {
      this.cancelHeld = false
      if (this.server.destroyed) return
      this.forward(this.client, this.server, chunk)
      if (this.endedWhileHeld) this.endOf(this.server)
      this.client.resume()
    })
    if (!this.cancelHeld) this.client.resume()
    return this.cancelHeld
  }

  private fromServer(chunk: Buffer): void {
    if (!this.acceptsBytes(this.server, chunk)) return
    const onReplyDropped = this.onReplyDropped
    if (onReplyDropped === undefined) {
      this.forward(this.server, this.client, chunk)
      return
    }
    // The server has answered the matched request (e.g. COMMIT done): the client must never learn the outcome.
    this.onReplyDropped = undefined
    this.destroy()
    onReplyDropped()
  }

  /** Applies the mode to a chunk just read; true when the chunk is to be forwarded. */
  private acceptsBytes(from: Socket, chunk: Buffer): boolean {
    switch (this.owner.mode) {
      case 'pass':
        return true
      case 'blackhole':
        return false
      case 'stall':
        // Sockets are paused on entering 'stall'; a chunk already on its way goes back to be read on resume.
        // Pause first: unshifting into a flowing stream would hand the chunk straight back to this handler.
        from.pause()
        from.unshift(chunk)
        return false
      case 'reset':
        this.reset()
        return false
    }
  }

  private forward(from: Socket, to: Socket, chunk: Buffer): void {
    if (to.write(chunk)) return
    // Backpressure: stop reading until the slow side catches up, unless the proxy has been stalled meanwhile.
    from.pause()
    to.once('drain', () => {
      if (this.owner.mode !== 'stall') from.resume()
    })
  }

  private endOf(to: Socket): void {
    // A black hole swallows the end of the stream too.
    if (this.owner.mode !== 'blackhole') to.end()
  }

  private socketClosed(): void {
    this.openSockets -= 1
    if (this.openSockets === 1) {
      // The first side is gone. If it closed cleanly its end has been forwarded; otherwise close the other now.
      if (this.client.errored || this.server.errored) this.destroy()
      return
    }
    this.owner.connectionClosed(this)
  }
}

function resetSocket(socket: Socket): void {
  if (socket.destroyed) return
  if (socket.connecting) {
    socket.destroy()
    return
  }
  socket.resetAndDestroy()
}
