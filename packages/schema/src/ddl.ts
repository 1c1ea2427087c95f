import { serializeParam } from '@tessera/converter'
import { ConfigError, describeValue, type SqlQuery } from '@tessera/core'
import { quoteIdent, safeIdentifier } from '@tessera/naming'
import type { AnyEntity } from './define-entity'
import {
  type EntityMeta,
  type EnumTypeMeta,
  entityMeta,
  type FieldMeta,
  type ForeignKeyMeta,
  foreignKeysOf,
  type IndexMeta,
} from './entity-meta'

// The sql tag's internals, by their registered symbols: DDL cannot take parameters, so a fragment's values are
// rendered as literals here. Registered symbols are part of @tessera/core's cross-copy contract.
const STRINGS = Symbol.for('tessera.sql.strings')
const ARGS = Symbol.for('tessera.sql.args')
const SQL_BRAND = Symbol.for('tessera.sql')

function isSqlFragment(value: unknown): value is SqlQuery {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[SQL_BRAND] === true
}

/**
 * A string literal: single quotes doubled. With `standard_conforming_strings` on (PostgreSQL's default since 9.1)
 * a backslash is an ordinary character in `'…'`; an `E'…'` string is never produced.
 * @throws ConfigError for a NUL character, which PostgreSQL text cannot hold.
 */
export function quoteLiteral(text: string): string {
  if (text.includes('\0')) throw new ConfigError(`${describeValue(text)} contains a NUL character, which PostgreSQL text cannot hold`)
  return `'${text.replaceAll("'", "''")}'`
}

/**
 * A JavaScript value as a SQL literal for DDL, typed by a cast when the value alone would be ambiguous:
 * `null` → `NULL`, numbers and bigints bare (`-1`, `12.5`), booleans `TRUE`/`FALSE`, strings quoted, `Date` →
 * `'…'::timestamptz`, `Buffer` → `'\x…'::bytea`, arrays → `'{…}'` (cast by the column), other objects →
 * `'…'::jsonb`. Never interpolates raw text.
 * @example renderLiteral("it's") // "'it''s'"
 */
export function renderLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'NULL'
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE'
  if (typeof value === 'bigint') return value.toString()
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return `${quoteLiteral(String(value))}::float8`
    return value < 0 || Object.is(value, -0) ? `(${value})` : String(value)
  }
  if (typeof value === 'string') return quoteLiteral(value)
  if (value instanceof Date) return `${quoteLiteral(serializeParam(value) as string)}::timestamptz`
  if (value instanceof Uint8Array) return `${quoteLiteral(serializeParam(value) as string)}::bytea`
  if (Array.isArray(value)) return quoteLiteral(serializeParam(value) as string)
  if (typeof value === 'object') return `${quoteLiteral(JSON.stringify(value))}::jsonb`
  throw new ConfigError(`${describeValue(value)} cannot be written as a SQL literal`)
}

/** A field's literal default, typed for its column (JSON as JSON, vectors as pgvector text). */
function fieldLiteral(field: FieldMeta, value: unknown): string {
  if (value === null) return 'NULL'
  if (field.kind === 'json') return `${quoteLiteral(JSON.stringify(value))}::jsonb`
  if (field.kind === 'vector' && Array.isArray(value)) return `${quoteLiteral(`[${value.join(',')}]`)}::${field.sqlType}`
  if (field.kind === 'array') return `${quoteLiteral(serializeParam(value) as string)}::${field.sqlType}`
  return renderLiteral(value)
}

/**
 * The text of a `sql` fragment with its values inlined as literals (for DDL, which has no parameters). The
 * fragment's literal text is trusted as written, as the `sql` tag trusts it.
 * @example renderStatic(sql`${sql.id('price')} > ${0}`) // '"price" > 0'
 */
export function renderStatic(query: SqlQuery): string {
  const strings = (query as unknown as Record<symbol, readonly string[]>)[STRINGS]
  const args = (query as unknown as Record<symbol, readonly unknown[]>)[ARGS]
  if (strings === undefined || args === undefined) return query.text
  let text = strings[0] ?? ''
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    text += (isSqlFragment(arg) ? renderStatic(arg) : renderLiteral(arg)) + (strings[i + 1] ?? '')
  }
  return text
}

const ACTION_SQL: Record<string, string> = {
  cascade: 'CASCADE',
  restrict: 'RESTRICT',
  'set null': 'SET NULL',
  'set default': 'SET DEFAULT',
  'no action': 'NO ACTION',
}

