import type { Increment, Now } from './atomic'
import type { InferUpdate } from './define-entity'
import type { Where } from './where'

/** Row locks of a read (`SELECT … FOR UPDATE | FOR SHARE`). Meaningful inside a transaction: outside one the lock ends with the statement. */
export interface LockOptions {
  /** `'update'`: `FOR UPDATE` (writers and other lockers wait); `'share'`: `FOR SHARE` (writers wait). Default: no lock. */
  lock?: 'update' | 'share' | undefined
  /** `SKIP LOCKED`: leave out rows another transaction holds (work queues). Needs `lock`. Default: `false`. */
  skipLocked?: boolean | undefined
  /** `NOWAIT`: fail at once with a `LockNotAvailableError` instead of waiting. Needs `lock`. Default: `false`. */
  noWait?: boolean | undefined
}

/** Only these fields of each row (`select: ['id', 'title']`): a typed `Pick` of the row, relations from `with` kept. */
export interface SelectOptions<S extends string> {
  /** The fields to read. Default: every field. `afterLoad` hooks do not run on a projection (it is not a whole row). */
  select?: readonly S[] | undefined
}

/** A read's rows with only the `S` fields (and the relation keys `K`), or whole rows when `S` is `never`. */
export type Projected<L, S extends string, K extends PropertyKey> = [S] extends [never] ? L : Pick<L, (S | K) & keyof L>

/** One aggregate of {@link AggregateOptions.aggregates}. */
export type AggregateSpec<T> =
  | { readonly count: '*' | (keyof T & string) }
  | { readonly countDistinct: keyof T & string }
  | { readonly sum: keyof T & string }
  | { readonly avg: keyof T & string }
  | { readonly min: keyof T & string }
  | { readonly max: keyof T & string }

type AggregateValue<T, A> = A extends { count: unknown } | { countDistinct: unknown }
  ? number
  : A extends { sum: unknown } | { avg: unknown }
    ? string | null
    : A extends { min: infer F } | { max: infer F }
      ? F extends keyof T
        ? NonNullable<T[F]> | null
        : never
      : never

/** A row of {@link Repository.aggregate}: the `groupBy` fields, then one value per named aggregate. */
export type AggregateRow<T, G extends keyof T, A> = { -readonly [K in G]: T[K] } & { -readonly [K in keyof A]: AggregateValue<T, A[K]> }

/** Options of {@link Repository.aggregate}. */
export interface AggregateOptions<T, X, G extends keyof T & string, A extends Readonly<Record<string, AggregateSpec<T>>>> {
  /** Which rows. Default: all. */
  where?: Where<T, X> | undefined
  /** One result row per distinct value of these fields. Default: one row for all matching rows. */
  groupBy?: readonly G[] | undefined
  /**
   * The aggregates, by the name they get in the result: `{ n: { count: '*' }, total: { sum: 'estimate' } }`.
   * `count` / `countDistinct` are numbers; `sum` / `avg` exact numeric text (`string`, `null` without rows);
   * `min` / `max` the field's type (`null` without rows).
   */
  aggregates: A
  /** A filter over the result rows (group fields and aggregate names): SQL's HAVING. */
  having?: Where<AggregateRow<T, NoInfer<G>, NoInfer<A>>> | undefined
  /** Ordering of the result by group fields and aggregate names. Default: the group fields, ascending. */
  orderBy?: { [K in NoInfer<G> | (keyof NoInfer<A> & string)]?: 'asc' | 'desc' } | undefined
  /** Default: no limit. */
  limit?: number | undefined
  /** Include soft-deleted rows (entities with a `.deletedAt()` field). Default: `false`. */
  withDeleted?: boolean | undefined
}

/** A value for `F` in an update patch: the value, or a change the database computes ({@link increment}, {@link now}). */
export type PatchValue<V> =
  | V
  | ([NonNullable<V>] extends [number | bigint] ? Increment : never)
  | ([NonNullable<V>] extends [Date] ? Now : never)

/** An update patch of entity `E`: {@link InferUpdate} whose number fields also take `increment(n)` and Date fields `now()`. */
export type UpdatePatch<E> = { [K in keyof InferUpdate<E>]?: PatchValue<InferUpdate<E>[K]> | undefined }

/** What happens to a row that conflicts: nothing (`doNothing: true`), or an update of the given fields from the new row. */
export interface ConflictAction<Field extends string = string> {
  /** `ON CONFLICT … DO NOTHING`: the conflicting row is left as it is and not returned. Default: `false`. */
  doNothing?: boolean | undefined
  /** The fields set from the new row (`EXCLUDED`) on conflict. Default: every field the new row gives (except the conflict target, the key and `createdAt`). */
  update?: readonly Field[] | undefined
}

/** Options of `updateMany` / `deleteMany` that return the changed rows. */
export interface ReturningOptions {
  /** Return the updated or deleted rows (`RETURNING *`) instead of their number. Default: `false`. */
  returning?: boolean | undefined
}

/** Options of {@link Repository.delete}. */
export interface DeleteOptions {
  /** The version the row must still have (entities with a `.version()` field), else `OptimisticLockError`. Default: no check. */
  expectedVersion?: number | bigint | undefined
}
