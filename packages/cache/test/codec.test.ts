import { ConversionError } from '@tessera/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createTaggedJsonCodec, taggedJsonCodec } from '../src/codec'

const roundTrip = (value: unknown) => taggedJsonCodec.decode(taggedJsonCodec.encode(value))

// Values the codec promises to round-trip, nested inside each other.
const leaf = fc.oneof(
  fc.string(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.double(), // includes NaN, ±Infinity and -0
  fc.bigInt(),
  fc.date({ noInvalidDate: false }),
  fc.uint8Array().map((bytes) => Buffer.from(bytes)),
  fc.uint8Array(),
)
const value = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('array'), tie('object'), tie('map'), tie('set')),
  array: fc.array(tie('node'), { maxLength: 4 }),
  object: fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('$t', 'v', '__proto__')), tie('node'), { maxKeys: 4, noNullPrototype: true }),
  map: fc.array(fc.tuple(tie('node'), tie('node')), { maxLength: 3 }).map((pairs) => new Map(pairs)),
  set: fc.array(tie('node'), { maxLength: 3 }).map((items) => new Set(items)),
})).node

describe('taggedJsonCodec', () => {
  it('gives back an equal value for anything built from supported types', () => {
    fc.assert(
      fc.property(value, (input) => {
        expect(roundTrip(input)).toStrictEqual(input)
      }),
      { numRuns: 500 },
    )
  })

  it('keeps undefined and null apart, and -0, NaN and ±Infinity exact', () => {
    const out = roundTrip({
      a: undefined,
      b: null,
      list: [undefined, null, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY],
    }) as {
      a: unknown
      b: unknown
      list: unknown[]
    }
    expect('a' in out && out.a === undefined).toBe(true)
    expect(out.b).toBeNull()
    expect(Object.is(out.list[2], -0)).toBe(true)
    expect(out.list.slice(3)).toEqual([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])
  })

  it('returns Buffers as Buffers and Uint8Arrays as Uint8Arrays', () => {
    const out = roundTrip([Buffer.from('hi'), new Uint8Array([1, 2, 3])]) as unknown[]
    expect(Buffer.isBuffer(out[0])).toBe(true)
    expect(Buffer.isBuffer(out[1])).toBe(false)
    expect(out[1]).toBeInstanceOf(Uint8Array)
    expect([...(out[1] as Uint8Array)]).toEqual([1, 2, 3])
  })

  it('does not confuse a user object that has a "$t" key with a tagged value', () => {
    expect(roundTrip({ $t: 'D', v: 0 })).toEqual({ $t: 'D', v: 0 })
  })

  it('refuses functions, symbols and circular values with a ConversionError', () => {
    const circular: Record<string, unknown> = {}
    circular.self = circular
    expect(() => taggedJsonCodec.encode({ f: () => 1 })).toThrow(ConversionError)
    expect(() => taggedJsonCodec.encode(Symbol('x'))).toThrow(ConversionError)
    expect(() => taggedJsonCodec.encode(circular)).toThrow(/circular/)
  })

  it('allows the same object twice when it is not circular', () => {
    const shared = { n: 1 }
    expect(roundTrip([shared, shared])).toEqual([{ n: 1 }, { n: 1 }])
  })

  it('decodes plain JSON (no tagged node) to what JSON.parse gives, whatever its strings hold', () => {
    const json = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, fc.string(), fc.boolean(), fc.constant(null), fc.integer(), tie('array'), tie('object')),
      array: fc.array(tie('node'), { maxLength: 4 }),
      // Without `$t` keys: that is what makes it plain JSON rather than a tagged text.
      object: fc.dictionary(
        fc.string().filter((key) => key !== '$t'),
        tie('node'),
        { maxKeys: 4, noNullPrototype: true },
      ),
    })).node
    fc.assert(
      fc.property(json, (input) => {
        const text = JSON.stringify(input)
        expect(taggedJsonCodec.decode(text)).toStrictEqual(JSON.parse(text))
      }),
      { numRuns: 500 },
    )
  })

  it('reads a tagged node whose "$t" key is written with \\u escapes', () => {
    expect(taggedJsonCodec.decode('{"\\u0024t":"D","v":0}')).toEqual(new Date(0))
    expect(taggedJsonCodec.decode('[{"$\\u0074":"bi","v":"12"}]')).toEqual([12n])
  })

  it('throws on text it did not write, for the cache to turn into a miss', () => {
    expect(() => taggedJsonCodec.decode('{not json')).toThrow()
    expect(() => taggedJsonCodec.decode('{"$t":"nope","v":1}')).toThrow(ConversionError)
  })
})

describe('values JSON would lose without a word', () => {
  class Money {
    constructor(
      readonly cents: number,
      readonly currency: string,
    ) {}
  }

  it('round-trips URL and RegExp', () => {
    const url = new URL('https://example.invalid/a?b=1')
    expect(roundTrip(url)).toEqual(url)
    expect(roundTrip(url)).toBeInstanceOf(URL)
    expect(roundTrip(/a+b/gi)).toEqual(/a+b/gi)
  })

  it('refuses an Error or a class instance with a ConversionError naming the class', () => {
    expect(() => taggedJsonCodec.encode(new Error('boom'))).toThrow(ConversionError)
    expect(() => taggedJsonCodec.encode({ price: new Money(5, 'EUR') })).toThrow(/Money instance would come back as a plain object/)
  })

  it('honours toJSON, so a field it hides is never written', () => {
    class User {
      constructor(
        readonly name: string,
        readonly passwordHash: string,
      ) {}
      toJSON() {
        return { name: this.name }
      }
    }
    const text = taggedJsonCodec.encode({ user: new User('ada', 'secret-hash') })
    expect(text).not.toContain('secret-hash')
    expect(taggedJsonCodec.decode(text)).toEqual({ user: { name: 'ada' } })
  })

  it('restores a class registered with createTaggedJsonCodec({ types })', () => {
    const codec = createTaggedJsonCodec({
      types: [
        {
          name: 'Money',
          is: (value): value is Money => value instanceof Money,
          encode: (money: Money) => [money.cents, money.currency],
          decode: (data) => {
            const [cents, currency] = data as [number, string]
            return new Money(cents, currency)
          },
        },
      ],
    })
    const back = codec.decode(codec.encode({ price: new Money(5, 'EUR') })) as { price: Money }
    expect(back.price).toBeInstanceOf(Money)
    expect(back.price).toEqual(new Money(5, 'EUR'))
    expect(() => taggedJsonCodec.decode(codec.encode(new Money(1, 'USD')))).toThrow(/no codec type "Money"/)
  })
})
