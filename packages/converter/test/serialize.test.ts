import { ConversionError, isTesseraError } from '@tessera/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createTypeRegistry, OIDS, parseArray, Range, serializeParam, serializeParams } from '../src/index'

/** Runs `fn`, which must throw a ConversionError, and returns it. */
function conversionError(fn: () => unknown): ConversionError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(ConversionError)
    expect(isTesseraError(error)).toBe(true)
    return error as ConversionError
  }
  throw new Error('expected a ConversionError, nothing was thrown')
}

describe('serializeParam: scalars', () => {
  it('sends strings exactly as they are', () => {
    expect(serializeParam('')).toBe('')
    expect(serializeParam(' a "b" \\ {c}, NULL ')).toBe(' a "b" \\ {c}, NULL ')
  })

  it('sends null and undefined as SQL NULL', () => {
    expect(serializeParam(null)).toBeNull()
    expect(serializeParam(undefined)).toBeNull()
  })

  it('writes numbers as decimal text, keeping the sign of -0', () => {
    expect(serializeParam(42)).toBe('42')
    expect(serializeParam(-1.5)).toBe('-1.5')
    expect(serializeParam(1e21)).toBe('1e+21')
    expect(serializeParam(-0)).toBe('-0')
    expect(serializeParam(0)).toBe('0')
  })

  it('writes NaN and the infinities as the words float, numeric and timestamps accept', () => {
    expect(serializeParam(Number.NaN)).toBe('NaN')
    expect(serializeParam(Number.POSITIVE_INFINITY)).toBe('Infinity')
    expect(serializeParam(Number.NEGATIVE_INFINITY)).toBe('-Infinity')
  })

  it('writes bigints as all their digits', () => {
    expect(serializeParam(-123456789012345678901234567890n)).toBe('-123456789012345678901234567890')
  })

  it("writes booleans as 't' and 'f'", () => {
    expect(serializeParam(true)).toBe('t')
    expect(serializeParam(false)).toBe('f')
  })

  it('unwraps boxed primitives', () => {
    expect(serializeParam(Object('x'))).toBe('x')
    expect(serializeParam(Object(3))).toBe('3')
    expect(serializeParam(Object(false))).toBe('f')
  })
})

describe('serializeParam: dates', () => {
  it('writes a Date in UTC with milliseconds and an explicit offset', () => {
    expect(serializeParam(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678)))).toBe('2024-01-02T03:04:05.678+00:00')
    expect(serializeParam(new Date(Date.UTC(2024, 0, 2)))).toBe('2024-01-02T00:00:00.000+00:00')
  })

  it('writes years before 1 AD with BC, as PostgreSQL counts them (astronomical year 0 is 1 BC)', () => {
    const d = new Date(Date.UTC(2000, 2, 15))
    d.setUTCFullYear(-43)
    expect(serializeParam(d)).toBe('0044-03-15T00:00:00.000+00:00 BC')
    d.setUTCFullYear(0)
    expect(serializeParam(d)).toBe('0001-03-15T00:00:00.000+00:00 BC')
  })

  it('writes years past 9999 without the sign and padding of toISOString', () => {
    expect(serializeParam(new Date('+010000-01-01T00:00:00.000Z'))).toBe('10000-01-01T00:00:00.000+00:00')
  })

  it('refuses an invalid Date, naming the parameter', () => {
    const error = conversionError(() => serializeParam(new Date(Number.NaN), 2))
    expect(error.position).toBe(2)
    expect(error.target).toBe('timestamptz')
    expect(error.message).toContain('Invalid Date')
    expect(error.message).toContain('$2')
  })
})

describe('serializeParam: bytes', () => {
  it('writes a Buffer as bytea hex', () => {
    expect(serializeParam(Buffer.from([0, 1, 0xab, 0xff]))).toBe('\\x0001abff')
    expect(serializeParam(Buffer.alloc(0))).toBe('\\x')
  })

  it('writes only the viewed part of a Uint8Array over a larger buffer', () => {
    const whole = new Uint8Array([1, 2, 3, 4, 5])
    expect(serializeParam(whole.subarray(1, 3))).toBe('\\x0203')
  })

  it('writes an ArrayBuffer as bytea hex', () => {
    expect(serializeParam(new Uint8Array([9, 10]).buffer)).toBe('\\x090a')
  })
})

