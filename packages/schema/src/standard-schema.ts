import type { StandardSchemaV1 } from '@standard-schema/spec'
import type { ValidationIssue } from '@tessera/core'
import type { AnyEntity, InferInsert } from './define-entity'
import { AsyncValidatorError, type ValidationResult, validate, validateSync } from './validate'

/** Options of {@link standardSchema}. */
export interface StandardSchemaOptions {
  /** `insert`: the fields an insert needs must be there; `update`: any subset. Default: `'insert'`. */
  mode?: 'insert' | 'update' | undefined
  /** Convert values of another JavaScript type (`'42'` → 42, ISO text → `Date`), for form and query input. Default: `false`. */
  coerce?: boolean | undefined
}

function toResult<T>(result: ValidationResult<unknown>): StandardSchemaV1.Result<T> {
  if (result.ok) return { value: result.value as T }
  return { issues: result.issues.map((issue: ValidationIssue) => ({ message: issue.message, path: issue.path })) }
}

/**
 * The `~standard` property of a Standard Schema (v1) validating with the entity's own validation, so an entity
 * plugs into anything that takes a Standard Schema (tRPC inputs, TanStack Form, Hono validators…). Synchronous
 * when every validator of the entity is; a promise otherwise. Issues carry the field path.
 */
export function standardSchemaProps<E extends AnyEntity, T = InferInsert<E>>(
  entity: E,
  options: StandardSchemaOptions = {},
): StandardSchemaV1.Props<T, T> {
  const validateOptions = { mode: options.mode ?? 'insert', coerce: options.coerce === true } as const
  return {
    version: 1,
    vendor: 'tessera',
    validate(value) {
      try {
        return toResult<T>(validateSync(entity, value, validateOptions))
      } catch (error) {
        if (!(error instanceof AsyncValidatorError)) throw error
        return validate(entity, value, validateOptions).then((result) => toResult<T>(result))
      }
    },
  }
}

/**
 * A Standard Schema for `entity` with other options than the entity's own `~standard` (which validates an insert,
 * strictly): `standardSchema(User, { coerce: true })` for form input, `{ mode: 'update' }` for a patch.
 * @example const input = standardSchema(User, { coerce: true }) // pass to a form library or a router
 */
export function standardSchema<E extends AnyEntity, const O extends StandardSchemaOptions = {}>(
  entity: E,
  options?: O,
): StandardSchemaV1<O['mode'] extends 'update' ? Partial<InferInsert<E>> : InferInsert<E>> {
  return { '~standard': standardSchemaProps(entity, options) } as never
}
