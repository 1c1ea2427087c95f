import { createServer, type Server, type Socket } from 'node:net'
import { deferred } from './deferred'
import { type Endpoint, urlThrough } from './endpoint'
import { type ConnectionOwner, ProxiedConnection, type ProxyMode } from './proxied-connection'

export type { ProxyMode } from './proxied-connection'

/** Options of {@link startTcpProxy}. */
export interface TcpProxyOptions {
  /** The server every accepted connection is forwarded to, e.g. `endpointOf(PG_URL)`. */
  target: Endpoint
}

/** A TCP proxy on 127.0.0.1 between a client under test and a real server, that injects network faults on demand. */
export interface TcpProxy {
  readonly host: string
  readonly port: number
  /** The current mode; see {@link ProxyMode}. A new proxy starts in `'pass'`. */
  readonly mode: ProxyMode
  /** Client connections open right now. */
  readonly connections: number
  /** Client connections accepted since the proxy started, including the ones reset on arrival. */
  readonly acceptedConnections: number
  /** `baseUrl` pointed at the proxy: same user, password, database and query, this host and port. */
  url(baseUrl: string): string
  /** Switches every open connection, and the ones that arrive later, to `mode`. */
  setMode(mode: ProxyMode): void
  /**
   * Arms a one-shot fault: the first connection whose client bytes (accumulated since arming) satisfy `match`
   * has those bytes forwarded to the server; the server's next reply is then discarded and the connection is
   * closed on both sides. With `match = (bytes) => bytes.includes('COMMIT')` the server commits and the client
   * sees a broken connection instead of the outcome: the lost COMMIT reply. Resolves once the reply has been
   * dropped. Throws if a rule is already armed.
   */
  dropReplyTo(match: (clientBytes: Buffer) => boolean): Promise<void>
  /**
   * Holds every PostgreSQL CancelRequest that arrives from now on (a connection whose first bytes are one) instead of
   * forwarding it, until `release()`: a cancel that is slow to reach the server, as over a congested network or a
   * pooler that forwards cancels on its own schedule. Connections that are not cancel requests pass as usual.
   * Throws if a hold is already active.
   */
  holdCancelRequests(): CancelRequestHold
  /** Stops listening and destroys every socket; the proxy holds no handle afterwards. Idempotent. */
  close(): Promise<void>
}

/** Cancel requests held by {@link TcpProxy.holdCancelRequests}. */
export interface CancelRequestHold {
  /** Resolves when the first cancel request is held. */
  readonly arrived: Promise<void>
  /** Cancel requests held so far. */
  readonly held: number
  /** Forwards every held request (in arrival order) and ends the hold: later requests pass at once. */
  release(): void
}

interface DropRule {
  match(clientBytes: Buffer): boolean
  dropped(): void
}

// The match sees at most this many trailing bytes, so a long-lived armed connection does not grow without bound.
const MAX_MATCHED_BYTES = 1024 * 1024
const EMPTY = Buffer.alloc(0)

/**
 * Starts a {@link TcpProxy} on a free port of 127.0.0.1 forwarding to `target`. Close it with `close()` (an
 * `afterEach`/`afterAll`), which leaves no socket or server open.
 *
 * @example
 * const proxy = await startTcpProxy({ target: endpointOf(PG_URL) })
 * const client = new pg.Client(proxy.url(PG_URL))
 * proxy.setMode('stall') // the next query hangs until proxy.setMode('pass')
 */
export async function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  const proxy = new FaultProxy(options.target)
  await proxy.listen()
  return proxy
}

class FaultProxy implements TcpProxy, ConnectionOwner {
  readonly host = '127.0.0.1'
  mode: ProxyMode = 'pass'
  acceptedConnections = 0
  private listeningPort: number | undefined
  private readonly open = new Set<ProxiedConnection>()
  private readonly server: Server
  private dropRule: DropRule | undefined
  private cancelHold: ActiveCancelHold | undefined
  private closing: Promise<void> | undefined

