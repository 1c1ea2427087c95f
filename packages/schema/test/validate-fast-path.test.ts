import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  array,
  bigint,
  boolean,
  bytea,
  date,
  defineEntity,
  entityMeta,
  enumOf,
  integer,
  json,
  numeric,
  text,
  timestamptz,
  uuid,
  validateSync,
  varchar,
  vector,
} from '../src/index'
import { characterCount, compileValidator, validateCompiledSync } from '../src/validate'

// Every kind, with the built-in constraints that interact with coerced values.
const Everything = defineEntity('FastPathEverything', {
  id: uuid().primaryKey(),
  name: varchar(5),
  note: text().nullable(),
  count: integer().min(-5),
  big: bigint().nullable(),
  price: numeric(4, 1).nullable(),
  free: numeric().nullable(),
  flag: boolean().nullable(),
  day: date().min('2000-01-01').nullable(),
  at: timestamptz().nullable(),
  blob: bytea().nullable(),
  kind: enumOf(['a', 'b'] as const).nullable(),
  doc: json().nullable(),
  tags: array(integer().nullable()).nullable(),
  days: array(date()).nullable(),
  embedding: vector(2).nullable(),
})

const fast = compileValidator(entityMeta(Everything))
const slow = compileValidator(entityMeta(Everything), { fastPath: false })

const surrogates = fc.constantFrom('\ud83d', '\ude00', '😀', 'é', 'a', ' ', '\u0000')
const oddText = fc.array(surrogates, { maxLength: 8 }).map((parts) => parts.join(''))

// Values of the right JavaScript type (the fast path), near-misses (the slow path must refuse or coerce them), and
// values of other types.
const anything = fc.oneof(
  fc.string({ maxLength: 12 }),
  oddText,
  fc.integer(),
  fc.constantFrom(0, -0, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53),
  fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }),
  fc.constantFrom(2n ** 63n - 1n, 2n ** 63n, -(2n ** 63n), -(2n ** 63n) - 1n),
  fc.boolean(),
  fc.date({ noInvalidDate: false }),
  fc.tuple(fc.uuid(), fc.nat(4)).map(([u, form]) => [u, u.toUpperCase(), ` ${u}`, `{${u}}`, u.replaceAll('-', '')][form] as string),
  fc.constantFrom(
    '2024-02-29',
    '2023-02-29',
    '0000-01-01',
    '0001-01-01',
    '9999-12-31',
    '2024-13-01',
    '2024-04-31',
    '1999-12-31',
    ' 2024-01-01',
    '2024-1-01',
    '２０２４-01-01',
  ),
  fc.constantFrom('12.5', '-1.25', '999.9', '1000', '+1', '1e2', ' 3', '.5', '5.', '-0', '12345678901234567890', '1.23456789'),
  fc.constantFrom('t', 'yes', '0', '1', 'nope', '\\x0102', '\\xZZ', '1700000000000'),
  fc.uint8Array({ maxLength: 4 }).map((bytes) => Buffer.from(bytes)),
  fc.uint8Array({ maxLength: 4 }),
  fc.array(fc.oneof(fc.integer(), fc.constant(null), fc.string({ maxLength: 3 }), fc.double()), { maxLength: 4 }),
  fc.array(fc.constantFrom('2024-01-01', '2023-02-29', 7), { maxLength: 3 }),
  fc.constantFrom(null, undefined, {}, { a: [1] }, [1, 2], [0.5, Number.NaN]),
)

const fieldNames = entityMeta(Everything).fields.map((f) => f.fieldName)
const inputs = fc.record(Object.fromEntries(fieldNames.map((name) => [name, anything])), { requiredKeys: [] })

describe('validation fast path', () => {
  it('gives the same value and issues as sending every value through convert', () => {
    fc.assert(
      fc.property(inputs, fc.constantFrom('insert', 'update') as fc.Arbitrary<'insert' | 'update'>, (input, mode) => {
        expect(validateCompiledSync(fast, input, { mode })).toEqual(validateCompiledSync(slow, input, { mode }))
      }),
      { numRuns: 3000 },
    )
  })

  it('agrees with convert value by value, for each kind', () => {
    for (const name of fieldNames) {
      fc.assert(
        fc.property(anything, (value) => {
          const input = { [name]: value }
          expect(validateCompiledSync(fast, input, { mode: 'update' })).toEqual(validateCompiledSync(slow, input, { mode: 'update' }))
        }),
        { numRuns: 300 },
      )
    }
  })

  it('returns a copy of a Date, never the caller’s instance', () => {
    const at = new Date('2024-05-01T00:00:00Z')
    const result = validateSync(Everything, { at }, { mode: 'update' })
    expect(result.ok && result.value.at).toEqual(at)
    expect(result.ok && result.value.at).not.toBe(at)
  })

  it('turns -0 into 0 for an integer, as convert does', () => {
    const result = validateSync(Everything, { count: -0 }, { mode: 'update' })
    expect(result.ok && Object.is(result.value.count, 0)).toBe(true)
  })

  it('keeps holes of a sparse array as holes', () => {
    // biome-ignore lint/suspicious/noSparseArray: the case under test
    const result = validateSync(Everything, { tags: [1, , 3] }, { mode: 'update' })
    expect(result.ok).toBe(true)
    const tags = result.ok ? (result.value.tags as unknown[]) : []
    expect(tags).toHaveLength(3)
    expect(1 in tags).toBe(false)
  })
})

describe('characterCount', () => {
  it('counts code points as the string iterator does, lone surrogates included', () => {
    fc.assert(
      fc.property(oddText, fc.string({ unit: 'binary', maxLength: 20 }), (a, b) => {
        expect(characterCount(a + b)).toBe([...(a + b)].length)
      }),
    )
  })

  it('decides varchar(n) by characters, not UTF-16 units', () => {
    const Short = defineEntity('FastPathShort', { id: integer().primaryKey(), code: varchar(2) })
    expect(validateSync(Short, { id: 1, code: '😀😀' }).ok).toBe(true)
    expect(validateSync(Short, { id: 1, code: '😀😀😀' })).toMatchObject({
      ok: false,
      issues: [{ path: ['code'], message: 'must have at most 2 characters' }],
    })
  })
})
