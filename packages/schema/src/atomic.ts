const ATOMIC = Symbol.for('tessera.schema.atomic')

/** A change computed by the database from the row's current value, in an update patch. */
export interface AtomicChange {
  readonly [ATOMIC]: true
  readonly kind: 'increment' | 'now'
  /** `increment`: the amount added (negative subtracts). */
  readonly amount: number | bigint | undefined
}

/** `increment(n)` in a patch: the value is `n` added to the row's current value (integer, bigint and numeric fields). */
export interface Increment extends AtomicChange {
  readonly kind: 'increment'
}

/** `now()` in a patch: the value is the database's transaction time (`now()`; timestamptz and date fields). */
export interface Now extends AtomicChange {
  readonly kind: 'now'
}

/**
 * Adds `amount` to a field in the database (`SET stock = stock + $1`), so concurrent updates never lose one another's
 * change. Integer, bigint and numeric fields.
 * @example await products.update(id, { stock: increment(-1) })
 */
export function increment(amount: number | bigint): Increment {
  return Object.freeze({ [ATOMIC]: true as const, kind: 'increment' as const, amount })
}

/**
 * Sets a timestamptz or date field to the database's `now()` (the transaction's start time), not the client's clock.
 * @example await sessions.update(id, { seenAt: now() })
 */
export function now(): Now {
  return Object.freeze({ [ATOMIC]: true as const, kind: 'now' as const, amount: undefined })
}

/** Whether `value` is an {@link increment} or {@link now} change. */
export function isAtomicChange(value: unknown): value is AtomicChange {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[ATOMIC] === true
}
