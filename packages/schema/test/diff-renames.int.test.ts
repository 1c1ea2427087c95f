import { ConfigError, sql } from '@tessera/core'
import { describe, expect, it } from 'vitest'
import { createSchemaSql, defineEntity, diffSchema, integer, text, uuid } from '../src/index'
import { PROVIDERS, useProviderWithSchemas } from './providers'

function versions(schema: string) {
  const Project = defineEntity('RenameProject', { id: integer().primaryKey() }, { schema, table: 'projects' })
  /** The task entity with its text column called `textField`, in table `table`. */
  const task = (textField: 'title' | 'name', table: string) =>
    defineEntity(
      'RenameTask',
      {
        id: uuid().primaryKey().generated('uuidv4'),
        projectId: integer().references(() => Project.fields.id),
        [textField]: text()
          .index()
          .check((c) => sql`length(${c}) > ${0}`),
      },
      { schema, table },
    )
  return { Project, before: task('title', 'todo_items'), columnRenamed: task('name', 'todo_items'), bothRenamed: task('name', 'tasks') }
}

describe.each(PROVIDERS)('diffSchema rename hints on $name', (factory) => {
  const setup = useProviderWithSchemas(factory, 'diff_ren')

  async function start(schema: string) {
    const v = versions(schema)
    for (const statement of createSchemaSql([v.Project, v.before])) await setup.db.query(statement)
    await setup.db.query(`INSERT INTO ${schema}.projects VALUES (1)`)
    await setup.db.query(`INSERT INTO ${schema}.todo_items (project_id, title) VALUES (1, 'keep me')`)
    return v
  }

  async function apply(statements: readonly string[]): Promise<void> {
    for (const statement of statements) await setup.db.query(statement)
  }

  it('renames a hinted column with ALTER … RENAME COLUMN, keeping its data, index and check', async () => {
    const schema = setup.freshSchema()
    const v = await start(schema)
    const renames = { 'todo_items.title': 'todo_items.name' }
    const diff = await diffSchema([v.Project, v.columnRenamed], setup.db, { renames })
    expect(diff.changes.map((c) => c.kind)).toEqual(['renameColumn', 'renameConstraint', 'renameIndex'])
    expect(diff.statements[0]).toBe(`ALTER TABLE "${schema}"."todo_items" RENAME COLUMN "title" TO "name"`)
    expect(diff.skipped).toEqual([])
    await apply(diff.statements)
    const { rows } = await setup.db.query(`SELECT name FROM ${schema}.todo_items`)
    expect(rows).toEqual([{ name: 'keep me' }])
    expect((await diffSchema([v.Project, v.columnRenamed], setup.db, { renames })).changes).toEqual([])
  })

  it('renames a hinted table and its column together, and the diff is empty afterwards', async () => {
    const schema = setup.freshSchema()
    const v = await start(schema)
    const renames = { todo_items: 'tasks', 'todo_items.title': 'tasks.name' }
    const diff = await diffSchema([v.Project, v.bothRenamed], setup.db, { renames })
    expect(diff.changes.filter((c) => c.kind === 'renameTable' || c.kind === 'renameColumn').map((c) => c.sql)).toEqual([
      `ALTER TABLE "${schema}"."todo_items" RENAME TO "tasks"`,
      `ALTER TABLE "${schema}"."tasks" RENAME COLUMN "title" TO "name"`,
    ])
    expect(diff.changes.map((c) => c.kind)).not.toContain('createTable')
    expect(diff.changes.map((c) => c.kind)).not.toContain('dropTable')
    expect(diff.changes.every((c) => !c.destructive)).toBe(true)
    await apply(diff.statements)
    expect((await setup.db.query(`SELECT name, project_id FROM ${schema}.tasks`)).rows).toEqual([{ name: 'keep me', project_id: 1 }])
    expect((await diffSchema([v.Project, v.bothRenamed], setup.db, { renames })).changes).toEqual([])
    expect((await diffSchema([v.Project, v.bothRenamed], setup.db)).changes).toEqual([])
  })

  it('without a hint a rename is an add plus a destructive drop (held back)', async () => {
    const schema = setup.freshSchema()
    const v = await start(schema)
    const diff = await diffSchema([v.Project, v.columnRenamed], setup.db)
    expect(diff.changes.map((c) => c.kind)).toContain('addColumn')
    expect(diff.skipped.map((c) => c.kind)).toEqual(['dropColumn'])
  })

  it('refuses a hint whose new name no entity defines, naming it', async () => {
    const schema = setup.freshSchema()
    const v = await start(schema)
    const attempt = diffSchema([v.Project, v.columnRenamed], setup.db, { renames: { 'todo_items.title': 'todo_items.nmae' } })
    await expect(attempt).rejects.toThrow(ConfigError)
    await expect(attempt).rejects.toThrow(/RenameTask has no column nmae that todo_items\.title is renamed to/)
    // The failed diff wrote nothing.
    expect((await setup.db.query(`SELECT title FROM ${schema}.todo_items`)).rows).toEqual([{ title: 'keep me' }])
  })
})
