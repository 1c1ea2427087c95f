// Eager loading with @tessera/schema relations: a project with its 100 tasks through `findById(id, { with: { tasks } })`
// (one statement: a correlated json_agg subquery) against two hand-written queries through a raw pg.Pool (goal: ratio
// ≥ 0.9) and Drizzle's relational query API, `db.query.projects.findFirst({ with: { tasks: true } })` (goal: faster).
import { createPgProvider } from '@tessera/provider-pg'
import { bigint, boolean, defineEntity, defineRelations, integer, repository, text, timestamptz } from '@tessera/schema'
import { eq, relations } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/node-postgres'
import * as d from 'drizzle-orm/pg-core'
import pg from 'pg'
import { type Case, compare, consume, type GroupResult, writeReport } from './harness'

const PG_URL = process.env.TESSERA_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const SCHEMA = `bench_rel_${process.pid}`
const PROJECTS = 20
const TASKS_PER_PROJECT = 100

const ProjectTable = defineEntity(
  'BenchRelProject',
  { id: integer().primaryKey(), name: text(), createdAt: timestamptz() },
  { schema: SCHEMA, table: 'projects' },
)
const TaskTable = defineEntity(
  'BenchRelTask',
  {
    id: integer().primaryKey(),
    projectId: integer().references(() => ProjectTable.fields.id),
    title: text(),
    position: integer(),
    done: boolean(),
    estimate: bigint(),
    dueAt: timestamptz().nullable(),
  },
  { schema: SCHEMA, table: 'tasks' },
)
const { Project } = defineRelations({ Project: ProjectTable, Task: TaskTable }, (r) => ({ Project: { tasks: r.hasMany('Task') } }))

// The same tables for Drizzle.
const benchSchema = d.pgSchema(SCHEMA)
const projects = benchSchema.table('projects', {
  id: d.integer('id').primaryKey(),
  name: d.text('name').notNull(),
  createdAt: d.timestamp('created_at', { withTimezone: true }).notNull(),
})
const tasks = benchSchema.table('tasks', {
  id: d.integer('id').primaryKey(),
  projectId: d
    .integer('project_id')
    .notNull()
    .references(() => projects.id),
  title: d.text('title').notNull(),
  position: d.integer('position').notNull(),
  done: d.boolean('done').notNull(),
  estimate: d.bigint('estimate', { mode: 'bigint' }).notNull(),
  dueAt: d.timestamp('due_at', { withTimezone: true }),
})
const projectsRelations = relations(projects, ({ many }) => ({ tasks: many(tasks) }))
const tasksRelations = relations(tasks, ({ one }) => ({ project: one(projects, { fields: [tasks.projectId], references: [projects.id] }) }))

interface Task {
  id: number
  projectId: number
  title: string
  position: number
  done: boolean
  estimate: bigint
  dueAt: Date | null
}

function mapTask(row: Record<string, unknown>): Task {
  return {
    id: row.id as number,
    projectId: row.project_id as number,
    title: row.title as string,
    position: row.position as number,
    done: row.done as boolean,
    estimate: BigInt(row.estimate as string),
    dueAt: row.due_at as Date | null,
  }
}

