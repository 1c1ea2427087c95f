import { tracingChannel } from 'node:diagnostics_channel'
import { ConfigError, type QueryMessage, sql } from '@tessera/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  array,
  bigint,
  bytea,
  createSchemaSql,
  date,
  defineEntity,
  defineRelations,
  enumOf,
  integer,
  json,
  numeric,
  repository,
  text,
  timestamptz,
  uuid,
} from '../src/index'
import { issuePaths, PROVIDERS, uniqueName, useProviderWithSchemas } from './providers'

const schema = uniqueName('rel')

const UserTable = defineEntity('RelUser', { id: integer().primaryKey(), name: text() }, { schema, table: 'users' })
const ProfileTable = defineEntity(
  'RelProfile',
  {
    id: integer().primaryKey(),
    userId: integer()
      .unique()
      .references(() => UserTable.fields.id),
    bio: text(),
  },
  { schema, table: 'profiles' },
)
const ProjectTable = defineEntity(
  'RelProject',
  {
    id: uuid().primaryKey().generated('uuidv7'),
    name: text(),
    ownerId: integer().references(() => UserTable.fields.id),
    createdAt: timestamptz().createdAt(),
  },
  { schema, table: 'projects' },
)
const TaskTable = defineEntity(
  'RelTask',
  {
    id: integer().primaryKey(),
    projectId: uuid().references(() => ProjectTable.fields.id, { onDelete: 'cascade' }),
    title: text(),
    position: integer(),
    estimate: bigint(),
    cost: numeric(10, 2).nullable(),
    meta: json<{ labels: string[] }>().nullable(),
    dueAt: timestamptz().nullable(),
  },
  { schema, table: 'tasks' },
)
const TagTable = defineEntity('RelTag', { id: integer().primaryKey(), label: text() }, { schema, table: 'tags' })
const TaskTagTable = defineEntity(
  'RelTaskTag',
  {
    taskId: integer().references(() => TaskTable.fields.id, { onDelete: 'cascade' }),
    tagId: integer().references(() => TagTable.fields.id),
  },
  { schema, table: 'task_tags', primaryKey: ['taskId', 'tagId'] },
)

const { User, Project, Task, Tag, Profile } = defineRelations(
  { User: UserTable, Profile: ProfileTable, Project: ProjectTable, Task: TaskTable, Tag: TagTable, TaskTag: TaskTagTable },
  (r) => ({
    User: { projects: r.hasMany('Project'), profile: r.hasOne('Profile') },
    Profile: { user: r.belongsTo('User') },
    Project: { tasks: r.hasMany('Task'), owner: r.belongsTo('User', { foreignKey: 'ownerId' }) },
    Task: { project: r.belongsTo('Project'), tags: r.manyToMany('Tag', { through: 'TaskTag' }) },
    Tag: { tasks: r.manyToMany('Task', { through: 'TaskTag' }) },
  }),
)

/** Counts the statements run while `fn` runs. */
async function countStatements<T>(fn: () => Promise<T>): Promise<{ result: T; statements: number }> {
  let statements = 0
  const channel = tracingChannel<QueryMessage>('tessera:query')
  const handlers = { start: () => void statements++, end() {}, asyncStart() {}, asyncEnd() {}, error() {} }
  channel.subscribe(handlers)
  try {
    const result = await fn()
    return { result, statements }
  } finally {
    channel.unsubscribe(handlers)
  }
}

