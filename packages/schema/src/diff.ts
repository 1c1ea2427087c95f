import { ConfigError, type Provider, type Queryable, type SqlQuery, sql, type Transaction } from '@tessera/core'
import { quoteIdent } from '@tessera/naming'
import {
  columnDefault,
  columnSql,
  enumTypesOf,
  extensionsOf,
  foreignKeyClause,
  indexSql,
  quoteLiteral,
  renderStatic,
  tableBodySql,
} from './ddl'
import type { AnyEntity } from './define-entity'
import { type EntityMeta, entityMeta, type ForeignKeyMeta, foreignKeysOf } from './entity-meta'
import { introspectEnums, introspectSchema, type LiveForeignKey, type LiveIndex, type LiveTable } from './introspect'
import { isWidening } from './type-widening'

/** What one step of a schema diff does. */
export type SchemaChangeKind =
  | 'createExtension'
  | 'createSchema'
  | 'createEnum'
  | 'addEnumValue'
  | 'renameEnumValue'
  | 'recreateEnum'
  | 'renameTable'
  | 'renameColumn'
  | 'createTable'
  | 'dropTable'
  | 'addColumn'
  | 'dropColumn'
  | 'alterColumnType'
  | 'setNotNull'
  | 'dropNotNull'
  | 'setDefault'
  | 'dropDefault'
  | 'addIdentity'
  | 'dropIdentity'
  | 'changePrimaryKey'
  | 'addUnique'
  | 'dropUnique'
  | 'createIndex'
  | 'renameIndex'
  | 'dropIndex'
  | 'addCheck'
  | 'renameConstraint'
  | 'dropCheck'
  | 'addForeignKey'
  | 'dropForeignKey'
  | 'createView'
  | 'dropView'

/** One statement of a schema diff. */
export interface SchemaChange {
  kind: SchemaChangeKind
  /** The table it concerns, as `schema.table`. */
  table: string
  /** The statement. */
  sql: string
  /** Whether it can lose data (drop a column or table, change a type, change the primary key). */
  destructive: boolean
  /** A sentence for people: `add column users.age`. */
  description: string
  /**
   * `'first'`: the statement must be committed before the others run: `ALTER TYPE … ADD VALUE`, whose new value
   * cannot be used in the transaction that added it. It is in {@link SchemaDiff.upFirst}, not in `up`. Otherwise `'main'`.
   */
  phase: 'first' | 'main'
}

/** Options of {@link diffSchema}. */
export interface DiffSchemaOptions {
  /** The schema of entities defined without one. Default: the connection's `current_schema()`. */
  schema?: string | undefined
  /** Emit destructive changes (drop column, type change, primary key change, drop table). Otherwise they are only listed in `skipped`. Default: `false`. */
  destructive?: boolean | undefined
  /** Drop tables of the entities' schemas that no entity defines (needs `destructive` too). Default: `false`. */
  dropUnknownTables?: boolean | undefined
  /** Tables never dropped by `dropUnknownTables`. Default: `['tessera_migrations']`. */
  ignoreTables?: readonly string[] | undefined
  /**
   * Renames, old name → new name, so that a renamed table or column becomes `ALTER … RENAME` instead of a drop and
   * an add: `'tasks.title': 'tasks.name'` (a column: `table.column`, database names), `'todo_items': 'tasks'` (a
   * table, in the schema of the entity defining the new name). A column key may name the table by its old or new
   * name. A hint whose old name is gone and new name exists is already applied and ignored; one whose new name no
   * entity defines is a `ConfigError`. Enum values: `'enum:task_status.todo': 'enum:task_status.open'` is
   * `ALTER TYPE … RENAME VALUE` instead of removing one value (destructive) and adding another. Default: none.
   */
  renames?: Readonly<Record<string, string>> | undefined
}

/** The result of {@link diffSchema}. */
export interface SchemaDiff {
  /** The changes to apply, in an order PostgreSQL accepts. Empty when the database matches the entities. */
  changes: SchemaChange[]
  /** Destructive changes found but not emitted because `destructive` was `false`. */
  skipped: SchemaChange[]
  /** `changes` as statements. */
  statements: string[]
  /**
   * The changes as one SQL text, a ready `up` for a migration: one statement per line ending in `;`, each
   * destructive one preceded by a `-- DESTRUCTIVE:` comment. Empty string when there is nothing to do. Without the
   * changes of phase `'first'`, which are in `upFirst`.
   */
  up: string
  /**
   * New enum values (`ALTER TYPE … ADD VALUE`), to be applied and committed before `up`: a migration of their own,
   * ordered before the one holding `up` (PostgreSQL refuses to use a value in the transaction that added it, and
   * `up` may use it in a default or a check). Empty string when there are none.
   */
  upFirst: string
}

const SHADOW_PREFIX = 'tessera_shadow_'

/** Thrown inside the shadow transaction to roll it back; never escapes. */
class Rollback {
  constructor(readonly value: unknown) {}
}

function isProvider(queryable: Queryable): queryable is Provider {
  return typeof (queryable as Partial<Provider>).transaction === 'function'
}

function isTransaction(queryable: Queryable): queryable is Transaction {
  return typeof (queryable as Partial<Transaction>).savepoint === 'function'
}

/** Runs `fn` in a transaction (or savepoint) that is always rolled back. */
async function rolledBack<T>(queryable: Provider | Transaction, fn: (tx: Transaction) => Promise<T>): Promise<T> {
  const run = async (tx: Transaction): Promise<never> => {
    throw new Rollback(await fn(tx))
  }
  try {
    if (isProvider(queryable)) await queryable.transaction(run)
    else await queryable.savepoint(run)
  } catch (error) {
    if (error instanceof Rollback) return error.value as T
    throw error
  }
  throw new Error('unreachable: the shadow transaction always rolls back')
}