describe('serializeParam: arrays', () => {
  it('writes a flat array with NULL elements', () => {
    expect(serializeParam([1, null, undefined, 3])).toBe('{1,NULL,NULL,3}')
  })

  it('writes nested arrays as dimensions', () => {
    expect(
      serializeParam([
        [1, 2],
        [3, 4],
      ]),
    ).toBe('{{1,2},{3,4}}')
    expect(serializeParam([[[1], [2]]])).toBe('{{{1},{2}}}')
  })

  it('quotes elements PostgreSQL would otherwise misread', () => {
    expect(serializeParam(['', 'NULL', 'null', 'a b', 'a,b', '{x}', 'tab\there', 'new\nline'])).toBe(
      '{"","NULL","null","a b","a,b","{x}","tab\there","new\nline"}',
    )
  })

  it('escapes quotes and backslashes inside elements', () => {
    expect(serializeParam(['say "hi"', 'back\\slash'])).toBe('{"say \\"hi\\"","back\\\\slash"}')
  })

  it('leaves plain elements bare', () => {
    expect(serializeParam(['abc', 'Nullable', 'é'])).toBe('{abc,Nullable,é}')
  })

  it('writes an empty array, and arrays with an empty dimension, as {}', () => {
    expect(serializeParam([])).toBe('{}')
    expect(serializeParam([[]])).toBe('{}')
    expect(serializeParam([[], []])).toBe('{}')
  })

  it('writes arrays of Dates, Buffers, booleans, bigints and objects element by element', () => {
    expect(serializeParam([new Date(0)])).toBe('{1970-01-01T00:00:00.000+00:00}')
    expect(serializeParam([Buffer.from('hi'), null])).toBe('{"\\\\x6869",NULL}')
    expect(serializeParam([true, false])).toBe('{t,f}')
    expect(serializeParam([1n, -2n])).toBe('{1,-2}')
    expect(serializeParam([{ a: 'x y' }])).toBe('{"{\\"a\\":\\"x y\\"}"}')
  })

  it('writes typed numeric arrays as array literals', () => {
    expect(serializeParam(new Int16Array([1, -2]))).toBe('{1,-2}')
    expect(serializeParam(new Float64Array([0.5]))).toBe('{0.5}')
    expect(serializeParam(new BigInt64Array([5n]))).toBe('{5}')
  })

  it('writes arrays of ranges and points with each element quoted', () => {
    expect(serializeParam([new Range(1, 5), Range.empty()])).toBe('{"[1,5)",empty}')
    expect(serializeParam([{ x: 1, y: 2 }])).toBe('{"(1,2)"}')
  })

  it('refuses ragged arrays, naming the parameter', () => {
    const error = conversionError(() => serializeParam([[1], [2, 3]], 3))
    expect(error.message).toContain('ragged')
    expect(error.message).toContain('$3')
    expect(error.position).toBe(3)
    conversionError(() => serializeParam([[1, 2], []]))
  })

  it('refuses arrays mixing sub-arrays and single values', () => {
    expect(conversionError(() => serializeParam([1, [2]])).message).toContain('mixes arrays and single values')
    expect(conversionError(() => serializeParam([[1], 2])).message).toContain('mixes arrays and single values')
  })

  it('refuses sparse arrays instead of guessing NULL', () => {
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point of the test
    expect(conversionError(() => serializeParam([1, , 3])).message).toContain('index 1 is a hole')
    expect(conversionError(() => serializeParam(new Array(2))).message).toContain('hole')
  })

  it('refuses more than six dimensions', () => {
    expect(conversionError(() => serializeParam([[[[[[[1]]]]]]])).message).toContain('at most 6 dimensions')
    expect(serializeParam([[[[[[1]]]]]])).toBe('{{{{{{1}}}}}}')
  })

  it('refuses an array that contains itself instead of overflowing the stack', () => {
    const loop: unknown[] = [1]
    loop.push(loop)
    expect(conversionError(() => serializeParam(loop)).message).toContain('circular')
    const deep: unknown[] = []
    deep.push(deep)
    expect(conversionError(() => serializeParam(deep)).message).toContain('circular')
  })
})