/**
 * The `DEFAULT` expression of a column as DDL writes it, or `undefined` when the database has none: a literal
 * default (quoted), a `sql` default (as written), or the defaults that mirror `applyGenerated`
 * (`gen_random_uuid()` for uuidv4 uuid ids, `now()` for createdAt/updatedAt, `1` for versions). Function defaults
 * run in the application only.
 * @example columnDefault(entityMeta(User).byField.get('role')!) // "'member'"
 */
export function columnDefault(field: FieldMeta): string | undefined {
  const d = field.default
  if (d?.kind === 'value') return fieldLiteral(field, d.value)
  if (d?.kind === 'sql') return renderStatic(d.sql)
  if (d?.kind === 'fn') return undefined
  // Defaults that mirror applyGenerated, so rows inserted by hand (psql, other apps) get them too.
  if (field.generated === 'uuidv4' && field.kind === 'uuid') return 'gen_random_uuid()'
  if (field.role === 'createdAt' || field.role === 'updatedAt') return 'now()'
  if (field.role === 'version') return '1'
  return undefined
}

/**
 * One column definition as `CREATE TABLE` writes it: quoted name, type, identity, `NOT NULL`, default. Constraints
 * (keys, uniques, checks, foreign keys) are separate. Also what a migration's `ADD COLUMN` needs.
 * @example `ALTER TABLE ${meta.qualifiedTable} ADD COLUMN ${columnSql(entityMeta(User).byField.get('age')!)}` // … "age" integer
 */
export function columnSql(field: FieldMeta): string {
  let text = `${field.quotedColumn} ${field.sqlType}`
  const computed = field.definition.computed
  if (computed !== undefined) {
    text += ` GENERATED ALWAYS AS (${renderStatic(computed)}) STORED`
    return !field.nullable || field.primaryKey ? `${text} NOT NULL` : text
  }
  if (field.generated === 'identity') text += ' GENERATED BY DEFAULT AS IDENTITY'
  if (!field.nullable || field.primaryKey) text += ' NOT NULL'
  const fallback = columnDefault(field)
  if (fallback !== undefined && field.generated !== 'identity') text += ` DEFAULT ${fallback}`
  return text
}

function columnList(columns: readonly string[]): string {
  return columns.map(quoteIdent).join(', ')
}

/** `CONSTRAINT … FOREIGN KEY (…) REFERENCES … (…)` with its actions and deferrability; `referenced` overrides the target table. */
export function foreignKeyClause(key: ForeignKeyMeta, referenced: string = key.qualifiedTable): string {
  let text = `CONSTRAINT ${quoteIdent(key.name)} FOREIGN KEY (${columnList(key.columns)}) REFERENCES ${referenced} (${columnList(key.targetColumns)})`
  if (key.onDelete !== 'no action') text += ` ON DELETE ${ACTION_SQL[key.onDelete]}`
  if (key.onUpdate !== 'no action') text += ` ON UPDATE ${ACTION_SQL[key.onUpdate]}`
  if (key.deferrable !== undefined) text += ` DEFERRABLE INITIALLY ${key.deferrable === 'deferred' ? 'DEFERRED' : 'IMMEDIATE'}`
  return text
}

/** Options of {@link createTableSql}. */
export interface CreateTableOptions {
  /** `CREATE TABLE IF NOT EXISTS`. Default: `true`. */
  ifNotExists?: boolean | undefined
  /** Write foreign keys inside the table. `false` leaves them to {@link foreignKeysSql} (for cycles). Default: `true`. */
  foreignKeys?: boolean | undefined
}

/**
 * `CREATE TABLE` for an entity: columns with types, `NOT NULL`, defaults (literals quoted and escaped; `sql`
 * expressions as written; `gen_random_uuid()` for uuidv4 ids, `now()` for timestamps, `1` for versions), identity
 * columns, and named constraints: primary key (`<table>_pkey`), uniques (`…_key`), checks (`…_check`, enum
 * membership `…_enum`), foreign keys (`…_fkey`, with ON DELETE/UPDATE). Every identifier is quoted.
 * Enums are `text` with a CHECK constraint unless declared native (`enumOf(values, { native })`): then the column
 * has the enum type, which {@link createEnumTypesSql} creates (not this function).
 *
 * @example await db.query(createTableSql(User))
 */
export function createTableSql(entity: AnyEntity, options: CreateTableOptions = {}): string {
  const meta = entityMeta(entity)
  if (meta.view !== undefined) return createViewSql(meta)
  const ifNotExists = (options.ifNotExists ?? true) ? 'IF NOT EXISTS ' : ''
  return `CREATE TABLE ${ifNotExists}${meta.qualifiedTable} ${tableBodySql(meta, options.foreignKeys ?? true)}`
}

/** `CREATE OR REPLACE VIEW … AS <query>` of a view entity (`defineView`). */
export function createViewSql(meta: EntityMeta): string {
  return `CREATE OR REPLACE VIEW ${meta.qualifiedTable} AS ${renderStatic(meta.view as SqlQuery)}`
}

