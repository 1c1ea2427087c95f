import { ConversionError, describeValue } from '@tessera/core'
import fc from 'fast-check'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { CONVERT_RULES, type ConvertKind, type ConvertOptions, convert, type JsonValue } from '../src/index'

const KINDS = Object.keys(CONVERT_RULES) as ConvertKind[]

function conversionError(fn: () => unknown): ConversionError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(ConversionError)
    return error as ConversionError
  }
  throw new Error('expected a ConversionError, nothing was thrown')
}

describe('CONVERT_RULES', () => {
  it('describes every kind, and each rule names its own kind', () => {
    expect(KINDS.sort()).toEqual(
      ['bigint', 'boolean', 'bytes', 'date', 'float', 'integer', 'json', 'number', 'numeric', 'string', 'timestamp', 'uuid'].sort(),
    )
    for (const kind of KINDS) {
      expect(CONVERT_RULES[kind].kind).toBe(kind)
      expect(CONVERT_RULES[kind].examples.length).toBeGreaterThan(0)
      expect(CONVERT_RULES[kind].rejects.length).toBeGreaterThan(0)
    }
  })

  for (const kind of KINDS) {
    const rule = CONVERT_RULES[kind]
    it.each(rule.examples.map(([input, output]) => [describeValue(input), input, output]))(
      `converts %s to ${kind} as the table says`,
      (_name, input, output) => {
        expect(convert(input, kind)).toEqual(output)
      },
    )
    it.each(rule.rejects.map((input) => [describeValue(input), input]))(
      `refuses %s for ${kind} with the table's accepted text`,
      (_name, input) => {
        const error = conversionError(() => convert(input, kind))
        expect(error.target).toBe(kind)
        expect(error.value).toBe(input)
        expect(error.message).toContain(`accepted: ${rule.accepted}`)
      },
    )
  }
})

describe('convert: null and empty input', () => {
  it.each(KINDS)('refuses null and undefined for %s unless nullable', (kind) => {
    expect(conversionError(() => convert(null, kind)).message).toContain('nullable: true')
    conversionError(() => convert(undefined, kind))
    expect(convert(null, kind, { nullable: true })).toBeNull()
    expect(convert(undefined, kind, { nullable: true })).toBeNull()
  })

  it.each(KINDS.filter((kind) => kind !== 'string'))('reads an empty or blank string as null for %s only with emptyAsNull', (kind) => {
    expect(conversionError(() => convert('', kind)).message).toContain('emptyAsNull')
    expect(convert('', kind, { emptyAsNull: true })).toBeNull()
    expect(convert('  \t', kind, { emptyAsNull: true })).toBeNull()
  })

  it("keeps '' and blanks as strings for 'string', and only '' becomes null with emptyAsNull", () => {
    expect(convert('', 'string')).toBe('')
    expect(convert('', 'string', { emptyAsNull: true })).toBeNull()
    expect(convert('  ', 'string', { emptyAsNull: true })).toBe('  ')
  })

  it('refuses an unknown kind, listing the kinds', () => {
    const error = conversionError(() => convert(1, 'money' as ConvertKind))
    expect(error.message).toContain('integer')
  })
})

describe('convert: integer and bigint', () => {
  it('trims and reads decimal digits', () => {
    expect(convert('\n 0042 ', 'integer')).toBe(42)
    expect(convert('-0', 'integer')).toBe(0)
    expect(Object.is(convert(-0, 'integer'), 0)).toBe(true)
  })

  it("says why '4.2' and '42abc' are not integers", () => {
    expect(conversionError(() => convert('4.2', 'integer')).message).toContain('not a whole number')
    expect(conversionError(() => convert('42abc', 'integer')).message).toContain('not decimal digits')
  })

  it("suggests 'bigint' for integers beyond the safe range", () => {
    for (const value of ['9007199254740992', 2 ** 53, 2n ** 53n, -(2n ** 53n)]) {
      expect(conversionError(() => convert(value, 'integer')).message).toContain("'bigint'")
    }
    expect(convert(Number.MIN_SAFE_INTEGER, 'integer')).toBe(Number.MIN_SAFE_INTEGER)
    expect(convert(BigInt(Number.MAX_SAFE_INTEGER), 'integer')).toBe(Number.MAX_SAFE_INTEGER)
  })

  it('reads bigints of any length from strings', () => {
    expect(convert('-123456789012345678901234567890', 'bigint')).toBe(-123456789012345678901234567890n)
  })

  it('refuses numbers beyond the safe range for bigint, as they may have lost digits already', () => {
    expect(conversionError(() => convert(2 ** 60, 'bigint')).message).toContain('pass a string')
  })
})