describe('serializeParam: JSON', () => {
  it('writes plain objects as JSON', () => {
    expect(serializeParam({ a: 1, b: ['x', null], c: 'é"\\' })).toBe('{"a":1,"b":["x",null],"c":"é\\"\\\\"}')
    expect(serializeParam({})).toBe('{}')
  })

  it('uses toJSON of class instances', () => {
    class Money {
      constructor(readonly cents: number) {}
      toJSON() {
        return { amount: this.cents / 100 }
      }
    }
    expect(serializeParam(new Money(150))).toBe('{"amount":1.5}')
  })

  it('writes the fields of class instances without toJSON', () => {
    class User {
      name = 'ada'
    }
    expect(serializeParam(new User())).toBe('{"name":"ada"}')
  })

  it('refuses a bigint inside JSON rather than guessing its form', () => {
    const error = conversionError(() => serializeParam({ id: 1n }, 1))
    expect(error.target).toBe('json')
    expect(error.message).toContain('bigint')
  })

  it('refuses NaN and Infinity inside JSON instead of writing null', () => {
    expect(conversionError(() => serializeParam({ ratio: Number.NaN })).message).toContain('JSON has no NaN')
    expect(conversionError(() => serializeParam({ n: [Number.POSITIVE_INFINITY] })).message).toContain('JSON has no Infinity')
  })

  it('refuses a NaN beside real nulls, and one that a toJSON() returns, naming it', () => {
    expect(conversionError(() => serializeParam({ gone: null, list: [null, { n: Number.NaN }] })).message).toContain('JSON has no NaN')
    expect(conversionError(() => serializeParam({ at: null, v: { toJSON: () => Number.NEGATIVE_INFINITY } })).message).toContain(
      'JSON has no -Infinity',
    )
    expect(serializeParam({ gone: null, note: 'nullable', list: [null] })).toBe('{"gone":null,"note":"nullable","list":[null]}')
  })

  it('refuses a circular object instead of overflowing the stack', () => {
    const node: Record<string, unknown> = { name: 'a' }
    node.self = node
    const error = conversionError(() => serializeParam(node, 4))
    expect(error.message).toContain('circular')
    expect(error.position).toBe(4)
  })

  it('refuses a toJSON that returns undefined', () => {
    expect(conversionError(() => serializeParam({ toJSON: () => undefined })).message).toContain('produced nothing')
  })
})

