import { channel, tracingChannel } from 'node:diagnostics_channel'
import { setMaxListeners } from 'node:events'
import {
  AbortError,
  CHANNELS,
  ConfigError,
  describeValue,
  getRetryDetails,
  hasSubscribers,
  isTesseraError,
  type PoolStats,
  PoolTimeoutError,
  publish,
  type RetryPolicy,
  retry,
  TesseraError,
  traced,
} from '@tessera/core'
import { type WaitPercentiles, WaitReservoir } from '@tessera/core/driver'
import { CoarseClock } from './coarse-clock'
import { PoolClosedError, PoolCreateError, PoolReleaseError } from './errors'
import { type PoolOptions, type ResolvedPoolOptions, resolvePoolOptions } from './options'
import type { DestroyReason, PoolEventName, PoolEvents, PoolListener, PoolOperation } from './pool-events'

/** Options of one {@link Pool.acquire} call. */
export interface AcquireOptions {
  /** Aborting it makes this acquire reject at once with an `AbortError` (and leave the queue). Default: none. */
  signal?: AbortSignal | undefined
  /** Overrides the pool's `acquireTimeoutMs` for this call; `0` waits forever. Default: the pool's. */
  timeoutMs?: number | undefined
}

/** Options of {@link Pool.release}. */
export interface ReleaseOptions {
  /** Destroy the resource instead of reusing it (it broke, or its state is unknown). Default: `false`. */
  destroy?: boolean | undefined
}

/** Options of {@link Pool.drain}. */
export interface DrainOptions {
  /** How long to wait for lent resources to come back before destroying them anyway; `0` does not wait. Default: `30000` ms. */
  timeoutMs?: number | undefined
}

/** What {@link Pool.stats} returns: core's `PoolStats`, with every optional field filled in. */
export interface ResourcePoolStats extends PoolStats {
  /** Open resources: `idle + inUse`. Resources being validated or reset count as in use. */
  size: number
  idle: number
  inUse: number
  /** Callers waiting in the queue. */
  pending: number
  max: number
  min: number
  /** Resources opened since the pool started. */
  created: number
  /** Resources closed since the pool started. */
  destroyed: number
  /** Acquires that gave up with `PoolTimeoutError`. */
  timeouts: number
  /** Acquires that got a resource. */
  acquired: number
  /** Wait of recent acquires (the last 1024), ms; `0` for an acquire that found an idle resource. */
  waitMs: WaitPercentiles
}

/**
 * A pool of reusable resources (connections, sessions, workers). Made by {@link createPool}.
 */
export interface Pool<T> {
  /** The pool's name (`options.name`). */
  readonly name: string
  /**
   * Lends a resource: an idle one at once, else a new one if the pool is below `max`, else the first one released.
   * Waiters are served in arrival order. Rejects with `PoolTimeoutError` after the deadline, `AbortError` when
   * `signal` aborts, `PoolClosedError` once the pool is draining, or the `create` error when the resource
   * meant for this caller could not be opened. Give it back with {@link Pool.release}.
   */
  acquire(options?: AcquireOptions): Promise<T>
  /**
   * Gives a resource back. Throws `PoolReleaseError` (and changes nothing) when `resource` is not currently lent
   * by this pool, e.g. released twice.
   */
  release(resource: T, options?: ReleaseOptions): void
  /** Acquires a resource, runs `fn` with it and releases it, whether `fn` resolves or throws. */
  use<R>(fn: (resource: T) => R | Promise<R>, options?: AcquireOptions): Promise<R>
  /**
   * Closes the pool: new acquires and queued waiters are rejected with `PoolClosedError`, idle resources are
   * destroyed, lent ones are destroyed as they come back or, after `timeoutMs`, regardless. Resolves when every
   * resource is destroyed. Calling it again returns the same promise.
   */
  drain(options?: DrainOptions): Promise<void>
  /** `await using pool = createPool(…)` drains the pool at the end of the scope, as `drain()` does. */
  [Symbol.asyncDispose](): Promise<void>
  /** A snapshot of sizes and counters. */
  stats(): ResourcePoolStats
  /** Subscribes to an event; returns a function that unsubscribes. A listener that throws does not disturb the pool. */
  on<E extends PoolEventName>(event: E, listener: PoolListener<T, E>): () => void
  /** Unsubscribes a listener added with {@link Pool.on}. */
  off<E extends PoolEventName>(event: E, listener: PoolListener<T, E>): void
}

