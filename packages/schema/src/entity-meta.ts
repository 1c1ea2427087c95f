import { ConfigError, type SqlQuery } from '@tessera/core'
import { type NamingConfig, safeIdentifier } from '@tessera/naming'
import type { AnyEntity } from './define-entity'
import type {
  AnyField,
  FieldConstraints,
  FieldDefault,
  FieldDefinition,
  FieldKind,
  FieldRole,
  FieldValidator,
  IdStrategy,
  ReferenceDefinition,
  ReferentialAction,
} from './fields'
import { isField } from './fields'
import type { EntityHooks } from './lifecycle'

/** A named CHECK constraint, its expression already bound to the column. May hold values (rendered as literals in DDL). */
export interface CheckMeta {
  /** Constraint name: `<table>_<column>_check`, `…_check2`, `<table>_<column>_enum`, or the one given. */
  readonly name: string
  readonly expression: SqlQuery
}

/** A foreign key after resolution (see {@link entityMeta}). */
export interface ResolvedReference {
  /** Constraint name. Default: `<table>_<column>_fkey`. */
  readonly name: string
  readonly entity: AnyEntity
  readonly entityName: string
  /** The target table, quoted and schema-qualified: `"app"."users"`. */
  readonly qualifiedTable: string
  readonly field: string
  readonly column: string
  readonly onDelete: ReferentialAction
  readonly onUpdate: ReferentialAction
  readonly deferrable: 'immediate' | 'deferred' | undefined
}

/**
 * A foreign key as DDL and the diff see it, one field or several: every `.references()` and every entry of the
 * entity option `foreignKeys`, resolved. Read with {@link foreignKeysOf}.
 */
export interface ForeignKeyMeta {
  readonly name: string
  readonly fields: readonly string[]
  readonly columns: readonly string[]
  readonly entity: AnyEntity
  /** The target table, quoted and schema-qualified. */
  readonly qualifiedTable: string
  readonly targetFields: readonly string[]
  readonly targetColumns: readonly string[]
  readonly onDelete: ReferentialAction
  readonly onUpdate: ReferentialAction
  readonly deferrable: 'immediate' | 'deferred' | undefined
}

/** A composite foreign key as the entity option `foreignKeys` states it. */
export interface ForeignKeyDefinition {
  /** The referencing fields, in order. */
  readonly fields: readonly string[]
  /** The target entity: a thunk (`() => Membership`) or its name (`'Membership'`). */
  readonly references: (() => AnyEntity) | string
  /** The target's fields, in the same order. Default: the target's primary key. They must be its key or a unique constraint. */
  readonly targetFields?: readonly string[] | undefined
  /** Default: `'no action'`. */
  readonly onDelete?: ReferentialAction | undefined
  /** Default: `'no action'`. */
  readonly onUpdate?: ReferentialAction | undefined
  /** As for `.references()`. Default: not deferrable. */
  readonly deferrable?: 'immediate' | 'deferred' | undefined
  /** Default: `<table>_<columns>_fkey`. */
  readonly name?: string | undefined
}

/**
 * Everything known about one field of an entity, computed once by `defineEntity`. Shared and frozen: do not mutate.
 *
 * @example
 * const email = entityMeta(User).byField.get('email')
 * email?.columnName // 'email'
 * email?.sqlType    // 'varchar(320)'
 */
export interface FieldMeta {
  /** The JavaScript property name. */
  readonly fieldName: string
  /** The column name: `.column(name)` or the entity's naming strategy applied to the field name. */
  readonly columnName: string
  /** The column name quoted for SQL: `"created_at"`. */
  readonly quotedColumn: string
  /** Position in column order (the order fields were declared). */
  readonly position: number
  readonly kind: FieldKind
  /** The PostgreSQL type as DDL writes it (`varchar(320)`, `text[]`, `vector(3)`). */
  readonly sqlType: string
  readonly nullable: boolean
  /** Part of the primary key (alone or composite). */
  readonly primaryKey: boolean
  /** Has a single-column UNIQUE constraint. */
  readonly unique: boolean
  readonly default: FieldDefault | undefined
  readonly generated: IdStrategy | undefined
  readonly role: FieldRole | undefined
  /**
   * The foreign key, resolved at the first {@link entityMeta} call (undefined before it, and for fields without one).
   * Read it through `entityMeta(entity)`, never through a FieldMeta kept from before resolution.
   */
  readonly references: ResolvedReference | undefined
  /** The `.references()` call as written. */
  readonly referenceDefinition: ReferenceDefinition | undefined
  /** Column CHECK constraints: `.check()` calls and, for enums, the membership check. */
  readonly checks: readonly CheckMeta[]
  /** Built-in constraints for `validate` (`varchar(n)` adds `maxLength: n`). */
  readonly constraints: FieldConstraints
  readonly validators: readonly FieldValidator<unknown>[]
  /** Whether an insert may omit it (nullable, default, generated, createdAt/updatedAt, version). */
  readonly optionalOnInsert: boolean
  /** The field's full definition (element type of arrays, enum values, vector dimensions…). */
  readonly definition: FieldDefinition
  /** A native enum's type (`enumOf(values, { native })`); undefined for other fields and text enums. */
  readonly enumType: EnumTypeMeta | undefined
}