describe('serializeParam: ranges, intervals, points, toPostgres', () => {
  it('writes ranges with their bounds', () => {
    expect(serializeParam(new Range(1, 5))).toBe('[1,5)')
    expect(serializeParam(new Range(1, 5, '(]'))).toBe('(1,5]')
    expect(serializeParam(new Range(null, 5, '[]'))).toBe('(,5]')
    expect(serializeParam(new Range(1, null))).toBe('[1,)')
    expect(serializeParam(new Range(null, null))).toBe('(,)')
    expect(serializeParam(Range.empty())).toBe('empty')
  })

  it('quotes range bounds that hold separators, and the empty string', () => {
    expect(serializeParam(new Range('a b', 'c,"d)'))).toBe('["a b","c,\\"d)")')
    expect(serializeParam(new Range('', 'z'))).toBe('["",z)')
    const from = new Date(Date.UTC(2024, 0, 1))
    expect(serializeParam(new Range(from, null))).toBe('[2024-01-01T00:00:00.000+00:00,)')
  })

  it('reads a range-shaped object from another copy of the package as a range', () => {
    expect(serializeParam({ lower: 2, upper: 3, lowerInclusive: true, upperInclusive: true, empty: false })).toBe('[2,3]')
  })

  it('writes interval objects unit by unit, keeping signs and fractions', () => {
    expect(serializeParam({ years: 1, months: 2, days: 3, hours: 4, minutes: 5, seconds: 6, milliseconds: 789 })).toBe(
      '1 years 2 months 3 days 4 hours 5 minutes 6 seconds 789 milliseconds',
    )
    expect(serializeParam({ years: -1, months: 0, days: 3, hours: 0, minutes: 0, seconds: 0, milliseconds: 0.5 })).toBe(
      '-1 years 3 days 0.5 milliseconds',
    )
    expect(serializeParam({ years: 0, months: 0, days: 0, hours: 0, minutes: 0, seconds: 0, milliseconds: 0 })).toBe('0 seconds')
  })

  it('writes points as (x,y)', () => {
    expect(serializeParam({ x: 1.5, y: -2 })).toBe('(1.5,-2)')
  })

  it('sends objects with other keys as JSON, not as intervals or points', () => {
    expect(serializeParam({ days: 3, note: 'x' })).toBe('{"days":3,"note":"x"}')
    expect(serializeParam({ x: 1, y: 2, z: 3 })).toBe('{"x":1,"y":2,"z":3}')
    expect(serializeParam({ x: '1', y: 2 })).toBe('{"x":"1","y":2}')
  })

  it('uses toPostgres() and serialises what it returns', () => {
    expect(serializeParam({ toPostgres: () => 'custom' })).toBe('custom')
    expect(serializeParam({ toPostgres: () => [1, 2] })).toBe('{1,2}')
    expect(serializeParam({ toPostgres: (prepare: (v: unknown) => string | null) => `(${prepare(true)})` })).toBe('(t)')
    expect(serializeParam([{ toPostgres: () => 'a b' }])).toBe('{"a b"}')
  })

  it('refuses a toPostgres() that returns itself or never ends', () => {
    const self = {
      toPostgres() {
        return self
      },
    }
    expect(conversionError(() => serializeParam(self)).message).toContain('returned the object itself')
    const endless = { toPostgres: (): unknown => ({ toPostgres: endless.toPostgres }) }
    expect(conversionError(() => serializeParam(endless)).message).toContain('toPostgres()')
  })

  it('wraps an error thrown by toPostgres() as a ConversionError with its cause', () => {
    const boom = new Error('boom')
    const error = conversionError(() =>
      serializeParam({
        toPostgres() {
          throw boom
        },
      }),
    )
    expect(error.message).toContain('boom')
    expect(error.cause).toBe(boom)
  })
})

describe('serializeParam: unsupported values', () => {
  it.each([
    ['a function', () => 1, 'functions'],
    ['a symbol', Symbol('s'), 'symbols'],
    ['a Map', new Map([[1, 2]]), 'Map'],
    ['a Set', new Set([1]), 'Set'],
    ['a WeakMap', new WeakMap(), 'WeakMap'],
    ['a WeakSet', new WeakSet(), 'WeakSet'],
    ['a Promise', Promise.resolve(1), 'Promise'],
    ['a RegExp', /x/, 'RegExp'],
    ['an Error', new Error('x'), 'Error'],
    ['a generator', (function* () {})(), 'iterator'],
    ['a DataView', new DataView(new ArrayBuffer(2)), 'DataView'],
  ])('refuses %s, naming the parameter and what is accepted', (_name, value, reason) => {
    const error = conversionError(() => serializeParam(value, 5))
    expect(error.message).toContain(reason)
    expect(error.message).toContain('(parameter $5)')
    expect(error.message).toContain('accepted:')
    expect(error.value).toBe(value)
  })

  it('refuses an unsupported value nested in an array', () => {
    const error = conversionError(() => serializeParam(['a', () => 1], 2))
    expect(error.message).toContain('functions')
    expect(error.position).toBe(2)
  })
})