  constructor(private readonly target: Endpoint) {
    // Half-open allowed: a client's end is forwarded to the server, and its socket closes when the server's end comes
    // back, as it would without the proxy (a CancelRequest's sender learns it was handled only from that close).
    this.server = createServer({ allowHalfOpen: true }, (client) => this.accept(client))
  }

  get port(): number {
    if (this.listeningPort === undefined) throw new Error('the proxy is not listening')
    return this.listeningPort
  }

  get connections(): number {
    return this.open.size
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(0, this.host, () => {
        this.server.off('error', reject)
        const address = this.server.address()
        if (typeof address === 'object' && address !== null) this.listeningPort = address.port
        resolve()
      })
    })
  }

  url(baseUrl: string): string {
    return urlThrough(baseUrl, { host: this.host, port: this.port })
  }

  setMode(mode: ProxyMode): void {
    this.mode = mode
    for (const connection of this.open) {
      if (mode === 'stall') connection.pause()
      else if (mode === 'reset') connection.reset()
      else connection.resume()
    }
  }

  dropReplyTo(match: (clientBytes: Buffer) => boolean): Promise<void> {
    if (this.dropRule) throw new Error('dropReplyTo: a rule is already armed; await it before arming another')
    const dropped = deferred()
    for (const connection of this.open) connection.clientBytes = EMPTY
    this.dropRule = { match, dropped: () => dropped.resolve() }
    return dropped.promise
  }

  holdCancelRequests(): CancelRequestHold {
    if (this.cancelHold) throw new Error('holdCancelRequests: a hold is already active; release it first')
    const hold = new ActiveCancelHold(() => {
      if (this.cancelHold === hold) this.cancelHold = undefined
    })
    this.cancelHold = hold
    return hold
  }

  holdCancelRequest(forward: () => void): boolean {
    const hold = this.cancelHold
    if (hold === undefined) return false
    hold.add(forward)
    return true
  }

  inspectClientBytes(connection: ProxiedConnection, chunk: Buffer): (() => void) | undefined {
    const rule = this.dropRule
    if (!rule) return undefined
    connection.clientBytes = appendCapped(connection.clientBytes, chunk)
    if (!rule.match(connection.clientBytes)) return undefined
    this.dropRule = undefined
    for (const other of this.open) other.clientBytes = EMPTY
    return rule.dropped
  }

  connectionClosed(connection: ProxiedConnection): void {
    this.open.delete(connection)
  }

  close(): Promise<void> {
    this.closing ??= new Promise((resolve) => {
      this.server.close(() => resolve())
      for (const connection of this.open) connection.destroy()
      this.open.clear()
    })
    return this.closing
  }

  private accept(client: Socket): void {
    this.acceptedConnections += 1
    if (this.closing) {
      client.destroy()
      return
    }
    if (this.mode === 'reset') {
      client.on('error', () => {})
      client.resetAndDestroy()
      return
    }
    this.open.add(new ProxiedConnection(client, this.target, this))
  }
}

class ActiveCancelHold implements CancelRequestHold {
  private readonly first = deferred()
  private readonly forwards: Array<() => void> = []
  private released = false

  constructor(private readonly ended: () => void) {}

  get arrived(): Promise<void> {
    return this.first.promise
  }

  get held(): number {
    return this.forwards.length
  }

  add(forward: () => void): void {
    this.forwards.push(forward)
    this.first.resolve()
  }

  release(): void {
    if (this.released) return
    this.released = true
    this.ended()
    for (const forward of this.forwards.splice(0)) forward()
  }
}

function appendCapped(seen: Buffer, chunk: Buffer): Buffer {
  const joined = seen.length === 0 ? chunk : Buffer.concat([seen, chunk])
  return joined.length > MAX_MATCHED_BYTES ? joined.subarray(joined.length - MAX_MATCHED_BYTES) : joined
}
