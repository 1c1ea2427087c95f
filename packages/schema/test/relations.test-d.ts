import type { Queryable } from '@tessera/core'
import { describe, expectTypeOf, it } from 'vitest'
import { bigint, defineEntity, defineRelations, integer, repository, text, timestamptz, uuid } from '../src/index'

const ProjectTable = defineEntity('TypedRelProject', {
  id: uuid().primaryKey(),
  name: text(),
  ownerId: integer().references(() => UserTable.fields.id),
})
const UserTable = defineEntity('TypedRelUser', { id: integer().primaryKey(), name: text() })
const TaskTable = defineEntity('TypedRelTask', {
  id: integer().primaryKey(),
  projectId: uuid().references(() => ProjectTable.fields.id),
  title: text(),
  estimate: bigint(),
  dueAt: timestamptz().nullable(),
})
const TagTable = defineEntity('TypedRelTag', { id: integer().primaryKey(), label: text() })
const TaskTagTable = defineEntity(
  'TypedRelTaskTag',
  { taskId: integer().references(() => TaskTable.fields.id), tagId: integer().references(() => TagTable.fields.id) },
  { primaryKey: ['taskId', 'tagId'] },
)

const { Project, Task } = defineRelations(
  { Project: ProjectTable, User: UserTable, Task: TaskTable, Tag: TagTable, TaskTag: TaskTagTable },
  (r) => ({
    Project: { tasks: r.hasMany('Task'), owner: r.belongsTo('User') },
    Task: { project: r.belongsTo('Project'), tags: r.manyToMany('Tag', { through: 'TaskTag' }) },
  }),
)

declare const db: Queryable
const projects = repository(Project, db)

describe('with', () => {
  it('types a loaded list, a loaded row or null, and nested relations', async () => {
    const page = await projects.findMany({ with: { tasks: { with: { tags: true, project: true } }, owner: true } })
    const project = page.rows[0]
    if (project === undefined) return
    expectTypeOf(project.name).toEqualTypeOf<string>()
    expectTypeOf(project.owner).toEqualTypeOf<{ id: number; name: string } | null>()
    const task = project.tasks[0]
    if (task === undefined) return
    expectTypeOf(task.dueAt).toEqualTypeOf<Date | null>()
    expectTypeOf(task.estimate).toEqualTypeOf<bigint>()
    expectTypeOf(task.tags).toEqualTypeOf<{ id: number; label: string }[]>()
    expectTypeOf(task.project?.name).toEqualTypeOf<string | undefined>()
  })

  it('leaves a read without with as the plain row', async () => {
    const found = await projects.findById('x')
    expectTypeOf(found).toEqualTypeOf<{ id: string; name: string; ownerId: number } | undefined>()
    // @ts-expect-error tasks were not asked for
    void found?.tasks
  })

  it('types where and orderBy inside with by the target entity', async () => {
    await projects.findMany({ with: { tasks: { where: { title: { like: 'a%' } }, orderBy: { estimate: 'desc' }, limit: 3 } } })
    // @ts-expect-error Task has no field nope
    await projects.findMany({ with: { tasks: { where: { nope: 1 } } } })
    // @ts-expect-error like applies to text fields, not bigint
    await projects.findMany({ with: { tasks: { where: { estimate: { like: '1%' } } } } })
    // @ts-expect-error Project has no relation tags
    await projects.findMany({ with: { tags: true } })
    const task = await repository(Task, db).findOne({ title: 'a' }, { with: { project: { with: { owner: true } } } })
    expectTypeOf(task?.project?.owner?.name).toEqualTypeOf<string | undefined>()
  })

  it('refuses a relation target that is not in the schema', () => {
    defineRelations({ A: UserTable }, (r) => ({
      // @ts-expect-error 'B' is not one of the entities
      A: { b: r.hasMany('B') },
    }))
  })
})