/** A native PostgreSQL enum type a field uses. */
export interface EnumTypeMeta {
  readonly name: string
  /** The entity's schema; undefined means the connection's `search_path`. */
  readonly schema: string | undefined
  /** Quoted and qualified as the entity's table is: `"app"."task_status"`. */
  readonly qualified: string
  readonly values: readonly string[]
}

/** An index (from `.index()` or the entity option `indexes`). */
export interface IndexMeta {
  readonly name: string
  /** The indexed fields; empty for an expression index. */
  readonly fields: readonly string[]
  readonly columns: readonly string[]
  /** The indexed expressions of an expression index (then `fields` and `columns` are empty). */
  readonly expressions?: readonly SqlQuery[] | undefined
  readonly unique: boolean
  /** Access method: `btree`, `gin`, `hnsw`, `ivfflat`… */
  readonly using: string
  /** Operator class applied to every column, e.g. `vector_cosine_ops`. */
  readonly opclass: string | undefined
  /** A partial index predicate. */
  readonly where: SqlQuery | undefined
}

/** A UNIQUE constraint (from `.unique()` or the entity option `unique`). */
export interface UniqueMeta {
  /** `<table>_<columns>_key`, PostgreSQL's own naming. */
  readonly name: string
  readonly fields: readonly string[]
  readonly columns: readonly string[]
}

/**
 * A relation. Only the outgoing side (`belongsTo`, one per foreign key) is known to an entity: the incoming side lives
 * on the other entity's metadata as its own `belongsTo`.
 */
export interface RelationMeta {
  readonly kind: 'belongsTo'
  /** The field name without an `Id` / `_id` suffix (`authorId` → `author`), or the field name. */
  readonly name: string
  readonly field: string
  readonly target: AnyEntity
  readonly targetEntityName: string
  readonly targetField: string
}

/**
 * An entity's metadata: computed once by `defineEntity`, read by {@link entityMeta} as a property (no work per call
 * after the first, which resolves references). Frozen except for `references`/`relations`, filled by resolution.
 *
 * @example
 * const meta = entityMeta(User)
 * meta.qualifiedTable           // '"app"."users"'
 * meta.primaryKey?.columnName   // 'id'
 * meta.byColumn.get('created_at')?.fieldName // 'createdAt'
 */
