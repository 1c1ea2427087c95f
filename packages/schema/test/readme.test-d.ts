// The README's walkthrough, compiled: if an example stops type-checking, this fails.
import { type Queryable, sql } from '@tessera/core'
import { describe, expectTypeOf, it } from 'vitest'
import {
  type AnyEntity,
  applyGenerated,
  array,
  assertValid,
  defineEntity,
  enumOf,
  type InferEntity,
  type InferInsert,
  integer,
  json,
  text,
  timestamptz,
  uuid,
  varchar,
} from '../src/index'

declare function audit(queryable: Queryable | undefined, key: unknown): Promise<void>

describe('README walkthrough', () => {
  it('type-checks', async () => {
    const User = defineEntity(
      'User',
      {
        id: uuid().primaryKey().generated('uuidv7'),
        email: varchar(320)
          .unique()
          .pattern(/^[^@\s]+@[^@\s]+$/),
        name: text().nullable(),
        role: enumOf(['admin', 'member'] as const).default('member'),
        createdAt: timestamptz().createdAt(),
        updatedAt: timestamptz().updatedAt(),
        version: integer().version(),
      },
      {
        schema: 'app',
        hooks: {
          beforeInsert: async (input) => ({ ...input, email: input.email.toLowerCase() }),
          beforeUpdate: (changes) => {
            if (changes.email === '') throw new Error('email required')
          },
          beforeDelete: async (key, ctx) => {
            await audit(ctx.queryable, key)
          },
          afterWrite: async (_row, ctx) => {
            await ctx.queryable?.query(sql`NOTIFY users_changed`)
          },
          afterLoad: (row) => row,
        },
      },
    )
    const Post = defineEntity('Post', {
      id: uuid().primaryKey().generated('uuidv7'),
      authorId: uuid().references(() => User.fields.id, { onDelete: 'cascade' }),
      title: text().length({ min: 1, max: 200 }),
      tags: array(text()).default([]),
      body: json<{ blocks: string[] }>(),
      publishedAt: timestamptz().nullable().index(),
    })
    const Category = defineEntity('Category', {
      id: integer().primaryKey(),
      parentId: integer()
        .nullable()
        .references((): AnyEntity => Category),
    })
    expectTypeOf<InferEntity<typeof User>>().toEqualTypeOf<{
      id: string
      email: string
      name: string | null
      role: 'admin' | 'member'
      createdAt: Date
      updatedAt: Date
      version: number
    }>()
    expectTypeOf<InferInsert<typeof User>>().toEqualTypeOf<{
      email: string
      id?: string
      name?: string | null
      role?: 'admin' | 'member'
      createdAt?: Date
      updatedAt?: Date
      version?: number
    }>()
    const input = await assertValid(User, { email: 'ann@example.com' })
    expectTypeOf(applyGenerated(User, input)).toEqualTypeOf<InferInsert<typeof User>>()
    expectTypeOf<InferEntity<typeof Post>['tags']>().toEqualTypeOf<string[]>()
    expectTypeOf<InferEntity<typeof Category>['parentId']>().toEqualTypeOf<number | null>()
  })
})
