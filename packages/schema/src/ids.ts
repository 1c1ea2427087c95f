import type { AnyEntity, InferInsert } from './define-entity'
import { type EntityMeta, entityMeta, type FieldMeta } from './entity-meta'
import { type GeneratedIdStrategy, generateId } from './id-generation'

export type { GeneratedIdStrategy } from './id-generation'
export { generateId } from './id-generation'

/** Options of {@link applyGenerated}. */
export interface ApplyGeneratedOptions {
  /**
   * `insert` fills absent ids, defaults (literal and function ones), `createdAt`, `updatedAt` and `version` (1);
   * `update` sets `updatedAt` only (the repository increments the version in SQL). Default: `'insert'`.
   */
  operation?: 'insert' | 'update' | undefined
  /** The time written to timestamp fields. Default: `new Date()` (one instant for every field of the call). */
  now?: Date | undefined
}

interface Plan {
  insert: FieldMeta[]
  update: FieldMeta[]
}

const plans = new WeakMap<EntityMeta, Plan>()

function planOf(meta: EntityMeta): Plan {
  let plan = plans.get(meta)
  if (plan === undefined) {
    const insert = meta.fields.filter(
      (f) =>
        (f.generated !== undefined && f.generated !== 'identity') ||
        (f.role !== undefined && f.role !== 'deletedAt') ||
        f.default?.kind === 'value' ||
        f.default?.kind === 'fn',
    )
    plan = { insert, update: meta.fields.filter((f) => f.role === 'updatedAt') }
    plans.set(meta, plan)
  }
  return plan
}

// Literal object defaults are copied, so two inserts never share (and mutate) one default object.
function copyDefault(value: unknown): unknown {
  return typeof value === 'object' && value !== null ? structuredClone(value) : value
}

function valueFor(field: FieldMeta, now: Date): unknown {
  if (field.role === 'createdAt' || field.role === 'updatedAt') return new Date(now.getTime())
  if (field.default?.kind === 'value') return copyDefault(field.default.value)
  if (field.default?.kind === 'fn') return field.default.fn()
  if (field.role === 'version') return field.kind === 'bigint' ? 1n : 1
  return generateId(field.generated as GeneratedIdStrategy)
}

/**
 * Returns a copy of `input` with what the application generates filled in where the input has `undefined`:
 * ids (`uuidv4`, `uuidv7`, `ulid`), literal and function defaults, `createdAt`/`updatedAt` (the same instant, as
 * separate `Date`s) and `version` = 1. Values the input brings are kept (an explicit `createdAt` is not
 * overwritten on insert); `identity` ids and `sql` defaults are left to the database. With `operation: 'update'`
 * only `updatedAt` is set, always (it marks this write).
 *
 * @example
 * applyGenerated(User, { email: 'a@b.c' }) // { email: 'a@b.c', id: '0190…', createdAt: Date, updatedAt: Date, version: 1 }
 */
export function applyGenerated<E extends AnyEntity, I extends object = Partial<InferInsert<E>>>(
  entity: E,
  input: I,
  options: ApplyGeneratedOptions = {},
): I {
  const meta = entityMeta(entity)
  const plan = planOf(meta)
  const now = options.now ?? new Date()
  const out: Record<string, unknown> = { ...(input as Record<string, unknown>) }
  if (options.operation === 'update') {
    for (const field of plan.update) out[field.fieldName] = new Date(now.getTime())
    return out as I
  }
  for (const field of plan.insert) {
    if (out[field.fieldName] === undefined) out[field.fieldName] = valueFor(field, now)
  }
  return out as I
}
