import { sql } from '@tessera/core'
import { describe, expectTypeOf, it } from 'vitest'
import {
  array,
  bigint,
  boolean,
  bytea,
  date,
  defineEntity,
  type EntityMeta,
  entityMeta,
  enumOf,
  field,
  type InferEntity,
  type InferInsert,
  type InferUpdate,
  integer,
  json,
  numeric,
  text,
  timestamptz,
  uuid,
  varchar,
  vector,
} from '../src/index'

const Account = defineEntity('Account', {
  id: uuid().primaryKey().generated('uuidv7'),
  email: varchar(320).unique(),
  nickname: text().nullable(),
  age: integer().min(0),
  balance: bigint().default(0n),
  price: numeric(12, 2),
  active: boolean().default(true),
  born: date().nullable(),
  settings: json<{ theme: 'dark' | 'light' }>(),
  role: enumOf(['admin', 'member'] as const),
  tags: array(text()),
  scores: array(integer().nullable()),
  avatar: bytea().nullable(),
  embedding: vector(3),
  createdAt: timestamptz().createdAt(),
  updatedAt: timestamptz().updatedAt(),
  revision: integer().version(),
  seen: timestamptz().default(sql`now()`),
})

describe('InferEntity', () => {
  it('maps every kind to the value a read returns', () => {
    expectTypeOf<InferEntity<typeof Account>>().toEqualTypeOf<{
      id: string
      email: string
      nickname: string | null
      age: number
      balance: bigint
      price: string
      active: boolean
      born: string | null
      settings: { theme: 'dark' | 'light' }
      role: 'admin' | 'member'
      tags: string[]
      scores: (number | null)[]
      avatar: Buffer | null
      embedding: number[]
      createdAt: Date
      updatedAt: Date
      revision: number
      seen: Date
    }>()
  })

  it('makes generated, defaulted, nullable, timestamp and version fields optional on insert', () => {
    expectTypeOf<InferInsert<typeof Account>>().toEqualTypeOf<{
      email: string
      age: number
      price: string
      settings: { theme: 'dark' | 'light' }
      role: 'admin' | 'member'
      tags: string[]
      scores: (number | null)[]
      embedding: number[]
      id?: string
      nickname?: string | null
      balance?: bigint
      active?: boolean
      born?: string | null
      avatar?: Buffer | null
      createdAt?: Date
      updatedAt?: Date
      revision?: number
      seen?: Date
    }>()
  })

  it('accepts any subset on update', () => {
    expectTypeOf<{ email: string }>().toMatchTypeOf<InferUpdate<typeof Account>>()
    expectTypeOf<InferUpdate<typeof Account>['nickname']>().toEqualTypeOf<string | null | undefined>()
  })

  it('works with the field.* namespace and json without a type argument', () => {
    const Note = defineEntity('Note', { id: field.integer().primaryKey().generated('identity'), body: field.json() })
    expectTypeOf<InferEntity<typeof Note>['id']>().toEqualTypeOf<number>()
    expectTypeOf<InferEntity<typeof Note>['body']>().toBeUnknown()
    expectTypeOf<keyof InferEntity<typeof Note>>().toEqualTypeOf<'id' | 'body'>()
    expectTypeOf<InferInsert<typeof Note>['id']>().toEqualTypeOf<number | undefined>()
    expectTypeOf<{ body: 1 }>().toMatchTypeOf<InferInsert<typeof Note>>()
    expectTypeOf<{ id: 1 }>().not.toMatchTypeOf<InferInsert<typeof Note>>()
  })

  it('keeps the entity name as a literal type and exposes typed fields', () => {
    expectTypeOf(Account.name).toEqualTypeOf<'Account'>()
    expectTypeOf(entityMeta(Account)).toEqualTypeOf<EntityMeta>()
  })
})

describe('modifiers', () => {
  it('only allows .version() on integer and bigint fields', () => {
    integer().version()
    bigint().version()
    // @ts-expect-error a text field cannot be a version
    text().version()
  })

  it('only allows .createdAt() / .updatedAt() on timestamptz fields', () => {
    timestamptz().createdAt()
    // @ts-expect-error a date is not a point in time
    date().createdAt()
    // @ts-expect-error a text field cannot be a timestamp
    text().updatedAt()
  })

  it('types defaults and oneOf by the field value', () => {
    integer().default(1)
    // @ts-expect-error a string is not an integer default
    integer().default('1')
    enumOf(['a', 'b'] as const).oneOf(['a'])
    // @ts-expect-error 'c' is not a value of the enum
    enumOf(['a', 'b'] as const).oneOf(['c'])
  })

  it('types hooks with the entity row and insert shapes', () => {
    defineEntity(
      'Hooked',
      { id: uuid().primaryKey().generated('uuidv4'), email: text() },
      {
        hooks: {
          beforeInsert: (input) => {
            expectTypeOf(input).toEqualTypeOf<{ email: string; id?: string }>()
            return { ...input, email: input.email.toLowerCase() }
          },
          afterLoad: (row) => {
            expectTypeOf(row).toEqualTypeOf<{ id: string; email: string }>()
          },
        },
        // @ts-expect-error not a field of the entity
        primaryKey: ['nope'],
      },
    )
  })
})
