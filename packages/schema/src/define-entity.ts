import type { StandardSchemaV1 } from '@standard-schema/spec'
import { ConfigError, describeValue, type SqlQuery, sql } from '@tessera/core'
import { type NamingConfig, type NamingInput, quoteIdent, resolveNaming, safeIdentifier } from '@tessera/naming'
import { renderStatic } from './ddl'
import {
  attachMeta,
  type CheckMeta,
  type EntityMeta,
  type EnumTypeMeta,
  type FieldMeta,
  type ForeignKeyDefinition,
  type IndexMeta,
  registerEntity,
  type UniqueMeta,
} from './entity-meta'
import {
  type AnyField,
  Field,
  type FieldDefinition,
  type FieldIndexOptions,
  type FieldMap,
  type FieldValue,
  type InsertOf,
  isField,
  type RowOf,
  type Simplify,
  type TaggedFieldKeys,
} from './fields'
import type { EntityHooks } from './lifecycle'
import { sqlTypeOf } from './sql-types'
import { standardSchemaProps } from './standard-schema'

// Phantom type slot: present only in types, never at run time.
declare const entityTypes: unique symbol

/**
 * An entity: a name and its fields, made by {@link defineEntity}. Its metadata is read with `entityMeta(entity)`.
 * `fields` holds the entity's own field objects, so `() => User.fields.id` names a reference target. `K` names the
 * fields of a composite primary key (`options.primaryKey`); a one-field key is known from its `.primaryKey()`.
 */
export interface Entity<Name extends string = string, F extends FieldMap = FieldMap, K extends string = string> {
  readonly name: Name
  readonly fields: F
  /**
   * Standard Schema v1: validates an insert (strictly, as a repository's `insert` does) with the entity's validation,
   * so the entity is an input schema for tRPC, TanStack Form, Hono… See `standardSchema()` for other modes.
   */
  readonly '~standard': StandardSchemaV1.Props<InsertOf<F>, InsertOf<F>>
  /** Types only: never set. */
  readonly [entityTypes]?: { readonly compositeKey: K } | undefined
}

/** Any entity. */
export type AnyEntity = Entity<string, FieldMap, string>

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never
type IsSingle<K> = [K] extends [UnionToIntersection<K>] ? true : false

/** A key of the fields `K` of `F`: the value itself for one field, or an object of the key fields. */
type KeyValue<F extends FieldMap, K extends keyof F> =
  IsSingle<K> extends true ? FieldValue<F[K]> | { readonly [P in K]: FieldValue<F[P]> } : { readonly [P in K]: FieldValue<F[P]> }

/** Any primary key value, for code generic over entities. */
export type AnyPrimaryKey = string | number | bigint | Readonly<Record<string, unknown>>

/**
 * The primary key of entity `E` as `findById`, `update` and `delete` take it: the key's value for a one-field key
 * (or `{ id: value }`), an object of every key field for a composite key.
 * @example type Key = PrimaryKeyOf<typeof Membership> // { readonly orgId: number; readonly userId: number }
 */
export type PrimaryKeyOf<E> =
  E extends Entity<string, infer F, infer K>
    ? string extends K
      ? AnyPrimaryKey
      : [K] extends [never]
        ? [TaggedFieldKeys<F, 'key'>] extends [never]
          ? AnyPrimaryKey
          : KeyValue<F, TaggedFieldKeys<F, 'key'>>
        : KeyValue<F, K>
    : never

/** The names of the primary key fields of entity `E`. */
export type KeyFieldNames<E> = E extends Entity<string, infer F, infer K> ? (TaggedFieldKeys<F, 'key'> | K) & string : never

/**
 * What a read of entity `E` returns: nullable fields `T | null`, `json<T>` → `T`, enums → union of their values,
 * `array(of)` → element type `[]`, bigint → `bigint`, numeric → `string`, date → `string`, timestamptz → `Date`,
 * bytea → `Buffer`, vector → `number[]`.
 * @example type User = InferEntity<typeof User>
 */
export type InferEntity<E> = E extends Entity<string, infer F> ? RowOf<F> : never

/** What an insert of entity `E` accepts: nullable, defaulted, generated, timestamp and version fields are optional. */
export type InferInsert<E> = E extends Entity<string, infer F> ? InsertOf<F> : never

/**
 * What an update of entity `E` accepts: any subset of its fields except the primary key (it identifies the row),
 * generated fields and the `createdAt` / `updatedAt` timestamps (the repository sets them). The version field is
 * offered: its value is the version the row must still have.
 */