/**
 * `ON app.users USING` → `ON <table> USING` in a `pg_get_indexdef` text, so that the definition of a shadow
 * table's index (read back from the catalog, in the server's canonical spelling) compares with the live one.
 * Only for comparing: statements are rendered from the entity by `ddl.ts`.
 */
function retarget(definition: string, table: string): string {
  return definition.replace(/ ON (ONLY )?(?:"(?:[^"]|"")*"|[^\s".]+)(?:\.(?:"(?:[^"]|"")*"|[^\s".]+))? USING /, ` ON $1${table} USING `)
}

/** A `pg_get_indexdef` text without the index's name, to find the same index under another name. */
function unnamed(definition: string): string {
  return definition.replace(/^(CREATE (?:UNIQUE )?INDEX )(?:"(?:[^"]|"")*"|[^\s"]+) ON /, '$1 ON ')
}

interface Target {
  meta: EntityMeta
  schema: string
  /** `"schema"."table"`, always qualified in generated statements. */
  qualified: string
  label: string
}

/**
 * Compares entity definitions with the live database and returns the statements that bring the database to the
 * definitions: create schema and table, add/drop column, type, nullability, default and identity changes, primary
 * key, unique constraints, indexes, checks and foreign keys. Destructive steps (drop column or table, type or
 * primary key change) are emitted only with `destructive: true`; otherwise they are listed in `skipped`.
 *
 * How it compares: inside a transaction that is always rolled back (a savepoint when given a transaction), each
 * entity's `createTableSql` and `createIndexesSql` are run against a temporary shadow table, which is then read
 * back from `pg_catalog` exactly like the live tables. Types, defaults, checks and index definitions are compared
 * in PostgreSQL's own canonical spelling (`character varying(320)`, `'draft'::text`), never by parsing SQL.
 * Nothing is written. A renamed table or column looks like a drop plus an add unless `renames` names it: then it
 * is `ALTER TABLE … RENAME` (see {@link DiffSchemaOptions.renames}).
 *
 * @example
 * const diff = await diffSchema([User, Post], db)
 * if (diff.changes.length > 0) migrations.push({ id: 7, name: 'sync schema', up: diff.up })
 */
export async function diffSchema(
  entities: readonly AnyEntity[],
  queryable: Provider | Transaction,
  options: DiffSchemaOptions = {},
): Promise<SchemaDiff> {
  if (!isProvider(queryable) && !isTransaction(queryable)) {
    throw new ConfigError('diffSchema needs a Provider or a Transaction: it compares through a rolled-back transaction', {
      subject: 'diffSchema queryable',
    })
  }
  const all = entities.map(entityMeta)
  const metas = all.filter((m) => m.view === undefined)
  const views = all.filter((m) => m.view !== undefined)
  return rolledBack(queryable, async (tx) => {
    const current = (await tx.query<{ schema: string }>(sql`SELECT current_schema() AS schema`)).rows[0]?.schema ?? 'public'
    const fallback = options.schema ?? current
    const targets: Target[] = metas.map((meta) => {
      const schema = meta.schema ?? fallback
      return { meta, schema, qualified: `${quoteIdent(schema)}.${quoteIdent(meta.table)}`, label: `${schema}.${meta.table}` }
    })

    // Renames run first, in this rolled-back transaction too, so the live tables read below already carry the new
    // names (with their indexes, constraints and defaults following them, as PostgreSQL does).
    const renames = await applyRenames(tx, targets, options.renames ?? {})

    const schemas = [...new Set(targets.map((t) => t.schema))]
    const live = new Map<string, Map<string, LiveTable>>()
    for (const schema of schemas) live.set(schema, await introspectSchema(tx, schema))
    const existingSchemas = new Set(
      (await tx.query<{ name: string }>(sql`SELECT nspname AS name FROM pg_namespace WHERE nspname = ANY(${schemas})`)).rows.map(
        (r) => r.name,
      ),
    )

    const installed = new Set((await tx.query<{ name: string }>(sql`SELECT extname AS name FROM pg_extension`)).rows.map((r) => r.name))
    const missingExtensions = extensionsOf(metas).filter((name) => !installed.has(name))
    // Created in the rolled-back transaction too, so the shadow tables can use the types.
    for (const name of missingExtensions)
      await tx.query(`CREATE EXTENSION IF NOT EXISTS ${quoteIdent(name)}`, undefined, { prepare: false })

    const enumChanges = await compareEnums(tx, metas, fallback, live, options.renames ?? {})

    const shadows = await buildShadows(tx, targets)
    const viewChanges = await compareViews(tx, views, fallback)
    const diff = compare(targets, live, existingSchemas, shadows, options, missingExtensions, [...renames, ...enumChanges])
    // Views come after every table change: they select from the tables as the changes leave them.
    return withChanges(diff, viewChanges)
  })
}

