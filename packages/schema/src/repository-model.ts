import type { Row, ValidationIssue } from '@tessera/core'
import type { AnyEntity } from './define-entity'
import type { EntityMeta, FieldMeta } from './entity-meta'
import { applyGenerated } from './ids'
import { mapRow, toParams } from './mapping'
import { AsyncValidatorError, validate, validateSync } from './validate'

/** The repository's view of the entity model: one place that names the model functions it relies on. */
export type RowLoader = (row: Row) => unknown

/** The compiled row mapper of the entity. */
export function loadRow(entity: AnyEntity, _meta: EntityMeta): RowLoader {
  return mapRow(entity)
}

/** Fills ids, defaults, timestamps and the version an insert does not bring. */
export function generateForInsert(entity: AnyEntity, input: unknown): Record<string, unknown> {
  return applyGenerated(entity, (input ?? {}) as object) as Record<string, unknown>
}

/** The checked, coerced value (only the fields given), or every issue found. */
export type CheckedInput = { ok: true; value: Record<string, unknown> } | { ok: false; issues: ValidationIssue[] }

/**
 * Validates with the model's `validate`: synchronously when every validator is (no promise per row in a bulk
 * insert), asynchronously otherwise.
 */
export async function validateInput(entity: AnyEntity, input: unknown, mode: 'insert' | 'update', coerce: boolean): Promise<CheckedInput> {
  return validateInputSync(entity, input, mode, coerce) ?? ((await validate(entity, input, { mode, coerce })) as CheckedInput)
}

/** {@link validateInput} without a promise, or `undefined` when a validator of the entity is async. */
export function validateInputSync(entity: AnyEntity, input: unknown, mode: 'insert' | 'update', coerce: boolean): CheckedInput | undefined {
  try {
    return validateSync(entity, input, { mode, coerce }) as CheckedInput
  } catch (error) {
    if (error instanceof AsyncValidatorError) return undefined
    throw error
  }
}

const writers = new WeakMap<FieldMeta, ((value: unknown) => unknown) | null>()

/**
 * How one field's value becomes a parameter, or `undefined` when it is sent as it is (the common case, checked in
 * hot loops). JSON goes as text and vectors as pgvector text, through the model's parameter mapper.
 */
export function paramWriter(entity: AnyEntity, field: FieldMeta): ((value: unknown) => unknown) | undefined {
  let writer = writers.get(field)
  if (writer === undefined) {
    if (field.kind !== 'json' && field.kind !== 'vector') writer = null
    else {
      const write = toParams(entity, [field.fieldName] as never)
      const name = field.fieldName
      writer = (value) => (value === null || value === undefined ? value : write({ [name]: value } as never)[0])
    }
    writers.set(field, writer)
  }
  return writer ?? undefined
}

/** One field's value as a parameter; see {@link paramWriter}. */
export function toParamValue(entity: AnyEntity, field: FieldMeta, value: unknown): unknown {
  const write = paramWriter(entity, field)
  return write === undefined ? value : write(value)
}