describe('convert: float, number and numeric', () => {
  it('refuses text that Number() would quietly accept', () => {
    for (const text of ['0x10', '0b1', '1_000', 'Infinity', ' ', '1e999']) conversionError(() => convert(text, 'float'))
  })

  it('reads a bigint as the nearest double for float but refuses a lossy one for number', () => {
    expect(convert(2n ** 60n + 1n, 'float')).toBe(2 ** 60)
    expect(conversionError(() => convert(2n ** 60n + 1n, 'number')).message).toContain("'bigint'")
  })

  it('keeps numeric text exactly as written, beyond double precision', () => {
    expect(convert('123456789012345678901234567890.000000000001', 'numeric')).toBe('123456789012345678901234567890.000000000001')
  })

  it('writes numbers as plain decimal text, never with an exponent', () => {
    expect(convert(-1.5e-10, 'numeric')).toBe('-0.00000000015')
    expect(convert(1.25e22, 'numeric')).toBe('12500000000000000000000')
    expect(convert(5e-324, 'numeric')).toMatch(/^0\.0{323}5$/)
  })
})

describe('convert: boolean', () => {
  it.each(['true', 'T', 'yes', 'Y', 'on', 'ON', '1', ' True '])('reads %j as true', (text) => {
    expect(convert(text, 'boolean')).toBe(true)
  })

  it.each(['false', 'F', 'no', 'N', 'off', 'Off', '0'])('reads %j as false', (text) => {
    expect(convert(text, 'boolean')).toBe(false)
  })
})

describe('convert: date and timestamp', () => {
  it("reads epoch seconds with { epoch: 's' } and milliseconds by default", () => {
    expect(convert(1_700_000_000, 'timestamp', { epoch: 's' })).toEqual(new Date(1_700_000_000_000))
    expect(convert(1.5, 'timestamp', { epoch: 's' })).toEqual(new Date(1500))
    expect(convert(1_700_000_000, 'timestamp')).toEqual(new Date(1_700_000_000))
    expect(convert(86_400, 'date', { epoch: 's' })).toBe('1970-01-02')
  })

  it('reads zone offsets with and without a colon, and fractions finer than milliseconds', () => {
    expect(convert('2024-01-02T03:04:05-0130', 'timestamp')).toEqual(new Date(Date.UTC(2024, 0, 2, 4, 34, 5)))
    expect(convert('2024-01-02T03:04:05.123456+05', 'timestamp')).toEqual(new Date(Date.UTC(2024, 0, 1, 22, 4, 5, 123)))
    expect(convert('2024-01-02t03:04:05z', 'timestamp')).toEqual(new Date(Date.UTC(2024, 0, 2, 3, 4, 5)))
  })

  it('returns a copy of a Date, so later changes to the input do not leak', () => {
    const input = new Date(0)
    const output = convert(input, 'timestamp')
    input.setTime(5)
    expect(output.getTime()).toBe(0)
  })

  it('refuses times that roll over and impossible offsets', () => {
    for (const text of ['2024-01-02T24:00:00Z', '2024-01-02T10:60Z', '2024-01-02T10:00+16:00', '0000-01-01']) {
      conversionError(() => convert(text, 'timestamp'))
    }
  })

  it('takes the UTC calendar date of a Date', () => {
    expect(convert(new Date('2024-03-01T00:30:00+02:00'), 'date')).toBe('2024-02-29')
  })
})