/**
 * The parenthesised body of {@link createTableSql}: columns and named constraints. Separate so that a schema diff
 * can create the same table under another name (a shadow table) without editing SQL text.
 */
export function tableBodySql(meta: EntityMeta, foreignKeys: boolean): string {
  const lines: string[] = meta.fields.map(columnSql)
  lines.push(`CONSTRAINT ${quoteIdent(primaryKeyName(meta))} PRIMARY KEY (${columnList(meta.primaryKeys.map((f) => f.columnName))})`)
  for (const unique of meta.uniques) lines.push(`CONSTRAINT ${quoteIdent(unique.name)} UNIQUE (${columnList(unique.columns)})`)
  for (const field of meta.fields) {
    for (const check of field.checks) lines.push(`CONSTRAINT ${quoteIdent(check.name)} CHECK (${renderStatic(check.expression)})`)
  }
  for (const check of meta.checks) lines.push(`CONSTRAINT ${quoteIdent(check.name)} CHECK (${renderStatic(check.expression)})`)
  if (foreignKeys) for (const key of foreignKeysOf(meta)) lines.push(foreignKeyClause(key))
  return `(\n  ${lines.join(',\n  ')}\n)`
}

/** PostgreSQL's default primary key name, `<table>_pkey` (shortened by `safeIdentifier` past 63 bytes). */
export function primaryKeyName(meta: EntityMeta): string {
  return safeIdentifier(`${meta.table}_pkey`)
}

/** `ALTER TABLE … ADD CONSTRAINT … FOREIGN KEY` statements, for tables created with `foreignKeys: false`. */
export function foreignKeysSql(entity: AnyEntity): string[] {
  const meta = entityMeta(entity)
  return foreignKeysOf(meta).map((key) => `ALTER TABLE ${meta.qualifiedTable} ADD ${foreignKeyClause(key)}`)
}

/**
 * `CREATE INDEX IF NOT EXISTS` statements: btree by default; `hnsw`/`ivfflat` for vectors with their operator
 * class (`vector_cosine_ops` unless given); unique and partial (`where`) indexes.
 * @example for (const statement of createIndexesSql(User)) await db.query(statement)
 */
export function createIndexesSql(entity: AnyEntity): string[] {
  const meta = entityMeta(entity)
  return meta.indexes.map((index) => indexSql(index, meta.qualifiedTable, true))
}

/** One `CREATE INDEX` of an entity's index on `table` (quoted, qualified or not), so a diff can target another table. */
export function indexSql(index: IndexMeta, table: string, ifNotExists: boolean): string {
  const opclass = index.opclass === undefined ? '' : ` ${index.opclass}`
  const keys = index.expressions === undefined ? index.columns.map(quoteIdent) : index.expressions.map((e) => `(${renderStatic(e)})`)
  const columns = keys.map((key) => `${key}${opclass}`).join(', ')
  const unique = index.unique ? 'UNIQUE ' : ''
  const where = index.where === undefined ? '' : ` WHERE ${renderStatic(index.where)}`
  return `CREATE ${unique}INDEX ${ifNotExists ? 'IF NOT EXISTS ' : ''}${quoteIdent(index.name)} ON ${table} USING ${index.using} (${columns})${where}`
}

/** Options of {@link createSchemaSql}. */
export interface CreateSchemaOptions {
  /**
   * Add `CREATE EXTENSION IF NOT EXISTS vector` / `citext` when an entity has a vector / citext field. Creating an
   * extension needs the CREATE privilege on the database (citext is a trusted extension; pgvector needs a
   * superuser unless marked trusted). Default: `true`.
   */
  extensions?: boolean | undefined
  /** Add `CREATE SCHEMA IF NOT EXISTS` for every schema the entities name. Default: `true`. */
  schemas?: boolean | undefined
}

/**
 * Every statement to create a set of entities from nothing, in an order PostgreSQL accepts: extensions, schemas,
 * tables (a referenced table before the tables that reference it; foreign keys of reference cycles are added
 * afterwards with `ALTER TABLE`), then indexes. Each statement is idempotent except the deferred foreign keys.
 *
 * @example for (const statement of createSchemaSql([User, Post])) await db.query(statement)
 */
