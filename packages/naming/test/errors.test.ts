import { isTesseraError, SqlError, TesseraError } from '@tessera/core'
import { describe, expect, it } from 'vitest'
import {
  NamingError,
  pluralize,
  quoteIdent,
  safeIdentifier,
  splitWords,
  toCamel,
  toKebab,
  toPascal,
  toScreamingSnake,
  toSnake,
} from '../src/index'

const conversions = { toSnake, toCamel, toPascal, toKebab, toScreamingSnake, splitWords }

function caught(fn: () => unknown): NamingError {
  try {
    fn()
  } catch (error) {
    if (error instanceof NamingError) return error
    throw error
  }
  throw new Error('expected a NamingError')
}

describe('NamingError', () => {
  it('is a TesseraError with code NAMING_INVALID that names the input and what is accepted', () => {
    const error = caught(() => toSnake('$$$'))
    expect(error).toBeInstanceOf(TesseraError)
    expect(isTesseraError(error)).toBe(true)
    expect(error.code).toBe('NAMING_INVALID')
    expect(error.retryable).toBe(false)
    expect(error.name).toBe('NamingError')
    expect(error.input).toBe('$$$')
    expect(error.message).toBe(
      'invalid name "$$$": contains no letters or digits; accepted: a string with at least one letter or digit, e.g. "userId" or "user_id"',
    )
    expect(error.toJSON()).toMatchObject({ code: 'NAMING_INVALID', input: '$$$' })
  })

  for (const [name, convert] of Object.entries(conversions)) {
    it(`${name} rejects empty strings, non-strings and names made only of symbols`, () => {
      for (const bad of ['', '$$$', '---', '___', ' ', null, undefined, 42, {}, ['a']]) {
        expect(() => convert(bad as string)).toThrow(NamingError)
      }
    })
  }

  it('says what type it got instead of a string', () => {
    expect(() => toCamel(null as unknown as string)).toThrow(/invalid name null: expected a string, got null/)
    expect(() => toCamel(['a'] as unknown as string)).toThrow(/got an array/)
  })

  it('is also what inflection and identifier functions throw', () => {
    expect(caught(() => pluralize('---')).code).toBe('NAMING_INVALID')
    expect(caught(() => safeIdentifier('')).code).toBe('NAMING_INVALID')
  })

  it("is not what quoteIdent throws: it is core's quoter and throws core's SqlError, as sql.id does", () => {
    expect(() => quoteIdent('')).toThrow(SqlError)
    expect(() => quoteIdent('')).toThrow(/identifier "" is empty/)
  })
})
