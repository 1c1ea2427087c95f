import type { Queryable } from '@tessera/core'
import type { AnyEntity, InferEntity, InferInsert } from './define-entity'
import { entityMeta } from './entity-meta'

/** A value or a promise of it: hooks may be sync or async. */
export type MaybePromise<T> = T | Promise<T>

/** What a `before*` or `afterLoad` hook returns: a replacement payload, or nothing to keep the payload. */
// biome-ignore lint/suspicious/noConfusingVoidType: `void` lets a hook with a block body and no return type-check
export type HookResult<T> = MaybePromise<T | undefined | void>

/** The lifecycle events, in the order a write meets them. */
export type LifecycleEvent = 'beforeInsert' | 'beforeUpdate' | 'beforeDelete' | 'afterWrite' | 'afterLoad'

/** The operation a hook runs for. */
export type LifecycleOperation = 'insert' | 'update' | 'upsert' | 'delete' | 'load'

/** What every hook receives besides its payload. */
export interface LifecycleContext {
  /** The entity the hook belongs to. */
  readonly entity: AnyEntity
  /** The operation being run. */
  readonly operation: LifecycleOperation
  /** The transaction (or queryable) the write runs in: a hook's own queries join it. Absent outside a repository. */
  readonly queryable: Queryable | undefined
}

/**
 * Lifecycle hooks of an entity (`defineEntity(name, fields, { hooks })`). Each may be async. A `before*` hook or
 * `afterLoad` may return a replacement payload (returning nothing keeps the payload, possibly mutated in place);
 * throwing rejects the operation, and inside a repository rolls back its transaction.
 *
 * - `beforeInsert(input)`: after `applyGenerated`, before validation and the INSERT;
 * - `beforeUpdate(changes)`: the changed fields, before the UPDATE;
 * - `beforeDelete(key)`: the primary key values, before the DELETE (return value ignored);
 * - `afterWrite(row)`: the row as written (insert, update, upsert), still inside the transaction;
 * - `afterLoad(row)`: every row a read maps, before it reaches the caller.
 *
 * @example
 * hooks: { beforeInsert: (user) => ({ ...user, email: user.email.toLowerCase() }) }
 */
export interface EntityHooks<Row = Record<string, unknown>, Insert = Record<string, unknown>> {
  beforeInsert?(input: Insert, context: LifecycleContext): HookResult<Insert>
  beforeUpdate?(changes: Partial<Row>, context: LifecycleContext): HookResult<Partial<Row>>
  beforeDelete?(key: Partial<Row>, context: LifecycleContext): MaybePromise<void>
  afterWrite?(row: Row, context: LifecycleContext): MaybePromise<void>
  afterLoad?(row: Row, context: LifecycleContext): HookResult<Row>
}

/** The payload type of `event` for entity `E`. */
export type LifecyclePayload<E extends AnyEntity, K extends LifecycleEvent> = K extends 'beforeInsert'
  ? InferInsert<E>
  : K extends 'beforeUpdate' | 'beforeDelete'
    ? Partial<InferEntity<E>>
    : InferEntity<E>

const OPERATION_OF: Readonly<Record<LifecycleEvent, LifecycleOperation>> = {
  beforeInsert: 'insert',
  beforeUpdate: 'update',
  beforeDelete: 'delete',
  afterWrite: 'insert',
  afterLoad: 'load',
}

/**
 * Runs the entity's hook for `event`, if it has one, and returns the payload to continue with (the hook's return
 * value when it returns one, otherwise `payload`). Resolves immediately when the entity has no such hook.
 * Errors thrown by the hook propagate unchanged.
 *
 * @example
 * const input = await runLifecycle(User, 'beforeInsert', applyGenerated(User, raw), { queryable: tx, operation: 'insert' })
 */
export async function runLifecycle<E extends AnyEntity, K extends LifecycleEvent>(
  entity: E,
  event: K,
  payload: LifecyclePayload<E, K>,
  context: Partial<Omit<LifecycleContext, 'entity'>> = {},
): Promise<LifecyclePayload<E, K>> {
  const hook = entityMeta(entity).hooks[event] as ((payload: unknown, context: LifecycleContext) => MaybePromise<unknown>) | undefined
  if (hook === undefined) return payload
  const result = await hook(payload, {
    entity,
    operation: context.operation ?? OPERATION_OF[event],
    queryable: context.queryable,
  })
  if (event === 'beforeDelete' || event === 'afterWrite' || result === undefined) return payload
  return result as LifecyclePayload<E, K>
}

/** Whether the entity has a hook for `event`: lets a hot read path skip `runLifecycle` (and its promise) entirely. */
export function hasLifecycle(entity: AnyEntity, event: LifecycleEvent): boolean {
  return entityMeta(entity).hooks[event] !== undefined
}