export type InferUpdate<E> =
  E extends Entity<string, infer F, infer K>
    ? Simplify<{ -readonly [P in Exclude<keyof F, TaggedFieldKeys<F> | K>]?: FieldValue<F[P]> | undefined }>
    : never

/**
 * An index over one or more fields, or over expressions (entity option `indexes`); unique, partial or both.
 * @example { fields: ['email'], unique: true, where: sql`deleted_at IS NULL` }
 * @example { expressions: [sql`lower(${sql.id('email')})`], unique: true }
 */
export interface EntityIndexOptions<K extends string = string> extends FieldIndexOptions {
  /** The indexed fields, in order. Either `fields` or `expressions`. */
  fields?: readonly K[] | undefined
  /**
   * Indexed expressions, e.g. sql`lower(${sql.id('email')})` (values are rendered as literals). Default name:
   * `<table>_<words of the expressions>_idx` (`_key` when unique), e.g. `users_lower_email_key`.
   */
  expressions?: readonly SqlQuery[] | undefined
  /** A partial index predicate, e.g. sql`deleted_at IS NULL` (values are rendered as literals). */
  where?: SqlQuery | undefined
}

/** A table-level CHECK constraint (entity option `checks`). */
export interface EntityCheckOptions {
  expression: SqlQuery
  /** Default: `<table>_check`, `<table>_check2`, … */
  name?: string | undefined
}

/** Options of {@link defineEntity}. */
export interface EntityOptions<F extends FieldMap = FieldMap, K extends keyof F & string = keyof F & string> {
  /** How fields become columns and the entity name a table: anything `resolveNaming` accepts. Default: `'default'` (snake_case, plural tables). */
  naming?: NamingInput | undefined
  /** The table name, used as is. Default: `naming.table(name)` (`UserCategory` → `user_categories`). */
  table?: string | undefined
  /** The PostgreSQL schema. Default: none (the connection's `search_path`). */
  schema?: string | undefined
  /** A composite primary key, in key order. Default: the one field marked `.primaryKey()`. */
  primaryKey?: readonly K[] | undefined
  /** Multi-column UNIQUE constraints. Default: none. */
  unique?: readonly (readonly (keyof F & string)[])[] | undefined
  /** Multi-column or partial indexes. Default: none. */
  indexes?: readonly EntityIndexOptions<keyof F & string>[] | undefined
  /** Table-level CHECK constraints. Default: none. */
  checks?: readonly EntityCheckOptions[] | undefined
  /**
   * Foreign keys over several fields (one field: `.references()`), resolved lazily like `.references()`.
   * @example foreignKeys: [{ fields: ['orgId', 'userId'], references: () => Membership, onDelete: 'cascade', deferrable: 'deferred' }]
   */
  foreignKeys?: readonly (ForeignKeyDefinition & { readonly fields: readonly (keyof F & string)[] })[] | undefined
  /** Lifecycle hooks; see {@link EntityHooks}. Default: none. */
  hooks?: EntityHooks<RowOf<F>, InsertOf<F>> | undefined
}

const ID_STRATEGIES = ['uuidv4', 'uuidv7', 'ulid', 'identity']
const INDEX_METHODS = ['btree', 'hash', 'gin', 'gist', 'brin', 'hnsw', 'ivfflat']
const ACTIONS = ['cascade', 'restrict', 'set null', 'set default', 'no action']
const HOOK_NAMES = ['beforeInsert', 'beforeUpdate', 'beforeDelete', 'afterWrite', 'afterLoad']
const ORDERED_KINDS = ['integer', 'bigint', 'numeric', 'date', 'timestamptz', 'smallint', 'real', 'doublePrecision', 'timestamp']
const SIZED_KINDS = ['text', 'varchar', 'enum', 'array', 'bytea', 'citext']
const STRING_KINDS = ['text', 'varchar', 'enum', 'uuid', 'numeric', 'date', 'citext', 'time', 'inet', 'cidr']
const RANGE_TYPES = ['int4range', 'int8range', 'numrange', 'tstzrange', 'daterange']
const MAX_VARCHAR = 10_485_760
const MAX_VECTOR_DIMENSIONS = 16_000

/**
 * Defines an entity. Everything is checked here, once: a bad definition fails with a `ConfigError` listing every
 * problem (no or two primary keys — use `options.primaryKey` for a composite key —, a version field that is not
 * integer/bigint, names that cannot be PostgreSQL identifiers, duplicate columns after naming, unknown fields in
 * options, misplaced modifiers…). References are checked later, at the first `entityMeta()` call, because their
 * targets may not be defined yet.
 *
 * The returned entity holds its own copies of the field objects (so a builder shared by two entities gets two
 * owners), and registers its name for string references (`'User.id'`; the latest definition of a name wins).
 *
 * @example
 * const User = defineEntity('User', {
 *   id: uuid().primaryKey().generated('uuidv7'),
 *   email: varchar(320).unique(),
 *   name: text().nullable(),
 *   createdAt: timestamptz().createdAt(),
 *   version: integer().version(),
 * }, { schema: 'app' })
 * type User = InferEntity<typeof User> // { id: string; email: string; name: string | null; createdAt: Date; version: number }
 */