describe('serializeParam: type hints', () => {
  it('refuses fractions, NaN and infinities for integer types', () => {
    for (const hint of ['int2', 'int4', 'INTEGER', 'int8', 'bigint', 'serial']) {
      expect(conversionError(() => serializeParam(4.2, 1, { hint })).message).toContain('not a whole number')
      conversionError(() => serializeParam(Number.NaN, 1, { hint }))
      conversionError(() => serializeParam(Number.POSITIVE_INFINITY, 1, { hint }))
    }
  })

  it("refuses integers outside the hinted type's range", () => {
    expect(serializeParam(32767, 1, { hint: 'int2' })).toBe('32767')
    const error = conversionError(() => serializeParam(32768, 1, { hint: 'int2' }))
    expect(error.target).toBe('int2')
    expect(error.message).toContain('-32768 to 32767')
    conversionError(() => serializeParam(2 ** 31, 1, { hint: 'int4' }))
    conversionError(() => serializeParam(2n ** 63n, 1, { hint: 'int8' }))
    expect(serializeParam(2n ** 63n - 1n, 1, { hint: 'int8' })).toBe('9223372036854775807')
  })

  it('lets integer hints pass strings and NULL through', () => {
    expect(serializeParam('12', 1, { hint: 'int4' })).toBe('12')
    expect(serializeParam(null, 1, { hint: 'int4' })).toBeNull()
  })

  it('sends arrays and scalars as JSON for a json or jsonb hint, but strings as they are', () => {
    expect(serializeParam([1, { a: 'b' }], 1, { hint: 'jsonb' })).toBe('[1,{"a":"b"}]')
    expect(serializeParam(true, 1, { hint: 'json' })).toBe('true')
    expect(serializeParam({ x: 1, y: 2 }, 1, { hint: 'jsonb' })).toBe('{"x":1,"y":2}')
    expect(serializeParam('{"a":1}', 1, { hint: 'jsonb' })).toBe('{"a":1}')
  })

  it('sends each element of a json[] or jsonb[] parameter as one JSON text, arrays and strings included', () => {
    expect(serializeParam([[1, 2], [3]], 1, { hint: 'jsonb[]' })).toBe('{"[1,2]","[3]"}')
    expect(serializeParam(['a', 'b "c"', 'x,y'], 1, { hint: 'json[]' })).toBe('{"\\"a\\"","\\"b \\\\\\"c\\\\\\"\\"","\\"x,y\\""}')
    expect(serializeParam([{ a: 1 }, 1, true, null, undefined], 1, { hint: '_jsonb' })).toBe('{"{\\"a\\":1}","1","true",NULL,NULL}')
    expect(serializeParam([{ toJSON: () => null }], 1, { hint: 'JSON[]' })).toBe('{"null"}')
    expect(serializeParam([], 1, { hint: '_json' })).toBe('{}')
  })

  it('sends a string for a json[] hint as it is (array literal text)', () => {
    expect(serializeParam('{"[1]"}', 1, { hint: 'jsonb[]' })).toBe('{"[1]"}')
    expect(serializeParam(null, 1, { hint: 'jsonb[]' })).toBeNull()
  })

  it('refuses a json[] parameter that is not an array, has holes, or holds what JSON cannot', () => {
    const notArray = conversionError(() => serializeParam({ a: 1 }, 2, { hint: 'jsonb[]' }))
    expect(notArray.position).toBe(2)
    expect(notArray.target).toBe('jsonb[]')
    expect(notArray.message).toContain('accepted: an array of JSON values')
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    expect(conversionError(() => serializeParam([1, , 2], 1, { hint: 'json[]' })).message).toContain('index 1 is a hole')
    expect(conversionError(() => serializeParam([{ n: 1n }], 1, { hint: 'json[]' })).message).toContain('bigint')
    const loop: unknown[] = []
    loop.push(loop)
    expect(conversionError(() => serializeParam(loop, 1, { hint: 'jsonb[]' })).message).toContain('circular')
  })

  it('writes any list of JSON values for jsonb[] so that the registry reads the same list back', () => {
    const parse = createTypeRegistry().getParser(OIDS._jsonb)
    // JSON has no -0: it reads back as 0.
    const json = fc.jsonValue().map((value) => JSON.parse(JSON.stringify(value)) as unknown)
    fc.assert(
      fc.property(fc.array(json, { maxLength: 6 }), (values) => {
        expect(parse(serializeParam(values, 1, { hint: 'jsonb[]' }) as string)).toEqual(values)
      }),
    )
  })

  it('ignores hints it does not know', () => {
    expect(serializeParam(4.2, 1, { hint: 'float8' })).toBe('4.2')
  })
})

