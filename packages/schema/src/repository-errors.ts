import { type DatabaseErrorDetails, SERVER_ERROR_FIELDS, UniqueViolationError } from '@tessera/core'

const COPIED = [...SERVER_ERROR_FIELDS, 'driverCode', 'query'] as const

/**
 * A unique violation raised by a repository write, with the entity and the fields of the violated constraint.
 * It is a `UniqueViolationError` (SQLSTATE 23505): code that checks for that keeps working. The driver's error
 * is the `cause`.
 *
 * @example
 * try { await users.insert({ email }) }
 * catch (error) { if (error instanceof DuplicateKeyError && error.fields.includes('email')) … }
 */
export class DuplicateKeyError extends UniqueViolationError {
  /** The entity written. */
  readonly entity: string
  /** The entity fields of the violated constraint, in constraint order. */
  readonly fields: readonly string[]

  constructor(error: UniqueViolationError, entity: string, fields: readonly string[]) {
    const details: DatabaseErrorDetails = { code: error.code, message: `${error.message} (${entity}: ${fields.join(', ')})` }
    for (const key of COPIED) {
      const value = error[key]
      if (value !== undefined) (details as Record<string, unknown>)[key] = value
    }
    super(details, { cause: error })
    this.entity = entity
    this.fields = fields
  }
}
