import { describeValue, TesseraError } from '@tessera/core'

/**
 * `acquire` on a pool that is draining or drained. Not retryable: this pool will never lend again;
 * create a new one.
 */
export class PoolClosedError extends TesseraError {
  /** The pool's name. */
  readonly pool: string
  constructor(details: { pool: string; state: 'draining' | 'closed' }) {
    const what = details.state === 'draining' ? 'is draining' : 'is closed'
    super(`pool ${JSON.stringify(details.pool)} ${what}: drain() was called, so it lends no more resources; create a new pool`, {
      code: 'POOL_CLOSED',
    })
    this.pool = details.pool
  }
}

/**
 * `release` of something the pool did not lend out: a resource released twice, or one from another pool.
 * The pool's state is left as it was.
 */
export class PoolReleaseError extends TesseraError {
  readonly pool: string
  /** `'unknown'`: never lent by this pool (or already destroyed); `'not-in-use'`: lent, but already released. */
  readonly reason: 'unknown' | 'not-in-use'
  constructor(details: { pool: string; resource: unknown; reason: 'unknown' | 'not-in-use' }) {
    const value = describeValue(details.resource, 60)
    const why =
      details.reason === 'not-in-use'
        ? `is not checked out (it was already released)`
        : `was not lent by this pool (it belongs to another pool, or was already released and destroyed)`
    super(
      `release() of pool ${JSON.stringify(details.pool)} got ${value}, which ${why}; release each value acquire() returned exactly once`,
      {
        code: 'POOL_RELEASE_INVALID',
      },
    )
    this.pool = details.pool
    this.reason = details.reason
  }
}

/**
 * The pool's `create` failed (after its retries) while a caller was waiting. The original error is the
 * `cause`; `attempts` says how many tries were made. Retryable: the resource may be creatable later.
 */
export class PoolCreateError extends TesseraError {
  readonly pool: string
  readonly attempts: number
  constructor(details: { pool: string; attempts: number }, options: { cause?: unknown } = {}) {
    const cause = options.cause
    const reason = cause instanceof Error ? cause.message : describeValue(cause)
    const tries = details.attempts === 1 ? '1 attempt' : `${details.attempts} attempts`
    super(`pool ${JSON.stringify(details.pool)} could not create a resource (${tries}): ${reason}`, {
      code: 'POOL_CREATE_FAILED',
      retryable: true,
      cause,
    })
    this.pool = details.pool
    this.attempts = details.attempts
  }
}
