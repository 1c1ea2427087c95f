import { ConversionError } from '@tessera/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createTypeRegistry, OIDS, parseArray, parseRange, Range } from '../src/index'

const registry = createTypeRegistry()
const parse = (type: keyof typeof OIDS, text: string) => registry.getParser(OIDS[type])(text)

/** A tiny array-literal builder, written the way PostgreSQL's array_out quotes elements. */
function literal(value: unknown): string {
  if (Array.isArray(value)) return `{${value.map(literal).join(',')}}`
  if (value === null) return 'NULL'
  const text = String(value)
  if (text === '' || /^null$/i.test(text) || /[\s"\\,{}]/.test(text)) return `"${text.replace(/[\\"]/g, '\\$&')}"`
  return text
}

describe('array parser', () => {
  it('reads one-dimensional arrays with NULL, quoted and escaped elements', () => {
    expect(parse('_text', '{"a\\"b","c\\\\d","NULL",NULL,""," x ","{}","a,b"}')).toEqual([
      'a"b',
      'c\\d',
      'NULL',
      null,
      '',
      ' x ',
      '{}',
      'a,b',
    ])
    expect(parse('_int4', '{1,-2,NULL}')).toEqual([1, -2, null])
  })

  it('reads {} as an empty array', () => {
    expect(parse('_int4', '{}')).toEqual([])
    expect(parse('_text', '{}')).toEqual([])
  })

  it('reads multi-dimensional arrays as nested arrays', () => {
    expect(parse('_int4', '{{1,2},{3,NULL}}')).toEqual([
      [1, 2],
      [3, null],
    ])
    expect(parse('_text', '{{{"a b"}},{{c}}}')).toEqual([[['a b']], [['c']]])
  })

  it('drops a custom lower-bound prefix', () => {
    expect(parse('_int4', '[0:1]={1,2}')).toEqual([1, 2])
    expect(parse('_int4', '[1:1][-1:0]={{7,8}}')).toEqual([[7, 8]])
  })

  it('splits box[] on its ; delimiter', () => {
    expect(parse('_box', '{(1,1),(0,0);(2,2),(1,1)}')).toEqual(['(1,1),(0,0)', '(2,2),(1,1)'])
  })

  it('parses every element with the element type and its policies', () => {
    expect(parse('_int8', '{1,9223372036854775807}')).toEqual([1n, 9223372036854775807n])
    expect(parse('_bool', '{t,f,NULL}')).toEqual([true, false, null])
    expect(parse('_float8', '{1.5,NaN,-Infinity}')).toEqual([1.5, Number.NaN, Number.NEGATIVE_INFINITY])
    expect(parse('_timestamptz', '{infinity,"2020-01-01 00:00:00+00"}')).toEqual([
      Number.POSITIVE_INFINITY,
      new Date('2020-01-01T00:00:00Z'),
    ])
    expect(parse('_jsonb', '{"{\\"a\\": \\"b\\\\\\"c\\"}"}')).toEqual([{ a: 'b"c' }])
    expect(parse('_bytea', '{"\\\\x0102",NULL}')).toEqual([Buffer.from([1, 2]), null])
    expect(parse('_point', '{"(1,2)","(-3.5,4)"}')).toEqual([
      { x: 1, y: 2 },
      { x: -3.5, y: 4 },
    ])
    expect(parse('_interval', '{"1 day",00:00:01}')).toMatchObject([{ days: 1 }, { seconds: 1 }])
    expect(parse('_int4range', '{"[1,2)",empty}')).toEqual([new Range(1, 2), Range.empty()])
  })

  it('rejects malformed array text with the value named', () => {
    expect(() => parseArray('{1,2')).toThrow(ConversionError)
    expect(() => parseArray('1,2}')).toThrow(/"1,2}" to array/)
    expect(() => parseArray('{"a}')).toThrow(/unterminated/)
    expect(() => parseArray('{1}x')).toThrow(/after the closing/)
  })

  it('reads back any array of strings, whatever quotes, backslashes, commas, braces or NULL text they hold', () => {
    const tricky = fc.oneof(
      fc.string(),
      fc.constantFrom('NULL', 'null', '', ' ', '"', '\\', ',', '{', '}', '{}', '"a"', 'a\\"b', '\\\\'),
      fc.stringMatching(/^[a-z"\\,{} ]{0,8}$/),
    )
    fc.assert(
      fc.property(fc.array(fc.option(tricky, { nil: null })), (values) => {
        expect(parseArray(literal(values))).toEqual(values)
      }),
    )
  })

  it('reads back any rectangular two-dimensional array of integers', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.option(fc.integer(), { nil: null })),
        (rows, cols, pool) => {
          const matrix = Array.from({ length: rows }, (_, r) =>
            Array.from({ length: cols }, (_, c) => pool[(r * cols + c) % Math.max(pool.length, 1)] ?? null),
          )
          expect(parse('_int4', literal(matrix))).toEqual(matrix)
        },
      ),
    )
  })
})

describe('range parser', () => {
  it('reads inclusive, exclusive and unbounded ranges', () => {
    expect(parse('int4range', '[1,6)')).toEqual(new Range(1, 6, '[)'))
    expect(parse('numrange', '(,5]')).toEqual(new Range(null, '5', '(]'))
    expect(parse('int8range', '[10,)')).toEqual(new Range(10n, null, '[)'))
    const unbounded = parse('numrange', '(,)') as Range<string>
    expect([unbounded.lower, unbounded.upper, unbounded.lowerInclusive, unbounded.upperInclusive, unbounded.empty]).toEqual([
      null,
      null,
      false,
      false,
      false,
    ])
  })

  it('reads the empty range', () => {
    const empty = parse('daterange', 'empty') as Range<string>
    expect(empty.empty).toBe(true)
    expect(empty).toEqual(Range.empty())
    expect(new Range(1, 2).empty).toBe(false)
  })

  it('reads quoted bounds with escapes and parses them with the element type', () => {
    expect(parse('tsrange', '["2020-01-01 00:00:00","2020-01-02 00:00:00")')).toEqual(
      new Range(new Date('2020-01-01T00:00:00Z'), new Date('2020-01-02T00:00:00Z')),
    )
    expect(parseRange('["a\\"b","c""d"]', (t) => t)).toEqual(new Range('a"b', 'c"d', '[]'))
    expect(parseRange('["",z)', (t) => t)).toEqual(new Range('', 'z'))
  })

  it('keeps infinity bounds as values, not as unbounded', () => {
    expect(parse('daterange', '[2020-01-01,infinity)')).toEqual(new Range('2020-01-01', 'infinity'))
    expect(parse('tstzrange', '[-infinity,infinity]')).toEqual(new Range(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, '[]'))
  })

  it('rejects malformed range text with the value named', () => {
    expect(() => parse('int4range', '1,2')).toThrow(/"1,2" to range/)
    expect(() => parse('int4range', '[1;2)')).toThrow(ConversionError)
  })
})