async function main(): Promise<void> {
  const raw = new pg.Pool({ connectionString: PG_URL, max: 2, application_name: 'tessera-bench-raw' })
  const drizzlePool = new pg.Pool({ connectionString: PG_URL, max: 2, application_name: 'tessera-bench-drizzle' })
  const orm = drizzle(drizzlePool, { schema: { projects, tasks, projectsRelations, tasksRelations } })
  const db = createPgProvider({ connectionString: PG_URL, applicationName: 'tessera-bench-schema', pool: { max: 2 } })
  const repo = repository(Project, db)
  const groups: GroupResult[] = []
  try {
    await raw.query(`CREATE SCHEMA "${SCHEMA}"`)
    await raw.query(`CREATE TABLE "${SCHEMA}".projects (id integer PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL)`)
    await raw.query(
      `CREATE TABLE "${SCHEMA}".tasks (id integer PRIMARY KEY, project_id integer NOT NULL REFERENCES "${SCHEMA}".projects (id), title text NOT NULL,
        position integer NOT NULL, done boolean NOT NULL, estimate bigint NOT NULL, due_at timestamptz)`,
    )
    await raw.query(`CREATE INDEX ON "${SCHEMA}".tasks (project_id)`)
    await raw.query(`INSERT INTO "${SCHEMA}".projects SELECT p, 'project ' || p, now() FROM generate_series(1, ${PROJECTS}) AS p`)
    await raw.query(
      `INSERT INTO "${SCHEMA}".tasks SELECT t, 1 + (t - 1) / ${TASKS_PER_PROJECT}, 'task ' || t, t % ${TASKS_PER_PROJECT}, t % 3 = 0, t * 1000,
        CASE WHEN t % 4 = 0 THEN NULL ELSE now() + t * interval '1 hour' END FROM generate_series(1, ${PROJECTS * TASKS_PER_PROJECT}) AS t`,
    )
    await raw.query(`ANALYZE "${SCHEMA}".projects, "${SCHEMA}".tasks`)

    let turn = 0
    const nextId = () => 1 + (turn++ % PROJECTS)
    const cases: Case[] = [
      {
        name: 'pg.Pool, two hand-written queries + hand mapping',
        fn: async () => {
          const id = nextId()
          const project = (await raw.query(`SELECT * FROM "${SCHEMA}".projects WHERE id = $1`, [id])).rows[0] as Record<string, unknown>
          const rows = (await raw.query(`SELECT * FROM "${SCHEMA}".tasks WHERE project_id = $1 ORDER BY id`, [id])).rows
          consume({ id: project.id, name: project.name, createdAt: project.created_at, tasks: rows.map(mapTask) })
        },
      },
      {
        name: 'drizzle db.query.projects.findFirst({ with: { tasks: true } })',
        fn: async () => {
          consume(await orm.query.projects.findFirst({ where: eq(projects.id, nextId()), with: { tasks: true } }))
        },
      },
      {
        name: 'repository.findById(id, { with: { tasks: true } })',
        fn: async () => {
          consume(await repo.findById(nextId(), { with: { tasks: true } }))
        },
      },
    ]
    // Same answer from all three before timing.
    const [viaRepo, viaOrm] = [
      await repo.findById(1, { with: { tasks: true } }),
      await orm.query.projects.findFirst({ where: eq(projects.id, 1), with: { tasks: true } }),
    ]
    if (viaRepo?.tasks.length !== TASKS_PER_PROJECT || viaOrm?.tasks.length !== TASKS_PER_PROJECT)
      throw new Error('the cases disagree on the tasks of project 1')
    groups.push(await compare(`a project with its ${TASKS_PER_PROJECT} tasks`, cases, { opsPerSample: 10, rounds: 60, warmupRounds: 5 }))
  } finally {
    await raw.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`).catch(() => undefined)
    await Promise.all([raw.end(), drizzlePool.end(), db.close()])
  }
  writeReport(
    'schema-relations',
    `Eager loading with @tessera/schema relations over @tessera/provider-pg, against two hand-written queries through a raw \`pg.Pool\` and Drizzle ORM's relational query API (drizzle-orm 0.44, node-postgres) on PostgreSQL at ${new URL(PG_URL).host}.`,
    groups,
    [
      'Goal: ratio ≥ 0.9 against the raw baseline; faster than Drizzle.',
      `${PROJECTS} projects of ${TASKS_PER_PROJECT} tasks (7 columns: integer, text, boolean, bigint, nullable timestamptz); each operation loads the next project by id with all its tasks, rows mapped to objects with camelCase fields, bigint as \`bigint\`, timestamps as \`Date\`.`,
      'The repository sends one statement (the tasks as a correlated `json_agg` subquery of each column’s text, read back by the provider’s codecs); the raw case sends two queries on one pool; Drizzle sends one statement (its own json aggregation).',
      'Every client has its own pool of 2 connections; pg.Pool parses with pg-types (int8 as text, mapped to bigint by hand).',
      'Client and server share one machine, so wall-time numbers include the server’s CPU time; the client CPU column is this process alone.',
    ],
  )
}

await main()