export function defineEntity<const Name extends string, F extends FieldMap, const K extends keyof F & string = never>(
  name: Name,
  fields: F,
  options: EntityOptions<F, K> = {},
): Entity<Name, F, K> {
  const problems: string[] = []
  const subject = typeof name === 'string' && name !== '' ? name : describeValue(name)
  if (typeof name !== 'string' || name === '') problems.push(`the entity name ${describeValue(name)} is not a non-empty string`)
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
    throw new ConfigError(`fields ${describeValue(fields)} is not an object of field builders`, { subject: `entity ${subject}` })
  }
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(`options ${describeValue(options)} is not an object`, { subject: `entity ${subject}` })
  }
  const naming = resolveNamingOption(options.naming, problems)
  const table = tableNameOf(name, options, naming, problems)
  if (options.schema !== undefined) checkIdentifier(options.schema, 'the schema name', problems)

  // Own copies of the fields, so each field object has exactly one owner entity.
  const ownFields: Record<string, AnyField> = {}
  const metas: FieldMeta[] = []
  const entries = Object.entries(fields)
  if (entries.length === 0) problems.push('it has no fields')
  for (const [fieldName, builder] of entries) {
    if (!isField(builder)) {
      problems.push(`field ${fieldName} is ${describeValue(builder)}, not a field builder such as text() or integer()`)
      continue
    }
    const copy = new Field(builder.definition)
    ownFields[fieldName] = copy
    const meta = fieldMeta(fieldName, builder.definition, metas.length, naming, table, options.schema, problems)
    if (meta !== undefined) metas.push(meta)
  }

  const byField = new Map(metas.map((m) => [m.fieldName, m]))
  const byColumn = new Map<string, FieldMeta>()
  for (const meta of metas) {
    const other = byColumn.get(meta.columnName)
    if (other !== undefined) {
      problems.push(
        `fields ${other.fieldName} and ${meta.fieldName} both map to column "${meta.columnName}"; rename one with .column(name)`,
      )
    } else byColumn.set(meta.columnName, meta)
  }

  const primaryKeys = primaryKeysOf(metas, byField, options, problems)
  const versionField = singleRole(metas, 'version', problems)
  const createdAtField = singleRole(metas, 'createdAt', problems)
  const updatedAtField = singleRole(metas, 'updatedAt', problems)
  const deletedAtField = singleRole(metas, 'deletedAt', problems)
  const uniques = uniquesOf(metas, byField, options, table, problems)
  const indexes = indexesOf(metas, byField, options, table, problems)
  const checks = tableChecksOf(options, table, problems)
  const hooks = hooksOf(options, problems)
  for (const [i, key] of (options.foreignKeys ?? []).entries()) {
    const where = `options.foreignKeys[${i}]`
    if (typeof key !== 'object' || key === null) {
      problems.push(
        `${where} is ${describeValue(key)}; expected { fields, references, targetFields?, onDelete?, onUpdate?, deferrable?, name? }`,
      )
      continue
    }
    fieldsOf(key.fields, byField, `${where}.fields`, problems)
    if (typeof key.references !== 'function' && (typeof key.references !== 'string' || key.references === '')) {
      problems.push(`${where}.references ${describeValue(key.references)}; accepted: () => Entity or 'Entity'`)
    }
    for (const action of [key.onDelete, key.onUpdate]) {
      if (action !== undefined && !ACTIONS.includes(action))
        problems.push(`${where}: referential action ${describeValue(action)} is unknown; accepted: ${ACTIONS.join(', ')}`)
    }
    if (key.deferrable !== undefined && key.deferrable !== 'immediate' && key.deferrable !== 'deferred') {
      problems.push(`${where}: deferrable ${describeValue(key.deferrable)} is unknown; accepted: 'immediate', 'deferred'`)
    }
    if (key.name !== undefined) checkIdentifier(key.name, `${where}.name`, problems)
  }

  if (problems.length > 0) throw new ConfigError(problems, { subject: `entity ${subject}` })

  const viewQuery = (options as { [key: symbol]: SqlQuery | undefined })[Symbol.for('tessera.schema.viewQuery')]
  const entity = (viewQuery === undefined
    ? { name, fields: Object.freeze(ownFields) }
    : { name, fields: Object.freeze(ownFields), view: true }) as unknown as Entity<Name, F, K>
  ;(entity as { '~standard': unknown })['~standard'] = standardSchemaProps(entity)
  const meta: EntityMeta = {
    entity,
    name,
    table,
    schema: options.schema,
    qualifiedTable: options.schema === undefined ? quoteIdent(table) : `${quoteIdent(options.schema)}.${quoteIdent(table)}`,
    naming,
    fields: Object.freeze(metas),
    byField,
    byColumn,
    fieldNames: Object.freeze(metas.map((m) => m.fieldName)),
    columnNames: Object.freeze(metas.map((m) => m.columnName)),
    primaryKey: primaryKeys.length === 1 ? primaryKeys[0] : undefined,
    primaryKeys: Object.freeze(primaryKeys),
    versionField,
    createdAtField,
    updatedAtField,
    deletedAtField,
    generatedFields: Object.freeze(metas.filter((m) => m.generated !== undefined || m.role !== undefined)),
    indexes: Object.freeze(indexes),
    uniques: Object.freeze(uniques),
    checks: Object.freeze(checks),
    relations: Object.freeze([]),
    foreignKeyDefinitions: Object.freeze([...(options.foreignKeys ?? [])]),
    view: viewQuery,
    compositeForeignKeys: Object.freeze([]),
    hooks,
    resolved: !metas.some((m) => m.referenceDefinition !== undefined) && (options.foreignKeys ?? []).length === 0,
  }
  attachMeta(entity, meta)
  Object.freeze(entity)
  registerEntity(entity)
  return entity
}

