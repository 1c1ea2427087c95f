import { ConfigError, describeValue, isTesseraError } from '@tessera/core'

/**
 * How the pool retries a failed `create` before giving up on it. Waits grow exponentially with full jitter.
 *
 * @example
 * createPool({ create, destroy, createRetry: { maxAttempts: 5, baseDelayMs: 100 } })
 */
export interface CreateRetryOptions {
  /** Attempts in total, counting the first. An integer ≥ 1. Default: `3`. */
  maxAttempts?: number | undefined
  /** The ceiling of the first wait; it doubles on each retry. Default: `50` ms. */
  baseDelayMs?: number | undefined
  /** No wait is longer than this. Default: `2000` ms. */
  maxDelayMs?: number | undefined
  /**
   * Whether an error is worth another attempt. Default: retry anything except a Tessera error flagged
   * `retryable: false` (a wrong password will not get better by trying again, a refused connection may).
   */
  retryOn?: ((error: unknown, attempt: number) => boolean) | undefined
}

/**
 * Options of {@link createPool}. Only `create` and `destroy` are required.
 *
 * @example
 * const pool = createPool({
 *   create: async () => connect(url),
 *   destroy: (connection) => connection.close(),
 *   max: 20,
 *   idleTimeoutMs: 10_000,
 * })
 */
export interface PoolOptions<T> {
  /**
   * Opens one resource. `signal` aborts when the pool is drained, so a slow connect can give up.
   * A rejection is retried per `createRetry`, then handed to the caller waiting for the resource.
   * Each resource must be a distinct value (an object): the pool tracks resources by identity.
   */
  create: (signal: AbortSignal) => T | Promise<T>
  /** Closes one resource. Errors are reported as `error` events, never thrown at a caller. */
  destroy: (resource: T) => void | Promise<void>
  /**
   * Checks an idle resource before it is lent out again (only one that has been idle at least
   * `validateAfterIdleMs`). `false`, or a throw, destroys it and the caller gets another one.
   * Default: none (resources are trusted).
   */
  validate?: ((resource: T) => boolean | Promise<boolean>) | undefined
  /**
   * Run on every release before the resource becomes available again (e.g. `DISCARD ALL`). A throw or
   * rejection destroys the resource. Default: none.
   */
  reset?: ((resource: T) => void | Promise<void>) | undefined
  /** Resources kept open even when idle; the pool opens them at start (warm-up) and after losses. Default: `0`. */
  min?: number | undefined
  /** The most resources open at once, counting ones being created. Default: `10`. */
  max?: number | undefined
  /** How long `acquire` waits before rejecting with `PoolTimeoutError`; `0` waits forever. Default: `30000` ms. */
  acquireTimeoutMs?: number | undefined
  /** An idle resource above `min` is destroyed after this long unused; `0` keeps idle resources. Default: `30000` ms. */
  idleTimeoutMs?: number | undefined
  /**
   * A resource older than this is destroyed when it is released or while it is idle, never while in use.
   * `0` means resources live forever. Default: `0`.
   */
  maxLifetimeMs?: number | undefined
  /**
   * Each resource's lifetime is shortened by a random amount up to this, so that resources created together
   * do not all expire together. Default: 10% of `maxLifetimeMs`.
   */
  lifetimeJitterMs?: number | undefined
  /** A resource lent out this many times is destroyed on release; `0` means no limit. Default: `0`. */
  maxUses?: number | undefined
  /** Only resources idle at least this long are validated on borrow. Default: `0` (every borrow of an idle resource). */
  validateAfterIdleMs?: number | undefined
  /**
   * A resource held longer than this emits a `leak` event with the stack of the caller that acquired it.
   * The stack is captured only while this is on. `0` turns detection off. Default: `0`.
   */
  leakDetectionMs?: number | undefined
  /** Retry of a failed `create`, or `false` to try once. Default: `{ maxAttempts: 3, baseDelayMs: 50 }`. */
  createRetry?: CreateRetryOptions | false | undefined
  /** Names the pool in errors, events and diagnostics messages. Default: `'pool'`. */
  name?: string | undefined
}

