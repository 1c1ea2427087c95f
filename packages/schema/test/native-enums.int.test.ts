import { sql, ValidationError } from '@tessera/core'
import { describe, expect, it } from 'vitest'
import {
  createMigrator,
  createSchemaSql,
  defineEntity,
  diffSchema,
  enumOf,
  integer,
  introspectEnums,
  introspectSchema,
  repository,
} from '../src/index'
import { PROVIDERS, useProviderWithSchemas } from './providers'

function taskWith<const V extends readonly [string, ...string[]]>(schema: string, values: V, fallback: V[number]) {
  return defineEntity(
    'NativeTask',
    { id: integer().primaryKey(), status: enumOf(values, { native: 'task_status' }).default(fallback) },
    { schema, table: 'tasks' },
  )
}

describe.each(PROVIDERS)('native enums on $name', (factory) => {
  const setup = useProviderWithSchemas(factory, 'enum_native')

  async function create(schema: string) {
    const Task = taskWith(schema, ['todo', 'doing', 'done'], 'todo')
    for (const statement of createSchemaSql([Task])) await setup.db.query(statement)
    return Task
  }

  it('creates the type, stores, filters and validates its values, and the diff is empty', async () => {
    const schema = setup.freshSchema()
    const Task = await create(schema)
    // createSchemaSql may run again: the type is created only when missing.
    for (const statement of createSchemaSql([Task])) await setup.db.query(statement)
    expect((await introspectEnums(setup.db, schema)).get('task_status')).toEqual(['todo', 'doing', 'done'])
    const table = (await introspectSchema(setup.db, schema)).get('tasks')
    expect(table?.columns.find((c) => c.name === 'status')?.type).toBe(`${schema}.task_status`)
    expect(table?.checks).toEqual([])

    const tasks = repository(Task, setup.db)
    await tasks.insert({ id: 1 })
    await tasks.insert({ id: 2, status: 'done' })
    expect(await tasks.findById(1)).toEqual({ id: 1, status: 'todo' })
    expect((await tasks.findMany({ where: { status: { in: ['done', 'doing'] } } })).rows.map((t) => t.id)).toEqual([2])
    expect((await tasks.findMany({ where: { status: 'todo' } })).rows.map((t) => t.id)).toEqual([1])
    await expect(tasks.insert({ id: 3, status: 'later' as 'todo' })).rejects.toThrow(ValidationError)

    const diff = await diffSchema([Task], setup.db)
    expect(diff.changes).toEqual([])
  })

  it('adds a value with ALTER TYPE … ADD VALUE, committed before the changes that use it', async () => {
    const schema = setup.freshSchema()
    await create(schema)
    const Next = taskWith(schema, ['todo', 'doing', 'blocked', 'done'], 'blocked')
    const diff = await diffSchema([Next], setup.db)
    expect(diff.changes.map((c) => [c.kind, c.phase])).toEqual([
      ['addEnumValue', 'first'],
      ['setDefault', 'main'],
    ])
    expect(diff.upFirst).toBe(`ALTER TYPE "${schema}"."task_status" ADD VALUE IF NOT EXISTS 'blocked' BEFORE 'done';`)
    expect(diff.up).toMatch(/SET DEFAULT 'blocked'/)
    expect(diff.skipped).toEqual([])

    // In one transaction PostgreSQL refuses to use the new value: why upFirst is separate.
    await expect(
      setup.db.transaction(async (tx) => {
        await tx.query(diff.upFirst, undefined, { prepare: false })
        await tx.query(diff.up, undefined, { prepare: false })
      }),
    ).rejects.toThrow(/unsafe use of new value/)

    const migrator = createMigrator(setup.db, {
      schema,
      migrations: [
        { id: 1, name: 'enum values', up: diff.upFirst },
        { id: 2, name: 'use them', up: diff.up },
      ],
    })
    await migrator.up()
    expect((await introspectEnums(setup.db, schema)).get('task_status')).toEqual(['todo', 'doing', 'blocked', 'done'])
    await repository(Next, setup.db).insert({ id: 1 })
    expect(await repository(Next, setup.db).findById(1)).toEqual({ id: 1, status: 'blocked' })
    expect((await diffSchema([Next], setup.db)).changes).toEqual([])
  })

  it('reports removing a value as destructive, naming it, and applies it only when asked', async () => {
    const schema = setup.freshSchema()
    const Task = await create(schema)
    await repository(Task, setup.db).insert({ id: 1, status: 'doing' })
    const Fewer = taskWith(schema, ['todo', 'done'], 'todo')
    const held = await diffSchema([Fewer], setup.db)
    expect(held.changes).toEqual([])
    expect(held.skipped[0]?.description).toMatch(
      /^recreate enum type .*task_status to remove value 'doing' \(rows holding it make this fail/,
    )

    const diff = await diffSchema([Fewer], setup.db, { destructive: true })
    expect(diff.changes.every((c) => c.kind === 'recreateEnum' && c.destructive)).toBe(true)
    expect(diff.up).toMatch(/^-- DESTRUCTIVE: recreate enum type/)
    await expect(setup.db.transaction((tx) => tx.query(diff.up, undefined, { prepare: false }))).rejects.toThrow(
      /invalid input value for enum/,
    )
    await setup.db.query(sql`DELETE FROM ${sql.id([schema, 'tasks'])}`)
    await setup.db.transaction((tx) => tx.query(diff.up, undefined, { prepare: false }))
    expect((await introspectEnums(setup.db, schema)).get('task_status')).toEqual(['todo', 'done'])
    expect((await diffSchema([Fewer], setup.db)).changes).toEqual([])
  })

  it('renames a hinted value with ALTER TYPE … RENAME VALUE, keeping the rows', async () => {
    const schema = setup.freshSchema()
    const Task = await create(schema)
    await repository(Task, setup.db).insert({ id: 1, status: 'doing' })
    const Renamed = taskWith(schema, ['todo', 'in progress', 'done'], 'todo')
    const renames = { 'enum:task_status.doing': 'enum:task_status.in progress' }
    const diff = await diffSchema([Renamed], setup.db, { renames })
    expect(diff.statements).toEqual([`ALTER TYPE "${schema}"."task_status" RENAME VALUE 'doing' TO 'in progress'`])
    await setup.db.transaction((tx) => tx.query(diff.up, undefined, { prepare: false }))
    expect(await repository(Renamed, setup.db).findById(1)).toEqual({ id: 1, status: 'in progress' })
    expect((await diffSchema([Renamed], setup.db, { renames })).changes).toEqual([])
  })
})