function resolveNamingOption(input: NamingInput | undefined, problems: string[]): NamingConfig {
  try {
    return resolveNaming(input ?? 'default')
  } catch (error) {
    problems.push(`naming: ${(error as Error).message}`)
    return resolveNaming('default')
  }
}

function checkIdentifier(value: unknown, what: string, problems: string[]): boolean {
  if (typeof value !== 'string') {
    problems.push(`${what} ${describeValue(value)} is not a string`)
    return false
  }
  if (value === '__proto__') {
    problems.push(`${what} "__proto__" is refused: it would change an object's prototype when used as a key`)
    return false
  }
  try {
    quoteIdent(value)
    return true
  } catch (error) {
    problems.push(`${what} ${describeValue(value)} cannot be a PostgreSQL identifier: ${(error as Error).message}`)
    return false
  }
}

function tableNameOf(name: string, options: EntityOptions, naming: NamingConfig, problems: string[]): string {
  if (options.table !== undefined) {
    checkIdentifier(options.table, 'the table name', problems)
    return String(options.table)
  }
  if (typeof name !== 'string' || name === '') return 'invalid'
  try {
    const table = naming.table(name)
    checkIdentifier(table, `the table name (from naming "${naming.name}")`, problems)
    return table
  } catch (error) {
    problems.push(`the table name cannot be derived from ${describeValue(name)}: ${(error as Error).message}; pass options.table`)
    return 'invalid'
  }
}

function columnNameOf(fieldName: string, definition: FieldDefinition, naming: NamingConfig, problems: string[]): string | undefined {
  let column: string
  if (definition.column !== undefined) column = definition.column
  else {
    try {
      column = naming.column.toColumn(fieldName)
    } catch (error) {
      problems.push(`field ${fieldName}: no column name from naming "${naming.name}": ${(error as Error).message}; use .column(name)`)
      return undefined
    }
  }
  return checkIdentifier(column, `field ${fieldName}: the column name`, problems) ? column : undefined
}

function isPositiveInteger(value: unknown, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= max
}

