import { ValidationError } from '@tessera/core'
import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  AsyncValidatorError,
  array,
  assertValid,
  assertValidSync,
  bigint,
  boolean,
  bytea,
  date,
  defineEntity,
  enumOf,
  integer,
  json,
  numeric,
  text,
  timestamptz,
  uuid,
  validate,
  validateSync,
  varchar,
  vector,
} from '../src/index'

const Product = defineEntity('ValProduct', {
  id: uuid().primaryKey().generated('uuidv4'),
  name: varchar(10),
  slug: text()
    .pattern(/^[a-z-]+$/)
    .length({ min: 2 }),
  stock: integer().min(0).max(1000),
  big: bigint().nullable(),
  price: numeric(5, 2),
  active: boolean().default(true),
  launch: date().min('2020-01-01').nullable(),
  at: timestamptz().nullable(),
  kind: enumOf(['book', 'game'] as const),
  color: text().oneOf(['red', 'blue']).nullable(),
  tags: array(text()).length({ max: 3 }).default([]),
  blob: bytea().nullable(),
  embedding: vector(3).nullable(),
  meta: json<{ a: number }>().nullable(),
  createdAt: timestamptz().createdAt(),
})

const good = { name: 'Chess', slug: 'chess', stock: 3, price: '12.50', kind: 'game' }

describe('validate', () => {
  it('accepts a valid insert and coerces leniently through the converter', async () => {
    const result = await validate(Product, {
      ...good,
      stock: ' 7 ',
      big: '1234567890123456789',
      price: 12.5,
      active: 'yes',
      launch: '2024-02-29',
      at: '2024-01-02T03:04:05Z',
      blob: '\\x0102',
      tags: ['a', 'b'],
      embedding: [1, 2, 3],
      meta: { a: 1 },
    })
    expect(result).toEqual({
      ok: true,
      value: {
        ...good,
        stock: 7,
        big: 1234567890123456789n,
        price: '12.5',
        active: true,
        launch: '2024-02-29',
        at: new Date('2024-01-02T03:04:05Z'),
        blob: Buffer.from([1, 2]),
        tags: ['a', 'b'],
        embedding: [1, 2, 3],
        meta: { a: 1 },
      },
    })
    if (result.ok) expect(Buffer.isBuffer(result.value.blob)).toBe(true)
  })

  it('reports every issue at once with path, message and value', async () => {
    const result = await validate(Product, {
      name: 'far too long a name',
      slug: 'A',
      stock: -1,
      price: '1234.5',
      kind: 'film',
      color: 'green',
      tags: ['a', 'b', 'c', 'd'],
      embedding: [1, 2],
      launch: '2019-12-31',
      at: 'yesterday',
      big: 2n ** 64n,
      active: null,
      extra: 1,
    })
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['extra', 'is not a field of ValProduct'],
      ['name', 'must have at most 10 characters'],
      ['slug', 'must have at least 2 characters'],
      ['slug', 'must match /^[a-z-]+$/'],
      ['stock', 'must be at least 0'],
      ['big', 'is outside the bigint range −2^63…2^63 − 1'],
      ['price', 'does not fit numeric(5, 2) (at most 3 digits before the point)'],
      ['active', 'must not be null'],
      ['launch', 'must be at least "2020-01-01"'],
      ['at', expect.stringMatching(/^is not a valid timestamptz; accepted: a valid Date/)],
      ['kind', 'must be one of "book", "game"'],
      ['color', 'must be one of "red", "blue"'],
      ['tags', 'must have at most 3 items'],
      ['embedding', 'must have 3 dimensions, not 2'],
    ])
    expect(result.issues.find((i) => i.path[0] === 'stock')?.value).toBe(-1)
  })

  it('requires non-optional fields on insert but not on update', async () => {
    const insert = await validate(Product, {})
    expect(insert.ok ? [] : insert.issues.map((i) => `${i.path.join('.')} ${i.message}`)).toEqual([
      'name is required',
      'slug is required',
      'stock is required',
      'price is required',
      'kind is required',
    ])
    expect(await validate(Product, { stock: '5' }, { mode: 'update' })).toEqual({ ok: true, value: { stock: 5 } })
  })

  it('checks array elements and integer ranges with element paths', () => {
    const E = defineEntity('ValArr', { id: integer().primaryKey(), xs: array(integer()), ys: array(integer().nullable()) })
    const result = validateSync(E, { id: 2 ** 31, xs: [1, 'x', null], ys: [null, 2] })
    expect(result.ok ? [] : result.issues.map((i) => [i.path, i.message])).toEqual([
      [['id'], 'is outside the integer range -2147483648…2147483647; use bigint()'],
      [['xs', 1], expect.stringMatching(/^is not a valid integer/)],
      [['xs', 2], 'must not be null'],
    ])
  })

  it('strips unknown keys when asked', () => {
    expect(validateSync(Product, { ...good, junk: 1 }, { unknownFields: 'strip' }).ok).toBe(true)
  })

  it('refuses a non-object', () => {
    expect(validateSync(Product, 'nope')).toEqual({
      ok: false,
      issues: [{ path: [], message: 'must be an object with the fields of ValProduct', value: 'nope' }],
    })
  })
})

