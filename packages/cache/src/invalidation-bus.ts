import { CHANNELS, hasSubscribers, publish } from '@tessera/core'
import { type BusMessage, type BusState, BusSubscriber } from './bus'
import type { ErrorReporter } from './error-reporter'
import type { L1Tier } from './l1-tier'
import type { L2Tier } from './l2-tier'
import type { ResolvedOptions } from './options'
import type { Counters } from './stats'
import type { TagVersions } from './tag-versions'

/** What the bus tells the rest of the cache: running factories whose keys changed elsewhere. */
export interface BusListener {
  keysChanged(fks: readonly string[]): void
  prefixCleared(prefix: string): void
}

/**
 * The cache's side of the invalidation bus: sends what this instance changed, applies what others changed (L1
 * copies, tag versions, lock waiters), and bounds how long L1 is trusted while the subscription is down.
 */
export class InvalidationBus {
  private readonly subscriber: BusSubscriber | undefined
  private readonly channel: string | undefined
  private readonly keyWaiters = new Map<string, Set<() => void>>()
  private listener: BusListener | undefined

  constructor(
    private readonly options: ResolvedOptions,
    private readonly instanceId: string,
    private readonly l1: L1Tier | undefined,
    private readonly l2: L2Tier | undefined,
    private readonly tags: TagVersions,
    private readonly counters: Counters,
    report: ErrorReporter,
  ) {
    const bus = options.bus
    if (bus === undefined || options.l2 === undefined) return
    this.channel = bus.channel
    const namespace = options.namespace
    const logger = options.logger
    const ttlMs = options.l1?.ttlMs ?? Number.POSITIVE_INFINITY
    const busDownTtlMs = options.l1?.busDownTtlMs ?? 0
    // Not subscribed yet: L1 copies are trusted only briefly until the bus is live.
    if (l1 !== undefined) l1.trustMs = Math.min(ttlMs, busDownTtlMs)
    this.subscriber = new BusSubscriber(bus.subscriber ?? options.l2.redis.duplicate(), bus.channel, instanceId, {
      onMessage: (message) => this.receive(message),
      onLive: (isReconnect) => {
        if (l1 !== undefined) l1.trustMs = ttlMs
        if (!isReconnect) return
        // Invalidations sent while we were away are lost: start L1 afresh rather than serve what they dropped.
        l1?.clear()
        logger?.info({ cache: namespace }, `cache "${namespace}": bus reconnected; L1 cleared`)
      },
      onDown: () => {
        if (l1 === undefined) return
        l1.trustMs = busDownTtlMs
        // Entries already in L1 may be invalidated elsewhere without our knowing: trust them only a little longer.
        l1.limitTrust(options.clock.now() + busDownTtlMs)
        logger?.warn({ cache: namespace }, `cache "${namespace}": bus connection lost; L1 trusted ${busDownTtlMs} ms at most`)
      },
      onError: (error) => report(error, { operation: 'bus', namespace }),
    })
  }

  get isEnabled(): boolean {
    return this.subscriber !== undefined
  }

  get state(): BusState {
    return this.subscriber === undefined ? 'off' : this.subscriber.state
  }

  /** Set once by the cache core (the factory runner is built after the bus). */
  listen(listener: BusListener): void {
    this.listener = listener
  }

  private receive(message: BusMessage): void {
    if (message.n !== this.options.namespace) return
    this.counters.busReceived++
    this.trace('received', message)
    if (message.k !== undefined) {
      for (const fk of message.k) {
        this.l1?.delete(fk)
        this.wake(fk)
      }
      this.listener?.keysChanged(message.k)
    }
    if (message.t !== undefined) this.tags.learn(message.t, message.f)
    if (message.c !== undefined) {
      this.l1?.deletePrefix(message.c)
      this.listener?.prefixCleared(message.c)
    }
  }

  async send(message: Omit<BusMessage, 'i' | 'n'>): Promise<void> {
    if (this.subscriber === undefined || this.l2 === undefined || this.channel === undefined) return
    const text = JSON.stringify({ i: this.instanceId, n: this.options.namespace, ...message })
    if (!(await this.l2.publish(this.channel, text))) return
    this.counters.busSent++
    this.trace('sent', message)
  }

  private trace(direction: 'sent' | 'received', message: Omit<BusMessage, 'i' | 'n'>): void {
    if (!hasSubscribers(CHANNELS.cacheBus)) return
    publish(CHANNELS.cacheBus, {
      cache: this.options.namespace,
      direction,
      keys: message.k,
      tags: message.t ? Object.keys(message.t) : undefined,
      namespace: message.c,
    })
  }

  /** Wakes the callers waiting for `fk` (a lock holder filled it). */
  private wake(fk: string): void {
    const waiters = this.keyWaiters.get(fk)
    if (waiters !== undefined) for (const done of [...waiters]) done()
  }

  /** Resolves after `ms`, or earlier when a message about `fk` arrives. */
  waitForKey(fk: string, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let waiters = this.keyWaiters.get(fk)
      if (waiters === undefined) {
        waiters = new Set()
        this.keyWaiters.set(fk, waiters)
      }
      const set = waiters
      const done = () => {
        clearTimeout(timer)
        set.delete(done)
        if (set.size === 0 && this.keyWaiters.get(fk) === set) this.keyWaiters.delete(fk)
        resolve()
      }
      const timer = setTimeout(done, ms)
      set.add(done)
    })
  }

  async waitUntilLive(timeoutMs: number): Promise<BusState> {
    if (this.subscriber === undefined) return 'off'
    await this.subscriber.waitUntilLive(timeoutMs)
    return this.subscriber.state
  }

  async close(): Promise<void> {
    for (const fk of [...this.keyWaiters.keys()]) this.wake(fk)
    await this.subscriber?.close()
  }
}