/** Kind-specific parameters (varchar length, numeric precision, vector dimensions, enum values, array element). */
function checkKindParameters(where: string, d: FieldDefinition, problems: string[]): void {
  if (d.kind === 'varchar' && !isPositiveInteger(d.length, MAX_VARCHAR)) {
    problems.push(`${where}: varchar length ${describeValue(d.length)} must be an integer from 1 to ${MAX_VARCHAR}`)
  }
  if (d.kind === 'numeric' && d.precision !== undefined) {
    if (!isPositiveInteger(d.precision, 1000))
      problems.push(`${where}: numeric precision ${describeValue(d.precision)} must be an integer from 1 to 1000`)
    else if (d.scale !== undefined && !(Number.isInteger(d.scale) && d.scale >= 0 && d.scale <= d.precision)) {
      problems.push(`${where}: numeric scale ${describeValue(d.scale)} must be an integer from 0 to the precision ${d.precision}`)
    }
  }
  if (d.kind === 'vector' && !isPositiveInteger(d.dimensions, MAX_VECTOR_DIMENSIONS)) {
    problems.push(`${where}: vector dimensions ${describeValue(d.dimensions)} must be an integer from 1 to ${MAX_VECTOR_DIMENSIONS}`)
  }
  if (d.kind === 'enum') {
    const values = d.enumValues ?? []
    if (values.length === 0) problems.push(`${where}: an enum needs at least one value`)
    for (const value of values) {
      if (typeof value !== 'string' || value === '' || value.includes('\0')) {
        problems.push(`${where}: enum value ${describeValue(value)} must be a non-empty string without NUL characters`)
      }
    }
    if (new Set(values).size !== values.length) problems.push(`${where}: enum values ${describeValue(values)} repeat a value`)
  }
  if (d.kind === 'range' && !RANGE_TYPES.includes(d.rangeType as string)) {
    problems.push(`${where}: range(${describeValue(d.rangeType)}) is unknown; accepted: ${RANGE_TYPES.join(', ')}`)
  }
  if (d.kind === 'array') {
    if (d.element === undefined) problems.push(`${where}: array() needs an element field, e.g. array(text())`)
    else checkKindParameters(`${where} (element)`, d.element, problems)
  }
}

function checkModifiers(where: string, d: FieldDefinition, problems: string[]): void {
  const kind = d.kind
  if (d.primaryKey && d.nullable) problems.push(`${where}: a primary key cannot be nullable`)
  if (d.generated !== undefined) {
    const g = d.generated
    if (!ID_STRATEGIES.includes(g))
      problems.push(`${where}: generated(${describeValue(g)}) is unknown; accepted: ${ID_STRATEGIES.join(', ')}`)
    else if ((g === 'uuidv4' || g === 'uuidv7') && !['uuid', 'text', 'varchar'].includes(kind)) {
      problems.push(`${where}: generated('${g}') needs a uuid or text field, not ${kind}`)
    } else if (g === 'ulid' && !['text', 'varchar'].includes(kind))
      problems.push(`${where}: generated('ulid') needs a text field, not ${kind}`)
    else if (g === 'ulid' && kind === 'varchar' && (d.length ?? 0) < 26) problems.push(`${where}: a ulid needs varchar(26) or longer`)
    else if (g === 'identity' && !['integer', 'bigint'].includes(kind)) {
      problems.push(`${where}: generated('identity') needs an integer or bigint field, not ${kind}`)
    }
  }
  if ((d.role === 'createdAt' || d.role === 'updatedAt' || d.role === 'deletedAt') && kind !== 'timestamptz') {
    problems.push(`${where}: .${d.role}() needs a timestamptz field, not ${kind}`)
  }
  if (d.role === 'version') {
    if (kind !== 'integer' && kind !== 'bigint') problems.push(`${where}: a version field must be integer or bigint, not ${kind}`)
    if (d.nullable) problems.push(`${where}: a version field cannot be nullable`)
  }
  if (d.computed !== undefined) {
    if (!isSql(d.computed)) problems.push(`${where}: .generatedAs(${describeValue(d.computed)}) needs a sql\`\` expression`)
    const clashes = [
      d.default !== undefined && '.default()',
      d.generated !== undefined && '.generated()',
      d.role !== undefined && `.${d.role}()`,
      d.primaryKey && '.primaryKey()',
    ].filter((x): x is string => typeof x === 'string')
    if (clashes.length > 0) problems.push(`${where}: a generated column (.generatedAs()) cannot also have ${clashes.join(', ')}`)
  }
  const c = d.constraints
  if ((c.min !== undefined || c.max !== undefined) && !ORDERED_KINDS.includes(kind)) {
    problems.push(`${where}: .min()/.max() apply to ${ORDERED_KINDS.join(', ')} fields, not ${kind}`)
  }
  if ((c.minLength !== undefined || c.maxLength !== undefined) && !SIZED_KINDS.includes(kind)) {
    problems.push(`${where}: .length() applies to ${SIZED_KINDS.join(', ')} fields, not ${kind}`)
  }
  for (const [label, bound] of [
    ['min', c.minLength],
    ['max', c.maxLength],
  ] as const) {
    if (bound !== undefined && !(Number.isInteger(bound) && bound >= 0)) {
      problems.push(`${where}: .length({ ${label} }) ${describeValue(bound)} must be a non-negative integer`)
    }
  }
  if (c.minLength !== undefined && c.maxLength !== undefined && c.minLength > c.maxLength) {
    problems.push(`${where}: .length() min ${c.minLength} is above max ${c.maxLength}`)
  }
  if (c.pattern !== undefined && !(c.pattern instanceof RegExp)) problems.push(`${where}: .pattern() needs a RegExp`)
  else if (c.pattern !== undefined && !STRING_KINDS.includes(kind))
    problems.push(`${where}: .pattern() applies to text fields, not ${kind}`)
  if (c.oneOf !== undefined && c.oneOf.length === 0) problems.push(`${where}: .oneOf([]) allows nothing`)
  for (const validator of d.validators) {
    const isStandard = typeof validator === 'object' && validator !== null && '~standard' in validator
    if (!isStandard && typeof validator !== 'function') {
      problems.push(
        `${where}: .validate(${describeValue(validator)}) needs a Standard Schema validator (zod, valibot, arktype…) or a function`,
      )
    }
  }
  for (const check of d.checks) {
    if (typeof check.expression !== 'function' && !isSql(check.expression)) {
      problems.push(`${where}: .check(${describeValue(check.expression)}) needs a sql\`\` fragment or a function of the column`)
    }
  }
  if (d.index !== undefined) {
    const using = d.index.using ?? 'btree'
    if (!INDEX_METHODS.includes(using))
      problems.push(`${where}: index using ${describeValue(using)} is unknown; accepted: ${INDEX_METHODS.join(', ')}`)
    if ((using === 'hnsw' || using === 'ivfflat') && kind !== 'vector')
      problems.push(`${where}: a ${using} index needs a vector field, not ${kind}`)
  }
  const ref = d.references
  if (ref !== undefined) {
    if (typeof ref.target !== 'function' && (typeof ref.target !== 'string' || ref.target === '')) {
      problems.push(`${where}: .references(${describeValue(ref.target)}) needs () => Other.fields.id, () => Other or 'Other.id'`)
    }
    for (const action of [ref.onDelete, ref.onUpdate]) {
      if (!ACTIONS.includes(action))
        problems.push(`${where}: referential action ${describeValue(action)} is unknown; accepted: ${ACTIONS.join(', ')}`)
    }
    if (ref.deferrable !== undefined && ref.deferrable !== 'immediate' && ref.deferrable !== 'deferred') {
      problems.push(`${where}: deferrable ${describeValue(ref.deferrable)} is unknown; accepted: 'immediate', 'deferred'`)
    }
    if ((ref.onDelete === 'set null' || ref.onUpdate === 'set null') && !d.nullable) {
      problems.push(`${where}: 'set null' needs a nullable field`)
    }
  }
}

