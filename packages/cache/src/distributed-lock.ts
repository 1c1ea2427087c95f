import { type L2Tier, UNAVAILABLE, type Unavailable } from './l2-tier'

/** A lock value that says the holder's factory failed (and how); it starts with NUL, no holder token does. */
const FAILURE_PREFIX = '\u0000failed:'

// Takes the lock when free: nil when taken, else the current value (a holder's token or a failure).
const ACQUIRE = `local v = redis.call('get', KEYS[1])
if v then return v end
redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false`

// Pushes the expiry out while this holder still holds the lock.
const EXTEND = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0`

// Deletes the lock, or replaces it with a failure note for the waiters, if this holder still holds it.
const RELEASE = `if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then return redis.call('del', KEYS[1]) end
redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`

/** What an attempt to take the lock found. */
export type LockAttempt =
  | { outcome: 'acquired' }
  | { outcome: 'held' }
  /** The last holder's factory failed within `failureTtlMs`: the waiters share its error instead of re-running it. */
  | { outcome: 'failed'; message: string }

export interface DistributedLockOptions {
  /** The lock expires this long after it was taken or last extended. */
  ttlMs: number
  /** How long a holder's failure is shown to waiters (0: not at all). */
  failureTtlMs: number
}

/**
 * The lock behind distributed single flight: one Redis key per cache key, holding the holder's token. A holder
 * extends it every `ttlMs / 3` while its factory runs (a factory slower than the TTL keeps it), and on failure
 * leaves a note so the waiters fail with its error instead of each running the failing factory in turn.
 */
export class DistributedLock {
  constructor(
    private readonly l2: L2Tier,
    private readonly options: DistributedLockOptions,
  ) {}

  async tryAcquire(lockKey: string, token: string): Promise<LockAttempt | Unavailable> {
    const reply = await this.l2.eval('EVAL lock', ACQUIRE, lockKey, token, String(Math.ceil(this.options.ttlMs)))
    if (reply === UNAVAILABLE) return UNAVAILABLE
    if (reply === null || reply === undefined) return { outcome: 'acquired' }
    const value = String(reply)
    if (value.startsWith(FAILURE_PREFIX)) return { outcome: 'failed', message: value.slice(FAILURE_PREFIX.length) }
    return { outcome: 'held' }
  }

  /** Extends the lock until the returned function is called. */
  keepAlive(lockKey: string, token: string): () => void {
    const ttl = String(Math.ceil(this.options.ttlMs))
    const timer = setInterval(
      () => {
        void this.l2.eval('EVAL lock extend', EXTEND, lockKey, token, ttl)
      },
      Math.max(1, Math.floor(this.options.ttlMs / 3)),
    )
    timer.unref()
    return () => clearInterval(timer)
  }

  /** Frees the lock; with `failure`, leaves it for `failureTtlMs` as a note of the factory's error. */
  release(lockKey: string, token: string, failure?: string): Promise<unknown> {
    const failureTtlMs = Math.ceil(this.options.failureTtlMs)
    const note = failure === undefined || failureTtlMs <= 0 ? '' : FAILURE_PREFIX + failure.slice(0, 500)
    return this.l2.eval('EVAL unlock', RELEASE, lockKey, token, note, String(Math.max(1, failureTtlMs)))
  }
}
