import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isTesseraError, quoteIdentifier, SqlError, sql } from '../src/index'

/** Names PostgreSQL takes as identifiers: no NUL, at most 63 bytes. */
const identifier = fc.string({ minLength: 1, maxLength: 20 }).filter((name) => !name.includes('\0') && Buffer.byteLength(name) <= 63)

function errorOf(fn: () => unknown): SqlError {
  try {
    fn()
  } catch (error) {
    expect(isTesseraError(error)).toBe(true)
    expect(error).toBeInstanceOf(SqlError)
    return error as SqlError
  }
  throw new Error('expected a SqlError')
}

describe('sql.set', () => {
  it('renders one quoted assignment per property, in order, one parameter each', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(identifier, fc.oneof(fc.integer(), fc.string(), fc.constant(null))), {
          selector: ([k]) => k,
          minLength: 1,
        }),
        (entries) => {
          const object = Object.fromEntries(entries)
          const keys = Object.keys(object)
          const query = sql`UPDATE t SET ${sql.set(object)} WHERE id = ${0}`
          const expected = keys.map((key, i) => `${quoteIdentifier(key)} = $${i + 1}`).join(', ')
          expect(query.text).toBe(`UPDATE t SET ${expected} WHERE id = $${keys.length + 1}`)
          expect(query.values).toEqual([...keys.map((key) => object[key]), 0])
        },
      ),
    )
  })

  it('inlines a fragment value with its own parameters renumbered', () => {
    const query = sql`UPDATE t SET ${sql.set({ a: 1, at: sql`now() + ${'1 day'}::interval`, b: 'x' })}`
    expect(query.text).toBe('UPDATE t SET "a" = $1, "at" = now() + $2::interval, "b" = $3')
    expect(query.values).toEqual([1, '1 day', 'x'])
  })

  it('refuses an undefined value, naming the column, instead of skipping it', () => {
    expect(errorOf(() => sql.set({ name: 'a', age: undefined })).message).toMatch(/column "age" is undefined; pass null/)
  })

  it('refuses an empty object, a non-object and a key PostgreSQL would truncate', () => {
    expect(errorOf(() => sql.set({})).message).toMatch(/no properties/)
    expect(errorOf(() => sql.set(null as never)).message).toMatch(/not an object/)
    expect(errorOf(() => sql.set({ ['x'.repeat(64)]: 1 })).message).toMatch(/64 bytes/)
  })
})

describe('sql.json', () => {
  it('sends any JSON value as one jsonb parameter that parses back to it', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const query = sql`SELECT ${sql.json(value)} AS v`
        expect(query.text).toBe('SELECT $1::jsonb AS v')
        expect(JSON.parse(query.values[0] as string)).toEqual(JSON.parse(JSON.stringify(value)))
      }),
    )
  })

  it.each([
    ['NaN', { price: Number.NaN }, '$.price is NaN'],
    ['Infinity', { a: [1, Number.POSITIVE_INFINITY] }, '$.a[1] is Infinity'],
    ['undefined', { a: { b: undefined } }, '$.a.b is undefined'],
    ['a function', [() => 1], '$[0] is a function'],
    ['a symbol', { 'odd key': Symbol('s') }, '$["odd key"] is a symbol'],
    ['a Map', { m: new Map() }, '$.m is a Map'],
    ['a Set', new Set([1]), '$ is a Set'],
    ['a bigint', { n: 1n }, '$.n is a bigint'],
  ])('refuses %s with its path', (_name, value, message) => {
    expect(errorOf(() => sql.json(value)).message).toContain(message)
  })

  it('refuses a cycle', () => {
    const value: Record<string, unknown> = {}
    value.self = value
    expect(errorOf(() => sql.json(value)).message).toContain('$.self refers back')
  })

  it('writes a Date as toJSON returns it', () => {
    const at = new Date('2024-01-02T03:04:05.000Z')
    expect(sql.json({ at }).values).toEqual(['{"at":"2024-01-02T03:04:05.000Z"}'])
  })
})

describe('sql.array', () => {
  it('is one typed array parameter', () => {
    const query = sql`SELECT * FROM t WHERE id = ANY(${sql.array([1, 2, null], 'int4')})`
    expect(query.text).toBe('SELECT * FROM t WHERE id = ANY($1::int4[])')
    expect(query.values).toEqual([[1, 2, null]])
  })

  it('accepts every int4 and refuses every integer outside it, naming the index', () => {
    fc.assert(
      fc.property(fc.integer({ min: -2_147_483_648, max: 2_147_483_647 }), (n) => {
        expect(sql.array([n], 'int4').values).toEqual([[n]])
      }),
    )
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: 2_147_483_648, max: Number.MAX_SAFE_INTEGER }),
          fc.integer({ min: Number.MIN_SAFE_INTEGER, max: -2_147_483_649 }),
        ),
        (n) => {
          expect(errorOf(() => sql.array([0, n], 'int4')).message).toMatch(/element 1 is .* a int4 element must be an integer/)
        },
      ),
    )
  })

  it('checks elements of each type', () => {
    expect(errorOf(() => sql.array([1.5], 'int8')).message).toMatch(/element 0/)
    expect(errorOf(() => sql.array(['x'], 'uuid')).message).toMatch(/UUID/)
    expect(errorOf(() => sql.array([1], 'text')).message).toMatch(/a string/)
    expect(errorOf(() => sql.array(['1e'], 'numeric')).message).toMatch(/decimal string/)
    expect(errorOf(() => sql.array([new Date(Number.NaN)], 'timestamptz')).message).toMatch(/valid Date/)
    expect(errorOf(() => sql.array([{ a: Number.NaN }], 'jsonb')).message).toMatch(/\$\.a is NaN/)
    expect(errorOf(() => sql.array([1], 'int5' as never)).message).toMatch(/not supported; accepted: int2, int4/)
    expect(sql.array([2n ** 63n - 1n, 5], 'int8').values).toEqual([[2n ** 63n - 1n, 5]])
    expect(sql.array([{ a: 1 }, null], 'jsonb').values).toEqual([['{"a":1}', null]])
  })
})

describe('sql.unnest', () => {
  it('sends one array parameter per column, whatever the number of rows', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: -1000, max: 1000 }),
            fc.string().filter((s) => !s.includes('\0')),
          ),
          { minLength: 1, maxLength: 200 },
        ),
        (rows) => {
          const query = sql`INSERT INTO t (a, b) SELECT * FROM ${sql.unnest(rows, ['int4', 'text'])}`
          expect(query.text).toBe('INSERT INTO t (a, b) SELECT * FROM unnest($1::int4[], $2::text[])')
          expect(query.values).toEqual([rows.map((row) => row[0]), rows.map((row) => row[1])])
        },
      ),
    )
  })

  it('refuses a row of the wrong width and a bad element, naming row and column', () => {
    expect(errorOf(() => sql.unnest([[1, 'a'], [2]], ['int4', 'text'])).message).toMatch(/row 1 has 1 values, but there are 2 column types/)
    expect(
      errorOf(() =>
        sql.unnest(
          [
            [1, 'a'],
            ['2', 'b'],
          ],
          ['int4', 'text'],
        ),
      ).message,
    ).toMatch(/row 1, column 0 \(int4\)/)
    expect(errorOf(() => sql.unnest([], ['int4'])).message).toMatch(/non-empty array of rows/)
    expect(errorOf(() => sql.unnest([[1]], [])).message).toMatch(/column types/)
  })
})
