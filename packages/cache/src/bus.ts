import type { RedisSubscriberLike } from './redis-like'
import type { TagVersionMap } from './tag-versions'

/** What travels between instances. Keys are full keys (namespace path included). */
export interface BusMessage {
  /** The sender's instance id: an instance ignores its own messages. */
  i: string
  /**
   * The sender's root namespace. Caches of different namespaces may share a channel (the default channel depends on
   * the key prefix only); tag versions are per namespace, so a message is only for caches of its namespace.
   */
  n: string
  /** Keys whose L1 copies must go (set, delete, or filled by a lock holder). */
  k?: string[] | undefined
  /** Tags invalidated or expired, with their new versions. */
  t?: TagVersionMap | undefined
  /** The tags' floors (the version of their last delete): below it an entry is gone, above it only expired. */
  f?: TagVersionMap | undefined
  /** A namespace path whose L1 entries must all go (`clear()`). */
  c?: string | undefined
}

/** How long the bus waits before connecting its subscriber again after ioredis gave it up (ms). */
const BUS_RECONNECT_MS = 200

/** Whether invalidations from other instances reach this one: `off` when the cache has no bus. */
export type BusState = 'live' | 'down' | 'off'

export interface BusHandlers {
  onMessage(message: BusMessage): void
  /** The subscription is in place. `isReconnect`: it had been live before, so messages sent meanwhile were lost. */
  onLive(isReconnect: boolean): void
  /** The subscriber connection was lost (or never made): messages may be missed from now on. */
  onDown(): void
  onError(error: unknown): void
}

/**
 * The receiving side of the invalidation bus: one subscribed connection. It subscribes whenever the connection
 * becomes ready (at start, and after every reconnect: with `enableOfflineQueue: false` a SUBSCRIBE sent before the
 * connection is up is refused, and ioredis' autoResubscribe only repeats subscriptions that once succeeded).
 * Sending goes through the L2 tier (same timeout and breaker as every other Redis command).
 */
export class BusSubscriber {
  state: 'live' | 'down' = 'down'
  private hasBeenLive = false
  private closed = false
  private liveWaiters: (() => void)[] = []
  private reconnectTimer: NodeJS.Timeout | undefined

  constructor(
    private readonly connection: RedisSubscriberLike,
    private readonly channel: string,
    private readonly instanceId: string,
    private readonly handlers: BusHandlers,
  ) {
    connection.on('message', (channelName, text) => {
      if (channelName !== this.channel) return
      const message = parse(text)
      if (message === undefined) {
        handlers.onError(new Error(`ignored a malformed bus message: ${text.slice(0, 80)}`))
        return
      }
      if (message.i !== this.instanceId) handlers.onMessage(message)
    })
    connection.on('ready', () => this.subscribe())
    connection.on('close', () => this.markDown())
    // ioredis gives up on a connection for good (status `end`) when a Sentinel failover is announced while it is
    // reconnecting (its failover detector cuts the connector mid-connect). This connection is the bus's own: connect
    // it again rather than stay deaf.
    connection.on('end', () => this.reconnectLater())
    connection.on('error', (error) => handlers.onError(error))
    if (connection.status === 'ready') this.subscribe()
    // A lazyConnect client (status `wait`) connects on its first command: ask it to connect now.
    else if (connection.status === 'wait' && connection.connect !== undefined) connection.connect().catch(() => {})
  }

  private reconnectLater(): void {
    if (this.closed || this.connection.connect === undefined || this.reconnectTimer !== undefined) return
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined
      if (this.closed || this.connection.status !== 'end') return
      this.connection.connect?.().catch(() => this.reconnectLater())
    }, BUS_RECONNECT_MS)
    this.reconnectTimer.unref()
  }

  private subscribe(): void {
    if (this.closed) return
    this.connection.subscribe(this.channel).then(
      () => {
        if (this.closed || this.state === 'live') return
        this.state = 'live'
        const isReconnect = this.hasBeenLive
        this.hasBeenLive = true
        this.handlers.onLive(isReconnect)
        const waiters = this.liveWaiters
        this.liveWaiters = []
        for (const wake of waiters) wake()
      },
      (error: unknown) => {
        if (this.closed) return
        this.handlers.onError(error)
        this.markDown()
      },
    )
  }

  private markDown(): void {
    if (this.closed || this.state === 'down') return
    this.state = 'down'
    this.handlers.onDown()
  }

  /** Resolves once the subscription is live, or after `timeoutMs`; never rejects. */
  waitUntilLive(timeoutMs: number): Promise<void> {
    if (this.state === 'live' || this.closed) return Promise.resolve()
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs)
      timer.unref()
      const waiters = this.liveWaiters
      function done(): void {
        clearTimeout(timer)
        const index = waiters.indexOf(done)
        if (index >= 0) waiters.splice(index, 1)
        resolve()
      }
      waiters.push(done)
    })
  }

  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.reconnectTimer)
    for (const wake of this.liveWaiters.splice(0)) wake()
    // QUIT may sit in ioredis' offline queue while Redis is away; never let it hold close() up for long.
    let timer: NodeJS.Timeout | undefined
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 500)
    })
    await Promise.race([this.connection.quit().catch(() => {}), grace])
    clearTimeout(timer)
    this.connection.disconnect()
  }
}

function parse(text: string): BusMessage | undefined {
  try {
    const value: unknown = JSON.parse(text)
    if (typeof value !== 'object' || value === null) return undefined
    const message = value as BusMessage
    if (typeof message.i !== 'string' || typeof message.n !== 'string') return undefined
    if (message.k !== undefined && !(Array.isArray(message.k) && message.k.every((k) => typeof k === 'string'))) return undefined
    if (message.c !== undefined && typeof message.c !== 'string') return undefined
    if (message.t !== undefined && (typeof message.t !== 'object' || message.t === null)) return undefined
    if (message.f !== undefined && (typeof message.f !== 'object' || message.f === null)) return undefined
    return message
  } catch {
    return undefined
  }
}