/** The native enum type of an `enumOf(values, { native })` field, or undefined. */
function enumTypeOf(
  d: FieldDefinition,
  table: string,
  columnName: string,
  schema: string | undefined,
  where: string,
  problems: string[],
): EnumTypeMeta | undefined {
  if (d.kind === 'array' && d.element?.enumType !== undefined) {
    problems.push(`${where}: arrays of native enums are not supported; use enumOf(values) (text with a CHECK) as the element`)
  }
  if (d.kind !== 'enum' || d.enumType === undefined) return undefined
  if (d.enumType !== true && typeof d.enumType !== 'string') {
    problems.push(`${where}: enumOf native ${describeValue(d.enumType)}; accepted: true, false or a type name`)
    return undefined
  }
  for (const value of d.enumValues ?? []) {
    if (typeof value === 'string' && Buffer.byteLength(value) > 63)
      problems.push(`${where}: native enum value ${describeValue(value)} is longer than PostgreSQL's 63 bytes`)
    if (typeof value === 'string' && value.includes('$tessera$'))
      problems.push(`${where}: native enum value ${describeValue(value)} contains $tessera$, which createEnumTypesSql uses as its quote`)
  }
  const name = d.enumType === true ? safeIdentifier(`${table}_${columnName}`) : d.enumType
  if (!checkIdentifier(name, `${where}: the enum type name`, problems)) return undefined
  const qualified = schema === undefined ? quoteIdent(name) : `${quoteIdent(schema)}.${quoteIdent(name)}`
  return Object.freeze({ name, schema, qualified, values: Object.freeze([...(d.enumValues ?? [])]) })
}

function isSql(value: unknown): value is SqlQuery {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[Symbol.for('tessera.sql')] === true
}

