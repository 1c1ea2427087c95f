import { describe, expect, it, vi } from 'vitest'
import * as core from '../src/index'

// After resetModules, importing core again evaluates every module afresh: a second copy with its own classes, the
// situation of a CommonJS and an ESM build of core loaded side by side, or of two installed versions.
vi.resetModules()
const other: typeof core = await import('../src/index')

function otherUniqueViolation(): core.UniqueViolationError {
  return new other.UniqueViolationError({ message: 'duplicate key value violates unique constraint "users_email_key"', code: '23505' })
}

describe('instanceof across two copies of core', () => {
  it('loads really separate classes for the test to mean anything', () => {
    expect(other.TesseraError).not.toBe(core.TesseraError)
    expect(other.UniqueViolationError).not.toBe(core.UniqueViolationError)
    expect(Object.getPrototypeOf(otherUniqueViolation())).not.toBe(core.UniqueViolationError.prototype)
  })

  it('recognises an error of the other copy as its own class and every ancestor', () => {
    const error = otherUniqueViolation()
    expect(error instanceof core.UniqueViolationError).toBe(true)
    expect(error instanceof core.IntegrityConstraintError).toBe(true)
    expect(error instanceof core.DatabaseError).toBe(true)
    expect(error instanceof core.TesseraError).toBe(true)
    expect(error instanceof Error).toBe(true)
  })

  it('keeps subclass semantics: sibling and descendant classes do not match', () => {
    const error = otherUniqueViolation()
    expect(error instanceof core.ForeignKeyViolationError).toBe(false)
    expect(error instanceof core.SerializationFailureError).toBe(false)
    expect(new other.DatabaseError({ message: 'boom', code: 'XX000' }) instanceof core.UniqueViolationError).toBe(false)
    expect(new other.TimeoutError({ operation: 'query', timeoutMs: 5 }) instanceof core.DatabaseError).toBe(false)
    expect(new other.TimeoutError({ operation: 'query', timeoutMs: 5 }) instanceof core.TimeoutError).toBe(true)
  })

  it('works in both directions', () => {
    const ours = new core.UniqueViolationError({ message: 'duplicate', code: '23505' })
    expect(ours instanceof other.UniqueViolationError).toBe(true)
    expect(ours instanceof other.TesseraError).toBe(true)
    expect(ours instanceof other.CheckViolationError).toBe(false)
  })

  it('does not take an unbranded error, or one of a same-named class outside Tessera, for a Tessera error', () => {
    class TimeoutError extends Error {}
    expect(new TimeoutError('late') instanceof core.TimeoutError).toBe(false)
    expect(new Error('plain') instanceof core.TesseraError).toBe(false)
    expect({ name: 'TesseraError' } instanceof core.TesseraError).toBe(false)
    expect((null as unknown as object) instanceof core.TesseraError).toBe(false)
  })

  it('matches a subclass defined by a user of the other copy only through its Tessera ancestors', () => {
    class AppError extends other.TesseraError {
      constructor() {
        super('app failed', { code: 'APP' })
      }
    }
    const error = new AppError()
    expect(error instanceof core.TesseraError).toBe(true)
    expect(error instanceof core.ConfigError).toBe(false)
    expect(error instanceof AppError).toBe(true)
  })
})
