import { type Provider, sql } from '@tessera/core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createSchemaSql, defineEntity, integer, repository, text, timestamptz } from '../src/index'
import { issuePaths, PROVIDERS, providerPool, uniqueName } from './providers'

describe.each(PROVIDERS)('update patches on $name', (factory) => {
  const pool = providerPool(factory)
  const schema = uniqueName('patches')
  const Membership = defineEntity(
    'PatchMembership',
    { orgId: integer(), userId: integer(), role: text() },
    { schema, table: 'memberships', primaryKey: ['orgId', 'userId'] },
  )
  const Post = defineEntity(
    'PatchPost',
    {
      id: integer().primaryKey(),
      title: text(),
      createdAt: timestamptz().createdAt(),
      updatedAt: timestamptz().updatedAt(),
      version: integer().version(),
    },
    { schema, table: 'posts' },
  )
  let db: Provider

  beforeAll(async () => {
    db = pool.open()
    for (const statement of createSchemaSql([Membership, Post])) await db.query(statement)
  })

  afterAll(async () => {
    await db.query(sql`DROP SCHEMA IF EXISTS ${sql.id(schema)} CASCADE`)
    await pool.closeAll()
  })

  beforeEach(async () => {
    await db.query(sql`TRUNCATE ${sql.id([schema, 'memberships'])}, ${sql.id([schema, 'posts'])}`)
    await repository(Membership, db).insert({ orgId: 1, userId: 1, role: 'owner' })
    await repository(Post, db).insert({ id: 1, title: 'first' })
  })

  it('refuses an empty patch or a key-only patch on a composite key with a ValidationError, not a syntax error', async () => {
    const members = repository(Membership, db)
    expect(await issuePaths(members.update({ orgId: 1, userId: 1 }, {}))).toEqual([''])
    expect(await issuePaths(members.update({ orgId: 1, userId: 1 }, { orgId: 2 } as never))).toEqual(['orgId'])
    expect(await issuePaths(members.updateMany({ orgId: 1 }, {}))).toEqual([''])
    expect(await members.findById({ orgId: 1, userId: 1 })).toEqual({ orgId: 1, userId: 1, role: 'owner' })
  })

  it('refuses a primary key in the patch instead of reporting success and dropping it', async () => {
    const posts = repository(Post, db)
    expect(await issuePaths(posts.update(1, { id: 2, title: 'moved' } as never))).toEqual(['id'])
    expect(await issuePaths(posts.updateMany({ id: 1 }, { id: 2 } as never))).toEqual(['id'])
    expect(await posts.findById(1)).toMatchObject({ title: 'first', version: 1 })
  })

  it('refuses timestamps the repository sets, naming each', async () => {
    const posts = repository(Post, db)
    const when = new Date('2020-01-01T00:00:00Z')
    expect(await issuePaths(posts.update(1, { createdAt: when, updatedAt: when } as never))).toEqual(['createdAt', 'updatedAt'])
  })

  it('still takes an empty patch on a versioned entity: it bumps the version and updatedAt', async () => {
    const posts = repository(Post, db)
    expect(await posts.update(1, {})).toMatchObject({ title: 'first', version: 2 })
    expect(await repository(Membership, db).update({ orgId: 1, userId: 1 }, { role: 'admin' })).toMatchObject({ role: 'admin' })
  })

  it('refuses an expected version that no row can have, instead of reporting a conflict', async () => {
    const posts = repository(Post, db)
    expect(await issuePaths(posts.update(1, { title: 'x', version: null } as never))).toEqual(['version'])
    expect(await issuePaths(posts.update(1, { title: 'x', version: '1' } as never))).toEqual(['version'])
    expect(await issuePaths(posts.update(1, { title: 'x' }, { expectedVersion: Number.NaN }))).toEqual(['expectedVersion'])
    expect(await posts.update(1, { title: 'x', version: 1 })).toMatchObject({ title: 'x', version: 2 })
  })
})
