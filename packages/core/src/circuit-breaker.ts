import { type Clock, systemClock } from './clock'
import { CircuitOpenError, ConfigError, describeValue } from './errors'

/** `closed`: calls flow. `open`: calls fail fast. `half-open`: a few trial calls decide which way to go. */
export type CircuitState = 'closed' | 'open' | 'half-open'

/** What {@link CircuitBreaker.onStateChange} listeners receive. */
export interface CircuitStateChange {
  from: CircuitState
  to: CircuitState
  /** Why, for a person: `6 of 10 calls failed in the last 10000 ms`, `a trial call failed`… */
  reason: string
  /** The clock's reading when the change happened. */
  at: number
}

/** A snapshot of a breaker, for health reports and metrics. */
export interface CircuitBreakerStats {
  name: string
  state: CircuitState
  /** Calls recorded in the rolling window. */
  calls: number
  /** Failures recorded in the rolling window. */
  failures: number
  /** `failures / calls` in the window; `0` when there were no calls. */
  failureRatio: number
  /** When the breaker last opened; `undefined` once it has closed again. */
  openedAt: number | undefined
  /** Trial calls running now (half-open only, else `0`). */
  halfOpenInFlight: number
  /** Calls refused with a {@link CircuitOpenError} since the breaker was created. */
  rejected: number
}

/** Options of {@link createCircuitBreaker}. */
export interface CircuitBreakerOptions {
  /** Names the breaker in errors, events and stats, e.g. `'redis:l2'`. Required. */
  name: string
  /** Opens when at least this share of the window's calls failed, in (0, 1]. Default: `0.5`. */
  failureRatio?: number | undefined
  /** Never opens on fewer calls than this in the window, so one early failure cannot trip it. Default: `10`. */
  minimumCalls?: number | undefined
  /**
   * Also opens after this many failures in a row, whatever the window says: when a dependency stops answering,
   * a window full of older successes would otherwise keep the breaker closed for most of the outage.
   * Default: none (the window decides alone).
   */
  consecutiveFailures?: number | undefined
  /** Length of the rolling window that counts calls and failures. Default: `10000` ms. */
  windowMs?: number | undefined
  /** The window is kept in this many buckets; older buckets drop off whole. Default: `10`. */
  windowBuckets?: number | undefined
  /** How long the breaker stays open before it lets trial calls through. Default: `5000` ms. */
  openMs?: number | undefined
  /** Trial calls admitted at the same time while half-open; further calls fail fast. Default: `1`. */
  halfOpenProbes?: number | undefined
  /** Successful trial calls needed to close again. Default: `halfOpenProbes`. */
  successesToClose?: number | undefined
  /**
   * Decides whether an error thrown through {@link CircuitBreaker.execute} counts as a failure.
   * Errors for which it returns `false` are not recorded at all (neither success nor failure).
   * Default: every error counts except an abort (an error named `AbortError`): the caller giving up
   * says nothing about the health of what it called. Pass `isFailure: isRetryable` to count only
   * transient errors and not, say, constraint violations caused by bad input.
   */
  isFailure?: ((error: unknown) => boolean) | undefined
  /** Where time comes from; only `now()` is used. Default: {@link systemClock}. */
  clock?: Pick<Clock, 'now'> | undefined
}

/** A circuit breaker. Create one with {@link createCircuitBreaker}. */
export interface CircuitBreaker {
  readonly name: string
  /**
   * The state now. Reading it after `openMs` have passed moves an open breaker to `half-open` (and
   * tells the listeners): the breaker keeps no timer, it notices the time when asked.
   */
  readonly state: CircuitState
  /**
   * Runs `fn` and records its outcome. Throws a {@link CircuitOpenError} without calling `fn` when the
   * breaker is open, or half-open with every trial slot taken. `fn`'s own error is rethrown unchanged.
   */
  execute<T>(fn: () => Promise<T> | T): Promise<T>
  stats(): CircuitBreakerStats
  /** Calls `listener` on every state change; returns a function that unsubscribes it. */
  onStateChange(listener: (change: CircuitStateChange) => void): () => void
  /** Closes the breaker and forgets the window. Results of calls started before are ignored. */
  reset(): void
  /**
   * Records a success measured outside `execute` (closed: counts in the window; half-open: counts as
   * a successful trial; open: ignored).
   */
  recordSuccess(): void
  /** Records a failure measured outside `execute` (closed: counts in the window; half-open: reopens; open: ignored). */
  recordFailure(): void
}