export function createSchemaSql(entities: readonly AnyEntity[], options: CreateSchemaOptions = {}): string[] {
  const metas = entities.map(entityMeta)
  const statements: string[] = []
  if (options.extensions ?? true) {
    for (const extension of extensionsOf(metas)) statements.push(`CREATE EXTENSION IF NOT EXISTS ${extension}`)
  }
  if (options.schemas ?? true) {
    for (const schema of new Set(metas.flatMap((m) => (m.schema === undefined ? [] : [m.schema])))) {
      statements.push(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`)
    }
  }
  statements.push(...createEnumTypesSql(entities))
  const { order, deferred } = creationOrder(metas.filter((m) => m.view === undefined))
  for (const meta of order) statements.push(createTableSql(meta.entity, { foreignKeys: !deferred.has(meta) }))
  for (const meta of deferred) statements.push(...foreignKeysSql(meta.entity))
  for (const meta of order) statements.push(...createIndexesSql(meta.entity))
  // Views last, in the order given: a view may select from the tables above or from a view before it.
  for (const meta of metas) if (meta.view !== undefined) statements.push(createViewSql(meta))
  return statements
}

/**
 * The native enum types of a set of entities (`enumOf(values, { native })`), each once, by qualified name.
 * @throws ConfigError when two fields name the same type with different values.
 */
export function enumTypesOf(metas: readonly EntityMeta[]): EnumTypeMeta[] {
  const types = new Map<string, EnumTypeMeta>()
  const problems: string[] = []
  for (const meta of metas) {
    for (const field of meta.fields) {
      const type = field.enumType
      if (type === undefined) continue
      const known = types.get(type.qualified)
      if (known === undefined) types.set(type.qualified, type)
      else if (known.values.join('\u0000') !== type.values.join('\u0000')) {
        problems.push(
          `${meta.name}.${field.fieldName} names enum type ${type.qualified} with values ${JSON.stringify(type.values)}, another field with ${JSON.stringify(known.values)}`,
        )
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems, { subject: 'native enum types' })
  return [...types.values()]
}

/** `CREATE TYPE … AS ENUM (…)` of one native enum type (not idempotent: see {@link createEnumTypesSql}). */
export function createEnumTypeSql(type: EnumTypeMeta): string {
  return `CREATE TYPE ${type.qualified} AS ENUM (${type.values.map(quoteLiteral).join(', ')})`
}

/**
 * The native enum types of the entities, each created unless a type of that name exists (PostgreSQL has no
 * `CREATE TYPE IF NOT EXISTS`: a `DO` block that ignores `duplicate_object`). Values of an existing type are not
 * compared here: `diffSchema` does that.
 */
export function createEnumTypesSql(entities: readonly AnyEntity[]): string[] {
  return enumTypesOf(entities.map(entityMeta)).map(
    (type) => `DO $tessera$ BEGIN ${createEnumTypeSql(type)}; EXCEPTION WHEN duplicate_object THEN NULL; END $tessera$`,
  )
}

/**
 * The extensions the entities' column types need: `vector` (pgvector) for vector fields, `citext` for citext
 * fields (arrays of them too), in that order.
 */
export function extensionsOf(metas: readonly EntityMeta[]): string[] {
  const kinds = new Set(metas.flatMap((m) => m.fields.flatMap((f) => [f.kind, f.definition.element?.kind])))
  return ['vector', 'citext'].filter((kind) => kinds.has(kind as FieldMeta['kind']))
}

/** Tables ordered so referenced ones come first; entities in a cycle get their foreign keys deferred. */
function creationOrder(metas: readonly EntityMeta[]): { order: EntityMeta[]; deferred: Set<EntityMeta> } {
  const inSet = new Set(metas)
  const byEntity = new Map(metas.map((m) => [m.entity, m]))
  const order: EntityMeta[] = []
  const deferred = new Set<EntityMeta>()
  const state = new Map<EntityMeta, 'visiting' | 'done'>()
  const visit = (meta: EntityMeta) => {
    state.set(meta, 'visiting')
    for (const key of foreignKeysOf(meta)) {
      const target = byEntity.get(key.entity)
      if (target === undefined || target === meta || !inSet.has(target)) continue
      const seen = state.get(target)
      if (seen === 'visiting') deferred.add(meta)
      else if (seen === undefined) visit(target)
    }
    state.set(meta, 'done')
    order.push(meta)
  }
  for (const meta of metas) if (!state.has(meta)) visit(meta)
  return { order, deferred }
}

/** `DROP TABLE IF EXISTS … CASCADE` for each entity, in reverse creation order. */
export function dropTablesSql(entities: readonly AnyEntity[]): string[] {
  const metas = entities.map(entityMeta)
  const views = metas.filter((m) => m.view !== undefined).reverse()
  const { order } = creationOrder(metas.filter((m) => m.view === undefined))
  return [
    ...views.map((m) => `DROP VIEW IF EXISTS ${m.qualifiedTable} CASCADE`),
    ...order.reverse().map((m) => `DROP TABLE IF EXISTS ${m.qualifiedTable} CASCADE`),
  ]
}
