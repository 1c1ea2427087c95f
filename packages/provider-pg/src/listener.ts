import {
  backoffDelay,
  ConfigError,
  describeValue,
  type ListenOptions,
  type Notification,
  type Subscription,
  type TesseraError,
} from '@tessera/core'
import type { PgNotificationMessage } from './pg-client'
import type { PgConnection } from './pg-connection'
import type { PgEngine } from './pg-engine'
import { quoteIdentifier } from './statement'

interface Entry {
  readonly channel: string
  readonly onNotify: (notification: Notification) => void
  readonly options: ListenOptions
  /** onLost was called and onRestored not yet. */
  lost: boolean
}

/**
 * All LISTENs of one provider on one dedicated connection, outside the pool (a pooled connection would be lent
 * to queries). When that connection is lost, every subscription hears `onLost(error)`, the listener reconnects
 * with backoff, LISTENs every channel again, and every subscription hears `onRestored()`. The connection is
 * closed when nothing listens any more.
 */
export class PgListener {
  private connection: PgConnection | undefined
  /** Channels LISTENed on the current connection. */
  private readonly active = new Set<string>()
  private readonly entries = new Map<string, Set<Entry>>()
  /** LISTEN/UNLISTEN/connect work, one at a time, in order. */
  private queue: Promise<unknown> = Promise.resolve()
  private reconnecting = false
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined
  private closed = false

  constructor(private readonly engine: PgEngine) {}

  async listen(channel: string, onNotify: (notification: Notification) => void, options: ListenOptions = {}): Promise<Subscription> {
    if (typeof channel !== 'string' || channel.length === 0) {
      throw new ConfigError(`channel must be a non-empty string, got ${describeValue(channel)}`, { subject: 'listen call' })
    }
    if (typeof onNotify !== 'function')
      throw new ConfigError(`onNotify must be a function, got ${describeValue(onNotify)}`, { subject: 'listen call' })
    if (this.closed) throw this.engine.closedError('listen')
    const entry: Entry = { channel, onNotify, options, lost: false }
    let set = this.entries.get(channel)
    if (set === undefined) this.entries.set(channel, (set = new Set()))
    set.add(entry)
    try {
      await this.serially(() => this.sync())
    } catch (error) {
      this.remove(entry)
      throw error
    }
    let stopped = false
    const unlisten = async (): Promise<void> => {
      if (stopped) return
      stopped = true
      options.signal?.removeEventListener('abort', onAbort)
      this.remove(entry)
      await this.serially(() => this.sync())
    }
    const onAbort = () => {
      unlisten().catch((error: unknown) => this.engine.o.logger?.warn({ err: error, channel }, 'UNLISTEN failed'))
    }
    if (options.signal?.aborted) await unlisten()
    else options.signal?.addEventListener('abort', onAbort)
    return { channel, unlisten }
  }

  private remove(entry: Entry): void {
    const set = this.entries.get(entry.channel)
    if (set === undefined) return
    set.delete(entry)
    if (set.size === 0) this.entries.delete(entry.channel)
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work)
    this.queue = next.then(
      () => undefined,
      () => undefined,
    )
    return next
  }

  /** Makes the connection match the wanted channels: connect, LISTEN, UNLISTEN, or close when none is wanted. */
  private async sync(): Promise<void> {
    if (this.entries.size === 0 || this.closed) {
      const connection = this.connection
      this.connection = undefined
      this.active.clear()
      if (connection !== undefined) await connection.close()
      return
    }
    let connection = this.connection
    if (connection === undefined) {
      connection = await this.open()
      this.connection = connection
      this.active.clear()
    }
    for (const channel of this.entries.keys()) {
      if (this.active.has(channel)) continue
      await this.engine.runOn(connection, `LISTEN ${quoteIdentifier(channel)}`, [], undefined)
      this.active.add(channel)
    }
    for (const channel of [...this.active]) {
      if (this.entries.has(channel)) continue
      await this.engine.runOn(connection, `UNLISTEN ${quoteIdentifier(channel)}`, [], undefined)
      this.active.delete(channel)
    }
    this.restored()
  }

  private async open(): Promise<PgConnection> {
    const connection = await this.engine.connect()
    const { client } = connection
    client.on('notification', (message: PgNotificationMessage) => {
      if (connection === this.connection) this.dispatch(message)
    })
    client.on('error', (error: Error) => this.lost(connection, error))
    client.on('end', () => this.lost(connection, new Error('Connection terminated unexpectedly')))
    return connection
  }

  private dispatch(message: PgNotificationMessage): void {
    const set = this.entries.get(message.channel)
    if (set === undefined) return
    const notification: Notification = { channel: message.channel, payload: message.payload ?? '', processId: message.processId }
    for (const entry of set) {
      try {
        entry.onNotify(notification)
      } catch (error) {
        this.engine.o.logger?.error({ err: error, channel: message.channel }, 'a LISTEN callback threw')
      }
    }
  }

  /** The listening connection died: tell every subscription, then reconnect with backoff. */
  private lost(connection: PgConnection, cause: Error): void {
    if (connection !== this.connection) return
    this.connection = undefined
    this.active.clear()
    void connection.close()
    if (this.closed || this.entries.size === 0) return
    const error: TesseraError = this.engine.normalize(cause)
    this.engine.o.logger?.warn({ err: error }, 'the LISTEN connection was lost; reconnecting')
    for (const set of this.entries.values()) {
      for (const entry of set) {
        if (entry.lost) continue
        entry.lost = true
        try {
          entry.options.onLost?.(error)
        } catch (hookError) {
          this.engine.o.logger?.error({ err: hookError }, 'onLost threw')
        }
      }
    }
    this.scheduleReconnect(0)
  }

  private scheduleReconnect(attempt: number): void {
    if (this.reconnecting && attempt === 0) return
    this.reconnecting = true
    const delay = backoffDelay(attempt, { baseMs: 100, capMs: 5_000 })
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined
      this.serially(() => this.sync()).then(
        () => {
          this.reconnecting = false
        },
        (error: unknown) => {
          this.engine.o.logger?.warn({ err: error, attempt: attempt + 1 }, 'reconnecting the LISTEN connection failed')
          if (this.closed || this.entries.size === 0) this.reconnecting = false
          else this.scheduleReconnect(attempt + 1)
        },
      )
    }, delay)
    this.reconnectTimer.unref()
  }

  /** After a successful sync: subscriptions that heard onLost now hear onRestored. */
  private restored(): void {
    for (const set of this.entries.values()) {
      for (const entry of set) {
        if (!entry.lost) continue
        entry.lost = false
        try {
          entry.options.onRestored?.()
        } catch (error) {
          this.engine.o.logger?.error({ err: error }, 'onRestored threw')
        }
      }
    }
  }

  /** Stops listening and closes the connection. */
  async close(): Promise<void> {
    this.closed = true
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer)
    this.entries.clear()
    await this.serially(() => this.sync())
  }
}
