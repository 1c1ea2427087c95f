import { describe, expectTypeOf, it } from 'vitest'
import { defineEntity, type InferUpdate, integer, type KeyFieldNames, text, timestamptz, uuid } from '../src/index'

const Post = defineEntity('TypedPost', {
  id: uuid().primaryKey().generated('uuidv7'),
  serial: integer().generated('identity'),
  title: text(),
  body: text().nullable(),
  createdAt: timestamptz().createdAt(),
  updatedAt: timestamptz().updatedAt(),
  version: integer().version(),
})

const Membership = defineEntity(
  'TypedMembership',
  { orgId: integer(), userId: integer(), role: text() },
  { primaryKey: ['orgId', 'userId'] },
)

describe('update patches', () => {
  it('offer the changeable fields and the version, each optional', () => {
    expectTypeOf<InferUpdate<typeof Post>>().toEqualTypeOf<{
      title?: string | undefined
      body?: string | null | undefined
      version?: number | undefined
    }>()
    expectTypeOf<InferUpdate<typeof Membership>>().toEqualTypeOf<{ role?: string | undefined }>()
  })

  it('do not offer the key, generated fields or timestamps', () => {
    expectTypeOf<{ id: string }>().not.toMatchTypeOf<InferUpdate<typeof Post>>()
    expectTypeOf<{ serial: number }>().not.toMatchTypeOf<InferUpdate<typeof Post>>()
    expectTypeOf<{ createdAt: Date }>().not.toMatchTypeOf<InferUpdate<typeof Post>>()
    expectTypeOf<{ updatedAt: Date }>().not.toMatchTypeOf<InferUpdate<typeof Post>>()
    expectTypeOf<{ orgId: number }>().not.toMatchTypeOf<InferUpdate<typeof Membership>>()
    // @ts-expect-error the key identifies the row
    const keyed: InferUpdate<typeof Post> = { id: 'x' }
    // @ts-expect-error createdAt is the creation time
    const created: InferUpdate<typeof Post> = { createdAt: new Date() }
    // @ts-expect-error a composite key field is part of the key
    const moved: InferUpdate<typeof Membership> = { userId: 2 }
    void [keyed, created, moved]
  })

  it('name the key fields, one-field or composite', () => {
    expectTypeOf<KeyFieldNames<typeof Post>>().toEqualTypeOf<'id'>()
    expectTypeOf<KeyFieldNames<typeof Membership>>().toEqualTypeOf<'orgId' | 'userId'>()
  })
})
