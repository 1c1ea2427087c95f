import type { PoolDestroyMessage, PoolTimeoutDetails } from '@tessera/core'

/**
 * Why a resource was destroyed:
 * - `'idle'`: idle longer than `idleTimeoutMs` while the pool held more than `min`;
 * - `'lifetime'`: older than `maxLifetimeMs`, or lent `maxUses` times;
 * - `'invalid'`: `validate` returned false or threw;
 * - `'error'`: the caller released it with `{ destroy: true }`, or `reset` failed;
 * - `'drain'`: the pool is draining.
 */
export type DestroyReason = PoolDestroyMessage['reason']

/** Which pool operation an `error` event comes from. */
export type PoolOperation = 'create' | 'destroy' | 'validate' | 'reset'

/** The payload of each pool event. */
export interface PoolEvents<T> {
  /** A resource was opened. */
  create: { resource: T; durationMs: number }
  /** A resource was closed (its `destroy` has been called). */
  destroy: { resource: T; reason: DestroyReason }
  /** A caller got a resource after waiting `waitedMs` (0 when one was idle). */
  acquire: { resource: T; waitedMs: number }
  /** A caller gave a resource back after holding it `heldMs`; `destroyed` when it will not be reused. */
  release: { resource: T; heldMs: number; destroyed: boolean }
  /** An acquire gave up waiting; the caller got a `PoolTimeoutError` with the same numbers. */
  timeout: PoolTimeoutDetails
  /** A resource has been held longer than `leakDetectionMs`; `stack` is where it was acquired. Emitted once per hold. */
  leak: { resource: T; heldMs: number; stack: string }
  /**
   * A background operation failed: a `create` nobody was waiting for (warm-up), a `destroy`, a `validate`
   * or a `reset`. The pool has already recovered; these are for logs.
   */
  error: { error: unknown; operation: PoolOperation }
}

/** The name of a pool event. */
export type PoolEventName = keyof PoolEvents<unknown>

/** A listener of event `E`. */
export type PoolListener<T, E extends PoolEventName> = (payload: PoolEvents<T>[E]) => void