function fieldMeta(
  fieldName: string,
  d: FieldDefinition,
  position: number,
  naming: NamingConfig,
  table: string,
  schema: string | undefined,
  problems: string[],
): FieldMeta | undefined {
  const where = `field ${fieldName}`
  if (fieldName === '__proto__') {
    problems.push(`${where}: "__proto__" cannot be a field name (it would change an object's prototype)`)
    return undefined
  }
  checkKindParameters(where, d, problems)
  checkModifiers(where, d, problems)
  const columnName = columnNameOf(fieldName, d, naming, problems)
  if (columnName === undefined) return undefined
  const column = sql.id(columnName)
  const checks: CheckMeta[] = []
  d.checks.forEach((check, i) => {
    const expression = typeof check.expression === 'function' ? check.expression(column) : check.expression
    const name = check.name ?? safeIdentifier(`${table}_${columnName}_check${i === 0 ? '' : i + 1}`)
    if (isSql(expression)) checks.push({ name, expression })
    else problems.push(`${where}: its .check() function returned ${describeValue(expression)}, not a sql\`\` fragment`)
  })
  const enumType = enumTypeOf(d, table, columnName, schema, where, problems)
  if (d.kind === 'enum' && enumType === undefined && d.enumValues !== undefined && d.enumValues.length > 0) {
    checks.push({ name: safeIdentifier(`${table}_${columnName}_enum`), expression: sql`${column} IN (${sql.join(d.enumValues)})` })
  }
  const constraints =
    d.kind === 'varchar' && d.constraints.maxLength === undefined ? { ...d.constraints, maxLength: d.length } : d.constraints
  return {
    fieldName,
    columnName,
    quotedColumn: quoteIdent(columnName),
    position,
    kind: d.kind,
    sqlType: enumType?.qualified ?? sqlTypeOf(d),
    nullable: d.nullable,
    primaryKey: d.primaryKey,
    unique: d.unique,
    default: d.default,
    generated: d.generated,
    role: d.role,
    references: undefined,
    referenceDefinition: d.references,
    checks: Object.freeze(checks),
    constraints: Object.freeze(constraints),
    validators: d.validators,
    optionalOnInsert:
      d.nullable || d.default !== undefined || d.generated !== undefined || d.role !== undefined || d.computed !== undefined,
    definition: d,
    enumType,
  }
}

function fieldsOf(names: unknown, byField: ReadonlyMap<string, FieldMeta>, what: string, problems: string[]): FieldMeta[] | undefined {
  if (!Array.isArray(names) || names.length === 0) {
    problems.push(`${what} ${describeValue(names)} must be a non-empty array of field names`)
    return undefined
  }
  const found: FieldMeta[] = []
  for (const name of names) {
    const meta = byField.get(name)
    if (meta === undefined) problems.push(`${what} names unknown field ${describeValue(name)}`)
    else found.push(meta)
  }
  return found.length === names.length ? found : undefined
}

function primaryKeysOf(
  metas: FieldMeta[],
  byField: ReadonlyMap<string, FieldMeta>,
  options: EntityOptions,
  problems: string[],
): FieldMeta[] {
  const marked = metas.filter((m) => m.primaryKey)
  if (options.primaryKey !== undefined) {
    const keys = fieldsOf(options.primaryKey, byField, 'options.primaryKey', problems) ?? []
    const stray = marked.filter((m) => !keys.includes(m))
    if (stray.length > 0) {
      problems.push(`field ${stray.map((m) => m.fieldName).join(', ')} is marked .primaryKey() but not listed in options.primaryKey`)
    }
    for (const key of keys) {
      if (key.nullable) problems.push(`field ${key.fieldName}: a primary key cannot be nullable`)
      ;(key as { primaryKey: boolean }).primaryKey = true
    }
    return keys
  }
  if (marked.length === 0 && metas.length > 0) {
    problems.push('it has no primary key: mark a field with .primaryKey() or list fields in options.primaryKey')
  }
  if (marked.length > 1) {
    problems.push(
      `fields ${marked.map((m) => m.fieldName).join(' and ')} are both marked .primaryKey(); for a composite key use options.primaryKey: [${marked.map((m) => `'${m.fieldName}'`).join(', ')}]`,
    )
  }
  return marked
}

function singleRole(
  metas: FieldMeta[],
  role: 'version' | 'createdAt' | 'updatedAt' | 'deletedAt',
  problems: string[],
): FieldMeta | undefined {
  const found = metas.filter((m) => m.role === role)
  if (found.length > 1)
    problems.push(`fields ${found.map((m) => m.fieldName).join(' and ')} are both marked .${role}(); an entity has at most one`)
  return found[0]
}