/**
 * Creates a pool. It starts opening `min` resources in the background at once (failures become `error` events).
 *
 * @example
 * import { createPool } from '@tessera/pool'
 *
 * const pool = createPool({
 *   create: async () => {
 *     const client = new pg.Client(url)
 *     await client.connect()
 *     return client
 *   },
 *   destroy: (client) => client.end(),
 *   min: 2,
 *   max: 10,
 * })
 * const rows = await pool.use((client) => client.query('select 1'))
 * await pool.drain()
 */
export function createPool<T>(options: PoolOptions<T>): Pool<T> {
  return new ResourcePool(resolvePoolOptions(options))
}

// Held here so that the hot path's "is anyone listening?" is one property read, not a lookup by name.
// They are the same channels `traced` and `publish` use: Node shares channel objects by name.
const acquireChannel = tracingChannel(CHANNELS.poolAcquire)
const releaseChannel = channel(CHANNELS.poolRelease)

const IDLE = 0
const IN_USE = 1
/** Being validated or reset: not idle, not lendable, but on its way back. */
const PREPARING = 2
const DESTROYED = 3

const OPEN = 0
const DRAINING = 1
const CLOSED = 2

/** What a `validate` or `reset` that threw or rejected settles with (see `prepare`). */
const FAILED = Symbol('failed')

const EVENT_NAMES: readonly PoolEventName[] = ['create', 'destroy', 'acquire', 'release', 'timeout', 'leak', 'error']

class Slot<T> {
  state = IDLE
  uses = 0
  idleSince = 0
  acquiredAt = 0
  /** The acquirer's stack, kept only while leak detection is on. */
  stack: string | undefined = undefined
  leakTimer: ReturnType<typeof setTimeout> | undefined = undefined
  constructor(
    readonly resource: T,
    readonly expiresAt: number,
  ) {}
}

/** A caller in the queue; also a node of the queue's doubly linked list, so leaving it is O(1). */
class Waiter<T> {
  prev: Waiter<T> | undefined = undefined
  next: Waiter<T> | undefined = undefined
  queued = true
  readonly resolve: (resource: T) => void
  readonly reject: (error: unknown) => void
  readonly promise: Promise<T>

  constructor(
    private readonly pool: ResourcePool<T>,
    readonly enqueuedAt: number,
    readonly deadline: number,
    readonly signal: AbortSignal | undefined,
    readonly stack: string | undefined,
  ) {
    // A shared executor (no closure per waiter): it parks the resolvers in module variables, taken right after.
    this.promise = new Promise<T>(captureResolvers)
    this.resolve = capturedResolve as (resource: T) => void
    this.reject = capturedReject
  }

  // The waiter is its own abort listener (an EventListener object), so a signal costs no closure.
  handleEvent(): void {
    this.pool.abandon(this)
  }
}

let capturedResolve: (value: never) => void = () => {}
let capturedReject: (error: unknown) => void = () => {}
function captureResolvers(resolve: (value: never) => void, reject: (error: unknown) => void): void {
  capturedResolve = resolve
  capturedReject = reject
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
}

function isDuration(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0
}

function rethrow(error: unknown): void {
  throw error
}

class ResourcePool<T> implements Pool<T> {
  readonly name: string
  private readonly o: ResolvedPoolOptions<T>
  private state = OPEN
  private readonly slots = new Map<T, Slot<T>>()
  /** Idle resources, most recently released last: lending from the end keeps the working set warm and lets the rest idle out. */
  private readonly idle: Slot<T>[] = []
  private head: Waiter<T> | undefined = undefined
  private tail: Waiter<T> | undefined = undefined
  private pendingCount = 0
  /** Creates in flight (each counts toward `max`). */
  private creating = 0
  /** Resources being validated or reset. */
  private preparing = 0
  /** Destroys in flight (drain waits for them). */
  private destroying = 0
  private createdCount = 0
  private destroyedCount = 0
  private timeoutCount = 0
  private acquiredCount = 0
  private readonly waits = new WaitReservoir()
  private readonly clock = new CoarseClock()
  /** Whether taking an idle resource needs the clock (lifetime or validation). */
  private readonly checksAge: boolean
  /**
   * Aborted when the pool drains: every resource being created listens to it, so as many listeners as `max` are
   * expected (Node would warn past 10).
   */
  private readonly closer = createCloser()
  private readonly retryPolicy: RetryPolicy | undefined
  private readonly listeners: { [E in PoolEventName]?: PoolListener<T, E>[] } = {}

