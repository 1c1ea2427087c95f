import { describe, expect, it } from 'vitest'
import { DYNAMO_RESERVED_WORDS, NamingError, needsDynamoPlaceholder } from '../src/index'

describe('DYNAMO_RESERVED_WORDS', () => {
  it('holds the complete DynamoDB list, upper case', () => {
    expect(DYNAMO_RESERVED_WORDS.size).toBe(573)
    for (const word of DYNAMO_RESERVED_WORDS) expect(word).toMatch(/^[A-Z]+$/)
    for (const word of ['ABORT', 'NAME', 'STATUS', 'DATA', 'TTL', 'TIMESTAMP', 'USERS', 'FLATTERN', 'ZONE']) {
      expect(DYNAMO_RESERVED_WORDS.has(word)).toBe(true)
    }
  })
})

describe('needsDynamoPlaceholder', () => {
  it('flags reserved words in any case', () => {
    expect(needsDynamoPlaceholder('name')).toBe(true)
    expect(needsDynamoPlaceholder('Status')).toBe(true)
    expect(needsDynamoPlaceholder('ttl')).toBe(true)
    for (const word of DYNAMO_RESERVED_WORDS) expect(needsDynamoPlaceholder(word.toLowerCase())).toBe(true)
  })

  it('flags leading digits and characters outside [A-Za-z0-9_]', () => {
    expect(needsDynamoPlaceholder('2fa')).toBe(true)
    expect(needsDynamoPlaceholder('first-name')).toBe(true)
    expect(needsDynamoPlaceholder('first name')).toBe(true)
    expect(needsDynamoPlaceholder('café')).toBe(true)
    expect(needsDynamoPlaceholder('address.city')).toBe(true)
  })

  it('lets ordinary attribute names through', () => {
    for (const name of ['userId', 'createdAt', 'pk', 'SK', 'gsi1pk', '_version', 'order_total']) {
      expect([name, needsDynamoPlaceholder(name)]).toEqual([name, false])
    }
  })

  it('rejects a non-string or empty attribute name', () => {
    expect(() => needsDynamoPlaceholder('')).toThrow(NamingError)
    expect(() => needsDynamoPlaceholder(undefined as unknown as string)).toThrow(/expected a string, got undefined/)
  })
})