function uniquesOf(
  metas: FieldMeta[],
  byField: ReadonlyMap<string, FieldMeta>,
  options: EntityOptions,
  table: string,
  problems: string[],
): UniqueMeta[] {
  const uniques: UniqueMeta[] = []
  const add = (fields: FieldMeta[]) => {
    const columns = fields.map((f) => f.columnName)
    uniques.push({ name: safeIdentifier(`${table}_${columns.join('_')}_key`), fields: fields.map((f) => f.fieldName), columns })
  }
  for (const meta of metas) if (meta.unique) add([meta])
  for (const [i, names] of (options.unique ?? []).entries()) {
    const fields = fieldsOf(names, byField, `options.unique[${i}]`, problems)
    if (fields !== undefined) add(fields)
  }
  return uniques
}

function indexesOf(
  metas: FieldMeta[],
  byField: ReadonlyMap<string, FieldMeta>,
  options: EntityOptions,
  table: string,
  problems: string[],
): IndexMeta[] {
  const indexes: IndexMeta[] = []
  const add = (fields: FieldMeta[], o: FieldIndexOptions, where: SqlQuery | undefined, expressions?: readonly SqlQuery[]) => {
    const columns = fields.map((f) => f.columnName)
    const using = o.using ?? 'btree'
    const words =
      expressions === undefined
        ? columns.join('_')
        : expressions
            .map((e) =>
              renderStatic(e)
                .toLowerCase()
                .replace(/[^a-z0-9]+/g, '_')
                .replace(/^_|_$/g, ''),
            )
            .join('_')
    indexes.push({
      name: o.name ?? safeIdentifier(`${table}_${words}_${expressions !== undefined && o.unique ? 'key' : 'idx'}`),
      fields: fields.map((f) => f.fieldName),
      columns,
      expressions,
      unique: o.unique ?? false,
      using,
      opclass: o.opclass ?? (using === 'hnsw' || using === 'ivfflat' ? 'vector_cosine_ops' : undefined),
      where,
    })
  }
  for (const meta of metas) {
    const index = meta.definition.index
    if (index !== undefined) add([meta], index, undefined)
  }
  for (const [i, index] of (options.indexes ?? []).entries()) {
    const where = `options.indexes[${i}]`
    if (index?.expressions !== undefined) {
      if (index.fields !== undefined) problems.push(`${where}: give either fields or expressions, not both`)
      if (!Array.isArray(index.expressions) || index.expressions.length === 0 || !index.expressions.every(isSql)) {
        problems.push(`${where}.expressions must be a non-empty array of sql\`\` fragments`)
        continue
      }
      if (index.where !== undefined && !isSql(index.where)) problems.push(`${where}.where must be a sql\`\` fragment`)
      if (index.name !== undefined) checkIdentifier(index.name, `${where}.name`, problems)
      add([], index, index.where, index.expressions)
      continue
    }
    const fields = fieldsOf(index?.fields, byField, `${where}.fields`, problems)
    const using = index?.using ?? 'btree'
    if (!INDEX_METHODS.includes(using))
      problems.push(`${where}: using ${describeValue(using)} is unknown; accepted: ${INDEX_METHODS.join(', ')}`)
    if (index?.where !== undefined && !isSql(index.where)) problems.push(`${where}.where must be a sql\`\` fragment`)
    if (index?.name !== undefined) checkIdentifier(index.name, `${where}.name`, problems)
    if (fields !== undefined) add(fields, index, index.where)
  }
  const names = new Set<string>()
  for (const index of indexes) {
    if (names.has(index.name)) problems.push(`two indexes are named "${index.name}"; give one a name`)
    names.add(index.name)
  }
  return indexes
}

function tableChecksOf(options: EntityOptions, table: string, problems: string[]): CheckMeta[] {
  return (options.checks ?? []).flatMap((check, i) => {
    if (!isSql(check?.expression)) {
      problems.push(`options.checks[${i}].expression must be a sql\`\` fragment`)
      return []
    }
    return [{ name: check.name ?? safeIdentifier(`${table}_check${i === 0 ? '' : i + 1}`), expression: check.expression }]
  })
}

function hooksOf(options: EntityOptions, problems: string[]): EntityHooks {
  const hooks = options.hooks ?? {}
  if (typeof hooks !== 'object' || hooks === null) {
    problems.push(`options.hooks ${describeValue(hooks)} must be an object of functions`)
    return {}
  }
  for (const [name, hook] of Object.entries(hooks)) {
    if (!HOOK_NAMES.includes(name)) problems.push(`options.hooks.${name} is not a lifecycle event; accepted: ${HOOK_NAMES.join(', ')}`)
    else if (typeof hook !== 'function') problems.push(`options.hooks.${name} must be a function`)
  }
  return Object.freeze({ ...hooks }) as EntityHooks
}
