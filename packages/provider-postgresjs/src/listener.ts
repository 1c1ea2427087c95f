import { createConnection, type Socket } from 'node:net'
import {
  backoffDelay,
  ConfigError,
  describeValue,
  type ListenOptions,
  type Notification,
  type Subscription,
  type TesseraError,
} from '@tessera/core'
import type { PostgresJsEngine } from './engine'
import type { PostgresJsSql } from './postgres-js-client'
import { quoteIdentifier } from './statement'

interface Entry {
  readonly channel: string
  readonly onNotify: (notification: Notification) => void
  readonly options: ListenOptions
  /** onLost was called and onRestored not yet. */
  lost: boolean
}

const NO_VALUES: readonly (string | null)[] = Object.freeze([])

/**
 * All LISTENs of one provider on one dedicated connection: a second postgres.js instance with `max: 1` and no idle or
 * lifetime limit (postgres.js' own `sql.listen` re-listens after a reconnect too, but tells nobody the connection was
 * lost). When the connection closes, every subscription hears `onLost(error)`, the listener reconnects with backoff,
 * LISTENs every channel again, and every subscription hears `onRestored()`: the same signals as provider-pg.
 *
 * postgres.js' `onnotify` gives the channel and payload only; the sender's PID is read from the NotificationResponse
 * on the socket (unencrypted connections; `processId` is 0 over TLS).
 */
export class PostgresJsListener {
  private instance: PostgresJsSql | undefined
  private readonly active = new Set<string>()
  private readonly entries = new Map<string, Set<Entry>>()
  private queue: Promise<unknown> = Promise.resolve()
  private reconnecting = false
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined
  private closed = false
  /** Sender PIDs of notifications read from the socket, not yet delivered by postgres.js. */
  private readonly senderPids: number[] = []

  constructor(private readonly engine: PostgresJsEngine) {}

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

  private run(text: string): Promise<unknown> {
    return this.sql().unsafe(text, NO_VALUES, { prepare: false })
  }

  /** Makes the connection match the wanted channels: LISTEN, UNLISTEN, or end it when none is wanted. */
  private async sync(): Promise<void> {
    if (this.entries.size === 0 || this.closed) {
      const instance = this.instance
      this.instance = undefined
      this.active.clear()
      if (instance !== undefined) await instance.end({ timeout: 1 })
      return
    }
    for (const channel of this.entries.keys()) {
      if (this.active.has(channel)) continue
      await this.run(`LISTEN ${quoteIdentifier(channel)}`)
      this.active.add(channel)
    }
    for (const channel of [...this.active]) {
      if (this.entries.has(channel)) continue
      await this.run(`UNLISTEN ${quoteIdentifier(channel)}`)
      this.active.delete(channel)
    }
    this.restored()
  }

  /** The listening instance, created on first use. */
  private sql(): PostgresJsSql {
    if (this.instance !== undefined) return this.instance
    const { o } = this.engine
    const instance: PostgresJsSql = o.factory(o.url, {
      ...o.driverOptions,
      max: 1,
      idle_timeout: null,
      max_lifetime: null,
      socket: o.driverOptions.ssl === undefined || o.driverOptions.ssl === false ? this.createSocket : undefined,
      onnotice: (notice) => o.logger?.debug({ notice }, `postgres.js notice: ${String(notice.message)}`),
      onnotify: (channel, payload) => this.dispatch(channel, payload),
      onclose: () => {
        if (instance === this.instance) this.lost(new Error('the LISTEN connection was closed'))
      },
    })
    this.instance = instance
    return instance
  }

  /** The listener's sockets: read NotificationResponse messages for the sender's PID, which postgres.js drops. */
  private readonly createSocket = (): Socket => {
    const { host, port, path } = this.engine.sockets
    const socket = path === undefined ? createConnection({ host, port }) : createConnection(path)
    Object.assign(socket, { host, port })
    let pending: Buffer | undefined
    socket.on('data', (chunk: Buffer) => {
      const buffer = pending === undefined ? chunk : Buffer.concat([pending, chunk])
      let offset = 0
      while (buffer.length - offset >= 5) {
        const length = buffer.readUInt32BE(offset + 1)
        if (buffer.length - offset < length + 1) break
        if (buffer[offset] === 65) this.senderPids.push(buffer.readUInt32BE(offset + 5))
        offset += length + 1
      }
      pending = offset < buffer.length ? buffer.subarray(offset) : undefined
    })
    return socket
  }

  private dispatch(channel: string, payload: string): void {
    const processId = this.senderPids.shift() ?? 0
    const set = this.entries.get(channel)
    if (set === undefined) return
    const notification: Notification = { channel, payload: payload ?? '', processId }
    for (const entry of set) {
      try {
        entry.onNotify(notification)
      } catch (error) {
        this.engine.o.logger?.error({ err: error, channel }, 'a LISTEN callback threw')
      }
    }
  }

  /** The listening connection closed: tell every subscription, then reconnect with backoff. */
  private lost(cause: Error): void {
    this.active.clear()
    this.senderPids.length = 0
    if (this.closed || this.entries.size === 0) return
    const error: TesseraError = this.engine.normalize(Object.assign(cause, { code: 'CONNECTION_CLOSED' }))
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

  /** Stops listening and ends the connection. */
  async close(): Promise<void> {
    this.closed = true
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer)
    this.entries.clear()
    await this.serially(() => this.sync())
  }
}