describe.each(PROVIDERS)('relations on $name', (factory) => {
  const setup = useProviderWithSchemas(factory, 'rel')
  const projectIds: string[] = []

  afterAll(async () => {
    await setup.db.query(sql`DROP SCHEMA IF EXISTS ${sql.id(schema)} CASCADE`)
  })

  beforeAll(async () => {
    const db = setup.db
    await db.query(sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`)
    for (const statement of createSchemaSql([UserTable, ProfileTable, ProjectTable, TaskTable, TagTable, TaskTagTable])) {
      await db.query(statement)
    }
    await db.query(sql`TRUNCATE ${sql.id([schema, 'users'])}, ${sql.id([schema, 'tags'])} CASCADE`)
    projectIds.length = 0
    await repository(User, db).insertMany([
      { id: 1, name: 'Ada' },
      { id: 2, name: 'Grace' },
    ])
    await repository(Profile, db).insert({ id: 1, userId: 1, bio: 'engines' })
    const projects = repository(Project, db)
    for (const [name, ownerId] of [
      ['alpha', 1],
      ['beta', 1],
      ['gamma', 2],
    ] as const) {
      projectIds.push((await projects.insert({ name, ownerId })).id)
    }
    const tasks = []
    let id = 1
    for (const [p, projectId] of projectIds.entries()) {
      // alpha: 5 tasks, beta: 3, gamma: none
      const count = [5, 3, 0][p] as number
      for (let i = 0; i < count; i++) {
        tasks.push({
          id: id++,
          projectId,
          title: `task ${p}.${i}`,
          position: count - i,
          estimate: 9_007_199_254_740_993n + BigInt(i),
          cost: i === 0 ? null : `${i}.50`,
          meta: { labels: [`l${i}`] },
          dueAt: new Date(Date.UTC(2026, 0, i + 1, 12, 30)),
        })
      }
    }
    await repository(Task, db).insertMany(tasks)
    await repository(Tag, db).insertMany([
      { id: 1, label: 'urgent' },
      { id: 2, label: 'later' },
    ])
    await repository(TaskTagTable, db).insertMany([
      { taskId: 1, tagId: 1 },
      { taskId: 1, tagId: 2 },
      { taskId: 2, tagId: 2 },
    ])
  })

  it('loads each project with its tasks in one statement, nested values typed as the fields say', async () => {
    const projects = repository(Project, setup.db)
    const { result, statements } = await countStatements(() => projects.findMany({ with: { tasks: true }, orderBy: { name: 'asc' } }))
    expect(statements).toBe(1)
    expect(result.rows.map((p) => [p.name, p.tasks.length])).toEqual([
      ['alpha', 5],
      ['beta', 3],
      ['gamma', 0],
    ])
    const task = result.rows[0]?.tasks[1]
    expect(task?.dueAt).toBeInstanceOf(Date)
    expect(task?.dueAt?.toISOString()).toBe('2026-01-02T12:30:00.000Z')
    expect(task?.estimate).toBe(9_007_199_254_740_994n)
    expect(task?.cost).toBe('1.50')
    expect(task?.meta).toEqual({ labels: ['l1'] })
    expect(result.rows[0]?.tasks[0]?.cost).toBeNull()
    expect(result.rows[0]?.createdAt).toBeInstanceOf(Date)
    // The nested row equals the row read directly.
    expect(task).toEqual(await repository(Task, setup.db).findById(task?.id ?? -1))
  })

  it('applies where, orderBy and a limit per parent row inside with', async () => {
    const projects = repository(Project, setup.db)
    const page = await projects.findMany({
      orderBy: { name: 'asc' },
      with: { tasks: { where: { position: { gte: 2 } }, orderBy: { position: 'asc' }, limit: 2 } },
    })
    expect(page.rows.map((p) => p.tasks.map((t) => t.position))).toEqual([[2, 3], [2, 3], []])
  })

  it('loads nested relations (belongsTo, hasOne, manyToMany) in the same statement', async () => {
    const users = repository(User, setup.db)
    const { result: ada, statements } = await countStatements(() =>
      users.findById(1, {
        with: {
          profile: true,
          projects: { orderBy: { name: 'asc' }, with: { tasks: { limit: 1, with: { tags: { orderBy: { label: 'asc' } } } }, owner: true } },
        },
      }),
    )
    expect(statements).toBe(1)
    expect(ada?.profile?.bio).toBe('engines')
    expect(ada?.projects.map((p) => p.name)).toEqual(['alpha', 'beta'])
    expect(ada?.projects[0]?.owner?.name).toBe('Ada')
    expect(ada?.projects[0]?.tasks[0]?.tags.map((t) => t.label)).toEqual(['later', 'urgent'])
    const grace = await users.findOne({ name: 'Grace' }, { with: { profile: true } })
    expect(grace?.profile).toBeNull()
    const task = await repository(Task, setup.db).findById(2, { with: { project: { with: { owner: true } }, tags: true } })
    expect(task?.project?.name).toBe('alpha')
    expect(task?.project?.owner?.id).toBe(1)
    expect(task?.tags.map((t) => t.id)).toEqual([2])
    const tag = await repository(Tag, setup.db).findById(2, { with: { tasks: { orderBy: { id: 'desc' } } } })
    expect(tag?.tasks.map((t) => t.id)).toEqual([2, 1])
  })

  it('pages with a cursor while loading relations', async () => {
    const projects = repository(Project, setup.db)
    const first = await projects.findMany({ orderBy: { name: 'asc' }, limit: 2, with: { tasks: { limit: 1 } } })
    expect(first.rows.map((p) => p.name)).toEqual(['alpha', 'beta'])
    const second = await projects.findMany({ orderBy: { name: 'asc' }, limit: 2, after: first.nextCursor, with: { tasks: true } })
    expect(second.rows.map((p) => [p.name, p.tasks])).toEqual([['gamma', []]])
  })

  it('refuses undefined inside a with filter, naming its path, before any statement', async () => {
    const projects = repository(Project, setup.db)
    const { result, statements } = await countStatements(() =>
      issuePaths(projects.findMany({ with: { tasks: { where: { title: undefined } } } } as never)),
    )
    expect(result).toEqual(['with.tasks.where.title'])
    expect(statements).toBe(0)
    expect(
      await issuePaths(projects.findMany({ with: { tasks: { with: { tags: { where: { label: { in: [undefined] } } } } } } } as never)),
    ).toEqual(['with.tasks.with.tags.where.label.in.0'])
    expect(await issuePaths(projects.findMany({ with: { tasks: { where: { tags: { some: { label: undefined } } } } } } as never))).toEqual([
      'with.tasks.where.tags.some.label',
    ])
    expect(await issuePaths(projects.findMany({ with: { nope: true } } as never))).toEqual(['with.nope'])
    expect(await issuePaths(projects.findMany({ with: { owner: { limit: 2 } } } as never))).toEqual(['with.owner.limit'])
    expect(await issuePaths(projects.findMany({ with: { tasks: { limit: -1 } } }))).toEqual(['with.tasks.limit'])
  })

  it('filters on relations inside with and at the root together', async () => {
    const projects = repository(Project, setup.db)
    const page = await projects.findMany({
      where: { tasks: { some: { tags: { some: { label: 'urgent' } } } } },
      with: { tasks: { where: { tags: { some: {} } }, orderBy: { id: 'asc' } } },
    })
    expect(page.rows.map((p) => [p.name, p.tasks.map((t) => t.id)])).toEqual([['alpha', [1, 2]]])
  })

  it('runs afterLoad on nested rows and links by explicitly named keys', async () => {
    const ProjectView = defineEntity('RelProjectView', { id: uuid().primaryKey(), name: text() }, { schema, table: 'projects' })
    const TaskView = defineEntity(
      'RelTaskView',
      { id: integer().primaryKey(), projectId: uuid(), title: text() },
      { schema, table: 'tasks', hooks: { afterLoad: (row) => ({ ...row, title: row.title.toUpperCase() }) } },
    )
    const { P } = defineRelations({ P: ProjectView, T: TaskView }, (r) => ({
      P: { tasks: r.hasMany('T', { foreignKey: 'projectId', references: 'id' }) },
      T: { project: r.belongsTo('P', { foreignKey: 'projectId' }) },
    }))
    const alpha = await repository(P, setup.db).findOne({ name: 'alpha' }, { with: { tasks: { limit: 2, with: { project: true } } } })
    expect(alpha?.tasks.map((t) => t.title)).toEqual(['TASK 0.0', 'TASK 0.1'])
    expect(alpha?.tasks[0]?.project?.name).toBe('alpha')
  })

  it('reads arrays, bytes, enums, dates and json in nested rows exactly as in top-level rows', async () => {
    const Box = defineEntity('RelBox', { id: integer().primaryKey() }, { schema, table: 'boxes' })
    const Thing = defineEntity(
      'RelThing',
      {
        id: integer().primaryKey(),
        boxId: integer().references(() => Box.fields.id),
        labels: array(text()),
        scores: array(integer().nullable()),
        blob: bytea(),
        mood: enumOf(['ok', 'meh']),
        day: date(),
        doc: json<{ a: number[] }>(),
        big: bigint().nullable(),
      },
      { schema, table: 'things' },
    )
    for (const statement of createSchemaSql([Box, Thing])) await setup.db.query(statement)
    await setup.db.query(sql`TRUNCATE ${sql.id([schema, 'boxes'])} CASCADE`)
    const { Box: B } = defineRelations({ Box, Thing }, (r) => ({ Box: { things: r.hasMany('Thing') } }))
    await repository(Box, setup.db).insert({ id: 1 })
    await repository(Thing, setup.db).insert({
      id: 1,
      boxId: 1,
      labels: ['a,b', 'say "hi"', ''],
      scores: [1, null, 3],
      blob: Buffer.from([0, 1, 255]),
      mood: 'meh',
      day: '2026-02-28',
      doc: { a: [1, 2] },
      big: -9_007_199_254_740_993n,
    })
    const box = await repository(B, setup.db).findById(1, { with: { things: true } })
    expect(box?.things[0]).toEqual(await repository(Thing, setup.db).findById(1))
  })

  it('keeps a hostile string in a with filter a parameter', async () => {
    const projects = repository(Project, setup.db)
    const page = await projects.findMany({ with: { tasks: { where: { title: "x' OR '1'='1" } } } })
    expect(page.rows.every((p) => p.tasks.length === 0)).toBe(true)
  })
})

describe('defineRelations', () => {
  it('refuses an unknown target entity, through entity or a relation named like a field', () => {
    const error = (() => {
      try {
        defineRelations({ Task: TaskTable, Tag: TagTable }, (r) => ({
          Task: { title: r.belongsTo('Tag'), tags: r.manyToMany('Tag', { through: 'TaskTag' as 'Tag' }), x: r.hasMany('Nope' as 'Tag') },
        }))
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(ConfigError)
    const message = (error as Error).message
    expect(message).toContain('Task.title: the relation has the name of a field')
    expect(message).toContain('goes through "TaskTag"')
  })

  it('explains a relation whose foreign key cannot be found at the first query', async () => {
    const Lonely = defineEntity('RelLonely', { id: integer().primaryKey() }, { schema, table: 'lonely' })
    const Other = defineEntity('RelOther', { id: integer().primaryKey() }, { schema, table: 'other' })
    const { Tag: LonelyTag } = defineRelations({ Tag: Lonely, User: Other }, (r) => ({ Tag: { users: r.hasMany('User') } }))
    const tags = repository(LonelyTag, { query: async () => ({ rows: [], rowCount: 0, command: 'SELECT', fields: [] }) })
    await expect(tags.findMany({ with: { users: true } })).rejects.toThrow(
      /no field of RelOther references RelLonely; name it with \{ foreignKey/,
    )
  })
})