  // One timer serves every waiter's deadline: it is armed for the earliest one, so a queue of thousands
  // costs one timer, and it is cleared when the queue empties.
  private acquireTimer: ReturnType<typeof setTimeout> | undefined = undefined
  private acquireTimerAt = Number.POSITIVE_INFINITY
  private reapTimer: ReturnType<typeof setTimeout> | undefined = undefined
  /** When the reaper runs next; +Infinity when it is not armed. */
  private reapAt = Number.POSITIVE_INFINITY
  private refillTimer: ReturnType<typeof setTimeout> | undefined = undefined
  private refillFailures = 0
  private drainPromise: Promise<void> | undefined = undefined
  private drainResolve: (() => void) | undefined = undefined
  private drainTimer: ReturnType<typeof setTimeout> | undefined = undefined
  private forced = false
  /** Resources destroyed by a forced drain while lent: their late release is accepted silently. */
  private forceDestroyed: Set<T> | undefined = undefined

  constructor(options: ResolvedPoolOptions<T>) {
    this.o = options
    this.name = options.name
    this.checksAge = options.maxLifetimeMs > 0 || options.validate !== undefined
    this.retryPolicy = options.createRetry === false ? undefined : { ...options.createRetry, signal: this.closer.signal }
    this.grow()
  }

  // ---- acquire ------------------------------------------------------------------------------------------

  acquire(options?: AcquireOptions): Promise<T> {
    // Captured here, before any await, so the stack points at the caller; only when leak detection is on.
    const stack = this.o.leakDetectionMs > 0 ? captureStack(this.name) : undefined
    if (acquireChannel.hasSubscribers) {
      const size = this.slots.size
      const message = {
        pool: this.name,
        size,
        inUse: size - this.idle.length,
        pending: this.pendingCount,
        max: this.o.max,
        min: this.o.min,
      }
      return traced(CHANNELS.poolAcquire, message, () => this.acquireResource(options, stack))
    }
    return this.acquireResource(options, stack)
  }

  private acquireResource(options: AcquireOptions | undefined, stack: string | undefined): Promise<T> {
    if (this.state !== OPEN) return Promise.reject(this.closedError())
    let signal: AbortSignal | undefined
    let timeoutMs = this.o.acquireTimeoutMs
    if (options !== undefined) {
      signal = options.signal
      if (signal?.aborted) return Promise.reject(new AbortError('acquire', { cause: signal.reason }))
      if (options.timeoutMs !== undefined) {
        if (!isDuration(options.timeoutMs)) {
          return Promise.reject(
            new ConfigError(`timeoutMs must be a finite number of ms ≥ 0 (0 waits forever), got ${describeValue(options.timeoutMs)}`, {
              subject: 'acquire options',
            }),
          )
        }
        timeoutMs = options.timeoutMs
      }
    }
    // The hot path: nobody queued and an idle resource at hand.
    if (this.head === undefined && this.idle.length > 0) {
      const slot = this.takeIdle()
      if (slot !== undefined) {
        this.lend(slot, 0, stack, this.clock.now())
        return Promise.resolve(slot.resource)
      }
    }
    return this.enqueue(signal, timeoutMs, stack)
  }

  /** Pops an idle resource that can be lent without a check, destroying expired ones on the way. */
  private takeIdle(): Slot<T> | undefined {
    const idle = this.idle
    let lost = false
    let found: Slot<T> | undefined
    while (idle.length > 0) {
      const slot = idle[idle.length - 1]!
      if (this.checksAge) {
        const now = this.clock.now()
        if (now >= slot.expiresAt) {
          idle.pop()
          this.destroySlot(slot, 'lifetime')
          lost = true
          continue
        }
        // Needs validation: leave it for dispatch(), which can wait for an async verdict.
        if (this.needsValidation(slot, now)) break
      }
      idle.pop()
      found = slot
      break
    }
    if (lost) this.grow()
    return found
  }

  private needsValidation(slot: Slot<T>, now: number): boolean {
    return this.o.validate !== undefined && now - slot.idleSince >= this.o.validateAfterIdleMs
  }

  private enqueue(signal: AbortSignal | undefined, timeoutMs: number, stack: string | undefined): Promise<T> {
    const now = this.clock.fresh()
    const deadline = timeoutMs === 0 ? Number.POSITIVE_INFINITY : now + timeoutMs
    const waiter = new Waiter(this, now, deadline, signal, stack)
    if (this.tail === undefined) this.head = waiter
    else {
      this.tail.next = waiter
      waiter.prev = this.tail
    }
    this.tail = waiter
    this.pendingCount++
    if (signal !== undefined) signal.addEventListener('abort', waiter)
    if (deadline < this.acquireTimerAt) this.armAcquireTimer(deadline, now)
    this.dispatch()
    return waiter.promise
  }