/** Creates every entity as a temporary table and reads it back: the definitions in the server's canonical form. */
async function buildShadows(tx: Transaction, targets: readonly Target[]): Promise<Map<EntityMeta, LiveTable>> {
  const names = new Map<EntityMeta, string>()
  for (const [index, { meta }] of targets.entries()) {
    const shadow = `${SHADOW_PREFIX}${index}`
    names.set(meta, shadow)
    await tx.query(`CREATE TEMP TABLE ${quoteIdent(shadow)} ${tableBodySql(meta, false)}`, undefined, { prepare: false })
    for (const index of meta.indexes) await tx.query(indexSql(index, quoteIdent(shadow), false), undefined, { prepare: false })
  }
  const tempSchema = (await tx.query<{ name: string }>(sql`SELECT nspname AS name FROM pg_namespace WHERE oid = pg_my_temp_schema()`))
    .rows[0]?.name
  const shadowTables = tempSchema === undefined ? new Map<string, LiveTable>() : await introspectSchema(tx, tempSchema)
  const out = new Map<EntityMeta, LiveTable>()
  for (const [meta, name] of names) {
    const table = shadowTables.get(name)
    if (table !== undefined) out.set(meta, table)
  }
  return out
}

function compare(
  targets: readonly Target[],
  live: ReadonlyMap<string, ReadonlyMap<string, LiveTable>>,
  existingSchemas: ReadonlySet<string>,
  shadows: ReadonlyMap<EntityMeta, LiveTable>,
  options: DiffSchemaOptions,
  missingExtensions: readonly string[],
  renames: readonly SchemaChange[],
): SchemaDiff {
  // Buckets keep the statement order valid: schemas, tables, columns, constraints dropped before added, indexes,
  // foreign keys last (their targets exist by then), then destructive drops.
  const buckets = {
    schemas: [] as SchemaChange[],
    tables: [] as SchemaChange[],
    dropConstraints: [] as SchemaChange[],
    columns: [] as SchemaChange[],
    constraints: [] as SchemaChange[],
    indexes: [] as SchemaChange[],
    foreignKeys: [] as SchemaChange[],
    drops: [] as SchemaChange[],
  }
  const change = (
    bucket: keyof typeof buckets,
    kind: SchemaChangeKind,
    target: { label: string },
    text: string,
    description: string,
    destructive = false,
  ) => buckets[bucket].push({ kind, table: target.label, sql: text, destructive, description, phase: 'main' })

  for (const name of missingExtensions) {
    change('schemas', 'createExtension', { label: name }, `CREATE EXTENSION IF NOT EXISTS ${quoteIdent(name)}`, `create extension ${name}`)
  }
  for (const schema of new Set(targets.map((t) => t.schema))) {
    if (!existingSchemas.has(schema))
      change('schemas', 'createSchema', { label: schema }, `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`, `create schema ${schema}`)
  }

  const qualifiedOf = new Map(targets.map((t) => [t.meta.entity, t]))
  for (const target of targets) {
    const { meta, qualified, label } = target
    const shadow = shadows.get(meta)
    if (shadow === undefined) continue
    const existing = live.get(target.schema)?.get(meta.table)
    if (existing === undefined) {
      change('tables', 'createTable', target, `CREATE TABLE ${qualified} ${tableBodySql(meta, false)}`, `create table ${label}`)
      for (const index of meta.indexes) {
        change('indexes', 'createIndex', target, indexSql(index, qualified, false), `create index ${index.name} on ${label}`)
      }
      for (const key of foreignKeysOf(meta)) {
        change(
          'foreignKeys',
          'addForeignKey',
          target,
          foreignKeySql(key, qualified, qualifiedOf),
          `add foreign key ${key.name} on ${label}`,
        )
      }
      continue
    }
    compareColumns(target, shadow, existing, change)
    compareKeys(target, shadow, existing, change)
    compareIndexes(target, shadow, existing, change)
    compareChecks(target, shadow, existing, change)
    compareForeignKeys(target, existing, qualifiedOf, change)
  }

  if (options.dropUnknownTables) {
    const known = new Set(targets.map((t) => `${t.schema}.${t.meta.table}`))
    const ignored = new Set(options.ignoreTables ?? ['tessera_migrations'])
    for (const [schema, tables] of live) {
      for (const table of tables.keys()) {
        if (known.has(`${schema}.${table}`) || ignored.has(table)) continue
        const qualified = `${quoteIdent(schema)}.${quoteIdent(table)}`
        change(
          'drops',
          'dropTable',
          { label: `${schema}.${table}` },
          `DROP TABLE ${qualified}`,
          `drop table ${schema}.${table} (no entity defines it)`,
          true,
        )
      }
    }
  }

  const all = [
    ...buckets.schemas,
    ...renames,
    ...buckets.tables,
    ...buckets.dropConstraints,
    ...buckets.columns,
    ...buckets.constraints,
    ...buckets.indexes,
    ...buckets.foreignKeys,
    ...buckets.drops,
  ]
  const emitDestructive = options.destructive ?? false
  const changes = all.filter((c) => emitDestructive || !c.destructive)
  changes.sort((a, b) => (a.phase === b.phase ? 0 : a.phase === 'first' ? -1 : 1))
  const skipped = all.filter((c) => !emitDestructive && c.destructive)
  const statements = changes.map((c) => c.sql)
  const text = (list: SchemaChange[]) =>
    list.map((c) => (c.destructive ? `-- DESTRUCTIVE: ${c.description}\n${c.sql};` : `${c.sql};`)).join('\n')
  const up = text(changes.filter((c) => c.phase === 'main'))
  const upFirst = text(changes.filter((c) => c.phase === 'first'))
  return { changes, skipped, statements, up, upFirst }
}

type Emit = (
  bucket: 'dropConstraints' | 'columns' | 'constraints' | 'indexes' | 'foreignKeys' | 'drops',
  kind: SchemaChangeKind,
  target: { label: string },
  text: string,
  description: string,
  destructive?: boolean,
) => void

