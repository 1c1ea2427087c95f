import { createHash } from 'node:crypto'
import { CHANNELS, type CircuitBreaker, createCircuitBreaker, hasSubscribers, isTesseraError, publish, TimeoutError } from '@tessera/core'
import { escapeGlob } from './cache-entry'
import { DeadlineQueue } from './deadline-queue'
import type { L2BreakerOptions } from './options'
import type { RedisLike } from './redis-like'
import type { Counters } from './stats'

/** What an L2 call returns instead of throwing when Redis is slow, down, or the breaker is open. */
export const UNAVAILABLE: unique symbol = Symbol('tessera.cache.l2-unavailable')
export type Unavailable = typeof UNAVAILABLE

export interface L2TierOptions {
  redis: RedisLike
  timeoutMs: number
  breaker: L2BreakerOptions | undefined
  breakerName: string
  counters: Counters
  onFailure: (error: unknown, operation: string) => void
  onBreakerChange: (message: string) => void
}

const IOREDIS_TIMEOUT_MESSAGE = 'Command timed out'

/** The client's `commandTimeout` if it bounds every single command at least as tightly as `timeoutMs`. */
function clientTimeout(redis: RedisLike, timeoutMs: number): number | undefined {
  // A Cluster queues commands itself before a node (and its commandTimeout) is chosen: keep our own timer there.
  if (redis.isCluster === true) return undefined
  const own = (redis.options as { readonly commandTimeout?: unknown } | undefined)?.commandTimeout
  return typeof own === 'number' && Number.isFinite(own) && own > 0 && own <= timeoutMs ? own : undefined
}

// Writes ARGV[2] only if the key still holds what the caller read (sha1 of it, or '' for nothing).
const SET_IF_UNCHANGED = `local current = redis.call('get', KEYS[1])
local seen = ''
if current then seen = redis.sha1hex(current) end
if seen ~= ARGV[1] then return 0 end
redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`

/**
 * Redis behind a timeout and a circuit breaker. No method throws: a failure is counted, reported and turned into
 * {@link UNAVAILABLE}, so callers fall back to L1 and the factory.
 */
export class L2Tier {
  readonly redis: RedisLike
  readonly breaker: CircuitBreaker | undefined
  private readonly deadlines: DeadlineQueue
  /** The client's own `commandTimeout` when it is no longer than ours (single-node ioredis only). */
  private readonly clientTimeoutMs: number | undefined
  private readonly counters: Counters
  private readonly onFailure: (error: unknown, operation: string) => void
  /** The client has been connected once: from then on a command is never queued while it reconnects. */
  private hasBeenReady = false
  private hasReportedEnd = false

  constructor(options: L2TierOptions) {
    this.redis = options.redis
    this.deadlines = new DeadlineQueue(options.timeoutMs)
    this.clientTimeoutMs = clientTimeout(options.redis, options.timeoutMs)
    this.counters = options.counters
    this.onFailure = options.onFailure
    if (options.breaker !== undefined) {
      const breaker = createCircuitBreaker({ ...options.breaker, name: options.breakerName })
      breaker.onStateChange((change) => {
        options.onBreakerChange(`L2 breaker ${change.from} → ${change.to}: ${change.reason}`)
        if (hasSubscribers(CHANNELS.breakerState)) publish(CHANNELS.breakerState, { breaker: breaker.name, ...change })
      })
      this.breaker = breaker
    }
  }