  /** Matches idle resources with waiters, then opens resources for waiters nothing else will serve. */
  private dispatch(): void {
    while (this.head !== undefined && this.idle.length > 0) {
      const slot = this.idle.pop()!
      if (this.checksAge) {
        const now = this.clock.now()
        if (now >= slot.expiresAt) {
          this.destroySlot(slot, 'lifetime')
          continue
        }
        if (this.needsValidation(slot, now)) {
          this.check(slot)
          continue
        }
      }
      this.serve(slot)
    }
    this.grow()
  }

  /** Starts creates for uncovered waiters (up to `max`) and for the `min` floor (unless backing off). */
  private grow(): void {
    if (this.state !== OPEN) return
    const max = this.o.max
    // Resources being created, validated or reset will be offered to the queue: count them as on their way.
    while (this.pendingCount > this.creating + this.preparing && this.slots.size + this.creating < max) this.startCreate()
    if (this.refillTimer !== undefined) return
    while (this.slots.size + this.creating < this.o.min) this.startCreate()
  }

  /** Hands `slot` to the first waiter. */
  private serve(slot: Slot<T>): void {
    const waiter = this.head!
    this.unlink(waiter)
    const now = this.clock.now()
    // max(0, …): the wall clock may have been set back while the caller waited.
    this.lend(slot, Math.max(0, now - waiter.enqueuedAt), waiter.stack, now)
    waiter.resolve(slot.resource)
  }

  private lend(slot: Slot<T>, waitedMs: number, stack: string | undefined, now: number): void {
    slot.state = IN_USE
    slot.acquiredAt = now
    this.acquiredCount++
    this.waits.record(waitedMs)
    if (stack !== undefined) {
      slot.stack = stack
      slot.leakTimer = setTimeout(this.onLeak, this.o.leakDetectionMs, slot)
      slot.leakTimer.unref()
    }
    if (this.listeners.acquire !== undefined) this.emit('acquire', { resource: slot.resource, waitedMs })
  }

  /** Removes a waiter from the queue (it is about to be settled). */
  private unlink(waiter: Waiter<T>): void {
    const { prev, next } = waiter
    if (prev === undefined) this.head = next
    else prev.next = next
    if (next === undefined) this.tail = prev
    else next.prev = prev
    waiter.prev = undefined
    waiter.next = undefined
    waiter.queued = false
    this.pendingCount--
    if (waiter.signal !== undefined) waiter.signal.removeEventListener('abort', waiter)
    if (this.head === undefined && this.acquireTimer !== undefined) {
      clearTimeout(this.acquireTimer)
      this.acquireTimer = undefined
      this.acquireTimerAt = Number.POSITIVE_INFINITY
    }
  }

  /** The waiter's signal aborted: it leaves the queue at once. */
  abandon(waiter: Waiter<T>): void {
    if (!waiter.queued) return
    this.unlink(waiter)
    waiter.reject(new AbortError('acquire', { cause: waiter.signal?.reason }))
  }

  private armAcquireTimer(deadline: number, now: number): void {
    if (this.acquireTimer !== undefined) clearTimeout(this.acquireTimer)
    this.acquireTimerAt = deadline
    this.acquireTimer = setTimeout(this.onAcquireTimer, Math.max(0, deadline - now))
  }

  private readonly onAcquireTimer = (): void => {
    this.acquireTimer = undefined
    this.acquireTimerAt = Number.POSITIVE_INFINITY
    const now = this.clock.fresh()
    let next = Number.POSITIVE_INFINITY
    for (let waiter = this.head; waiter !== undefined; ) {
      const following = waiter.next
      // Timers can fire a hair before Date.now() reaches the deadline; 1 ms of slack avoids a second wake-up.
      if (waiter.deadline <= now + 1) this.expire(waiter, now)
      else if (waiter.deadline < next) next = waiter.deadline
      waiter = following
    }
    if (next !== Number.POSITIVE_INFINITY && this.head !== undefined) this.armAcquireTimer(next, now)
  }