function compareColumns(target: Target, shadow: LiveTable, existing: LiveTable, change: Emit): void {
  const { meta, qualified, label } = target
  const liveColumns = new Map(existing.columns.map((c) => [c.name, c]))
  const shadowColumns = new Map(shadow.columns.map((c) => [c.name, c]))
  for (const field of meta.fields) {
    // The shadow column is the definition in the server's spelling (types, defaults): what the live one is compared with.
    const column = shadowColumns.get(field.columnName)
    if (column === undefined) continue
    const current = liveColumns.get(column.name)
    const name = quoteIdent(column.name)
    const alter = `ALTER TABLE ${qualified} ALTER COLUMN ${name}`
    if (current === undefined) {
      const note =
        !column.nullable && column.default === undefined && !column.identity
          ? ' (NOT NULL without a default: fails if the table has rows)'
          : ''
      change(
        'columns',
        'addColumn',
        target,
        `ALTER TABLE ${qualified} ADD COLUMN ${columnSql(field)}`,
        `add column ${label}.${column.name}${note}`,
      )
      continue
    }
    if (current.generated !== column.generated) {
      // PostgreSQL 15 cannot change a column's generation expression in place (SET EXPRESSION is 17's): the column is
      // dropped and added again, which recomputes a generated one and loses a plain one's values.
      const what =
        column.generated === undefined
          ? 'stop generating'
          : current.generated === undefined
            ? 'generate'
            : 'change the generation expression of'
      change(
        'columns',
        'dropColumn',
        target,
        `ALTER TABLE ${qualified} DROP COLUMN ${name}`,
        `${what} ${label}.${column.name}: drop the column`,
        true,
      )
      change(
        'columns',
        'addColumn',
        target,
        `ALTER TABLE ${qualified} ADD COLUMN ${columnSql(field)}`,
        `${what} ${label}.${column.name}: add it again`,
        true,
      )
      continue
    }
    if (current.type !== column.type) {
      change(
        'columns',
        'alterColumnType',
        target,
        `${alter} TYPE ${column.type} USING ${name}::${column.type}`,
        `change type of ${label}.${column.name} from ${current.type} to ${column.type}${isWidening(current.type, column.type) ? ' (widening: every value is kept)' : ''}`,
        !isWidening(current.type, column.type),
      )
    }
    if (current.identity !== column.identity) {
      if (column.identity) {
        if (current.default !== undefined)
          change('columns', 'dropDefault', target, `${alter} DROP DEFAULT`, `drop default of ${label}.${column.name} (becomes an identity)`)
        change(
          'columns',
          'addIdentity',
          target,
          `${alter} ADD GENERATED BY DEFAULT AS IDENTITY`,
          `make ${label}.${column.name} an identity column`,
        )
      } else change('columns', 'dropIdentity', target, `${alter} DROP IDENTITY`, `stop generating ${label}.${column.name} as identity`)
    }
    if (!column.identity && current.default !== column.default) {
      if (column.default === undefined)
        change('columns', 'dropDefault', target, `${alter} DROP DEFAULT`, `drop default of ${label}.${column.name}`)
      else
        change(
          'columns',
          'setDefault',
          target,
          `${alter} SET DEFAULT ${column.default}`,
          `set default of ${label}.${column.name} to ${column.default}`,
        )
    }
    if (current.nullable !== column.nullable) {
      if (column.nullable) change('columns', 'dropNotNull', target, `${alter} DROP NOT NULL`, `allow NULL in ${label}.${column.name}`)
      else
        change('columns', 'setNotNull', target, `${alter} SET NOT NULL`, `forbid NULL in ${label}.${column.name} (fails if it holds NULLs)`)
    }
  }
  for (const column of existing.columns) {
    if (shadowColumns.has(column.name)) continue
    change(
      'drops',
      'dropColumn',
      target,
      `ALTER TABLE ${qualified} DROP COLUMN ${quoteIdent(column.name)}`,
      `drop column ${label}.${column.name}`,
      true,
    )
  }
}

function sameColumns(a: readonly (string | undefined)[], b: readonly (string | undefined)[]): boolean {
  return a.length === b.length && a.every((c, i) => c === b[i])
}

function compareKeys(target: Target, shadow: LiveTable, existing: LiveTable, change: Emit): void {
  const { qualified, label } = target
  if (!sameColumns(shadow.primaryKey, existing.primaryKey)) {
    const livePk = existing.indexes.find((i) => i.primary)
    const wantedPk = shadow.indexes.find((i) => i.primary)
    const drop = livePk === undefined ? '' : `DROP CONSTRAINT ${quoteIdent(livePk.name)}, `
    const columns = shadow.primaryKey.map(quoteIdent).join(', ')
    change(
      'constraints',
      'changePrimaryKey',
      target,
      `ALTER TABLE ${qualified} ${drop}ADD CONSTRAINT ${quoteIdent(wantedPk?.name ?? `${target.meta.table}_pkey`)} PRIMARY KEY (${columns})`,
      `change the primary key of ${label} to (${shadow.primaryKey.join(', ')})`,
      true,
    )
  }
  // Unique constraints match by their columns: a different name for the same constraint is not a change.
  const liveUniques = existing.indexes.filter((i) => i.constraint === 'u')
  const wantedUniques = shadow.indexes.filter((i) => i.constraint === 'u')
  for (const unique of wantedUniques) {
    if (liveUniques.some((u) => sameColumns(u.columns, unique.columns))) continue
    const columns = unique.columns.map((c) => quoteIdent(c ?? '')).join(', ')
    change(
      'constraints',
      'addUnique',
      target,
      `ALTER TABLE ${qualified} ADD CONSTRAINT ${quoteIdent(unique.name)} UNIQUE (${columns})`,
      `add unique (${unique.columns.join(', ')}) on ${label}`,
    )
  }
  for (const unique of liveUniques) {
    if (wantedUniques.some((u) => sameColumns(u.columns, unique.columns))) continue
    change(
      'dropConstraints',
      'dropUnique',
      target,
      `ALTER TABLE ${qualified} DROP CONSTRAINT ${quoteIdent(unique.name)}`,
      `drop unique constraint ${unique.name} on ${label}`,
    )
  }
}