/** Options with every default filled in. */
export interface ResolvedPoolOptions<T> {
  create: (signal: AbortSignal) => T | Promise<T>
  destroy: (resource: T) => void | Promise<void>
  validate: ((resource: T) => boolean | Promise<boolean>) | undefined
  reset: ((resource: T) => void | Promise<void>) | undefined
  min: number
  max: number
  acquireTimeoutMs: number
  idleTimeoutMs: number
  maxLifetimeMs: number
  lifetimeJitterMs: number
  maxUses: number
  validateAfterIdleMs: number
  leakDetectionMs: number
  createRetry: Required<CreateRetryOptions> | false
  name: string
}

const KNOWN_OPTIONS = new Set([
  'create',
  'destroy',
  'validate',
  'reset',
  'min',
  'max',
  'acquireTimeoutMs',
  'idleTimeoutMs',
  'maxLifetimeMs',
  'lifetimeJitterMs',
  'maxUses',
  'validateAfterIdleMs',
  'leakDetectionMs',
  'createRetry',
  'name',
])

const KNOWN_RETRY_OPTIONS = new Set(['maxAttempts', 'baseDelayMs', 'maxDelayMs', 'retryOn'])

/** Retries everything but a Tessera error that says it is not worth retrying. */
export function retryUnlessFinal(error: unknown): boolean {
  return !isTesseraError(error) || error.retryable
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0
}

function isDuration(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0
}

/**
 * Checks every option and fills in defaults. Throws one {@link ConfigError} that lists every problem,
 * so a user fixes their configuration in one go.
 */
export function resolvePoolOptions<T>(options: PoolOptions<T>): ResolvedPoolOptions<T> {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(`expected an options object with create and destroy, got ${describeValue(options)}`, { subject: 'pool options' })
  }
  const problems: string[] = []
  const record = options as unknown as Record<string, unknown>
  for (const key of Object.keys(record)) {
    if (!KNOWN_OPTIONS.has(key)) problems.push(`unknown option ${JSON.stringify(key)}; accepted: ${[...KNOWN_OPTIONS].join(', ')}`)
  }

  const requireFunction = (key: string, required: boolean) => {
    const value = record[key]
    if (value === undefined && !required) return
    if (typeof value !== 'function') problems.push(`${key} must be a function, got ${describeValue(value)}`)
  }
  requireFunction('create', true)
  requireFunction('destroy', true)
  requireFunction('validate', false)
  requireFunction('reset', false)

  const count = (key: string, fallback: number, least = 0): number => {
    const value = record[key]
    if (value === undefined) return fallback
    if (!isCount(value) || value < least) {
      problems.push(`${key} must be an integer ≥ ${least}, got ${describeValue(value)}`)
      return fallback
    }
    return value
  }
  const duration = (key: string, fallback: number): number => {
    const value = record[key]
    if (value === undefined) return fallback
    if (!isDuration(value)) {
      problems.push(`${key} must be a finite number of ms ≥ 0, got ${describeValue(value)}`)
      return fallback
    }
    return value
  }

  const min = count('min', 0)
  const max = count('max', 10, 1)
  const minIsValid = record.min === undefined || isCount(record.min)
  const maxIsValid = record.max === undefined || (isCount(record.max) && record.max >= 1)
  if (minIsValid && maxIsValid && min > max) {
    problems.push(`min (${min}) must not exceed max (${max}${record.max === undefined ? ', the default' : ''})`)
  }
  const acquireTimeoutMs = duration('acquireTimeoutMs', 30_000)
  const idleTimeoutMs = duration('idleTimeoutMs', 30_000)
  const maxLifetimeMs = duration('maxLifetimeMs', 0)
  const lifetimeJitterMs = duration('lifetimeJitterMs', maxLifetimeMs / 10)
  if (record.lifetimeJitterMs !== undefined && isDuration(record.lifetimeJitterMs) && lifetimeJitterMs > maxLifetimeMs) {
    problems.push(`lifetimeJitterMs (${lifetimeJitterMs}) must not exceed maxLifetimeMs (${maxLifetimeMs})`)
  }
  const maxUses = count('maxUses', 0)
  const validateAfterIdleMs = duration('validateAfterIdleMs', 0)
  const leakDetectionMs = duration('leakDetectionMs', 0)

  let name = 'pool'
  if (record.name !== undefined) {
    if (typeof record.name !== 'string' || record.name.length === 0)
      problems.push(`name must be a non-empty string, got ${describeValue(record.name)}`)
    else name = record.name
  }

  const createRetry = resolveCreateRetry(record.createRetry, problems)

  if (problems.length > 0) throw new ConfigError(problems, { subject: `options of pool ${JSON.stringify(name)}` })

  return {
    create: options.create,
    destroy: options.destroy,
    validate: options.validate,
    reset: options.reset,
    min,
    max,
    acquireTimeoutMs,
    idleTimeoutMs,
    maxLifetimeMs,
    lifetimeJitterMs,
    maxUses,
    validateAfterIdleMs,
    leakDetectionMs,
    createRetry,
    name,
  }
}