  /**
   * Runs one Redis call with the timeout, through the breaker. Never rejects. `isSingleCommand`: `fn` sends exactly
   * one command on this client, so ioredis' own `commandTimeout` (when set) already bounds it.
   */
  call<T>(operation: string, fn: () => Promise<T>, isSingleCommand = false): Promise<T | Unavailable> {
    const status = this.redis.status
    if (status === 'ready') this.hasBeenReady = true
    else if (status === 'reconnecting' || (status !== undefined && this.hasBeenReady)) {
      // Reconnecting: ioredis would hold the command in its offline queue and send it after the reconnect, maybe
      // after another instance's delete. A cache command that late is worse than none.
      this.counters.l2Skipped++
      if (status === 'end') this.reportEnded()
      return Promise.resolve(UNAVAILABLE)
    }
    const breaker = this.breaker
    const outcome =
      breaker === undefined
        ? this.bounded(operation, fn, isSingleCommand)
        : breaker.execute(() => this.bounded(operation, fn, isSingleCommand))
    // Sent before the first connection was up: an answer proves the client has been ready.
    const onAnswer = status === 'ready' || this.hasBeenReady ? undefined : (this.markReady as (value: T) => T)
    return outcome.then(onAnswer, (error: unknown) => this.failed(error, operation))
  }

  /** An ended client never reconnects by itself: say so (once per cache), as L2 is off until its owner connects it again. */
  private reportEnded(): void {
    if (this.hasReportedEnd) return
    this.hasReportedEnd = true
    const error = new Error(
      'the Redis client has ended (status "end") and will not reconnect by itself: L2 is skipped until it is connected again',
    )
    this.onFailure(error, 'client')
  }

  /** Whether a command would be sent now: the client is connected and the breaker is not open. */
  get isUsable(): boolean {
    const status = this.redis.status
    if (status !== undefined && status !== 'ready') return false
    return this.breaker === undefined || this.breaker.state !== 'open'
  }

  private readonly markReady = (value: unknown): unknown => {
    this.hasBeenReady = true
    return value
  }

  private failed(error: unknown, operation: string): Unavailable {
    if (isTesseraError(error) && error.code === 'CIRCUIT_OPEN') {
      this.counters.l2Skipped++
      return UNAVAILABLE
    }
    this.counters.l2Errors++
    if (error instanceof TimeoutError) this.counters.l2Timeouts++
    this.onFailure(error, operation)
    return UNAVAILABLE
  }

  // ioredis may keep a command queued for a long time while it reconnects, and a pending command must never
  // become the caller's wait: every call races its deadline (one shared timer, see DeadlineQueue), unless the
  // client's own commandTimeout, no longer than ours, already bounds it; then no second timer is set.
  private bounded<T>(operation: string, fn: () => Promise<T>, isSingleCommand: boolean): Promise<T> {
    let pending: Promise<T>
    try {
      pending = fn()
    } catch (error) {
      return Promise.reject(error)
    }
    const clientTimeoutMs = isSingleCommand ? this.clientTimeoutMs : undefined
    if (clientTimeoutMs === undefined) return this.deadlines.race(pending, operation)
    return pending.then(undefined, (error: unknown) => {
      if (error instanceof Error && error.message === IOREDIS_TIMEOUT_MESSAGE) {
        throw new TimeoutError({ operation: `redis ${operation}`, timeoutMs: clientTimeoutMs }, { cause: error })
      }
      throw error
    })
  }

  get(key: string): Promise<string | null | Unavailable> {
    return this.call('GET', () => this.redis.get(key), true)
  }

  /** One MGET (per key GETs on a Cluster, where keys may live on different slots). */
  mget(keys: string[]): Promise<(string | null)[] | Unavailable> {
    if (keys.length === 0) return Promise.resolve([])
    if (this.redis.isCluster === true) return this.call('GET', () => Promise.all(keys.map((key) => this.redis.get(key))))
    return this.call('MGET', () => this.redis.mget(keys), true)
  }

  async set(key: string, text: string, ttlMs: number): Promise<boolean> {
    const result = await this.call('SET', () => this.redis.set(key, text, 'PX', Math.max(1, Math.ceil(ttlMs))), true)
    return result !== UNAVAILABLE
  }

