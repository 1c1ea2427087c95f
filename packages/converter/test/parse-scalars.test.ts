import { ConversionError } from '@tessera/core'
import { describe, expect, it } from 'vitest'
import { createTypeRegistry, OIDS, type TypeRegistry } from '../src/index'

const registry = createTypeRegistry()
const parse = (type: keyof typeof OIDS, text: string, from: TypeRegistry = registry) => from.getParser(OIDS[type])(text)

describe('booleans and numbers', () => {
  it('reads t/f as booleans', () => {
    expect(parse('bool', 't')).toBe(true)
    expect(parse('bool', 'f')).toBe(false)
  })

  it('rejects text that is not a boolean with the value named', () => {
    expect(() => parse('bool', 'maybe')).toThrow(/"maybe" to boolean/)
  })

  it('reads int2, int4, oid and floats as numbers, including NaN and infinities', () => {
    expect(parse('int2', '-32768')).toBe(-32768)
    expect(parse('int4', '2147483647')).toBe(2147483647)
    expect(parse('oid', '4294967295')).toBe(4294967295)
    expect(parse('float8', '1e-07')).toBe(1e-7)
    expect(parse('float4', '-0')).toBe(-0)
    expect(parse('float8', 'NaN')).toBeNaN()
    expect(parse('float8', 'Infinity')).toBe(Number.POSITIVE_INFINITY)
    expect(parse('float8', '-Infinity')).toBe(Number.NEGATIVE_INFINITY)
  })

  it('reads int8 as an exact bigint by default', () => {
    expect(parse('int8', '9223372036854775807')).toBe(9223372036854775807n)
    expect(parse('int8', '-9223372036854775808')).toBe(-9223372036854775808n)
  })

  it("reads int8 as a number with the 'number' policy and refuses values that would lose digits", () => {
    const numbers = createTypeRegistry({ int8: 'number' })
    expect(parse('int8', '9007199254740991', numbers)).toBe(9007199254740991)
    expect(parse('int8', '-42', numbers)).toBe(-42)
    const error = (() => {
      try {
        parse('int8', '9007199254740993', numbers)
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(ConversionError)
    expect((error as Error).message).toMatch(/"9007199254740993".*safe integer range.*'bigint'/)
  })

  it("keeps int8 text with the 'string' policy", () => {
    expect(parse('int8', '9223372036854775807', createTypeRegistry({ int8: 'string' }))).toBe('9223372036854775807')
  })

  it('keeps numeric as exact text by default, NaN and infinities included', () => {
    expect(parse('numeric', '123456789012345678901234567890.000000000000000001')).toBe('123456789012345678901234567890.000000000000000001')
    expect(parse('numeric', 'NaN')).toBe('NaN')
    expect(parse('numeric', '-Infinity')).toBe('-Infinity')
  })

  it('reads numeric as a number or through a user decimal constructor', () => {
    expect(parse('numeric', '1.25', createTypeRegistry({ numeric: 'number' }))).toBe(1.25)
    expect(parse('numeric', 'Infinity', createTypeRegistry({ numeric: 'number' }))).toBe(Number.POSITIVE_INFINITY)
    class Decimal {
      constructor(readonly text: string) {}
    }
    const decimals = createTypeRegistry({ numeric: (text) => new Decimal(text) })
    expect(parse('numeric', '0.1', decimals)).toEqual(new Decimal('0.1'))
    expect(parse('_numeric', '{0.1,NULL}', decimals)).toEqual([new Decimal('0.1'), null])
    expect(parse('numrange', '[1.5,2)', decimals)).toMatchObject({ lower: new Decimal('1.5'), upper: new Decimal('2') })
  })
})

describe('text-like types', () => {
  it.each([
    ['text', 'héllo "world"'],
    ['varchar', ''],
    ['bpchar', 'ab  '],
    ['name', 'pg_class'],
    ['uuid', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'],
    ['inet', '192.168.0.1/24'],
    ['cidr', '10.0.0.0/8'],
    ['macaddr', '08:00:2b:01:02:03'],
    ['macaddr8', '08:00:2b:01:02:03:04:05'],
    ['bit', '1010'],
    ['varbit', '101'],
    ['time', '04:05:06.789'],
    ['timetz', '04:05:06+02'],
  ] as const)('returns %s text unchanged', (type, text) => {
    expect(parse(type, text)).toBe(text)
  })

  it('returns the text of an OID it has no codec for', () => {
    expect(registry.getParser(999_999)('anything')).toBe('anything')
  })
})

describe('bytea', () => {
  it('reads the hex format into a Buffer', () => {
    const value = parse('bytea', '\\x00ff5c41')
    expect(Buffer.isBuffer(value)).toBe(true)
    expect([...(value as Buffer)]).toEqual([0, 255, 92, 65])
    expect(parse('bytea', '\\x')).toEqual(Buffer.alloc(0))
  })

  it('reads the legacy escape format', () => {
    expect([...(parse('bytea', '\\000\\377\\\\A') as Buffer)]).toEqual([0, 255, 92, 65])
  })

  it("returns a plain Uint8Array with the 'Uint8Array' policy", () => {
    const value = parse('bytea', '\\x0102', createTypeRegistry({ bytea: 'Uint8Array' }))
    expect(value).toBeInstanceOf(Uint8Array)
    expect(Buffer.isBuffer(value)).toBe(false)
    expect([...(value as Uint8Array)]).toEqual([1, 2])
  })

  it('rejects malformed hex with the value named', () => {
    expect(() => parse('bytea', '\\x0g')).toThrow(ConversionError)
    expect(() => parse('bytea', '\\x012')).toThrow(/"\\\\x012" to bytes/)
  })
})

describe('json, point and vector', () => {
  it('parses json and jsonb', () => {
    expect(parse('jsonb', '{"a": [1, "b\\"c", null]}')).toEqual({ a: [1, 'b"c', null] })
    expect(parse('json', '"text"')).toBe('text')
    expect(parse('json', 'null')).toBeNull()
  })

  it('reads a point as { x, y }', () => {
    expect(parse('point', '(1.5,-2)')).toEqual({ x: 1.5, y: -2 })
    expect(() => parse('point', '1,2')).toThrow(/"1,2" to point/)
  })

  it('reads pgvector text as numbers once the vector type is resolved', async () => {
    const vectors = createTypeRegistry()
    await vectors.resolveNames(async () => [{ name: 'vector', oid: 70_001, arrayOid: 70_002 }])
    expect(vectors.getParser(70_001)('[1,2.5,-3e-05]')).toEqual([1, 2.5, -3e-5])
    expect(vectors.getParser(70_002)('{"[1,2]",NULL}')).toEqual([[1, 2], null])
  })
})
