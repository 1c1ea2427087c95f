import { defineEntity, field } from '@tessera/schema'
import { type Insertable, Kysely, type Selectable, type Updateable } from 'kysely'
import { describe, expectTypeOf, it } from 'vitest'
import { createTesseraDialect, entityNamingPlugin, type KyselyDatabase } from '../src/index'

const Project = defineEntity('Project', {
  id: field.integer().primaryKey().generated('identity'),
  name: field.text(),
  archivedAt: field.timestamptz().nullable(),
})
const Task = defineEntity('Task', {
  id: field.uuid().primaryKey().generated('uuidv4'),
  projectId: field.integer(),
  title: field.text(),
  done: field.boolean().default(false),
  tags: field.array(field.text()),
})
const entities = { projects: Project, tasks: Task }
type Database = KyselyDatabase<typeof entities>
declare const queryable: Parameters<typeof createTesseraDialect>[0]['queryable']
const db = new Kysely<Database>({ dialect: createTesseraDialect({ queryable }), plugins: [entityNamingPlugin(entities)] })

describe('KyselyDatabase', () => {
  it('selects every field with its read type, null for nullable fields', () => {
    expectTypeOf<Selectable<Database['tasks']>>().toEqualTypeOf<{
      id: string
      projectId: number
      title: string
      done: boolean
      tags: string[]
    }>()
    expectTypeOf<Selectable<Database['projects']>>().toEqualTypeOf<{ id: number; name: string; archivedAt: Date | null }>()
  })

  it('lets an insert leave out generated, defaulted and nullable fields, and only those', () => {
    type TaskInsert = Insertable<Database['tasks']>
    expectTypeOf<Pick<TaskInsert, 'projectId' | 'title' | 'tags'>>().toEqualTypeOf<{ projectId: number; title: string; tags: string[] }>()
    expectTypeOf<Pick<TaskInsert, 'id' | 'done'>>().toEqualTypeOf<{ id?: string | undefined; done?: boolean | undefined }>()
    expectTypeOf<Updateable<Database['projects']>>().toEqualTypeOf<{
      id?: number | undefined
      name?: string | undefined
      archivedAt?: Date | null | undefined
    }>()
  })

  it('refuses wrong table and column names and wrong value types at compile time', () => {
    db.selectFrom('tasks').select(['title', 'projectId'])
    // @ts-expect-error: the column is the field name projectId (project_id is what the plugin writes into SQL)
    db.selectFrom('tasks').select('project_id')
    // @ts-expect-error: no such table
    db.selectFrom('task')
    // @ts-expect-error: title is text
    db.insertInto('tasks').values({ projectId: 1, title: 2, tags: [] })
    // @ts-expect-error: projectId is required on insert
    db.insertInto('tasks').values({ title: 'x', tags: [] })
    db.insertInto('tasks').values({ projectId: 1, title: 'x', tags: [] })
    // @ts-expect-error: archivedAt is a Date or null
    db.updateTable('projects').set({ archivedAt: 'yesterday' })
  })

  it('types join results from both entities', async () => {
    const rows = await db
      .selectFrom('tasks')
      .innerJoin('projects', 'projects.id', 'tasks.projectId')
      .select(['tasks.title', 'projects.archivedAt'])
      .execute()
    expectTypeOf(rows).toEqualTypeOf<{ title: string; archivedAt: Date | null }[]>()
  })
})