function compareIndexes(target: Target, shadow: LiveTable, existing: LiveTable, change: Emit): void {
  const { qualified, label } = target
  const plain = (indexes: readonly LiveIndex[]) => indexes.filter((i) => i.constraint === undefined && !i.primary)
  const liveIndexes = new Map(plain(existing.indexes).map((i) => [i.name, i]))
  const wanted = plain(shadow.indexes)
  const wantedNames = new Set(wanted.map((i) => i.name))
  const defined = new Map(target.meta.indexes.map((i) => [i.name, i]))
  const renamedFrom = new Set<string>()
  for (const index of wanted) {
    const current = liveIndexes.get(index.name)
    if (current !== undefined && retarget(current.definition, qualified) === retarget(index.definition, qualified)) continue
    if (current === undefined) {
      // The same index under another name (its table or column was renamed): renamed, not rebuilt.
      const same = [...liveIndexes.values()].find(
        (live) =>
          !wantedNames.has(live.name) &&
          !renamedFrom.has(live.name) &&
          unnamed(retarget(live.definition, qualified)) === unnamed(retarget(index.definition, qualified)),
      )
      if (same !== undefined) {
        renamedFrom.add(same.name)
        change(
          'indexes',
          'renameIndex',
          target,
          `ALTER INDEX ${quoteIdent(target.schema)}.${quoteIdent(same.name)} RENAME TO ${quoteIdent(index.name)}`,
          `rename index ${same.name} on ${label} to ${index.name}`,
        )
        continue
      }
    }
    if (current !== undefined) {
      const schema = quoteIdent(target.schema)
      change(
        'dropConstraints',
        'dropIndex',
        target,
        `DROP INDEX ${schema}.${quoteIdent(current.name)}`,
        `drop index ${current.name} on ${label} (definition changed)`,
      )
    }
    // Every shadow index was created from one of the entity's indexes, under its name.
    const definition = defined.get(index.name)
    const statement = definition === undefined ? retarget(index.definition, qualified) : indexSql(definition, qualified, false)
    change('indexes', 'createIndex', target, statement, `create index ${index.name} on ${label}`)
  }
  for (const index of liveIndexes.values()) {
    if (wantedNames.has(index.name) || renamedFrom.has(index.name)) continue
    change(
      'dropConstraints',
      'dropIndex',
      target,
      `DROP INDEX ${quoteIdent(target.schema)}.${quoteIdent(index.name)}`,
      `drop index ${index.name} on ${label}`,
    )
  }
}

function compareChecks(target: Target, shadow: LiveTable, existing: LiveTable, change: Emit): void {
  const { qualified, label } = target
  const liveChecks = new Map(existing.checks.map((c) => [c.name, c]))
  const wantedNames = new Set(shadow.checks.map((c) => c.name))
  const renamedFrom = new Set<string>()
  for (const check of shadow.checks) {
    const current = liveChecks.get(check.name)
    if (current?.definition === check.definition) continue
    if (current === undefined) {
      // The same check under another name (its table or column was renamed): renamed, not validated again.
      const same = existing.checks.find(
        (live) => !wantedNames.has(live.name) && !renamedFrom.has(live.name) && live.definition === check.definition,
      )
      if (same !== undefined) {
        renamedFrom.add(same.name)
        change(
          'constraints',
          'renameConstraint',
          target,
          `ALTER TABLE ${qualified} RENAME CONSTRAINT ${quoteIdent(same.name)} TO ${quoteIdent(check.name)}`,
          `rename check ${same.name} on ${label} to ${check.name}`,
        )
        continue
      }
    }
    if (current !== undefined) {
      change(
        'dropConstraints',
        'dropCheck',
        target,
        `ALTER TABLE ${qualified} DROP CONSTRAINT ${quoteIdent(check.name)}`,
        `drop check ${check.name} on ${label} (changed)`,
      )
    }
    change(
      'constraints',
      'addCheck',
      target,
      `ALTER TABLE ${qualified} ADD CONSTRAINT ${quoteIdent(check.name)} ${check.definition}`,
      `add check ${check.name} on ${label}`,
    )
  }
  for (const check of existing.checks) {
    if (wantedNames.has(check.name) || renamedFrom.has(check.name)) continue
    change(
      'dropConstraints',
      'dropCheck',
      target,
      `ALTER TABLE ${qualified} DROP CONSTRAINT ${quoteIdent(check.name)}`,
      `drop check ${check.name} on ${label}`,
    )
  }
}

function foreignKeySql(key: ForeignKeyMeta, qualified: string, targets: ReadonlyMap<AnyEntity, Target>): string {
  return `ALTER TABLE ${qualified} ADD ${foreignKeyClause(key, targets.get(key.entity)?.qualified ?? key.qualifiedTable)}`
}

