import { ConfigError } from '@tessera/core'
import { createTableSql, defineEntity, entityMeta, field, repository } from '@tessera/schema'
import { Kysely } from 'kysely'
import { describe, expect, it } from 'vitest'
import { createTesseraDialect, entityNamingPlugin, type KyselyDatabase } from '../src/index'
import { PROVIDERS, useProvider } from './providers'

describe.each(PROVIDERS)('entity types and names over the $name provider', (factory) => {
  const env = useProvider(factory, 'kysely_entities')

  it('queries entity tables by field name, with columns named by the naming strategy and .column()', async () => {
    const schema = await env.freshSchema()
    const Project = defineEntity(
      'Project',
      { id: field.integer().primaryKey().generated('identity'), displayName: field.text() },
      { schema },
    )
    const Task = defineEntity(
      'Task',
      {
        id: field.integer().primaryKey().generated('identity'),
        projectId: field.integer().references(() => Project.fields.id),
        dueAt: field.timestamptz().nullable(),
        userIDs: field.array(field.integer()).default([]),
        legacyCode: field.text().column('LEGACY').nullable(),
      },
      { schema },
    )
    expect(entityMeta(Task).byField.get('userIDs')?.columnName).toBe('user_ids')
    for (const entity of [Project, Task]) await env.provider.query(createTableSql(entity))
    const entities = { [`${schema}.projects`]: Project, [`${schema}.tasks`]: Task } as {
      'app.projects': typeof Project
      'app.tasks': typeof Task
    }
    const db = new Kysely<KyselyDatabase<typeof entities>>({
      dialect: createTesseraDialect({ queryable: env.provider }),
      plugins: [entityNamingPlugin(entities)],
    })
    const project = await repository(Project, env.provider).insert({ displayName: 'Mosaic' })
    const due = new Date('2030-01-02T03:04:05.000Z')
    const projects = `${schema}.projects` as 'app.projects'
    const tasks = `${schema}.tasks` as 'app.tasks'
    await db
      .insertInto(tasks)
      .values({ projectId: project.id, dueAt: due, userIDs: [7, 8], legacyCode: 'L1' })
      .execute()
    const rows = await db
      .selectFrom(tasks)
      .innerJoin(projects, `${projects}.id` as 'app.projects.id', `${tasks}.projectId` as 'app.tasks.projectId')
      .select(['displayName', 'dueAt', 'userIDs', 'legacyCode'])
      .execute()
    expect(rows).toEqual([{ displayName: 'Mosaic', dueAt: due, userIDs: [7, 8], legacyCode: 'L1' }])
    // The repository reads what Kysely wrote: one definition for both.
    expect(await repository(Task, env.provider).findMany({ where: { projectId: project.id } })).toMatchObject({
      rows: [{ userIDs: [7, 8], dueAt: due }],
    })
  })

  it('shares one transaction between a repository and Kysely: both commit or neither', async () => {
    const schema = await env.freshSchema()
    const Note = defineEntity('Note', { id: field.integer().primaryKey().generated('identity'), bodyText: field.text() }, { schema })
    await env.provider.query(createTableSql(Note))
    const entities = { [`${schema}.notes`]: Note } as { 'app.notes': typeof Note }
    const table = `${schema}.notes` as 'app.notes'
    const plugins = [entityNamingPlugin(entities)]
    const failed = await env.provider
      .transaction(async (tx) => {
        const db = new Kysely<KyselyDatabase<typeof entities>>({ dialect: createTesseraDialect({ queryable: tx }), plugins })
        await repository(Note, tx).insert({ bodyText: 'from the repository' })
        await db.insertInto(table).values({ bodyText: 'from Kysely' }).execute()
        expect(await db.selectFrom(table).select('bodyText').orderBy('id').execute()).toEqual([
          { bodyText: 'from the repository' },
          { bodyText: 'from Kysely' },
        ])
        throw new Error('undo both')
      })
      .catch((e: unknown) => e)
    expect((failed as Error).message).toBe('undo both')
    expect((await env.provider.query(`SELECT count(*)::int AS n FROM ${schema}.notes`)).rows).toEqual([{ n: 0 }])
  })

  it('refuses a key that is not the entity table, and an ambiguous field name', () => {
    const User = defineEntity('User', { id: field.integer().primaryKey(), fullName: field.text() })
    const Other = defineEntity('Other', { id: field.integer().primaryKey(), fullName: field.text().column('name') })
    expect(() => entityNamingPlugin({ user: User })).toThrow('key "user" holds entity User, whose table is "users": use "users" as the key')
    expect(() => entityNamingPlugin({ users: User, others: Other })).toThrow(ConfigError)
    expect(() => entityNamingPlugin({ users: {} as typeof User })).toThrow('not an entity made by defineEntity')
  })
})