describe('serializeParams', () => {
  it('serialises each value, $1 first', () => {
    expect(serializeParams(['a', 1, null, undefined, true, [1, 2], { a: 1 }])).toEqual(['a', '1', null, null, 't', '{1,2}', '{"a":1}'])
    expect(serializeParams([])).toEqual([])
  })

  it('names the 1-based position of the first bad value', () => {
    const error = conversionError(() => serializeParams(['ok', 2, Symbol('bad')]))
    expect(error.position).toBe(3)
    expect(error.message).toContain('(parameter $3)')
  })

  it('applies per-parameter hints', () => {
    expect(serializeParams([[1], [1]], { hints: ['jsonb', undefined] })).toEqual(['[1]', '{1}'])
    expect(conversionError(() => serializeParams([1, 1.5], { hints: [undefined, 'int4'] })).position).toBe(2)
  })
})

/** What a Date was written as before the hand-written formatter: toISOString, re-cut for PostgreSQL's years. */
function isoReference(date: Date): string {
  const year = date.getUTCFullYear()
  if (year >= 1 && year <= 9999) return `${date.toISOString().slice(0, -1)}+00:00`
  const shown = String(year <= 0 ? 1 - year : year).padStart(4, '0')
  return `${shown}${date
    .toISOString()
    .replace(/^[+-]?\d+/, '')
    .slice(0, -1)}+00:00${year <= 0 ? ' BC' : ''}`
}

/** JSON text checked value by value while it is written: the text the serialiser must send, or `'refused'`. */
function checkedJsonReference(value: unknown): string {
  try {
    const text = JSON.stringify(value, (_key, inner: unknown) => {
      if (typeof inner === 'bigint' || (typeof inner === 'number' && !Number.isFinite(inner))) throw new Error('not JSON')
      return inner
    })
    return text === undefined ? 'refused' : text
  } catch {
    return 'refused'
  }
}

describe('serializeParam: properties', () => {
  it('writes every Date a Date can hold as the toISOString-based text did, BC and years past 9999 included', () => {
    const edges = [-8.64e15, 8.64e15, 0, -62135596800000, -62135596800001, 253402300799999, 253402300800000, -62198755200000]
    for (const time of edges) expect(serializeParam(new Date(time))).toBe(isoReference(new Date(time)))
    fc.assert(
      fc.property(fc.date({ noInvalidDate: true }), (date) => {
        expect(serializeParam(date)).toBe(isoReference(date))
      }),
      { numRuns: 2_000 },
    )
  })

  it('sends JSON exactly when a value-by-value check would, and the same text', () => {
    const value = fc.anything({
      withBigInt: true,
      withDate: true,
      withNullPrototype: true,
      withBoxedValues: true,
      withMap: true,
      withSet: true,
      withSparseArray: true,
      withTypedArray: true,
      withObjectString: true,
      withUnicodeString: true,
      values: [fc.double(), fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, undefined, null, 'null', -0)],
    })
    fc.assert(
      fc.property(value, (input) => {
        const expected = checkedJsonReference(input)
        let actual: string
        try {
          actual = serializeParam(input, 1, { hint: 'jsonb' }) as string
        } catch (error) {
          expect(error).toBeInstanceOf(ConversionError)
          actual = 'refused'
        }
        // A string is JSON text already; null and undefined are SQL NULL: the hint sends neither through JSON.
        if (typeof input === 'string' || input === null || input === undefined) return
        expect(actual).toBe(expected)
      }),
      { numRuns: 2_000 },
    )
  })

  it('writes any array of strings so that the array parser reads the same strings back', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.string({ unit: 'grapheme' }), { nil: null })), (values) => {
        const text = serializeParam(values)
        expect(text).not.toBeNull()
        expect(parseArray(text as string, (element) => element)).toEqual(values)
      }),
    )
  })

  it('writes any finite number so that Number() reads the same number back', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (value) => {
        expect(Object.is(Number(serializeParam(value)), value)).toBe(true)
      }),
    )
  })

  it('writes any Date in range as text Date.parse reads back to the same instant', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }),
        (date) => {
          expect(Date.parse(serializeParam(date) as string)).toBe(date.getTime())
        },
      ),
    )
  })
})