function compareForeignKeys(target: Target, existing: LiveTable, targets: ReadonlyMap<AnyEntity, Target>, change: Emit): void {
  const { meta, qualified, label } = target
  const liveKeys = new Map(existing.foreignKeys.map((k) => [k.name, k]))
  const wanted = foreignKeysOf(meta)
  const wantedNames = new Set(wanted.map((k) => k.name))
  const renamedFrom = new Set<string>()
  for (const key of wanted) {
    const referenced = targets.get(key.entity)
    const refMeta = entityMeta(key.entity)
    const refSchema = referenced?.schema ?? refMeta.schema
    const current = liveKeys.get(key.name)
    const matches = (live: LiveForeignKey) =>
      sameColumns(live.columns, key.columns) &&
      live.referencedTable === refMeta.table &&
      (refSchema === undefined || live.referencedSchema === refSchema) &&
      sameColumns(live.referencedColumns, key.targetColumns) &&
      live.onDelete === key.onDelete &&
      live.onUpdate === key.onUpdate &&
      live.deferrable === key.deferrable
    if (current !== undefined && matches(current)) continue
    if (current === undefined) {
      // The same key under another name (its table or column was renamed): renamed, not validated again.
      const same = existing.foreignKeys.find((live) => !renamedFrom.has(live.name) && !wantedNames.has(live.name) && matches(live))
      if (same !== undefined) {
        renamedFrom.add(same.name)
        change(
          'foreignKeys',
          'renameConstraint',
          target,
          `ALTER TABLE ${qualified} RENAME CONSTRAINT ${quoteIdent(same.name)} TO ${quoteIdent(key.name)}`,
          `rename foreign key ${same.name} on ${label} to ${key.name}`,
        )
        continue
      }
    }
    if (current !== undefined) {
      change(
        'dropConstraints',
        'dropForeignKey',
        target,
        `ALTER TABLE ${qualified} DROP CONSTRAINT ${quoteIdent(key.name)}`,
        `drop foreign key ${key.name} on ${label} (changed)`,
      )
    }
    change('foreignKeys', 'addForeignKey', target, foreignKeySql(key, qualified, targets), `add foreign key ${key.name} on ${label}`)
  }
  for (const key of existing.foreignKeys) {
    if (wantedNames.has(key.name) || renamedFrom.has(key.name)) continue
    change(
      'dropConstraints',
      'dropForeignKey',
      target,
      `ALTER TABLE ${qualified} DROP CONSTRAINT ${quoteIdent(key.name)}`,
      `drop foreign key ${key.name} on ${label}`,
    )
  }
}

interface RenameHint {
  old: string
  new: string
}

/**
 * Validates the rename hints against the targets and runs those that apply (old name live, new name not) in `tx`,
 * returning them as changes: tables first, then columns.
 */
async function applyRenames(tx: Transaction, targets: readonly Target[], hints: Readonly<Record<string, string>>): Promise<SchemaChange[]> {
  const problems: string[] = []
  const tableHints: RenameHint[] = []
  const columnHints: { table: string; newTable: string; old: string; new: string }[] = []
  for (const [from, to] of Object.entries(hints)) {
    if (from.startsWith('enum:')) continue
    const source = from.split('.')
    const target = typeof to === 'string' ? to.split('.') : []
    if (source.length === 1 && target.length === 1 && from !== '' && to !== '') tableHints.push({ old: from, new: to })
    else if (source.length === 2 && target.length === 2 && source.every((p) => p !== '') && target.every((p) => p !== '')) {
      columnHints.push({ table: source[0] as string, newTable: target[0] as string, old: source[1] as string, new: target[1] as string })
    } else {
      problems.push(
        `renames[${JSON.stringify(from)}] = ${JSON.stringify(to)}: accepted: 'table': 'new_table' or 'table.column': 'table.new_column'`,
      )
    }
  }
  const byTable = new Map(targets.map((t) => [t.meta.table, t]))
  const tableRenamedFrom = new Map<string, string>()
  for (const hint of tableHints) {
    if (!byTable.has(hint.new)) problems.push(`renames: no entity defines the table ${hint.new} that ${hint.old} is renamed to`)
    else tableRenamedFrom.set(hint.new, hint.old)
  }
  for (const hint of columnHints) {
    const table = byTable.get(hint.newTable) ?? byTable.get(hint.table)
    if (table === undefined) {
      problems.push(`renames: no entity defines the table ${hint.newTable} of ${hint.newTable}.${hint.new}`)
      continue
    }
    if (hint.table !== hint.newTable && tableRenamedFrom.get(hint.newTable) !== hint.table) {
      problems.push(
        `renames: ${hint.table}.${hint.old} → ${hint.newTable}.${hint.new} moves a column to another table; rename the table with its own hint`,
      )
    }
    if (!table.meta.byColumn.has(hint.new))
      problems.push(`renames: ${table.meta.name} has no column ${hint.new} that ${hint.table}.${hint.old} is renamed to`)
    if (table.meta.byColumn.has(hint.old)) problems.push(`renames: ${table.meta.name} still defines ${hint.old}, renamed to ${hint.new}`)
  }
  if (problems.length > 0) throw new ConfigError(problems, { subject: 'diffSchema renames' })

  const changes: SchemaChange[] = []
  const exists = async (schema: string, table: string): Promise<boolean> =>
    (
      await tx.query(
        sql`SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ${schema} AND c.relname = ${table} AND c.relkind IN ('r', 'p')`,
      )
    ).rows.length > 0
  for (const hint of tableHints) {
    const target = byTable.get(hint.new) as Target
    if (!(await exists(target.schema, hint.old)) || (await exists(target.schema, hint.new))) continue
    const statement = `ALTER TABLE ${quoteIdent(target.schema)}.${quoteIdent(hint.old)} RENAME TO ${quoteIdent(hint.new)}`
    await tx.query(statement, undefined, { prepare: false })
    changes.push({
      kind: 'renameTable',
      table: target.label,
      sql: statement,
      destructive: false,
      description: `rename table ${target.schema}.${hint.old} to ${hint.new}`,
      phase: 'main',
    })
  }
  for (const hint of columnHints) {
    const target = (byTable.get(hint.newTable) ?? byTable.get(hint.table)) as Target
    const { rows } = await tx.query<{ name: string }>(
      sql`SELECT a.attname AS name FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = ${target.schema} AND c.relname = ${target.meta.table} AND a.attnum > 0 AND NOT a.attisdropped AND a.attname = ANY(${[hint.old, hint.new]})`,
    )
    const names = new Set(rows.map((r) => r.name))
    if (!names.has(hint.old)) continue
    if (names.has(hint.new)) {
      throw new ConfigError(`renames: ${target.label} has both ${hint.old} and ${hint.new}; drop one before renaming`, {
        subject: 'diffSchema renames',
      })
    }
    const statement = `ALTER TABLE ${target.qualified} RENAME COLUMN ${quoteIdent(hint.old)} TO ${quoteIdent(hint.new)}`
    await tx.query(statement, undefined, { prepare: false })
    changes.push({
      kind: 'renameColumn',
      table: target.label,
      sql: statement,
      destructive: false,
      description: `rename column ${target.label}.${hint.old} to ${hint.new}`,
      phase: 'main',
    })
  }
  return changes
}