interface ResolvedOptions {
  name: string
  failureRatio: number
  minimumCalls: number
  consecutiveFailures: number
  windowMs: number
  windowBuckets: number
  openMs: number
  halfOpenProbes: number
  successesToClose: number
  isFailure: (error: unknown) => boolean
  clock: Pick<Clock, 'now'>
}

interface Bucket {
  epoch: number
  calls: number
  failures: number
}

/** Admission of one call: results of calls admitted before the latest state change are ignored. */
interface Ticket {
  generation: number
}

type Outcome = 'success' | 'failure' | 'ignored'

function isCallerAbort(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError'
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1
}

function isFiniteAtLeast(value: unknown, min: number): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= min
}

function resolveOptions(options: CircuitBreakerOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(`expected an options object with at least a name, got ${describeValue(options)}`, {
      subject: 'circuit breaker options',
    })
  }
  const problems: string[] = []
  const { name, failureRatio, minimumCalls, windowMs, windowBuckets, openMs, halfOpenProbes, successesToClose, isFailure, clock } = options

  if (typeof name !== 'string' || name.length === 0) problems.push(`name must be a non-empty string, got ${describeValue(name)}`)
  if (failureRatio !== undefined && !(typeof failureRatio === 'number' && failureRatio > 0 && failureRatio <= 1)) {
    problems.push(`failureRatio must be a number in (0, 1], got ${describeValue(failureRatio)}`)
  }
  if (minimumCalls !== undefined && !isPositiveInteger(minimumCalls)) {
    problems.push(`minimumCalls must be an integer ≥ 1, got ${describeValue(minimumCalls)}`)
  }
  if (options.consecutiveFailures !== undefined && !isPositiveInteger(options.consecutiveFailures)) {
    problems.push(`consecutiveFailures must be an integer ≥ 1, got ${describeValue(options.consecutiveFailures)}`)
  }
  if (windowMs !== undefined && !(isFiniteAtLeast(windowMs, 0) && windowMs > 0)) {
    problems.push(`windowMs must be a finite number > 0, got ${describeValue(windowMs)}`)
  }
  if (windowBuckets !== undefined && !isPositiveInteger(windowBuckets)) {
    problems.push(`windowBuckets must be an integer ≥ 1, got ${describeValue(windowBuckets)}`)
  }
  if (openMs !== undefined && !isFiniteAtLeast(openMs, 0)) {
    problems.push(`openMs must be a finite number ≥ 0, got ${describeValue(openMs)}`)
  }
  if (halfOpenProbes !== undefined && !isPositiveInteger(halfOpenProbes)) {
    problems.push(`halfOpenProbes must be an integer ≥ 1, got ${describeValue(halfOpenProbes)}`)
  }
  if (successesToClose !== undefined && !isPositiveInteger(successesToClose)) {
    problems.push(`successesToClose must be an integer ≥ 1, got ${describeValue(successesToClose)}`)
  }
  if (isFailure !== undefined && typeof isFailure !== 'function') {
    problems.push(`isFailure must be a function, got ${describeValue(isFailure)}`)
  }
  if (clock !== undefined && !(typeof clock === 'object' && clock !== null && typeof clock.now === 'function')) {
    problems.push(`clock must be an object with a now() method, got ${describeValue(clock)}`)
  }
  if (problems.length > 0) {
    const subject = typeof name === 'string' && name ? `circuit breaker "${name}" options` : 'circuit breaker options'
    throw new ConfigError(problems, { subject })
  }

  const probes = halfOpenProbes ?? 1
  return {
    name,
    failureRatio: failureRatio ?? 0.5,
    minimumCalls: minimumCalls ?? 10,
    consecutiveFailures: options.consecutiveFailures ?? Number.POSITIVE_INFINITY,
    windowMs: windowMs ?? 10_000,
    windowBuckets: windowBuckets ?? 10,
    openMs: openMs ?? 5_000,
    halfOpenProbes: probes,
    successesToClose: successesToClose ?? probes,
    isFailure: isFailure ?? ((error) => !isCallerAbort(error)),
    clock: clock ?? systemClock,
  }
}

