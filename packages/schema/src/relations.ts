import { ConfigError, describeValue } from '@tessera/core'
import type { AnyEntity } from './define-entity'
import { type EntityMeta, entityMeta, type FieldMeta } from './entity-meta'

/** How many rows a relation loads: `belongsTo` and `hasOne` one (or `null`), `hasMany` and `manyToMany` a list. */
export type RelationKind = 'belongsTo' | 'hasOne' | 'hasMany' | 'manyToMany'

/** Options of `r.belongsTo(target, options)`: the foreign key is on the declaring entity. */
export interface BelongsToOptions {
  /** The declaring entity's field holding the target's key. Default: its one field whose `.references()` names the target. */
  foreignKey?: string | undefined
  /** The target field it holds. Default: the field its `.references()` names, else the target's primary key. */
  references?: string | undefined
}

/** Options of `r.hasMany(target, options)` / `r.hasOne(target, options)`: the foreign key is on the target. */
export interface HasManyOptions {
  /** The target's field holding the declaring entity's key. Default: the target's one field whose `.references()` names the declaring entity. */
  foreignKey?: string | undefined
  /** The declaring entity's field it holds. Default: the field its `.references()` names, else the primary key. */
  references?: string | undefined
}

/** Options of `r.manyToMany(target, options)`: rows of a join entity link the two. */
export interface ManyToManyOptions<Through extends string = string> {
  /** The join entity (a name of the relation schema), e.g. `'TaskTag'`. */
  through: Through
  /** The join entity's field holding the declaring entity's key. Default: its one field whose `.references()` names the declaring entity. */
  sourceKey?: string | undefined
  /** The join entity's field holding the target's key. Default: its one field whose `.references()` names the target. */
  targetKey?: string | undefined
}

/** One declared relation, as `defineRelations` keeps it (made by the builder `r`). */
export interface RelationSpec<Kind extends RelationKind = RelationKind, Target extends string = string> {
  readonly kind: Kind
  readonly target: Target
  readonly options: BelongsToOptions | HasManyOptions | ManyToManyOptions
}

/** The builder handed to {@link defineRelations}: targets are names of the entities passed to it. */
export interface RelationBuilder<Names extends string> {
  /** This entity holds the target's key: loads the target row or `null`. */
  belongsTo<const T extends Names>(target: T, options?: BelongsToOptions): RelationSpec<'belongsTo', T>
  /** The target holds this entity's key, at most one row: loads it or `null`. */
  hasOne<const T extends Names>(target: T, options?: HasManyOptions): RelationSpec<'hasOne', T>
  /** The target holds this entity's key: loads a list. */
  hasMany<const T extends Names>(target: T, options?: HasManyOptions): RelationSpec<'hasMany', T>
  /** Linked through rows of a join entity: loads a list. */
  manyToMany<const T extends Names>(target: T, options: ManyToManyOptions<Names>): RelationSpec<'manyToMany', T>
}

/** The entities given to {@link defineRelations}, by name. */
export type EntitySchema = Readonly<Record<string, AnyEntity>>

/** The relations declared per entity name. */
export type RelationMap<S extends EntitySchema> = {
  readonly [N in keyof S]?: Readonly<Record<string, RelationSpec<RelationKind, keyof S & string>>>
}

declare const relationTypes: unique symbol

/** What the types know of an entity's relations: the schema it was declared in, all relations, and its own name. */
export interface RelationTypes<S extends EntitySchema = EntitySchema, R = unknown, N extends string = string> {
  readonly schema: S
  readonly relations: R
  readonly name: N
}

/** An entity with the relations declared for it by {@link defineRelations} (the same object at run time). */
export type WithRelations<E extends AnyEntity, S extends EntitySchema, R, N extends string> = E & {
  /** Types only: never set. */
  readonly [relationTypes]?: RelationTypes<S, R, N> | undefined
}

type InfoOf<E> = E extends { readonly [relationTypes]?: infer I | undefined } ? Exclude<I, undefined> : never

/** The relations of an entity (from {@link defineRelations}), by relation name; `{}` for an entity without. */
export type RelationsOf<E> =
  InfoOf<E> extends RelationTypes<EntitySchema, infer R, infer N> ? (N extends keyof R ? NonNullable<R[N]> : {}) : {}

/** The target entity (with its own relations) of relation `K` of `E`. */
export type RelationTarget<E, K extends keyof RelationsOf<E>> =
  InfoOf<E> extends RelationTypes<infer S, infer R, string>
    ? RelationsOf<E>[K] extends RelationSpec<RelationKind, infer T>
      ? T extends keyof S & string
        ? WithRelations<S[T], S, R, T>
        : never
      : never
    : never

