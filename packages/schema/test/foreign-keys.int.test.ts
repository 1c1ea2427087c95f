import { ConfigError, ForeignKeyViolationError } from '@tessera/core'
import { describe, expect, it } from 'vitest'
import { createSchemaSql, defineEntity, diffSchema, entityMeta, integer, introspectSchema, repository, text } from '../src/index'
import { PROVIDERS, useProviderWithSchemas } from './providers'

function entitiesIn(schema: string, deferrable: 'deferred' | 'immediate' | undefined = 'deferred') {
  const Membership = defineEntity(
    'FkMembership',
    { orgId: integer(), userId: integer(), role: text() },
    { schema, table: 'memberships', primaryKey: ['orgId', 'userId'] },
  )
  const Node = defineEntity(
    'FkNode',
    {
      id: integer().primaryKey(),
      parentId: integer().nullable().references('FkNode.id', { deferrable }),
    },
    { schema, table: 'nodes' },
  )
  const Assignment = defineEntity(
    'FkAssignment',
    { id: integer().primaryKey(), orgId: integer(), userId: integer() },
    {
      schema,
      table: 'assignments',
      foreignKeys: [{ fields: ['orgId', 'userId'], references: () => Membership, onDelete: 'cascade', deferrable }],
    },
  )
  return { Membership, Node, Assignment }
}

describe.each(PROVIDERS)('composite and deferrable foreign keys on $name', (factory) => {
  const setup = useProviderWithSchemas(factory, 'fkeys')

  async function create(schema: string) {
    const entities = entitiesIn(schema)
    for (const statement of createSchemaSql([entities.Assignment, entities.Node, entities.Membership])) await setup.db.query(statement)
    return entities
  }

  it('creates a composite key, enforces it, and cascades over both columns', async () => {
    const { Membership, Assignment } = await create(setup.freshSchema())
    await repository(Membership, setup.db).insert({ orgId: 1, userId: 2, role: 'admin' })
    await repository(Assignment, setup.db).insert({ id: 1, orgId: 1, userId: 2 })
    await expect(
      setup.db.transaction(async (tx) => {
        await tx.query('SET CONSTRAINTS ALL IMMEDIATE')
        await repository(Assignment, tx).insert({ id: 2, orgId: 1, userId: 3 })
      }),
    ).rejects.toThrow(ForeignKeyViolationError)
    await repository(Membership, setup.db).delete({ orgId: 1, userId: 2 })
    expect(await repository(Assignment, setup.db).count()).toBe(0)
  })

  it('checks a deferred key at commit: rows referencing each other can be written in any order', async () => {
    const { Node } = await create(setup.freshSchema())
    await setup.db.transaction(async (tx) => {
      const nodes = repository(Node, tx)
      await nodes.insert({ id: 1, parentId: 2 })
      await nodes.insert({ id: 2, parentId: null })
    })
    expect(await repository(Node, setup.db).count()).toBe(2)
    await expect(
      setup.db.transaction(async (tx) => {
        await repository(Node, tx).insert({ id: 3, parentId: 99 })
      }),
    ).rejects.toThrow(ForeignKeyViolationError)
  })

  it('round-trips: introspection reads columns and deferrability, the diff is empty, a change is a re-add', async () => {
    const schema = setup.freshSchema()
    const { Membership, Node, Assignment } = await create(schema)
    const live = await introspectSchema(setup.db, schema)
    expect(live.get('assignments')?.foreignKeys).toEqual([
      {
        name: 'assignments_org_id_user_id_fkey',
        columns: ['org_id', 'user_id'],
        referencedSchema: schema,
        referencedTable: 'memberships',
        referencedColumns: ['org_id', 'user_id'],
        onDelete: 'cascade',
        onUpdate: 'no action',
        deferrable: 'deferred',
      },
    ])
    expect((await diffSchema([Membership, Node, Assignment], setup.db)).changes).toEqual([])
    const immediate = entitiesIn(schema, 'immediate')
    const diff = await diffSchema([immediate.Membership, immediate.Node, immediate.Assignment], setup.db)
    expect(diff.changes.map((c) => c.kind).sort()).toEqual(['addForeignKey', 'addForeignKey', 'dropForeignKey', 'dropForeignKey'])
    expect(diff.statements.filter((s) => s.includes('ADD CONSTRAINT'))).toEqual([
      `ALTER TABLE "${schema}"."nodes" ADD CONSTRAINT "nodes_parent_id_fkey" FOREIGN KEY ("parent_id") REFERENCES "${schema}"."nodes" ("id") DEFERRABLE INITIALLY IMMEDIATE`,
      `ALTER TABLE "${schema}"."assignments" ADD CONSTRAINT "assignments_org_id_user_id_fkey" FOREIGN KEY ("org_id", "user_id") REFERENCES "${schema}"."memberships" ("org_id", "user_id") ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE`,
    ])
    for (const statement of diff.statements) await setup.db.query(statement)
    expect((await diffSchema([immediate.Membership, immediate.Node, immediate.Assignment], setup.db)).changes).toEqual([])
  })

  it('refuses a composite key whose target columns are neither a key nor unique', () => {
    const Target = defineEntity('FkLoose', { id: integer().primaryKey(), a: integer(), b: integer() })
    const Source = defineEntity(
      'FkLooseSource',
      { id: integer().primaryKey(), a: integer(), b: integer() },
      { foreignKeys: [{ fields: ['a', 'b'], references: () => Target, targetFields: ['a', 'b'] }] },
    )
    expect(() => entityMeta(Source)).toThrow(ConfigError)
    expect(() => entityMeta(Source)).toThrow(/FkLoose \(a, b\) is neither its primary key nor a unique constraint/)
  })
})
