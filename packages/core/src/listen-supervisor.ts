import type { ListenOptions, Logger, Notification, Subscription } from './contracts'
import { ConfigError, describeValue, type TesseraError } from './errors'
import { backoffDelay } from './retry'
import { assertChannelName, quoteIdentifier } from './sql'

/** For provider authors: the dedicated LISTEN connection a {@link ListenSupervisor} drives. */
export interface ListenConnection {
  /** Runs `LISTEN "…"` or `UNLISTEN "…"` on the dedicated connection, opening it first when none is open. */
  run(statement: string): Promise<unknown>
  /** Closes the dedicated connection, if one is open. Nothing is listened to afterwards until `run` opens a new one. */
  end(): Promise<void>
}

/** What a {@link ListenSupervisor} needs besides its connection. */
export interface ListenSupervisorOptions {
  connection: ListenConnection
  /** The error `listen` throws after `close()`. */
  closedError(operation: string): Error
  logger?: Logger | undefined
}

interface Entry {
  readonly channel: string
  readonly onNotify: (notification: Notification) => void
  readonly options: ListenOptions
  /** onLost was called and onRestored not yet. */
  lost: boolean
}

/**
 * For provider authors: every LISTEN of one provider on one dedicated connection. It LISTENs and UNLISTENs as
 * subscriptions come and go (one at a time, in order) and ends the connection when nothing listens any more. The
 * provider hands it notifications (`dispatch`) and tells it when the connection is lost (`connectionLost`): every
 * subscription then hears `onLost(error)`, the supervisor reconnects with backoff (100 ms base, 5 s cap), LISTENs
 * every channel again, and every subscription hears `onRestored()`.
 *
 * @example
 * const supervisor = new ListenSupervisor({ connection, closedError: (op) => engine.closedError(op), logger })
 * client.on('notification', (message) => supervisor.dispatch({ channel: message.channel, payload: message.payload ?? '', processId: message.processId }))
 */
export class ListenSupervisor {
  /** Channels LISTENed on the current connection. */
  private readonly active = new Set<string>()
  private readonly entries = new Map<string, Set<Entry>>()
  /** LISTEN/UNLISTEN/connect work, one at a time, in order. */
  private queue: Promise<unknown> = Promise.resolve()
  private reconnecting = false
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined
  private closed = false

  constructor(private readonly options: ListenSupervisorOptions) {}

  /** Whether `close()` was called or nothing listens: a lost connection then needs no reconnect. */
  get isIdle(): boolean {
    return this.closed || this.entries.size === 0
  }

  async listen(channel: string, onNotify: (notification: Notification) => void, options: ListenOptions = {}): Promise<Subscription> {
    // Before anything is sent: LISTEN would truncate a long name silently and NOTIFY refuse it, so it would never hear a thing.
    assertChannelName(channel)
    if (typeof onNotify !== 'function')
      throw new ConfigError(`onNotify must be a function, got ${describeValue(onNotify)}`, { subject: 'listen call' })
    if (this.closed) throw this.options.closedError('listen')
    const entry: Entry = { channel, onNotify, options, lost: false }
    let set = this.entries.get(channel)
    if (set === undefined) this.entries.set(channel, (set = new Set()))
    set.add(entry)
    try {
      await this.serially(() => this.sync())
    } catch (error) {
      this.remove(entry)
      // The LISTEN may have opened the connection (or found it idle): with nothing left to listen to, it must not
      // stay open until close().
      if (this.entries.size === 0) await this.serially(() => this.sync()).catch(this.logEndFailure)
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
      unlisten().catch((error: unknown) => this.options.logger?.warn({ err: error, channel }, 'UNLISTEN failed'))
    }
    if (options.signal?.aborted) await unlisten()
    else options.signal?.addEventListener('abort', onAbort)
    return { channel, unlisten }
  }

  /** Hands a notification to every subscription of its channel; a callback that throws is logged. */
  dispatch(notification: Notification): void {
    const set = this.entries.get(notification.channel)
    if (set === undefined) return
    for (const entry of set) {
      try {
        entry.onNotify(notification)
      } catch (error) {
        this.options.logger?.error({ err: error, channel: notification.channel }, 'a LISTEN callback threw')
      }
    }
  }

  /**
   * The dedicated connection died (the provider has already let go of it): every subscription hears `onLost`, then
   * the supervisor reconnects with backoff. `toError` turns the cause into the error `onLost` receives; it is not
   * called when nothing listens.
   */
  connectionLost(toError: () => TesseraError): void {
    this.active.clear()
    if (this.isIdle) return
    const error = toError()
    this.options.logger?.warn({ err: error }, 'the LISTEN connection was lost; reconnecting')
    for (const set of this.entries.values()) {
      for (const entry of set) {
        if (entry.lost) continue
        entry.lost = true
        try {
          entry.options.onLost?.(error)
        } catch (hookError) {
          this.options.logger?.error({ err: hookError }, 'onLost threw')
        }
      }
    }
    this.scheduleReconnect(0)
  }

  /** Stops listening and ends the connection. */
  async close(): Promise<void> {
    this.closed = true
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer)
    this.entries.clear()
    await this.serially(() => this.sync())
  }

  private readonly logEndFailure = (error: unknown): void => {
    this.options.logger?.warn({ err: error }, 'closing the idle LISTEN connection failed')
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

  /** Makes the connection match the wanted channels: LISTEN, UNLISTEN, or end it when none is wanted. */
  private async sync(): Promise<void> {
    if (this.isIdle) {
      this.active.clear()
      await this.options.connection.end()
      return
    }
    for (const channel of this.entries.keys()) {
      if (this.active.has(channel)) continue
      await this.options.connection.run(`LISTEN ${quoteIdentifier(channel)}`)
      this.active.add(channel)
    }
    for (const channel of [...this.active]) {
      if (this.entries.has(channel)) continue
      await this.options.connection.run(`UNLISTEN ${quoteIdentifier(channel)}`)
      this.active.delete(channel)
    }
    this.restored()
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
          this.options.logger?.warn({ err: error, attempt: attempt + 1 }, 'reconnecting the LISTEN connection failed')
          if (this.isIdle) this.reconnecting = false
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
          this.options.logger?.error({ err: error }, 'onRestored threw')
        }
      }
    }
  }
}