/**
 * Creates a circuit breaker: after too many failures in a rolling window it opens and fails calls fast
 * with a {@link CircuitOpenError}, giving the dependency time to recover; after `openMs` it admits a few
 * trial calls (half-open) and closes when they succeed or opens again when one fails.
 *
 * closed → open when the window holds ≥ `minimumCalls` calls and ≥ `failureRatio` of them failed;
 * open → half-open once `openMs` have passed (noticed on the next call or read of `state`);
 * half-open → closed after `successesToClose` successful trials (the window starts empty);
 * half-open → open on any failed trial.
 *
 * @example
 * const breaker = createCircuitBreaker({ name: 'redis:l2', minimumCalls: 20, openMs: 2_000 })
 * const value = await breaker.execute(() => redis.get(key))
 */
export function createCircuitBreaker(options: CircuitBreakerOptions): CircuitBreaker {
  const config = resolveOptions(options)
  const { name, clock } = config
  const bucketMs = config.windowMs / config.windowBuckets
  const ring: Bucket[] = Array.from({ length: config.windowBuckets }, () => ({ epoch: Number.NaN, calls: 0, failures: 0 }))
  const listeners = new Set<(change: CircuitStateChange) => void>()

  let state: CircuitState = 'closed'
  // Bumped on every state change so that late results of earlier calls cannot move the new state.
  let generation = 0
  let openedAt: number | undefined
  let probesInFlight = 0
  let probeSuccesses = 0
  let rejected = 0
  /** Failures recorded one after another while closed (any success resets it). */
  let failuresInARow = 0

  function epochOf(now: number): number {
    return Math.floor(now / bucketMs)
  }

  function currentBucket(now: number): Bucket {
    const epoch = epochOf(now)
    const slot = ring[((epoch % ring.length) + ring.length) % ring.length]!
    if (slot.epoch !== epoch) {
      slot.epoch = epoch
      slot.calls = 0
      slot.failures = 0
    }
    return slot
  }

  function windowTotals(now: number): { calls: number; failures: number } {
    const current = epochOf(now)
    let calls = 0
    let failures = 0
    for (const bucket of ring) {
      const age = current - bucket.epoch
      if (age >= 0 && age < ring.length) {
        calls += bucket.calls
        failures += bucket.failures
      }
    }
    return { calls, failures }
  }

  function clearWindow(): void {
    for (const bucket of ring) {
      bucket.epoch = Number.NaN
      bucket.calls = 0
      bucket.failures = 0
    }
  }

  function emit(change: CircuitStateChange): void {
    for (const listener of [...listeners]) {
      try {
        listener(change)
      } catch (error) {
        // A listener is instrumentation: its bug must not break the call that changed the state.
        const detail = error instanceof Error ? error.message : describeValue(error)
        process.emitWarning(`circuit "${name}": a state-change listener threw: ${detail}`, { code: 'TESSERA_CIRCUIT_LISTENER' })
      }
    }
  }

  function transition(to: CircuitState, reason: string): void {
    const from = state
    if (from === to) return
    const at = clock.now()
    state = to
    generation++
    probesInFlight = 0
    probeSuccesses = 0
    failuresInARow = 0
    if (to === 'open') openedAt = at
    if (to === 'closed') {
      openedAt = undefined
      clearWindow()
    }
    emit({ from, to, reason, at })
  }

  /** Moves an open breaker to half-open once its time is up. The breaker keeps no timer: this runs on every use. */
  function refresh(): void {
    if (state === 'open' && openedAt !== undefined && clock.now() - openedAt >= config.openMs) {
      transition('half-open', `open for ${config.openMs} ms; admitting trial calls`)
    }
  }

  function recordInWindow(outcome: 'success' | 'failure'): void {
    const now = clock.now()
    const bucket = currentBucket(now)
    bucket.calls++
    if (outcome === 'failure') bucket.failures++
    failuresInARow = outcome === 'failure' ? failuresInARow + 1 : 0
    if (failuresInARow >= config.consecutiveFailures) {
      transition('open', `${failuresInARow} calls failed in a row`)
      return
    }
    const { calls, failures } = windowTotals(now)
    if (calls >= config.minimumCalls && failures / calls >= config.failureRatio) {
      transition('open', `${failures} of ${calls} calls failed in the last ${config.windowMs} ms (threshold ${config.failureRatio})`)
    }
  }

  function recordTrial(outcome: 'success' | 'failure'): void {
    if (outcome === 'failure') {
      transition('open', 'a trial call failed while half-open')
      return
    }
    probeSuccesses++
    if (probeSuccesses >= config.successesToClose) {
      transition('closed', `${probeSuccesses} trial call${probeSuccesses === 1 ? '' : 's'} succeeded`)
    }
  }

  function admit(): Ticket {
    refresh()
    if (state === 'open') {
      rejected++
      const retryAfterMs = (openedAt ?? clock.now()) + config.openMs - clock.now()
      throw new CircuitOpenError({ breaker: name, retryAfterMs })
    }
    if (state === 'half-open') {
      if (probesInFlight >= config.halfOpenProbes) {
        rejected++
        // The trials decide within an unknown time; if one fails the breaker stays open another openMs.
        throw new CircuitOpenError({ breaker: name, retryAfterMs: config.openMs })
      }
      probesInFlight++
    }
    return { generation }
  }

  function settle(ticket: Ticket, outcome: Outcome): void {
    // Admitted before the latest state change (or a reset): says nothing about the current state.
    if (ticket.generation !== generation) return
    if (state === 'half-open') {
      probesInFlight--
      if (outcome !== 'ignored') recordTrial(outcome)
      return
    }
    if (state === 'closed' && outcome !== 'ignored') recordInWindow(outcome)
  }

  function classify(error: unknown): Outcome {
    try {
      return config.isFailure(error) ? 'failure' : 'ignored'
    } catch {
      // A broken isFailure must not hide the caller's error; count the call as failed.
      return 'failure'
    }
  }

  function recordExternal(outcome: 'success' | 'failure'): void {
    refresh()
    if (state === 'closed') recordInWindow(outcome)
    else if (state === 'half-open') recordTrial(outcome)
  }

  return {
    name,
    get state() {
      refresh()
      return state
    },
    async execute<T>(fn: () => Promise<T> | T): Promise<T> {
      const ticket = admit()
      let result: T
      try {
        result = await fn()
      } catch (error) {
        settle(ticket, classify(error))
        throw error
      }
      settle(ticket, 'success')
      return result
    },
    stats() {
      refresh()
      const { calls, failures } = windowTotals(clock.now())
      return {
        name,
        state,
        calls,
        failures,
        failureRatio: calls === 0 ? 0 : failures / calls,
        openedAt,
        halfOpenInFlight: state === 'half-open' ? probesInFlight : 0,
        rejected,
      }
    },
    onStateChange(listener) {
      if (typeof listener !== 'function') {
        throw new ConfigError(`onStateChange needs a function, got ${describeValue(listener)}`, { subject: `circuit "${name}" listener` })
      }
      // Wrap so that subscribing the same function twice gives two independent subscriptions.
      const entry = (change: CircuitStateChange) => listener(change)
      listeners.add(entry)
      return () => {
        listeners.delete(entry)
      }
    },
    reset() {
      if (state === 'closed') {
        generation++
        clearWindow()
        return
      }
      transition('closed', 'reset by the caller')
    },
    recordSuccess() {
      recordExternal('success')
    },
    recordFailure() {
      recordExternal('failure')
    },
  }
}