function resolveCreateRetry(value: unknown, problems: string[]): Required<CreateRetryOptions> | false {
  const defaults: Required<CreateRetryOptions> = { maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 2_000, retryOn: retryUnlessFinal }
  if (value === undefined) return defaults
  if (value === false) return false
  if (typeof value !== 'object' || value === null) {
    problems.push(`createRetry must be false or an object like { maxAttempts: 3, baseDelayMs: 50 }, got ${describeValue(value)}`)
    return false
  }
  const retry = value as Record<string, unknown>
  for (const key of Object.keys(retry)) {
    if (!KNOWN_RETRY_OPTIONS.has(key)) problems.push(`unknown option createRetry.${key}; accepted: ${[...KNOWN_RETRY_OPTIONS].join(', ')}`)
  }
  const resolved = { ...defaults }
  if (retry.maxAttempts !== undefined) {
    if (isCount(retry.maxAttempts) && retry.maxAttempts >= 1) resolved.maxAttempts = retry.maxAttempts
    else problems.push(`createRetry.maxAttempts must be an integer ≥ 1, got ${describeValue(retry.maxAttempts)}`)
  }
  if (retry.baseDelayMs !== undefined) {
    if (isDuration(retry.baseDelayMs)) resolved.baseDelayMs = retry.baseDelayMs
    else problems.push(`createRetry.baseDelayMs must be a finite number of ms ≥ 0, got ${describeValue(retry.baseDelayMs)}`)
  }
  if (retry.maxDelayMs !== undefined) {
    if (isDuration(retry.maxDelayMs)) resolved.maxDelayMs = retry.maxDelayMs
    else problems.push(`createRetry.maxDelayMs must be a finite number of ms ≥ 0, got ${describeValue(retry.maxDelayMs)}`)
  }
  if (resolved.maxDelayMs < resolved.baseDelayMs) {
    if (retry.maxDelayMs === undefined) resolved.maxDelayMs = resolved.baseDelayMs
    else problems.push(`createRetry.maxDelayMs (${resolved.maxDelayMs}) must be ≥ createRetry.baseDelayMs (${resolved.baseDelayMs})`)
  }
  if (retry.retryOn !== undefined) {
    if (typeof retry.retryOn === 'function') resolved.retryOn = retry.retryOn as (error: unknown, attempt: number) => boolean
    else problems.push(`createRetry.retryOn must be a function, got ${describeValue(retry.retryOn)}`)
  }
  return resolved
}