  private expire(waiter: Waiter<T>, now: number): void {
    this.unlink(waiter)
    this.timeoutCount++
    const details = {
      // The timer may fire up to 1 ms early (see above): the wait lasted the whole limit.
      waitedMs: Math.max(now, waiter.deadline) - waiter.enqueuedAt,
      inUse: this.slots.size - this.idle.length,
      max: this.o.max,
      pending: this.pendingCount,
    }
    waiter.reject(new PoolTimeoutError(details))
    if (this.listeners.timeout !== undefined) this.emit('timeout', details)
    if (hasSubscribers(CHANNELS.poolTimeout)) publish(CHANNELS.poolTimeout, { pool: this.name, ...details })
  }

  // ---- release ------------------------------------------------------------------------------------------

  release(resource: T, options?: ReleaseOptions): void {
    const slot = this.slots.get(resource)
    if (slot === undefined || slot.state !== IN_USE) {
      // A forced drain destroyed it while it was lent; the holder giving it back is not an error.
      if (slot === undefined && this.forceDestroyed?.delete(resource) === true) return
      throw new PoolReleaseError({ pool: this.name, resource, reason: slot === undefined ? 'unknown' : 'not-in-use' })
    }
    if (slot.leakTimer !== undefined) {
      clearTimeout(slot.leakTimer)
      slot.leakTimer = undefined
      slot.stack = undefined
    }
    slot.uses++
    const now = this.clock.now()
    let reason: DestroyReason | undefined
    if (options !== undefined && options.destroy === true) reason = 'error'
    else if (this.state !== OPEN) reason = 'drain'
    else if (now >= slot.expiresAt || (this.o.maxUses > 0 && slot.uses >= this.o.maxUses)) reason = 'lifetime'
    if (this.listeners.release !== undefined) {
      this.emit('release', { resource, heldMs: now - slot.acquiredAt, destroyed: reason !== undefined })
    }
    if (releaseChannel.hasSubscribers) {
      publish(CHANNELS.poolRelease, { pool: this.name, heldMs: now - slot.acquiredAt, destroyed: reason !== undefined })
    }
    if (reason !== undefined) {
      this.destroySlot(slot, reason)
      this.dispatch()
      this.settleDrain()
      return
    }
    if (this.o.reset !== undefined) {
      this.resetSlot(slot)
      return
    }
    this.offer(slot, now)
  }

  /** A resource became available (released, created, checked): the first waiter gets it, else it goes idle. */
  private offer(slot: Slot<T>, now: number): void {
    if (this.state !== OPEN) {
      this.destroySlot(slot, 'drain')
      this.settleDrain()
      return
    }
    if (this.head !== undefined) {
      this.serve(slot)
      return
    }
    slot.state = IDLE
    slot.idleSince = now
    this.idle.push(slot)
    // Idle expiries only grow as resources come back, but a lifetime may end before the reaper's next run.
    if (this.reapTimer === undefined || slot.expiresAt < this.reapAt) this.scheduleReap(now)
  }

  async use<R>(fn: (resource: T) => R | Promise<R>, options?: AcquireOptions): Promise<R> {
    const resource = await this.acquire(options)
    try {
      return await fn(resource)
    } finally {
      this.release(resource)
    }
  }

  // ---- validate / reset ---------------------------------------------------------------------------------

  private check(slot: Slot<T>): void {
    this.prepare(slot, this.o.validate!, this.afterCheck)
  }

  private readonly afterCheck = (slot: Slot<T>, verdict: unknown, error: unknown): void => {
    if (verdict === FAILED) this.emitError(error, 'validate')
    this.preparing--
    if (slot.state === DESTROYED) {
      this.settleDrain()
      return
    }
    if (verdict !== true) {
      this.destroySlot(slot, 'invalid')
      this.dispatch()
      this.settleDrain()
      return
    }
    this.offer(slot, this.clock.now())
    // The check may have ended after its waiter left; dispatch() also covers a waiter that arrived meanwhile.
    this.dispatch()
  }

  private resetSlot(slot: Slot<T>): void {
    this.prepare(slot, this.o.reset!, this.afterReset)
  }

  private readonly afterReset = (slot: Slot<T>, outcome: unknown, error: unknown): void => {
    this.preparing--
    if (slot.state === DESTROYED) {
      this.settleDrain()
      return
    }
    if (outcome === FAILED) {
      this.emitError(error, 'reset')
      this.destroySlot(slot, 'error')
      this.dispatch()
      this.settleDrain()
      return
    }
    this.offer(slot, this.clock.now())
  }

