import { ConfigError, ConversionError } from '@tessera/core'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { createTypeRegistry, OIDS, pgTypesFor, postgresJsTypesFor, type TypeLookupRow } from '../src/index'

const lookupFrom = (rows: TypeLookupRow[]) => async (names: string[]) => rows.filter((row) => names.includes(row.name))

describe('createTypeRegistry', () => {
  it('documents its defaults in the policies it reports', () => {
    expect(createTypeRegistry().policies).toEqual({
      int8: 'bigint',
      numeric: 'string',
      date: 'string',
      timestamp: 'Date',
      bytea: 'Buffer',
      interval: 'object',
    })
  })

  it('lists every invalid policy at once', () => {
    const attempt = () => createTypeRegistry({ int8: 'float' as 'number', date: 'moment' as 'Date', colour: 'red' } as never)
    expect(attempt).toThrow(ConfigError)
    try {
      attempt()
    } catch (error) {
      const problems = (error as ConfigError).problems
      expect(problems).toHaveLength(3)
      expect(problems[0]).toMatch(/int8 is "float"; accepted: 'bigint', 'number', 'string'/)
      expect(problems[2]).toMatch(/unknown policy "colour"/)
    }
  })

  it('keeps registries independent: a codec or policy in one never shows in another', () => {
    const a = createTypeRegistry({ int8: 'number' })
    const b = createTypeRegistry()
    a.register(OIDS.text, { parse: (text) => text.toUpperCase() })
    expect(a.getParser(OIDS.text)('x')).toBe('X')
    expect(b.getParser(OIDS.text)('x')).toBe('x')
    expect(a.getParser(OIDS.int8)('1')).toBe(1)
    expect(b.getParser(OIDS.int8)('1')).toBe(1n)
  })
})