const builder: RelationBuilder<string> = {
  belongsTo: (target, options = {}) => ({ kind: 'belongsTo', target, options }),
  hasOne: (target, options = {}) => ({ kind: 'hasOne', target, options }),
  hasMany: (target, options = {}) => ({ kind: 'hasMany', target, options }),
  manyToMany: (target, options) => ({ kind: 'manyToMany', target, options }),
}

/** A relation ready to load: the two entities and the columns that link them. */
export interface ResolvedRelation {
  readonly name: string
  readonly kind: RelationKind
  readonly source: EntityMeta
  readonly target: EntityMeta
  /** The source field the link starts from (the foreign key for belongsTo, the referenced key otherwise). */
  readonly sourceField: FieldMeta
  /** The target field it meets (the referenced key for belongsTo, the foreign key otherwise; the key the join holds for manyToMany). */
  readonly targetField: FieldMeta
  /** manyToMany: the join entity and its two fields. */
  readonly through?: { readonly meta: EntityMeta; readonly sourceKey: FieldMeta; readonly targetKey: FieldMeta } | undefined
}

interface Declared {
  readonly schema: EntitySchema
  readonly specs: Readonly<Record<string, RelationSpec>>
  resolved: Map<string, ResolvedRelation> | undefined
}

// Entity → its declared relations. The latest defineRelations call naming an entity wins.
const declared = new WeakMap<AnyEntity, Declared>()

/**
 * Declares relations between entities, after they are defined (so each may name the other: `Project` has many
 * `Task`s and each `Task` belongs to its `Project`). Targets are the names the entities have in `entities`; foreign
 * keys default to the `.references()` between the two, so most relations need no options. Returns the same entity
 * objects, typed with their relations: pass them to `repository()` to load relations with `with`.
 *
 * Checked at the first query that loads a relation (references may point at entities defined later): an unknown
 * entity or field, or an ambiguous default, is a `ConfigError` naming the relation.
 *
 * @example
 * export const { Project, Task } = defineRelations({ Project: ProjectTable, Task: TaskTable, Tag, TaskTag }, (r) => ({
 *   Project: { tasks: r.hasMany('Task'), owner: r.belongsTo('User') },
 *   Task: { project: r.belongsTo('Project'), tags: r.manyToMany('Tag', { through: 'TaskTag' }) },
 * }))
 */