/**
 * Compares the entities' native enum types with the live ones and, inside the rolled-back transaction, makes each
 * wanted type exist with exactly the wanted values (a changed live type is renamed aside and created afresh), so
 * the shadow tables can use them. Returns the changes: create a missing type; rename hinted values; add new values
 * (phase `'first'`) when the live values are still all there in the same order; otherwise recreate the type and
 * convert its columns (destructive: rows holding a removed value make it fail).
 */
async function compareEnums(
  tx: Transaction,
  metas: readonly EntityMeta[],
  fallback: string,
  live: ReadonlyMap<string, ReadonlyMap<string, LiveTable>>,
  hints: Readonly<Record<string, string>>,
): Promise<SchemaChange[]> {
  const types = enumTypesOf(metas)
  if (types.length === 0) return []
  const changes: SchemaChange[] = []
  const emit = (
    kind: SchemaChangeKind,
    label: string,
    text: string,
    description: string,
    destructive = false,
    phase: 'first' | 'main' = 'main',
  ) => changes.push({ kind, table: label, sql: text, destructive, description, phase })
  const liveEnums = new Map<string, Map<string, string[]>>()
  for (const [index, type] of types.entries()) {
    const schema = type.schema ?? fallback
    const qualified = `${quoteIdent(schema)}.${quoteIdent(type.name)}`
    const label = `${schema}.${type.name}`
    let enums = liveEnums.get(schema)
    if (enums === undefined) {
      enums = await introspectEnums(tx, schema)
      liveEnums.set(schema, enums)
    }
    const current = enums.get(type.name)
    const wanted = [...type.values]
    const create = `CREATE TYPE ${qualified} AS ENUM (${wanted.map(quoteLiteral).join(', ')})`
    if (current === undefined) {
      emit('createEnum', label, create, `create enum type ${label} (${wanted.join(', ')})`)
      await tx.query(create, undefined, { prepare: false })
      continue
    }
    if (current.join('\u0000') === wanted.join('\u0000')) continue

    // Hinted renames first: after them, the live values are compared with the wanted ones.
    const values = [...current]
    for (const [from, to] of Object.entries(hints)) {
      const source = /^enum:([^.]+)\.(.+)$/.exec(from)
      const target = /^enum:([^.]+)\.(.+)$/.exec(to)
      if (source === null || target === null || source[1] !== type.name || target[1] !== type.name) continue
      const [oldValue, newValue] = [source[2] as string, target[2] as string]
      const at = values.indexOf(oldValue)
      if (at === -1 || values.includes(newValue) || !wanted.includes(newValue)) continue
      values[at] = newValue
      emit(
        'renameEnumValue',
        label,
        `ALTER TYPE ${qualified} RENAME VALUE ${quoteLiteral(oldValue)} TO ${quoteLiteral(newValue)}`,
        `rename value '${oldValue}' of enum type ${label} to '${newValue}'`,
      )
    }
    // Set the live type aside and create the wanted one, so the shadow tables compare against exactly it.
    await tx.query(`ALTER TYPE ${qualified} RENAME TO ${quoteIdent(`tessera_shadow_enum_${index}`)}`, undefined, { prepare: false })
    await tx.query(create, undefined, { prepare: false })

    const kept = values.filter((v) => wanted.includes(v))
    const inOrder = kept.length === values.length && kept.every((v, i) => wanted.filter((w) => values.includes(w))[i] === v)
    if (inOrder) {
      wanted.forEach((value, i) => {
        if (values.includes(value)) return
        const next = wanted.slice(i + 1).find((v) => values.includes(v))
        const position = next === undefined ? `AFTER ${quoteLiteral(wanted[i - 1] as string)}` : `BEFORE ${quoteLiteral(next)}`
        emit(
          'addEnumValue',
          label,
          `ALTER TYPE ${qualified} ADD VALUE IF NOT EXISTS ${quoteLiteral(value)} ${position}`,
          `add value '${value}' to enum type ${label} (committed before the other changes: a new value cannot be used in the transaction that adds it)`,
          false,
          'first',
        )
      })
      continue
    }
    const removed = values.filter((v) => !wanted.includes(v))
    const why =
      removed.length > 0
        ? `remove value${removed.length === 1 ? '' : 's'} ${removed.map((v) => `'${v}'`).join(', ')} (rows holding ${removed.length === 1 ? 'it' : 'them'} make this fail; rename a value with renames: { 'enum:${type.name}.old': 'enum:${type.name}.new' })`
        : `reorder its values to ${wanted.join(', ')}`
    const aside = `${type.name}_tessera_old`
    const asideQualified = `${quoteIdent(schema)}.${quoteIdent(aside)}`
    emit('recreateEnum', label, `ALTER TYPE ${qualified} RENAME TO ${quoteIdent(aside)}`, `recreate enum type ${label} to ${why}`, true)
    emit('recreateEnum', label, create, `recreate enum type ${label}: the new type`, true)
    for (const meta of metas) {
      const tableSchema = meta.schema ?? fallback
      const table = live.get(tableSchema)?.get(meta.table)
      if (table === undefined) continue
      for (const field of meta.fields) {
        if (
          field.enumType === undefined ||
          `${quoteIdent(field.enumType.schema ?? fallback)}.${quoteIdent(field.enumType.name)}` !== qualified
        )
          continue
        const column = table.columns.find((c) => c.name === field.columnName)
        if (column === undefined) continue
        const alter = `ALTER TABLE ${quoteIdent(tableSchema)}.${quoteIdent(meta.table)} ALTER COLUMN ${field.quotedColumn}`
        const where = `${tableSchema}.${meta.table}.${field.columnName}`
        if (column.default !== undefined)
          emit('recreateEnum', label, `${alter} DROP DEFAULT`, `recreate enum type ${label}: drop the default of ${where}`, true)
        emit(
          'recreateEnum',
          label,
          `${alter} TYPE ${qualified} USING ${field.quotedColumn}::text::${qualified}`,
          `recreate enum type ${label}: convert ${where}${removed.length > 0 ? ' (fails if a row holds a removed value)' : ''}`,
          true,
        )
        const fallbackDefault = columnDefault(field)
        if (column.default !== undefined && fallbackDefault !== undefined) {
          emit(
            'recreateEnum',
            label,
            `${alter} SET DEFAULT ${fallbackDefault}`,
            `recreate enum type ${label}: restore the default of ${where}`,
            true,
          )
        }
      }
    }
    emit('recreateEnum', label, `DROP TYPE ${asideQualified}`, `recreate enum type ${label}: drop the old type`, true)
  }
  return changes
}