describe('registering codecs', () => {
  it('installs a user codec by OID, with its array type', () => {
    const registry = createTypeRegistry()
    registry.register(90_001, { parse: (text) => text.split('.') }, { arrayOid: 90_002 })
    expect(registry.getParser(90_001)('a.b')).toEqual(['a', 'b'])
    expect(registry.getParser(90_002)('{a.b,NULL,"c.d"}')).toEqual([['a', 'b'], null, ['c', 'd']])
  })

  it('uses a codec delimiter for its arrays', () => {
    const registry = createTypeRegistry()
    registry.register(90_003, { parse: (text) => text, delimiter: ';' }, { arrayOid: 90_004 })
    expect(registry.getParser(90_004)('{a,b;c}')).toEqual(['a,b', 'c'])
  })

  it('rejects a codec without parse and a bad OID, naming what it got', () => {
    const registry = createTypeRegistry()
    expect(() => registry.register(90_005, {} as never)).toThrow(/codec for OID 90005 is \{\}; accepted: \{ parse\(text\)/)
    expect(() => registry.register(-1, { parse: String })).toThrow(/type OID is -1/)
    expect(() => registry.registerEnum('')).toThrow(ConfigError)
  })

  it('installs name-registered types and their arrays by OID once names are resolved', async () => {
    const registry = createTypeRegistry()
    registry.registerByName('ltree', { parse: (text) => text.split('.') })
    registry.registerEnum('app.mood')
    expect(registry.pendingNames()).toEqual(['citext', 'vector', 'halfvec', 'ltree', 'app.mood'])
    let asked: string[] = []
    const result = await registry.resolveNames(async (names) => {
      asked = names
      return [
        { name: 'citext', oid: 80_001, arrayOid: 80_002, typtype: 'b' },
        { name: 'ltree', oid: 80_003, arrayOid: 80_004 },
        { name: 'app.mood', oid: 80_005, arrayOid: 80_006, typtype: 'e' },
      ]
    })
    expect(asked).toEqual(['citext', 'vector', 'halfvec', 'ltree', 'app.mood'])
    expect(result).toEqual({ resolved: ['citext', 'ltree', 'app.mood'], missing: ['vector', 'halfvec'] })
    expect(registry.pendingNames()).toEqual(['vector', 'halfvec'])
    expect(registry.getParser(80_003)('a.b')).toEqual(['a', 'b'])
    expect(registry.getParser(80_006)('{happy,NULL,"so so"}')).toEqual(['happy', null, 'so so'])
    expect(registry.getParser(80_002)('{Hello}')).toEqual(['Hello'])
  })

  it('looks nothing up when no name is pending, and everything again on refresh', async () => {
    const registry = createTypeRegistry()
    const rows = [
      { name: 'citext', oid: 1, arrayOid: 2 },
      { name: 'vector', oid: 3, arrayOid: 4 },
      { name: 'halfvec', oid: 5, arrayOid: 6 },
    ]
    await registry.resolveNames(lookupFrom(rows))
    let calls = 0
    const counting = async (names: string[]) => {
      calls++
      return lookupFrom(rows)(names)
    }
    expect(await registry.resolveNames(counting)).toEqual({ resolved: [], missing: [] })
    expect(calls).toBe(0)
    expect((await registry.resolveNames(counting, { refresh: true })).resolved).toEqual(['citext', 'vector', 'halfvec'])
  })

  it('refuses an enum registration that resolves to a type that is not an enum', async () => {
    const registry = createTypeRegistry()
    registry.registerEnum('public.widget')
    await expect(registry.resolveNames(lookupFrom([{ name: 'public.widget', oid: 7, arrayOid: 8, typtype: 'c' }]))).rejects.toThrow(
      /"public.widget" was registered as an enum but is a type of kind 'c'/,
    )
  })
})

describe('pgTypesFor', () => {
  it('gives node-postgres the registry parsers without touching the global pg.types', () => {
    const globalParsers = [20, 1082, 1114, 1184, 1700, 114, 3802, 1007, 17, 1186].map((oid) => pg.types.getTypeParser(oid))
    const types = pgTypesFor(createTypeRegistry())
    expect(types.getTypeParser(20)('42')).toBe(42n)
    expect(types.getTypeParser(1007, 'text')('{1,2}')).toEqual([1, 2])
    expect(pg.types.getTypeParser(20)('42')).toBe('42')
    expect([20, 1082, 1114, 1184, 1700, 114, 3802, 1007, 17, 1186].map((oid) => pg.types.getTypeParser(oid))).toEqual(globalParsers)
  })

  it('passes binary-format columns through unchanged', () => {
    const raw = Buffer.from([0, 0, 0, 1])
    expect(pgTypesFor(createTypeRegistry()).getTypeParser(23, 'binary')(raw as never)).toBe(raw)
  })

  it('sees codecs registered after the adapter was made', () => {
    const registry = createTypeRegistry()
    const types = pgTypesFor(registry)
    registry.register(90_010, { parse: (text) => `<${text}>` })
    expect(types.getTypeParser(90_010)('x')).toBe('<x>')
  })

  it('is accepted by pg.Client as its types option', () => {
    const client = new pg.Client({ types: pgTypesFor(createTypeRegistry()) })
    expect(client).toBeInstanceOf(pg.Client)
  })
})

describe('postgresJsTypesFor', () => {
  it("produces postgres.js' types option: one entry per OID with to, from, parse and serialize", () => {
    const types = postgresJsTypesFor(createTypeRegistry())
    const int8 = types[`tessera_${OIDS.int8}`]
    expect(int8).toMatchObject({ to: OIDS.int8, from: [OIDS.int8] })
    expect(int8?.parse('7')).toBe(7n)
    expect(int8?.serialize(7n)).toBe('7')
    expect(types[`tessera_${OIDS._timestamptz}`]?.parse('{infinity}')).toEqual([Number.POSITIVE_INFINITY])
    for (const [name, entry] of Object.entries(types)) {
      expect(name).toMatch(/^tessera_\d+$/)
      expect(entry.from).toEqual([entry.to])
      expect(typeof entry.parse).toBe('function')
      expect(typeof entry.serialize).toBe('function')
    }
  })

  it("replaces every converter postgres.js has of its own, the 'unknown' OID 0 included", () => {
    const types = postgresJsTypesFor(createTypeRegistry())
    for (const oid of [0, 16, 17, 21, 23, 25, 26, 114, 700, 701, 1082, 1114, 1184, 3802]) expect(types[`tessera_${oid}`]?.to).toBe(oid)
  })

  it('serialises with the type known: JSON text stays one JSON value, json[] elements are one JSON text each', () => {
    const types = postgresJsTypesFor(createTypeRegistry())
    const serialize = (oid: number, value: unknown) => types[`tessera_${oid}`]?.serialize(value)
    expect(serialize(OIDS.jsonb, '{"a":1}')).toBe('{"a":1}')
    expect(serialize(OIDS.json, { a: 1 })).toBe('{"a":1}')
    expect(serialize(OIDS.jsonb, [1, 2])).toBe('[1,2]')
    expect(serialize(OIDS._json, [[1, 2], 'a'])).toBe('{"[1,2]","\\"a\\""}')
    expect(serialize(OIDS._int4, [[1, 2]])).toBe('{{1,2}}')
    expect(serialize(OIDS.timestamptz, new Date(0))).toBe('1970-01-01T00:00:00.000+00:00')
    expect(() => serialize(OIDS.int4, 4.2)).toThrow(ConversionError)
    expect(() => serialize(OIDS.text, { toPostgres: () => null })).toThrow(/SQL NULL/)
  })

  it("adds to and serialize for codecs that can serialise, and writes their arrays' elements with it", () => {
    const registry = createTypeRegistry()
    registry.register(
      90_020,
      { parse: (text) => text.split('.'), serialize: (value) => (value as string[]).join('.') },
      { arrayOid: 90_021 },
    )
    const types = postgresJsTypesFor(registry)
    const entry = types.tessera_90020
    expect(entry?.to).toBe(90_020)
    expect(entry?.serialize(['a', 'b'])).toBe('a.b')
    expect(types.tessera_90021?.parse('{a.b,NULL}')).toEqual([['a', 'b'], null])
  })

  it("writes the elements of a serialising codec's arrays with that codec, nested arrays being dimensions", () => {
    const registry = createTypeRegistry()
    const pair = { parse: (text: string) => text.split('|'), serialize: (value: unknown) => Object.values(value as object).join('|') }
    registry.register(90_030, pair, { arrayOid: 90_031 })
    const array = postgresJsTypesFor(registry).tessera_90031
    expect(array?.serialize([{ x: 'a', y: 'b,c' }, null, { x: '"', y: '\\' }])).toBe('{"a|b,c",NULL,"\\"|\\\\"}')
    expect(array?.serialize([[{ x: 1, y: 2 }], [{ x: 3, y: 4 }]])).toBe('{{"1|2"},{"3|4"}}')
    expect(array?.parse('{"a|b,c",NULL,"\\"|\\\\"}')).toEqual([['a', 'b,c'], null, ['"', '\\']])
    expect(() => array?.serialize({ x: 1 })).toThrow(ConversionError)
    expect(array?.serialize('{"1|2"}')).toBe('{"1|2"}')
  })

  it('surfaces parser errors as ConversionError', () => {
    const entry = postgresJsTypesFor(createTypeRegistry({ int8: 'number' }))[`tessera_${OIDS.int8}`]
    expect(() => entry?.parse('9223372036854775807')).toThrow(ConversionError)
  })
})
