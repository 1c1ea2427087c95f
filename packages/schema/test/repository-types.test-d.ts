import type { Queryable } from '@tessera/core'
import { describe, expectTypeOf, it } from 'vitest'
import { defineEntity, integer, type PrimaryKeyOf, repository, text, timestamptz, uuid, type Where } from '../src/index'

const Task = defineEntity('TypedTask', {
  id: uuid().primaryKey().generated('uuidv7'),
  title: text(),
  note: text().nullable(),
  points: integer(),
  createdAt: timestamptz().createdAt(),
})
const Membership = defineEntity(
  'TypedKeyMembership',
  { orgId: integer(), userId: uuid(), role: text() },
  { primaryKey: ['orgId', 'userId'] },
)
type Task = { id: string; title: string; note: string | null; points: number; createdAt: Date }

declare const db: Queryable
const tasks = repository(Task, db)
const members = repository(Membership, db)

describe('filters', () => {
  it('offer like / ilike on text fields only', () => {
    const ok: Where<Task> = { title: { like: 'a%' }, note: { ilike: '%b' } }
    // @ts-expect-error like compares text, not integers
    const onInteger: Where<Task> = { points: { like: '1%' } }
    void [ok, onInteger]
  })

  it('offer null only on nullable fields', () => {
    const ok: Where<Task> = { note: null, or: [{ note: { eq: null } }, { note: { ne: null } }] }
    // @ts-expect-error title is NOT NULL: it is never null
    const onNotNull: Where<Task> = { title: null }
    // @ts-expect-error neither with eq
    const eqNull: Where<Task> = { title: { eq: null } }
    void [ok, onNotNull, eqNull]
  })

  it('type operands by the field', () => {
    // @ts-expect-error points holds numbers
    const wrong: Where<Task> = { points: { in: ['1'] } }
    void wrong
  })
})

describe('keys', () => {
  it('take the key value or an object of it for a one-field key', () => {
    expectTypeOf<PrimaryKeyOf<typeof Task>>().toEqualTypeOf<string | { readonly id: string }>()
    void tasks.findById('0190…')
    // @ts-expect-error a uuid key is a string
    void tasks.findById(42)
    // @ts-expect-error the key field is id
    void tasks.delete({ uuid: 'x' })
  })

  it('take every field of a composite key, by name and type', () => {
    expectTypeOf<PrimaryKeyOf<typeof Membership>>().toEqualTypeOf<{ readonly orgId: number; readonly userId: string }>()
    void members.findById({ orgId: 1, userId: 'u' })
    // @ts-expect-error user is not a key field
    void members.findById({ orgId: 1, user: 'u' })
    // @ts-expect-error a composite key is not one value
    void members.delete(1)
    // @ts-expect-error orgId is a number
    void members.update({ orgId: '1', userId: 'u' }, { role: 'x' })
  })
})

describe('upsert', () => {
  it('names conflict fields of the entity only', () => {
    void tasks.upsert({ title: 't', points: 1 }, { conflict: { fields: ['title'] } })
    // @ts-expect-error name is not a field of the entity
    void tasks.upsert({ title: 't', points: 1 }, { conflict: { fields: ['name'] } })
  })
})