export interface EntityMeta {
  readonly entity: AnyEntity
  /** The entity name given to `defineEntity`. */
  readonly name: string
  /** The table name: option `table`, or `naming.table(name)` (`UserCategory` → `user_categories`). */
  readonly table: string
  /** The schema (option `schema`); undefined means the connection's `search_path`. */
  readonly schema: string | undefined
  /** The quoted, qualified table for SQL: `"app"."users"` or `"users"`. */
  readonly qualifiedTable: string
  readonly naming: NamingConfig
  /** Fields in column order. */
  readonly fields: readonly FieldMeta[]
  readonly byField: ReadonlyMap<string, FieldMeta>
  readonly byColumn: ReadonlyMap<string, FieldMeta>
  /** Field names in column order. */
  readonly fieldNames: readonly string[]
  /** Column names in column order. */
  readonly columnNames: readonly string[]
  /** The primary key when it is one field; undefined for a composite key (see `primaryKeys`). */
  readonly primaryKey: FieldMeta | undefined
  /** Every primary key field, in key order (one for a simple key). Never empty. */
  readonly primaryKeys: readonly FieldMeta[]
  readonly versionField: FieldMeta | undefined
  readonly createdAtField: FieldMeta | undefined
  readonly updatedAtField: FieldMeta | undefined
  /** The soft-delete field (`.deletedAt()`): set instead of deleting the row. */
  readonly deletedAtField: FieldMeta | undefined
  /** Fields filled by `applyGenerated` or the database: generated ids, timestamps, version. */
  readonly generatedFields: readonly FieldMeta[]
  readonly indexes: readonly IndexMeta[]
  readonly uniques: readonly UniqueMeta[]
  /** Table-level CHECK constraints (option `checks`). Column checks are on each {@link FieldMeta}. */
  readonly checks: readonly CheckMeta[]
  /** Outgoing relations, one per foreign key; filled at resolution. */
  readonly relations: readonly RelationMeta[]
  /** Composite foreign keys (entity option `foreignKeys`) as given; resolved into {@link foreignKeysOf} at resolution. */
  readonly foreignKeyDefinitions: readonly ForeignKeyDefinition[]
  /** Composite foreign keys, resolved (empty before resolution). Single-field ones are on their fields. */
  readonly compositeForeignKeys: readonly ForeignKeyMeta[]
  /** The `SELECT` of a view made by `defineView`; undefined for a table. */
  readonly view: SqlQuery | undefined
  readonly hooks: EntityHooks
  /** Whether references have been resolved (always true after {@link entityMeta} returns). */
  readonly resolved: boolean
}

// Registered, so that an entity made by one copy of this package (ESM next to CJS) is read by another.
const META = Symbol.for('tessera.schema.meta')

/** @internal Attaches metadata to a new entity object (non-enumerable). */
export function attachMeta(entity: object, meta: EntityMeta): void {
  Object.defineProperty(entity, META, { value: meta, enumerable: false })
}

/** Whether `value` is an entity made by `defineEntity`. */
export function isEntity(value: unknown): value is AnyEntity {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[META] !== undefined
}

// Field object → owner, so `() => User.fields.id` can name its entity. defineEntity clones every field, so each
// field object has exactly one owner.
const owners = new WeakMap<AnyField, { entity: AnyEntity; fieldName: string }>()
// Entity name → the latest entity defined with it, for string references ('User.id').
const registry = new Map<string, AnyEntity>()

/** @internal */
export function registerEntity(entity: AnyEntity): void {
  registry.set(entity.name, entity)
  for (const [fieldName, field] of Object.entries(entity.fields)) owners.set(field, { entity, fieldName })
}

/**
 * The metadata of an entity: a property read. The first call also resolves foreign keys (thunks and `'Entity.field'`
 * strings), so references may point at entities defined later in the module graph; it fails with a `ConfigError`
 * listing every reference that names an unknown entity or field, a target that is neither primary key nor unique,
 * or a type mismatch. A failed resolution is retried at the next call.
 *
 * @example
 * entityMeta(Post).fields.find((f) => f.references)?.references?.qualifiedTable // '"users"'
 */
export function entityMeta(entity: AnyEntity): EntityMeta {
  const meta = (entity as unknown as Record<symbol, EntityMeta | undefined>)[META]
  if (meta === undefined) {
    throw new ConfigError(`${describe(entity)} is not an entity; accepted: the result of defineEntity(name, fields, options)`)
  }
  if (meta.resolved) return meta
  return resolve(meta)
}

/** The attached metadata without resolving references (resolution of one entity reads its targets' keys only). */
function rawMeta(entity: AnyEntity): EntityMeta {
  return (entity as unknown as Record<symbol, EntityMeta>)[META] as EntityMeta
}