describe('custom and Standard Schema validators', () => {
  const User = defineEntity('ValUser', {
    id: integer().primaryKey(),
    email: text().validate(z.string().trim().toLowerCase().pipe(z.email())),
    nick: text()
      .validate(v.pipe(v.string(), v.minLength(3, 'nick too short')))
      .nullable(),
    even: integer()
      .validate((n) => n % 2 === 0 || 'must be even')
      .nullable(),
    profile: json<{ age: number }>()
      .validate(z.object({ age: z.number().int().min(0) }))
      .nullable(),
  })

  it('runs zod and valibot validators and uses their output', () => {
    const result = validateSync(User, { id: 1, email: '  Ann@Example.COM ', nick: 'ann', even: 4 })
    expect(result).toEqual({ ok: true, value: { id: 1, email: 'ann@example.com', nick: 'ann', even: 4 } })
  })

  it('reports validator issues with nested paths next to built-in ones', () => {
    const result = validateSync(User, { id: 'x', email: 'nope', nick: 'a', even: 3, profile: { age: -1 } })
    expect(result.ok ? [] : result.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['id', expect.stringMatching(/^is not a valid integer/)],
      ['email', expect.stringMatching(/email/i)],
      ['nick', 'nick too short'],
      ['even', 'must be even'],
      ['profile.age', expect.stringMatching(/>=0|greater than or equal/i)],
    ])
  })

  it('awaits async validators in validate and refuses them in validateSync', async () => {
    const Taken = defineEntity('ValTaken', {
      id: integer().primaryKey(),
      handle: text()
        .validate(async (h) => h !== 'taken' || 'is taken')
        .validate(z.string().refine(async (h) => h.length < 8, 'too long')),
    })
    expect(await validate(Taken, { id: 1, handle: 'taken' })).toMatchObject({
      ok: false,
      issues: [{ path: ['handle'], message: 'is taken' }],
    })
    expect(await validate(Taken, { id: 1, handle: 'free-but-long' })).toMatchObject({ ok: false, issues: [{ message: 'too long' }] })
    expect(await validate(Taken, { id: 1, handle: 'free' })).toEqual({ ok: true, value: { id: 1, handle: 'free' } })
    expect(() => validateSync(Taken, { id: 1, handle: 'x' })).toThrow(AsyncValidatorError)
  })

  it('assertValid throws a ValidationError carrying every issue', async () => {
    await expect(assertValid(User, { id: 1 })).rejects.toSatisfy(
      (e) => e instanceof ValidationError && e.issues.length === 1 && e.message.startsWith('ValUser is invalid (1 issue)'),
    )
    expect(() => assertValidSync(User, {})).toThrow(/ValUser is invalid \(2 issues\)/)
    expect(assertValidSync(User, { id: '3', email: 'a@b.co' })).toEqual({ id: 3, email: 'a@b.co' })
  })
})
