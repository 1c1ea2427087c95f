import { type Provider, sql, ValidationError } from '@tessera/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSchemaSql, defineEntity, integer, repository, text } from '../src/index'
import { PROVIDERS, providerPool, uniqueName } from './providers'

const SECRET = 'a secret of at least thirty-two bytes, for tests'
const OTHER = 'another secret of at least thirty-two bytes, too'

/** The sort values a signed cursor carries, read the way anyone holding the URL could. */
function readable(cursor: string): unknown {
  return JSON.parse(Buffer.from(cursor.split('.')[0] as string, 'base64url').toString('utf8'))
}

describe.each(PROVIDERS)('keyset cursors on $name', (factory) => {
  const pool = providerPool(factory)
  const schema = uniqueName('cursor_seal')
  const Member = defineEntity('SealMember', { id: integer().primaryKey(), email: text() }, { schema, table: 'members' })
  const Other = defineEntity('SealOther', { id: integer().primaryKey(), email: text() }, { schema, table: 'members' })
  let db: Provider

  beforeAll(async () => {
    db = pool.open()
    for (const statement of createSchemaSql([Member])) await db.query(statement)
    await repository(Member, db).insertMany(Array.from({ length: 5 }, (_, i) => ({ id: i + 1, email: `user${i + 1}@example.com` })))
  })

  afterAll(async () => {
    await db.query(sql`DROP SCHEMA IF EXISTS ${sql.id(schema)} CASCADE`)
    await pool.closeAll()
  })

  it('refuses a cursor a client altered to jump to other rows', async () => {
    const members = repository(Member, db, { cursor: { secret: SECRET } })
    const first = await members.findMany({ orderBy: { email: 'asc' }, limit: 2 })
    const [fingerprint] = readable(first.nextCursor as string) as [string]
    const forged = Buffer.from(JSON.stringify([fingerprint, 'user4@example.com', 4])).toString('base64url')
    await expect(members.findMany({ orderBy: { email: 'asc' }, limit: 2, after: forged })).rejects.toThrow(ValidationError)
    const tampered = `${forged}.${(first.nextCursor as string).split('.')[1]}`
    await expect(members.findMany({ orderBy: { email: 'asc' }, limit: 2, after: tampered })).rejects.toThrow(ValidationError)
    const second = await members.findMany({ orderBy: { email: 'asc' }, limit: 2, after: first.nextCursor })
    expect(second.rows.map((m) => m.id)).toEqual([3, 4])
  })

  it('refuses a cursor of another secret or another entity, and accepts an older secret after a rotation', async () => {
    const before = repository(Member, db, { cursor: { secret: OTHER } })
    const page = await before.findMany({ limit: 2 })
    await expect(repository(Member, db, { cursor: { secret: SECRET } }).findMany({ limit: 2, after: page.nextCursor })).rejects.toThrow(
      /signed with another cursor\.secret/,
    )
    await expect(repository(Other, db, { cursor: { secret: OTHER } }).findMany({ limit: 2, after: page.nextCursor })).rejects.toThrow(
      ValidationError,
    )
    const rotated = repository(Member, db, { cursor: { secret: [SECRET, OTHER] } })
    expect((await rotated.findMany({ limit: 2, after: page.nextCursor })).rows.map((m) => m.id)).toEqual([3, 4])
  })

  it('encrypts cursors on request, so the sort values cannot be read from them', async () => {
    const members = repository(Member, db, { cursor: { secret: SECRET, encrypt: true } })
    const first = await members.findMany({ orderBy: { email: 'asc' }, limit: 2 })
    const cursor = first.nextCursor as string
    // Whatever the framing, no base64url reading of the cursor shows the email it continues after.
    const readings = [0, 1, 2, 3].map((offset) => Buffer.from(cursor.slice(offset), 'base64url').toString('latin1'))
    expect(readings.some((text) => text.includes('user2'))).toBe(false)
    const signed = (await repository(Member, db, { cursor: { secret: SECRET } }).findMany({ orderBy: { email: 'asc' }, limit: 2 }))
      .nextCursor
    expect(
      [0, 1, 2, 3].some((offset) =>
        Buffer.from((signed as string).slice(offset), 'base64url')
          .toString('latin1')
          .includes('user2'),
      ),
    ).toBe(true)
    const second = await members.findMany({ orderBy: { email: 'asc' }, limit: 2, after: cursor })
    expect(second.rows.map((m) => m.id)).toEqual([3, 4])
    const flipped = `${cursor.slice(0, -2)}${cursor.endsWith('AA') ? 'AB' : 'AA'}`
    await expect(members.findMany({ orderBy: { email: 'asc' }, limit: 2, after: flipped })).rejects.toThrow(ValidationError)
  })

  it('signs with a process secret by default, and refuses a short secret', async () => {
    const page = await repository(Member, db).findMany({ limit: 2 })
    expect((await repository(Member, db).findMany({ limit: 2, after: page.nextCursor })).rows).toHaveLength(2)
    expect(() => repository(Member, db, { cursor: { secret: 'short' } })).toThrow(/at least 32 bytes/)
  })
})