function describe(value: unknown): string {
  if (typeof value === 'object' && value !== null) return `object with keys [${Object.keys(value).join(', ')}]`
  return String(value)
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

function resolve(meta: EntityMeta): EntityMeta {
  const problems: string[] = []
  const resolved: { field: FieldMeta; reference: ResolvedReference; relation: RelationMeta }[] = []
  for (const field of meta.fields) {
    const definition = field.referenceDefinition
    if (definition === undefined) continue
    const target = resolveTarget(definition, `${meta.name}.${field.fieldName}`, problems)
    if (target === undefined) continue
    const targetMeta = rawMeta(target.entity)
    const targetField = targetMeta.byField.get(target.fieldName)
    if (targetField === undefined) {
      problems.push(`${meta.name}.${field.fieldName} references ${targetMeta.name}.${target.fieldName}, which does not exist`)
      continue
    }
    const isKey = (targetField.primaryKey && targetMeta.primaryKeys.length === 1) || targetField.unique
    if (!isKey) {
      problems.push(
        `${meta.name}.${field.fieldName} references ${targetMeta.name}.${target.fieldName}, which is neither its single-column primary key nor unique (PostgreSQL requires one of them)`,
      )
    }
    if (!compatibleKinds(field.kind, targetField.kind)) {
      problems.push(
        `${meta.name}.${field.fieldName} is ${field.sqlType} but references ${targetMeta.name}.${target.fieldName}, which is ${targetField.sqlType}`,
      )
    }
    resolved.push({
      field,
      reference: {
        name: definition.name ?? foreignKeyName(meta.table, field.columnName),
        entity: target.entity,
        entityName: targetMeta.name,
        qualifiedTable: targetMeta.qualifiedTable,
        field: targetField.fieldName,
        column: targetField.columnName,
        onDelete: definition.onDelete,
        onUpdate: definition.onUpdate,
        deferrable: definition.deferrable,
      },
      relation: {
        kind: 'belongsTo',
        name: relationName(field.fieldName),
        field: field.fieldName,
        target: target.entity,
        targetEntityName: targetMeta.name,
        targetField: targetField.fieldName,
      },
    })
  }
  const composite = meta.foreignKeyDefinitions.flatMap((definition, i) => {
    const key = resolveComposite(meta, definition, `${meta.name} options.foreignKeys[${i}]`, problems)
    return key === undefined ? [] : [key]
  })
  if (problems.length > 0) throw new ConfigError(problems, { subject: `references of entity ${meta.name}` })
  ;(meta as Mutable<EntityMeta>).compositeForeignKeys = Object.freeze(composite)
  const relations: RelationMeta[] = []
  for (const { field, reference, relation } of resolved) {
    ;(field as Mutable<FieldMeta>).references = Object.freeze(reference)
    relations.push(Object.freeze(relation))
  }
  const mutable = meta as Mutable<EntityMeta>
  mutable.relations = Object.freeze(relations)
  mutable.resolved = true
  return meta
}

/** PostgreSQL's own default name for a foreign key, shortened to 63 bytes when needed. */
function foreignKeyName(table: string, column: string): string {
  return safeIdentifier(`${table}_${column}_fkey`)
}

function compatibleKinds(a: FieldKind, b: FieldKind): boolean {
  if (a === b) return true
  const texts: FieldKind[] = ['text', 'varchar', 'enum']
  return texts.includes(a) && texts.includes(b)
}

function relationName(fieldName: string): string {
  const match = /^(.+?)(?:Id|_id|ID)$/.exec(fieldName)
  return match?.[1] ?? fieldName
}

const STRING_TARGET = /^([^.]+)(?:\.([^.]+))?$/

function resolveTarget(
  definition: ReferenceDefinition,
  where: string,
  problems: string[],
): { entity: AnyEntity; fieldName: string } | undefined {
  const { target } = definition
  if (typeof target === 'string') {
    const match = STRING_TARGET.exec(target)
    const entity = match ? registry.get(match[1] as string) : undefined
    if (match === null || entity === undefined) {
      problems.push(`${where} references '${target}', but no entity named '${match?.[1] ?? target}' has been defined`)
      return undefined
    }
    return withField(entity, match[2], where, problems)
  }
  let value: unknown
  try {
    value = target()
  } catch (error) {
    problems.push(`${where}: its reference thunk threw (${(error as Error).message}); is the target defined yet?`)
    return undefined
  }
  if (isField(value)) {
    const owner = owners.get(value)
    if (owner === undefined) {
      problems.push(`${where} references a field that belongs to no entity; pass a field of a defined entity, e.g. () => User.fields.id`)
      return undefined
    }
    return owner
  }
  if (isEntity(value)) return withField(value, undefined, where, problems)
  problems.push(`${where}: its reference thunk returned ${describe(value)}; accepted: an entity or one of its fields`)
  return undefined
}

function withField(
  entity: AnyEntity,
  fieldName: string | undefined,
  where: string,
  problems: string[],
): { entity: AnyEntity; fieldName: string } | undefined {
  if (fieldName !== undefined) return { entity, fieldName }
  const keys = rawMeta(entity).primaryKeys
  if (keys.length !== 1) {
    problems.push(`${where} references ${entity.name}, whose primary key is composite; name the field ('${entity.name}.field')`)
    return undefined
  }
  return { entity, fieldName: (keys[0] as FieldMeta).fieldName }
}

function resolveComposite(
  meta: EntityMeta,
  definition: ForeignKeyDefinition,
  where: string,
  problems: string[],
): ForeignKeyMeta | undefined {
  const fields = definition.fields.map((name) => meta.byField.get(name))
  if (fields.some((f) => f === undefined)) {
    problems.push(`${where}: fields ${JSON.stringify(definition.fields)} name a field ${meta.name} does not have`)
    return undefined
  }
  let target: AnyEntity | undefined
  if (typeof definition.references === 'string') target = registry.get(definition.references)
  else {
    try {
      const value = definition.references()
      target = isEntity(value) ? value : undefined
    } catch {
      target = undefined
    }
  }
  if (target === undefined) {
    problems.push(`${where}: references ${describe(definition.references)} is not a defined entity; accepted: () => Entity or 'Entity'`)
    return undefined
  }
  const targetMeta = rawMeta(target)
  const targetFields = (definition.targetFields ?? targetMeta.primaryKeys.map((f) => f.fieldName)).map((name) =>
    targetMeta.byField.get(name),
  )
  if (targetFields.some((f) => f === undefined) || targetFields.length !== fields.length) {
    problems.push(`${where}: the target fields of ${targetMeta.name} must exist and be as many as ${JSON.stringify(definition.fields)}`)
    return undefined
  }
  const targetNames = targetFields.map((f) => (f as FieldMeta).fieldName)
  const sameSet = (names: readonly string[]) => names.length === targetNames.length && names.every((n) => targetNames.includes(n))
  const isKey =
    sameSet(targetMeta.primaryKeys.map((f) => f.fieldName)) ||
    targetMeta.uniques.some((u) => sameSet(u.fields)) ||
    (targetNames.length === 1 && (targetFields[0] as FieldMeta).unique)
  if (!isKey)
    problems.push(
      `${where}: ${targetMeta.name} (${targetNames.join(', ')}) is neither its primary key nor a unique constraint (PostgreSQL requires one of them)`,
    )
  fields.forEach((field, i) => {
    const other = targetFields[i] as FieldMeta
    if (!compatibleKinds((field as FieldMeta).kind, other.kind)) {
      problems.push(
        `${where}: ${(field as FieldMeta).fieldName} is ${(field as FieldMeta).sqlType} but ${targetMeta.name}.${other.fieldName} is ${other.sqlType}`,
      )
    }
  })
  const columns = fields.map((f) => (f as FieldMeta).columnName)
  return Object.freeze({
    name: definition.name ?? safeIdentifier(`${meta.table}_${columns.join('_')}_fkey`),
    fields: Object.freeze([...definition.fields]),
    columns: Object.freeze(columns),
    entity: target,
    qualifiedTable: targetMeta.qualifiedTable,
    targetFields: Object.freeze(targetNames),
    targetColumns: Object.freeze(targetFields.map((f) => (f as FieldMeta).columnName)),
    onDelete: definition.onDelete ?? 'no action',
    onUpdate: definition.onUpdate ?? 'no action',
    deferrable: definition.deferrable,
  })
}

/**
 * Every foreign key of an entity, single-field (`.references()`) and composite (option `foreignKeys`), resolved.
 * @example foreignKeysOf(entityMeta(Assignment)).map((k) => k.name) // ['assignments_org_id_user_id_fkey']
 */
export function foreignKeysOf(meta: EntityMeta): ForeignKeyMeta[] {
  const resolved = entityMeta(meta.entity)
  const single = resolved.fields.flatMap((field): ForeignKeyMeta[] => {
    const ref = field.references
    if (ref === undefined) return []
    return [
      {
        name: ref.name,
        fields: [field.fieldName],
        columns: [field.columnName],
        entity: ref.entity,
        qualifiedTable: ref.qualifiedTable,
        targetFields: [ref.field],
        targetColumns: [ref.column],
        onDelete: ref.onDelete,
        onUpdate: ref.onUpdate,
        deferrable: ref.deferrable,
      },
    ]
  })
  return [...single, ...resolved.compositeForeignKeys]
}
