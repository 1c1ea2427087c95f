import { describe, expect, it } from 'vitest'
import { parseName, splitWords, toCamel, toKebab, toPascal, toScreamingSnake, toSnake } from '../src/index'
import { readmeTable } from './readme-tables'

const rows = readmeTable('words')

describe('the README word-splitting table', () => {
  it('has the examples the spec asks for', () => {
    const inputs = rows.map((row) => row[0]?.[0])
    expect(rows.length).toBeGreaterThanOrEqual(15)
    expect(inputs).toEqual(
      expect.arrayContaining(['userID', 'HTTPServerURL', 'ID', 'user2FACode', 'already_snake', 'first_name', '_private']),
    )
  })

  for (const [input, words, snake, camel, pascal, kebab, screaming] of rows) {
    const name = input?.[0] as string
    it(`converts ${JSON.stringify(name)} as documented`, () => {
      expect(splitWords(name)).toEqual(words)
      expect(toSnake(name)).toBe(snake?.[0])
      expect(toCamel(name)).toBe(camel?.[0])
      expect(toPascal(name)).toBe(pascal?.[0])
      expect(toKebab(name)).toBe(kebab?.[0])
      expect(toScreamingSnake(name)).toBe(screaming?.[0])
    })
  }
})

describe('splitWords', () => {
  it('never joins words that camelCase keeps apart (first_name is never firstname)', () => {
    expect(toCamel('first_name')).toBe('firstName')
    expect(toPascal('first_name')).toBe('FirstName')
    expect(toCamel('FIRST_NAME')).toBe('firstName')
  })

  it('keeps leading and trailing underscores apart from the words', () => {
    expect(parseName('__private_field_')).toEqual({ prefix: '__', words: ['private', 'field'], suffix: '_' })
  })

  it('returns a fresh array the caller may change without affecting later calls', () => {
    const words = splitWords('userId')
    words.push('oops')
    expect(splitWords('userId')).toEqual(['user', 'Id'])
  })

  it('keeps astral letters whole', () => {
    expect(splitWords('𝒜bc_def')).toEqual(['𝒜bc', 'def'])
  })
})