  /**
   * Runs `validate` or `reset` on a slot, which is not lendable meanwhile. `settle` gets what `step` returned
   * (awaited when it is a promise, at once when not), or {@link FAILED} and the error when it threw or rejected.
   */
  private prepare(slot: Slot<T>, step: (resource: T) => unknown, settle: (slot: Slot<T>, outcome: unknown, error: unknown) => void): void {
    slot.state = PREPARING
    this.preparing++
    let outcome: unknown
    try {
      outcome = step(slot.resource)
    } catch (error) {
      settle(slot, FAILED, error)
      return
    }
    if (!isThenable(outcome)) {
      settle(slot, outcome, undefined)
      return
    }
    outcome.then(
      (value) => settle(slot, value, undefined),
      (error: unknown) => settle(slot, FAILED, error),
    )
  }

  // ---- create / destroy ---------------------------------------------------------------------------------

  private startCreate(): void {
    this.creating++
    const startedAt = this.clock.now()
    this.createResource().then(
      (resource) => this.onCreated(resource, startedAt),
      (error: unknown) => {
        this.creating--
        if (hasSubscribers(CHANNELS.poolCreate)) {
          publish(CHANNELS.poolCreate, { pool: this.name, size: this.slots.size, durationMs: this.clock.now() - startedAt, error })
        }
        this.onCreateFailed(error)
      },
    )
  }

  private createResource(): Promise<T> {
    const signal = this.closer.signal
    if (this.retryPolicy === undefined) return new Promise<T>((resolve) => resolve(this.o.create(signal)))
    return retry((_attempt, policySignal) => this.o.create(policySignal ?? signal), this.retryPolicy)
  }

  private onCreated(resource: T, startedAt: number): void {
    this.creating--
    if (this.slots.has(resource)) {
      this.onCreateFailed(
        new TesseraError(
          `create() of pool ${JSON.stringify(this.name)} returned ${describeValue(resource, 60)}, which is already in the pool; each resource must be a distinct object`,
          { code: 'POOL_CREATE_FAILED' },
        ),
      )
      return
    }
    const now = this.clock.now()
    const slot = new Slot(resource, this.expiryFor(now))
    slot.state = PREPARING
    this.slots.set(resource, slot)
    this.createdCount++
    this.refillFailures = 0
    if (this.listeners.create !== undefined) this.emit('create', { resource, durationMs: now - startedAt })
    if (hasSubscribers(CHANNELS.poolCreate))
      publish(CHANNELS.poolCreate, { pool: this.name, size: this.slots.size, durationMs: now - startedAt })
    this.offer(slot, now)
  }

  private onCreateFailed(error: unknown): void {
    if (this.state !== OPEN) {
      // Drained while creating: the abort (or whatever else failed) interests nobody.
      this.settleDrain()
      return
    }
    if (this.pendingCount > this.creating + this.preparing) {
      // A waiter was counting on this resource: give it the reason now rather than a timeout later.
      const waiter = this.head!
      this.unlink(waiter)
      waiter.reject(this.createError(error))
    } else {
      this.emitError(error, 'create')
    }
    // Back off the warm-up so a dead server is not hammered; waiters still trigger creates of their own.
    if (this.slots.size + this.creating < this.o.min) this.scheduleRefill()
    this.dispatch()
  }

  private createError(error: unknown): unknown {
    if (isTesseraError(error)) return error
    return new PoolCreateError({ pool: this.name, attempts: getRetryDetails(error)?.attempts ?? 1 }, { cause: error })
  }

  private expiryFor(now: number): number {
    if (this.o.maxLifetimeMs === 0) return Number.POSITIVE_INFINITY
    // Jitter spreads the expiry of resources created together (e.g. at warm-up).
    return now + this.o.maxLifetimeMs - Math.random() * this.o.lifetimeJitterMs
  }

  private scheduleRefill(): void {
    if (this.refillTimer !== undefined) return
    this.refillFailures++
    const ceiling = Math.min(30_000, 100 * 2 ** Math.min(this.refillFailures - 1, 20))
    this.refillTimer = setTimeout(this.onRefill, ceiling / 2 + (Math.random() * ceiling) / 2)
    this.refillTimer.unref()
  }

  private readonly onRefill = (): void => {
    this.refillTimer = undefined
    this.grow()
  }

