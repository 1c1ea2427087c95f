import type { RedisSubscriberLike } from './redis-like'
import type { TagVersionMap } from './tag-versions'

/** What travels between instances. Keys are full keys (namespace path included). */
export interface BusMessage {
  /** The sender's instance id: an instance ignores its own messages. */
  i: string
  /** Keys whose L1 copies must go (set, delete, or filled by a lock holder). */
  k?: string[] | undefined
  /** Tags invalidated, with their new versions. */
  t?: TagVersionMap | undefined
  /** A namespace path whose L1 entries must all go (`clear()`). */
  c?: string | undefined
}

export interface BusHandlers {
  onMessage(message: BusMessage): void
  /** The subscription came back after a disconnect: messages sent meanwhile were lost. */
  onReconnect(): void
  onError(error: unknown): void
}

/**
 * The receiving side of the invalidation bus: one subscribed connection. Sending goes through the L2 tier (same
 * timeout and breaker as every other Redis command).
 */
export class BusSubscriber {
  private hasBeenReady = false
  private closed = false
  readonly ready: Promise<void>

  constructor(
    private readonly connection: RedisSubscriberLike,
    private readonly channel: string,
    private readonly instanceId: string,
    handlers: BusHandlers,
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
    // ioredis re-subscribes by itself after a reconnect (autoResubscribe); we only need to know it happened.
    connection.on('ready', () => {
      if (this.hasBeenReady && !this.closed) handlers.onReconnect()
      this.hasBeenReady = true
    })
    connection.on('error', (error) => handlers.onError(error))
    this.ready = connection.subscribe(channel).then(
      () => {
        this.hasBeenReady = true
      },
      (error: unknown) => handlers.onError(error),
    )
  }

  async close(): Promise<void> {
    this.closed = true
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
    if (typeof value !== 'object' || value === null || typeof (value as BusMessage).i !== 'string') return undefined
    const message = value as BusMessage
    if (message.k !== undefined && !(Array.isArray(message.k) && message.k.every((k) => typeof k === 'string'))) return undefined
    if (message.c !== undefined && typeof message.c !== 'string') return undefined
    if (message.t !== undefined && (typeof message.t !== 'object' || message.t === null)) return undefined
    return message
  } catch {
    return undefined
  }
}
