import type { StandardSchemaV1 } from '@standard-schema/spec'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { defineEntity, type InferInsert, integer, standardSchema, text, timestamptz, uuid } from '../src/index'

const User = defineEntity('StdUser', {
  id: uuid().primaryKey().generated('uuidv7'),
  email: text().pattern(/^[^@\s]+@[^@\s]+$/),
  age: integer().min(0).nullable(),
  joinedAt: timestamptz().createdAt(),
})

const Slow = defineEntity('StdSlow', {
  id: integer().primaryKey(),
  name: text().validate(async (value) => (value === 'taken' ? 'is taken' : undefined)),
})

/** What a library taking any Standard Schema does (tRPC's input parser, a form library's validator). */
async function parseWith<S extends StandardSchemaV1>(schema: S, value: unknown): Promise<StandardSchemaV1.InferOutput<S>> {
  const result = await schema['~standard'].validate(value)
  if (result.issues !== undefined) throw new Error(result.issues.map((i) => `${(i.path ?? []).join('.')}: ${i.message}`).join('; '))
  return result.value
}

describe('entities as Standard Schemas', () => {
  it('expose ~standard v1 and validate an insert with the entity validation', async () => {
    expect(User['~standard'].version).toBe(1)
    expect(User['~standard'].vendor).toBe('tessera')
    const ok = User['~standard'].validate({ email: 'ada@example.com' })
    expect(ok).toEqual({ value: { email: 'ada@example.com' } })
    expect(await parseWith(User, { email: 'ada@example.com', age: 36 })).toEqual({ email: 'ada@example.com', age: 36 })
  })

  it('reports each problem with the field path, strictly by default', async () => {
    const result = (await User['~standard'].validate({ email: 'nope', age: '36', extra: 1 })) as StandardSchemaV1.FailureResult
    expect(result.issues.map((i) => i.path?.join('.')).sort()).toEqual(['age', 'email', 'extra'])
    await expect(parseWith(User, {})).rejects.toThrow(/email/)
  })

  it('coerces form input and validates patches through standardSchema()', async () => {
    expect(await parseWith(standardSchema(User, { coerce: true }), { email: 'a@b.c', age: '36' })).toEqual({ email: 'a@b.c', age: 36 })
    expect(await parseWith(standardSchema(User, { mode: 'update' }), { age: 3 })).toEqual({ age: 3 })
  })

  it('returns a promise when a validator is async', async () => {
    const pending = Slow['~standard'].validate({ id: 1, name: 'taken' })
    expect(pending).toBeInstanceOf(Promise)
    expect(((await pending) as StandardSchemaV1.FailureResult).issues[0]).toMatchObject({
      path: ['name'],
      message: expect.stringContaining('taken'),
    })
  })

  it('infers the insert type as input and output', () => {
    expectTypeOf<StandardSchemaV1.InferInput<typeof User>>().toEqualTypeOf<InferInsert<typeof User>>()
    expectTypeOf<StandardSchemaV1.InferOutput<typeof User>>().toEqualTypeOf<InferInsert<typeof User>>()
  })
})