  /** Forgets a resource and calls `destroy` in the background. The caller removes it from `idle` first. */
  private destroySlot(slot: Slot<T>, reason: DestroyReason): void {
    this.slots.delete(slot.resource)
    slot.state = DESTROYED
    if (slot.leakTimer !== undefined) {
      clearTimeout(slot.leakTimer)
      slot.leakTimer = undefined
    }
    slot.stack = undefined
    this.destroyedCount++
    this.destroying++
    if (this.listeners.destroy !== undefined) this.emit('destroy', { resource: slot.resource, reason })
    if (hasSubscribers(CHANNELS.poolDestroy)) publish(CHANNELS.poolDestroy, { pool: this.name, reason, size: this.slots.size })
    let result: void | Promise<void>
    try {
      result = this.o.destroy(slot.resource)
    } catch (error) {
      this.afterDestroy(error, true)
      return
    }
    if (!isThenable(result)) {
      this.afterDestroy(undefined, false)
      return
    }
    result.then(
      () => this.afterDestroy(undefined, false),
      (error: unknown) => this.afterDestroy(error, true),
    )
  }

  private afterDestroy(error: unknown, failed: boolean): void {
    this.destroying--
    if (failed) this.emitError(error, 'destroy')
    this.settleDrain()
  }

  // ---- eviction and leaks -------------------------------------------------------------------------------

  /** Arms the reaper for the next idle or lifetime expiry, if any. */
  private scheduleReap(now: number): void {
    if (this.reapTimer !== undefined) clearTimeout(this.reapTimer)
    this.reapTimer = undefined
    this.reapAt = Number.POSITIVE_INFINITY
    if (this.state !== OPEN) return
    let due = Number.POSITIVE_INFINITY
    const oldest = this.idle[0]
    if (this.o.idleTimeoutMs > 0 && oldest !== undefined) {
      // Above min, the oldest idle resource is next to go. At or below min nothing is due, but the pool may
      // grow before the next run: looking again within idleTimeoutMs bounds how late an eviction can be.
      due = this.slots.size > this.o.min ? oldest.idleSince + this.o.idleTimeoutMs : now + this.o.idleTimeoutMs
    }
    if (this.o.maxLifetimeMs > 0) {
      for (const slot of this.idle) if (slot.expiresAt < due) due = slot.expiresAt
    }
    if (due === Number.POSITIVE_INFINITY) return
    this.reapAt = due
    this.reapTimer = setTimeout(this.onReap, Math.max(0, due - now) + 1)
    this.reapTimer.unref()
  }

  private readonly onReap = (): void => {
    this.reapTimer = undefined
    this.reapAt = Number.POSITIVE_INFINITY
    const now = this.clock.fresh()
    const idle = this.idle
    if (this.o.maxLifetimeMs > 0) {
      let kept = 0
      for (const slot of idle) {
        if (now >= slot.expiresAt) this.destroySlot(slot, 'lifetime')
        else idle[kept++] = slot
      }
      idle.length = kept
    }
    if (this.o.idleTimeoutMs > 0) {
      // `idle` is ordered by release time, oldest first; stop at the first recent one or at `min`.
      let evicted = 0
      while (evicted < idle.length && this.slots.size > this.o.min && idle[evicted]!.idleSince + this.o.idleTimeoutMs <= now) {
        this.destroySlot(idle[evicted]!, 'idle')
        evicted++
      }
      if (evicted > 0) idle.splice(0, evicted)
    }
    this.scheduleReap(now)
    this.grow()
  }

  private readonly onLeak = (slot: Slot<T>): void => {
    slot.leakTimer = undefined
    if (slot.state !== IN_USE) return
    const heldMs = this.clock.fresh() - slot.acquiredAt
    const stack = slot.stack ?? ''
    if (this.listeners.leak !== undefined) this.emit('leak', { resource: slot.resource, heldMs, stack })
    if (hasSubscribers(CHANNELS.poolLeak)) publish(CHANNELS.poolLeak, { pool: this.name, heldMs, stack })
  };

  // ---- drain --------------------------------------------------------------------------------------------

  [Symbol.asyncDispose](): Promise<void> {
    return this.drain()
  }