function changeText(list: readonly SchemaChange[]): string {
  return list.map((c) => (c.destructive ? `-- DESTRUCTIVE: ${c.description}\n${c.sql};` : `${c.sql};`)).join('\n')
}

/** `diff` with `extra` (never destructive, phase 'main') appended. */
function withChanges(diff: SchemaDiff, extra: readonly SchemaChange[]): SchemaDiff {
  if (extra.length === 0) return diff
  const changes = [...diff.changes, ...extra]
  return { ...diff, changes, statements: changes.map((c) => c.sql), up: changeText(changes.filter((c) => c.phase === 'main')) }
}

/**
 * Views (`defineView`): each wanted view is created as a temporary view in a savepoint of the rolled-back
 * transaction and its `pg_get_viewdef` compared with the live one's. Missing → `CREATE VIEW`; different (or not
 * creatable yet, because the table changes it needs are still to come) → `DROP VIEW` + `CREATE VIEW` (a view holds
 * no data, so neither is destructive).
 */
async function compareViews(tx: Transaction, views: readonly EntityMeta[], fallback: string): Promise<SchemaChange[]> {
  const changes: SchemaChange[] = []
  for (const [index, meta] of views.entries()) {
    const schema = meta.schema ?? fallback
    const qualified = `${quoteIdent(schema)}.${quoteIdent(meta.table)}`
    const label = `${schema}.${meta.table}`
    const select = renderStatic(meta.view as SqlQuery)
    const live = (
      await tx.query<{ definition: string }>(
        sql`SELECT pg_get_viewdef(c.oid) AS definition FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ${schema} AND c.relname = ${meta.table} AND c.relkind = 'v'`,
      )
    ).rows[0]?.definition
    let wanted: string | undefined
    try {
      wanted = await tx.savepoint(async (sp) => {
        const shadow = `tessera_shadow_view_${index}`
        await sp.query(`CREATE TEMP VIEW ${quoteIdent(shadow)} AS ${select}`, undefined, { prepare: false })
        const { rows } = await sp.query<{ definition: string }>(
          sql`SELECT pg_get_viewdef(to_regclass(${`pg_temp.${shadow}`})) AS definition`,
        )
        return rows[0]?.definition
      })
    } catch {
      wanted = undefined
    }
    if (live !== undefined && live === wanted) continue
    const create = `CREATE VIEW ${qualified} AS ${select}`
    const change = (kind: SchemaChangeKind, text: string, description: string) =>
      changes.push({ kind, table: label, sql: text, destructive: false, description, phase: 'main' })
    if (live !== undefined) change('dropView', `DROP VIEW ${qualified}`, `drop view ${label} (its query changed)`)
    change('createView', create, `create view ${label}`)
  }
  return changes
}