  /**
   * Writes `text` unless the key changed since the caller read `seen` (`null`: it was missing): true when written,
   * false when the key changed, UNAVAILABLE when Redis could not be asked. One key: fine on a Cluster.
   */
  async setIfUnchanged(key: string, seen: string | null, text: string, ttlMs: number): Promise<boolean | Unavailable> {
    const seenHash = seen === null ? '' : createHash('sha1').update(seen).digest('hex')
    const px = String(Math.max(1, Math.ceil(ttlMs)))
    const result = await this.call('EVAL set-if-unchanged', () => this.redis.eval(SET_IF_UNCHANGED, 1, key, seenHash, text, px), true)
    return result === UNAVAILABLE ? UNAVAILABLE : Number(result) === 1
  }

  /** One pipeline of SETs (per key SETs on a Cluster). */
  async setMany(items: readonly { key: string; text: string; ttlMs: number }[]): Promise<boolean> {
    if (items.length === 0) return true
    const px = (ttlMs: number) => Math.max(1, Math.ceil(ttlMs))
    if (this.redis.isCluster === true) {
      const result = await this.call('SET', () =>
        Promise.all(items.map((item) => this.redis.set(item.key, item.text, 'PX', px(item.ttlMs)))),
      )
      return result !== UNAVAILABLE
    }
    const result = await this.call('pipeline SET', async () => {
      const pipeline = this.redis.pipeline()
      for (const item of items) pipeline.set(item.key, item.text, 'PX', px(item.ttlMs))
      throwFirstError(await pipeline.exec())
    })
    return result !== UNAVAILABLE
  }

  async unlink(keys: string[]): Promise<boolean> {
    if (keys.length === 0) return true
    const run = async (): Promise<unknown> =>
      this.redis.isCluster === true ? Promise.all(keys.map((key) => this.redis.unlink(key))) : this.redis.unlink(...keys)
    return (await this.call('UNLINK', run)) !== UNAVAILABLE
  }

  /** Runs a one-key script. */
  eval(operation: string, script: string, key: string, ...args: string[]): Promise<unknown> {
    return this.call(operation, () => this.redis.eval(script, 1, key, ...args), true)
  }

  async publish(channel: string, message: string): Promise<boolean> {
    return (await this.call('PUBLISH', () => this.redis.publish(channel, message), true)) !== UNAVAILABLE
  }

  /**
   * SCAN for `pattern` and UNLINK what matches, batch by batch, on every master of a Cluster (where each key is
   * unlinked on its own through the Cluster client: one UNLINK of several keys of one node still fails with CROSSSLOT
   * when they hash to different slots, and the Cluster client follows a slot that moved). Returns the number of keys
   * removed, or UNAVAILABLE if any step failed (some keys may be gone already).
   */
  async deleteMatching(pattern: string): Promise<number | Unavailable> {
    const nodes = this.redis.nodes === undefined ? [this.redis] : this.redis.nodes('master')
    let removed = 0
    for (const node of nodes) {
      // ioredis prefixes the keys of UNLINK with the client's keyPrefix but not SCAN's MATCH pattern, and SCAN
      // returns prefixed keys: add the prefix to the pattern and take it off the keys found.
      const clientPrefix = node.options?.keyPrefix ?? ''
      const match = escapeGlob(clientPrefix) + pattern
      let cursor = '0'
      do {
        const page = await this.call('SCAN', () => node.scan(cursor, 'MATCH', match, 'COUNT', 500))
        if (page === UNAVAILABLE) return UNAVAILABLE
        cursor = page[0]
        const keys = clientPrefix === '' ? page[1] : page[1].map((key) => key.slice(clientPrefix.length))
        if (keys.length > 0) {
          const done = await this.call('UNLINK', async () =>
            this.redis.isCluster === true ? sum(await Promise.all(keys.map((key) => this.redis.unlink(key)))) : node.unlink(...keys),
          )
          if (done === UNAVAILABLE) return UNAVAILABLE
          removed += done
        }
      } while (cursor !== '0')
    }
    return removed
  }
}

function sum(counts: number[]): number {
  let total = 0
  for (const count of counts) total += count
  return total
}

function throwFirstError(replies: [Error | null, unknown][] | null): [Error | null, unknown][] {
  if (replies === null) throw new Error('the pipeline was discarded')
  for (const [error] of replies) if (error) throw error
  return replies
}