  drain(options?: DrainOptions): Promise<void> {
    if (this.drainPromise !== undefined) return this.drainPromise
    const timeoutMs = options?.timeoutMs ?? 30_000
    if (!isDuration(timeoutMs)) {
      return Promise.reject(
        new ConfigError(`timeoutMs must be a finite number of ms ≥ 0, got ${describeValue(timeoutMs)}`, { subject: 'drain options' }),
      )
    }
    this.state = DRAINING
    this.drainPromise = new Promise<void>((resolve) => {
      this.drainResolve = resolve
    })
    this.closer.abort(new PoolClosedError({ pool: this.name, state: 'draining' }))
    this.scheduleReap(this.clock.now()) // clears the reaper: the pool is no longer open
    if (this.refillTimer !== undefined) clearTimeout(this.refillTimer)
    this.refillTimer = undefined
    while (this.head !== undefined) {
      const waiter = this.head
      this.unlink(waiter)
      waiter.reject(this.closedError())
    }
    for (const slot of this.idle.splice(0)) this.destroySlot(slot, 'drain')
    if (timeoutMs === 0) this.forceDrain()
    else if (this.slots.size > 0 || this.creating > 0) this.drainTimer = setTimeout(this.forceDrain, timeoutMs)
    this.settleDrain()
    return this.drainPromise
  }

  private readonly forceDrain = (): void => {
    this.drainTimer = undefined
    this.forced = true
    for (const slot of [...this.slots.values()]) {
      if (slot.state === IN_USE) (this.forceDestroyed ??= new Set()).add(slot.resource)
      this.destroySlot(slot, 'drain')
    }
    this.settleDrain()
  }

  private settleDrain(): void {
    if (this.state !== DRAINING) return
    if (this.slots.size > 0 || this.destroying > 0 || (this.creating > 0 && !this.forced)) return
    this.state = CLOSED
    if (this.drainTimer !== undefined) clearTimeout(this.drainTimer)
    this.drainTimer = undefined
    this.drainResolve?.()
  }

  private closedError(): PoolClosedError {
    return new PoolClosedError({ pool: this.name, state: this.state === CLOSED ? 'closed' : 'draining' })
  }

  // ---- stats and events ---------------------------------------------------------------------------------

  stats(): ResourcePoolStats {
    const size = this.slots.size
    const idle = this.idle.length
    return {
      size,
      idle,
      inUse: size - idle,
      pending: this.pendingCount,
      max: this.o.max,
      min: this.o.min,
      created: this.createdCount,
      destroyed: this.destroyedCount,
      timeouts: this.timeoutCount,
      acquired: this.acquiredCount,
      waitMs: this.waits.percentiles(),
    }
  }

  on<E extends PoolEventName>(event: E, listener: PoolListener<T, E>): () => void {
    this.checkListener(event, listener)
    const list = this.listeners[event] as PoolListener<T, E>[] | undefined
    // Copy on write: emit() iterates the array it read, even if a listener unsubscribes meanwhile.
    ;(this.listeners as Record<string, unknown>)[event] = list === undefined ? [listener] : [...list, listener]
    return () => this.off(event, listener)
  }

  off<E extends PoolEventName>(event: E, listener: PoolListener<T, E>): void {
    const list = this.listeners[event] as PoolListener<T, E>[] | undefined
    if (list === undefined) return
    const index = list.indexOf(listener)
    if (index < 0) return
    const rest = list.filter((_, i) => i !== index)
    ;(this.listeners as Record<string, unknown>)[event] = rest.length === 0 ? undefined : rest
  }

  private checkListener(event: unknown, listener: unknown): void {
    const problems: string[] = []
    if (!EVENT_NAMES.includes(event as PoolEventName))
      problems.push(`unknown event ${describeValue(event)}; accepted: ${EVENT_NAMES.join(', ')}`)
    if (typeof listener !== 'function') problems.push(`listener must be a function, got ${describeValue(listener)}`)
    if (problems.length > 0) throw new ConfigError(problems, { subject: `listener of pool ${JSON.stringify(this.name)}` })
  }

  private emit<E extends PoolEventName>(event: E, payload: PoolEvents<T>[E]): void {
    const list = this.listeners[event] as PoolListener<T, E>[] | undefined
    if (list === undefined) return
    for (const listener of list) {
      try {
        listener(payload)
      } catch (error) {
        // The pool's state must not depend on a listener; the error is still not swallowed.
        process.nextTick(rethrow, error)
      }
    }
  }

  private emitError(error: unknown, operation: PoolOperation): void {
    this.emit('error', { error, operation })
  }
}

function captureStack(pool: string): string {
  const holder = { name: 'Acquired', message: `resource of pool ${JSON.stringify(pool)} acquired here`, stack: '' }
  Error.captureStackTrace(holder, ResourcePool.prototype.acquire)
  return holder.stack
}

function createCloser(): AbortController {
  const controller = new AbortController()
  setMaxListeners(0, controller.signal)
  return controller
}