export function defineRelations<const S extends EntitySchema, const R extends RelationMap<S>>(
  entities: S,
  build: (r: RelationBuilder<keyof S & string>) => R,
): { readonly [N in keyof S]: WithRelations<S[N], S, R, N & string> } {
  if (typeof entities !== 'object' || entities === null) {
    throw new ConfigError(`entities ${describeValue(entities)} is not an object of entities by name`, { subject: 'defineRelations' })
  }
  const map = build(builder as RelationBuilder<keyof S & string>)
  const problems: string[] = []
  for (const [name, specs] of Object.entries(map ?? {})) {
    const entity = entities[name]
    if (entity === undefined) {
      problems.push(
        `relations are declared for ${describeValue(name)}, which is not one of the entities: ${Object.keys(entities).join(', ')}`,
      )
      continue
    }
    for (const [relation, spec] of Object.entries(specs ?? {})) {
      if (typeof spec !== 'object' || spec === null || !('kind' in spec)) {
        problems.push(`${name}.${relation} is ${describeValue(spec)}; declare it with r.belongsTo / r.hasOne / r.hasMany / r.manyToMany`)
        continue
      }
      if (entityMeta(entity).byField.has(relation)) problems.push(`${name}.${relation}: the relation has the name of a field`)
      if (entities[spec.target] === undefined)
        problems.push(`${name}.${relation} targets ${describeValue(spec.target)}, which is not one of the entities`)
      if (spec.kind === 'manyToMany') {
        const through = (spec.options as ManyToManyOptions).through
        if (entities[through] === undefined)
          problems.push(`${name}.${relation} goes through ${describeValue(through)}, which is not one of the entities`)
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems, { subject: 'defineRelations' })
  for (const [name, entity] of Object.entries(entities)) {
    declared.set(entity, {
      schema: entities,
      specs: (map as Record<string, Record<string, RelationSpec>>)[name] ?? {},
      resolved: undefined,
    })
  }
  return entities as never
}

/** The relations of `entity`, resolved (foreign keys found and checked) at the first call. */
export function relationsOf(entity: AnyEntity): ReadonlyMap<string, ResolvedRelation> {
  const entry = declared.get(entity)
  if (entry === undefined) return EMPTY
  if (entry.resolved !== undefined) return entry.resolved
  const source = entityMeta(entity)
  const problems: string[] = []
  const resolved = new Map<string, ResolvedRelation>()
  for (const [name, spec] of Object.entries(entry.specs)) {
    const found = resolveOne(source, name, spec, entry.schema, problems)
    if (found !== undefined) resolved.set(name, found)
  }
  if (problems.length > 0) throw new ConfigError(problems, { subject: `relations of entity ${source.name}` })
  entry.resolved = resolved
  return resolved
}

const EMPTY: ReadonlyMap<string, ResolvedRelation> = new Map()

function fieldOf(meta: EntityMeta, name: string, where: string, problems: string[]): FieldMeta | undefined {
  const field = meta.byField.get(name)
  if (field === undefined)
    problems.push(`${where}: ${meta.name} has no field ${describeValue(name)}; its fields: ${meta.fieldNames.join(', ')}`)
  return field
}

/** The one field of `from` whose reference targets `to`, or a problem when there is none or more than one. */
function referenceTo(from: EntityMeta, to: EntityMeta, where: string, option: string, problems: string[]): FieldMeta | undefined {
  const candidates = from.fields.filter((f) => f.references?.entity === to.entity)
  if (candidates.length === 1) return candidates[0]
  problems.push(
    candidates.length === 0
      ? `${where}: no field of ${from.name} references ${to.name}; name it with { ${option}: '…' }`
      : `${where}: ${candidates.map((f) => f.fieldName).join(' and ')} of ${from.name} both reference ${to.name}; name one with { ${option}: '…' }`,
  )
  return undefined
}

function singleKey(meta: EntityMeta, where: string, problems: string[]): FieldMeta | undefined {
  if (meta.primaryKey !== undefined) return meta.primaryKey
  problems.push(`${where}: ${meta.name} has a composite primary key; name the referenced field with { references: '…' }`)
  return undefined
}

/**
 * The foreign key `holder` keeps and the field of `owner` it references: the named ones, or the one reference from
 * `holder` to `owner` and the field it points at (else `owner`'s single-field key).
 */
function foreignKeyLink(
  holder: EntityMeta,
  owner: EntityMeta,
  options: { foreignKey?: string | undefined; references?: string | undefined },
  where: string,
  problems: string[],
): { foreignKey: FieldMeta; referenced: FieldMeta } | undefined {
  const foreignKey =
    options.foreignKey === undefined
      ? referenceTo(holder, owner, where, 'foreignKey', problems)
      : fieldOf(holder, options.foreignKey, where, problems)
  if (foreignKey === undefined) return undefined
  const referenced =
    options.references !== undefined
      ? fieldOf(owner, options.references, where, problems)
      : foreignKey.references?.entity === owner.entity
        ? owner.byField.get(foreignKey.references.field)
        : singleKey(owner, where, problems)
  if (referenced === undefined) return undefined
  return { foreignKey, referenced }
}

function resolveOne(
  source: EntityMeta,
  name: string,
  spec: RelationSpec,
  schema: EntitySchema,
  problems: string[],
): ResolvedRelation | undefined {
  const where = `${source.name}.${name}`
  const target = entityMeta(schema[spec.target] as AnyEntity)
  if (spec.kind === 'belongsTo') {
    const options = spec.options as BelongsToOptions
    const found = foreignKeyLink(source, target, options, where, problems)
    if (found === undefined) return undefined
    return { name, kind: spec.kind, source, target, sourceField: found.foreignKey, targetField: found.referenced }
  }
  if (spec.kind === 'hasOne' || spec.kind === 'hasMany') {
    const options = spec.options as HasManyOptions
    const found = foreignKeyLink(target, source, options, where, problems)
    if (found === undefined) return undefined
    return { name, kind: spec.kind, source, target, sourceField: found.referenced, targetField: found.foreignKey }
  }
  const options = spec.options as ManyToManyOptions
  const through = entityMeta(schema[options.through] as AnyEntity)
  const sourceKey =
    options.sourceKey === undefined
      ? referenceTo(through, source, where, 'sourceKey', problems)
      : fieldOf(through, options.sourceKey, where, problems)
  const targetKey =
    options.targetKey === undefined
      ? referenceTo(through, target, where, 'targetKey', problems)
      : fieldOf(through, options.targetKey, where, problems)
  if (sourceKey === undefined || targetKey === undefined) return undefined
  const sourceField =
    sourceKey.references?.entity === source.entity ? source.byField.get(sourceKey.references.field) : singleKey(source, where, problems)
  const targetField =
    targetKey.references?.entity === target.entity ? target.byField.get(targetKey.references.field) : singleKey(target, where, problems)
  if (sourceField === undefined || targetField === undefined) return undefined
  return { name, kind: 'manyToMany', source, target, sourceField, targetField, through: { meta: through, sourceKey, targetKey } }
}