describe('convert: uuid, json, bytes, string', () => {
  it('lower-cases and hyphenates UUIDs of any version', () => {
    expect(convert('FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF', 'uuid')).toBe('ffffffff-ffff-ffff-ffff-ffffffffffff')
    expect(convert(' 018f2b9a-7c3e-7b1a-9f00-0123456789ab ', 'uuid')).toBe('018f2b9a-7c3e-7b1a-9f00-0123456789ab')
  })

  it('refuses a circular object and a bigint for json', () => {
    const node: Record<string, unknown> = {}
    node.self = node
    expect(conversionError(() => convert(node, 'json')).message).toContain('circular')
    expect(conversionError(() => convert({ n: [1n] }, 'json')).message).toContain('bigint')
    expect(conversionError(() => convert({ n: Number.NaN }, 'json')).message).toContain('NaN')
  })

  it('returns json as it will be stored: Dates become strings, undefined fields vanish', () => {
    expect(convert({ at: new Date(0), gone: undefined }, 'json')).toEqual({ at: '1970-01-01T00:00:00.000Z' })
  })

  it('returns a Buffer over the same memory for bytes', () => {
    const input = new Uint8Array([1, 2])
    const output = convert(input, 'bytes')
    expect(Buffer.isBuffer(output)).toBe(true)
    input[0] = 9
    expect(output[0]).toBe(9)
  })

  it('refuses objects for string, suggesting nothing it would have to guess', () => {
    const error = conversionError(() => convert({ a: 1 }, 'string'))
    expect(error.message).toContain('an object is not accepted')
  })
})

describe('convert: types', () => {
  it('returns the kind’s type, adding null only when the options allow it', () => {
    expectTypeOf(convert('1', 'integer')).toEqualTypeOf<number>()
    expectTypeOf(convert('1', 'bigint')).toEqualTypeOf<bigint>()
    expectTypeOf(convert(1, 'timestamp', { epoch: 's' })).toEqualTypeOf<Date>()
    expectTypeOf(convert('1', 'json')).toEqualTypeOf<JsonValue>()
    expectTypeOf(convert('1', 'integer', { nullable: true })).toEqualTypeOf<number | null>()
    expectTypeOf(convert('', 'uuid', { emptyAsNull: true })).toEqualTypeOf<string | null>()
    const options: ConvertOptions = {}
    expectTypeOf(convert('1', 'boolean', options)).toEqualTypeOf<boolean | null>()
    expect(convert('1', 'boolean', options)).toBe(true)
  })
})

describe('convert: properties', () => {
  it('round-trips any safe integer through string → integer → string', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => {
        expect(convert(convert(convert(n, 'string'), 'integer'), 'string')).toBe(String(n))
      }),
    )
  })

  it('round-trips any bigint through its decimal text', () => {
    fc.assert(
      fc.property(fc.bigInt(), (n) => {
        expect(convert(convert(n, 'string'), 'bigint')).toBe(n)
      }),
    )
  })

  it('reads back any finite double from the numeric text it writes', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (n) => {
        const text = convert(n, 'numeric')
        expect(text).not.toMatch(/e/i)
        expect(convert(text, 'float')).toBe(n === 0 ? 0 : n)
      }),
    )
  })

  it('reads back any valid Date from its ISO text', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }),
        (date) => {
          expect(convert(convert(date, 'string'), 'timestamp')).toEqual(date)
        },
      ),
    )
  })

  it('never returns anything but an integer or a ConversionError for arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          const n = convert(text, 'integer')
          expect(Number.isSafeInteger(n)).toBe(true)
          expect(text.trim()).toMatch(/^[+-]?\d+$/)
        } catch (error) {
          expect(error).toBeInstanceOf(ConversionError)
        }
      }),
    )
  })
})
