import { ConfigError } from '@tessera/core'
import { type NamingStrategy, resolveStrategy, type StrategyName } from '@tessera/naming'
import { type FieldValidator, GENERATED_ID_STRATEGIES, type GeneratedIdStrategy } from '@tessera/schema/portable'
import type { AnyField, FieldKind, FieldRole } from './fields'
import { type KeyTemplate, parseKeyTemplate, plainFieldKey, type TemplateVars } from './key-template'

/** The fields of a model, by property name. */
export type Fields = Record<string, AnyField>

/**
 * A key: a field name (stored as that field's own value), or a template composed from fields into one string
 * attribute, for single-table design: `{ attribute: 'pk', template: 'USER#${id}' }`.
 */
export type KeySpec<F extends Fields> = (keyof F & string) | { readonly attribute: string; readonly template: string }

/** A secondary index: `gsi` (any partition key) or `lsi` (the table's partition key, another sort key). */
export interface IndexSpec<F extends Fields> {
  readonly type: 'gsi' | 'lsi'
  readonly partition: KeySpec<F>
  readonly sort?: KeySpec<F> | undefined
  /** What the index holds besides keys. Default: `'all'`. */
  readonly projection?: 'all' | 'keys' | readonly (keyof F & string)[] | undefined
}

/** The third argument of {@link defineModel}. */
export interface ModelOptions<F extends Fields> {
  /** The table name (without the `tablePrefix` of `createDynamo`). */
  readonly table: string
  /** The primary key. */
  readonly keys: { readonly partition: KeySpec<F>; readonly sort?: KeySpec<F> | undefined }
  /** Secondary indexes by index name. Default: none. */
  readonly indexes?: Readonly<Record<string, IndexSpec<F>>> | undefined
  /** How property names become attribute names. Default: `'preserve'`. A field's `.attribute(name)` wins. */
  readonly naming?: StrategyName | NamingStrategy | undefined
  /**
   * The entity marker written on every item so that several models can share a table and a query returns only
   * this model's items. Default: the model name. `false`: no marker (one model per table).
   */
  readonly entity?: string | false | undefined
  /** The attribute that holds the entity marker. Default: `'_entity'`. */
  readonly entityAttribute?: string | undefined
}

type FieldType<F> = F extends { readonly __type?: infer T | undefined } ? Exclude<T, undefined> : never
type Simplify<T> = { [K in keyof T]: T[K] } & {}
type OptionalKeys<F extends Fields> = { [K in keyof F]: F[K]['isOptional'] extends true ? K : never }[keyof F]
type RequiredKeys<F extends Fields> = Exclude<keyof F, OptionalKeys<F>>
type InsertOptionalKeys<F extends Fields> = {
  [K in keyof F]: F[K]['isOptional'] extends true ? K : F[K]['isGenerated'] extends true ? K : never
}[keyof F]

/** An item as read: required fields present, optional ones maybe. */
export type ItemOf<F extends Fields> = Simplify<
  { [K in RequiredKeys<F>]: FieldType<F[K]> } & { [K in OptionalKeys<F>]?: FieldType<F[K]> | undefined }
>

/** An item to write: fields Tessera fills (version, createdAt, updatedAt) may be left out. */
export type InsertOf<F extends Fields> = Simplify<
  { [K in Exclude<keyof F, InsertOptionalKeys<F>>]: FieldType<F[K]> } & {
    [K in InsertOptionalKeys<F>]?: FieldType<F[K]> | undefined
  }
>

/** The fields a key spec reads. */
export type KeyFieldNames<F extends Fields, S> = S extends keyof F & string
  ? S
  : S extends { readonly template: infer T extends string }
    ? Extract<TemplateVars<T>, keyof F & string>
    : never

/** The fields that make up a model's primary key. */
export type PrimaryKeyFields<F extends Fields, O extends ModelOptions<F>> =
  | KeyFieldNames<F, O['keys']['partition']>
  | KeyFieldNames<F, O['keys']['sort']>

/** A primary key value: exactly the fields the partition and sort keys read. */
export type KeyOf<F extends Fields, O extends ModelOptions<F>> = Simplify<{ [K in PrimaryKeyFields<F, O>]: FieldType<F[K]> }>

/** The property name of the version field, or `never`. */
export type VersionFieldOf<F extends Fields> = { [K in keyof F]: F[K]['role'] extends 'version' ? K : never }[keyof F]

/** Index names of a model. */
export type IndexNameOf<O> = O extends { readonly indexes: infer I }
  ? I extends Record<string, unknown>
    ? keyof I & string
    : never
  : never

/** A field as the model sees it at run time. */
export interface FieldMeta {
  readonly name: string
  readonly attribute: string
  readonly kind: FieldKind
  readonly role: FieldRole | undefined
  readonly isOptional: boolean
  readonly isGenerated: boolean
  readonly isEncrypted: boolean
  readonly isOmitEmpty: boolean
  /** How an absent value is generated on create and put, else `undefined`. */
  readonly idStrategy: GeneratedIdStrategy | undefined
  /** `.validate()` validators, in order; empty when none. */
  readonly validators: readonly FieldValidator<unknown>[]
  /** A map field's declared entries (`field.map({ … })`), else `undefined`. */
  readonly shape: ReadonlyMap<string, NestedFieldMeta> | undefined
}

/** An entry of a map field's declared shape, as conditions on paths see it. */
export interface NestedFieldMeta {
  readonly kind: FieldKind
  readonly isOptional: boolean
  readonly shape: ReadonlyMap<string, NestedFieldMeta> | undefined
}

function nestedShape(shape: Readonly<Record<string, AnyField>> | undefined): ReadonlyMap<string, NestedFieldMeta> | undefined {
  if (shape === undefined) return undefined
  const out = new Map<string, NestedFieldMeta>()
  for (const [name, entry] of Object.entries(shape))
    out.set(name, { kind: entry.kind, isOptional: entry.isOptional, shape: nestedShape(entry.shape) })
  return out
}

/** An index as the model sees it at run time. */
export interface IndexMeta {
  readonly name: string
  readonly type: 'gsi' | 'lsi'
  readonly partition: KeyTemplate
  readonly sort: KeyTemplate | undefined
  readonly projection: 'all' | 'keys' | readonly string[]
}

/**
 * A model: what {@link defineModel} returns. Pass it to `db.model(model)`. The type parameters carry the field
 * types so that items, keys and inserts are checked at compile time.
 */
export interface Model<Name extends string = string, F extends Fields = Fields, O extends ModelOptions<F> = ModelOptions<F>> {
  readonly name: Name
  readonly fields: F
  readonly options: O
  readonly table: string
  readonly fieldList: readonly FieldMeta[]
  readonly fieldByName: ReadonlyMap<string, FieldMeta>
  readonly fieldByAttribute: ReadonlyMap<string, FieldMeta>
  readonly partitionKey: KeyTemplate
  readonly sortKey: KeyTemplate | undefined
  readonly indexes: readonly IndexMeta[]
  /** Marker attribute and value, or `undefined` when the model has none. */
  readonly entity: { readonly attribute: string; readonly value: string } | undefined
  readonly versionField: FieldMeta | undefined
  readonly createdAtField: FieldMeta | undefined
  readonly updatedAtField: FieldMeta | undefined
  readonly ttlField: FieldMeta | undefined
  /** Stored attributes that are keys composed from templates (not fields): base and index keys. */
  readonly composedKeys: readonly KeyTemplate[]
  /** Fields with `.generated(strategy)`: filled on create and put when absent. */
  readonly generatedIdFields: readonly FieldMeta[]
}

/** Any model. */
// biome-ignore lint/suspicious/noExplicitAny: the widest model type, used only as a constraint
export type AnyModel = Model<string, any, any>
/** The item type of a model. */
export type Item<M extends AnyModel> = ItemOf<M['fields']>
/** The insert type of a model. */
export type Insert<M extends AnyModel> = InsertOf<M['fields']>
/** The primary key type of a model. */
export type Key<M extends AnyModel> = KeyOf<M['fields'], M['options']>
/** The attribute (property) names of a model. */
export type FieldName<M extends AnyModel> = keyof M['fields'] & string

const KEY_KINDS: ReadonlySet<FieldKind> = new Set(['string', 'number', 'binary'])
const TEMPLATE_KINDS: ReadonlySet<FieldKind> = new Set(['string', 'number'])

/**
 * Defines a model. Checks the definition at once: a `ConfigError` lists every problem (unknown key fields,
 * encrypted keys, duplicate roles or attribute names, …).
 *
 * @example
 * const User = defineModel('User', {
 *   id: field.string(),
 *   email: field.string(),
 *   name: field.string().optional(),
 *   version: field.version(),
 * }, {
 *   table: 'app',
 *   keys: { partition: { attribute: 'pk', template: 'USER#${id}' }, sort: { attribute: 'sk', template: 'PROFILE' } },
 *   indexes: { byEmail: { type: 'gsi', partition: { attribute: 'gsi1pk', template: 'EMAIL#${email}' } } },
 * })
 */
export function defineModel<const Name extends string, const F extends Fields, const O extends ModelOptions<F>>(
  name: Name,
  fields: F,
  options: O,
): Model<Name, F, O> {
  const problems: string[] = []
  if (typeof name !== 'string' || name === '') problems.push('the model name must be a non-empty string')
  if (typeof options?.table !== 'string' || options.table === '') problems.push('options.table must be a non-empty table name')
  const strategy = resolveStrategy(options?.naming ?? 'preserve')
  const fieldList: FieldMeta[] = []
  const fieldByName = new Map<string, FieldMeta>()
  const fieldByAttribute = new Map<string, FieldMeta>()
  const roles = new Map<FieldRole, FieldMeta>()
  for (const [fieldName, definition] of Object.entries(fields ?? {})) {
    if (typeof definition?.kind !== 'string') {
      problems.push(`field ${fieldName} is not a field: build it with field.string(), field.number(), …`)
      continue
    }
    const meta: FieldMeta = {
      name: fieldName,
      attribute: definition.attributeName ?? strategy.toColumn(fieldName),
      kind: definition.kind,
      role: definition.role,
      isOptional: definition.isOptional,
      isGenerated: definition.isGenerated,
      isEncrypted: definition.isEncrypted,
      isOmitEmpty: definition.isOmitEmpty,
      idStrategy: definition.idStrategy,
      validators: definition.validators ?? [],
      shape: nestedShape(definition.shape),
    }
    if (meta.idStrategy !== undefined) {
      if (!GENERATED_ID_STRATEGIES.includes(meta.idStrategy))
        problems.push(
          `field ${fieldName}: generated(${JSON.stringify(meta.idStrategy)}) is not a strategy; accepted: ${GENERATED_ID_STRATEGIES.join(', ')}`,
        )
      if (meta.kind !== 'string') problems.push(`field ${fieldName} is a ${meta.kind}; generated ids are strings`)
      if (meta.role) problems.push(`field ${fieldName} has the ${meta.role} role and cannot also be a generated id`)
    }
    const clash = fieldByAttribute.get(meta.attribute)
    if (clash) problems.push(`fields ${clash.name} and ${fieldName} are both stored as attribute ${meta.attribute}`)
    if (meta.role) {
      const other = roles.get(meta.role)
      if (other) problems.push(`fields ${other.name} and ${fieldName} both have the ${meta.role} role; a model has at most one`)
      roles.set(meta.role, meta)
      if (meta.isEncrypted) problems.push(`field ${fieldName} has the ${meta.role} role and cannot be encrypted`)
    }
    fieldList.push(meta)
    fieldByName.set(fieldName, meta)
    fieldByAttribute.set(meta.attribute, meta)
  }

  const keyFrom = (spec: KeySpec<F> | undefined, subject: string): KeyTemplate | undefined => {
    if (spec === undefined) return undefined
    if (typeof spec === 'string') {
      const meta = fieldByName.get(spec)
      if (!meta) {
        problems.push(`${subject} names field ${spec}, which the model does not have (fields: ${[...fieldByName.keys()].join(', ')})`)
        return undefined
      }
      if (!KEY_KINDS.has(meta.kind)) problems.push(`${subject} field ${spec} is a ${meta.kind}; a key is a string, number or binary`)
      if (meta.isEncrypted) problems.push(`${subject} field ${spec} is encrypted; an encrypted field cannot be a key`)
      if (meta.isOptional && subject.startsWith('the primary'))
        problems.push(`${subject} field ${spec} is optional; a key field is required`)
      return plainFieldKey(meta.attribute, spec)
    }
    if (typeof spec !== 'object' || typeof spec.attribute !== 'string' || typeof spec.template !== 'string') {
      problems.push(`${subject} must be a field name or { attribute, template }`)
      return undefined
    }
    const template = parseKeyTemplate(spec.attribute, spec.template, `${subject} (${spec.attribute})`)
    for (const fieldName of template.fields) {
      const meta = fieldByName.get(fieldName)
      if (!meta)
        problems.push(`${subject} template ${JSON.stringify(spec.template)} reads field ${fieldName}, which the model does not have`)
      else if (!TEMPLATE_KINDS.has(meta.kind))
        problems.push(`${subject} template reads field ${fieldName}, a ${meta.kind}; only strings and numbers compose`)
      else if (meta.isEncrypted)
        problems.push(`${subject} template reads field ${fieldName}, which is encrypted; an encrypted field cannot be in a key`)
    }
    if (fieldByAttribute.has(spec.attribute))
      problems.push(`${subject} attribute ${spec.attribute} is also a field's attribute; name it apart`)
    return template
  }

  const partitionKey = keyFrom(options?.keys?.partition, 'the primary partition key')
  if (options?.keys?.partition === undefined) problems.push('options.keys.partition is required')
  const sortKey = keyFrom(options?.keys?.sort, 'the primary sort key')
  const indexes: IndexMeta[] = []
  for (const [indexName, spec] of Object.entries(options?.indexes ?? {})) {
    if (spec?.type !== 'gsi' && spec?.type !== 'lsi') {
      problems.push(`index ${indexName}: type must be 'gsi' or 'lsi'`)
      continue
    }
    const partition = keyFrom(spec.partition, `index ${indexName} partition key`)
    const sort = keyFrom(spec.sort, `index ${indexName} sort key`)
    if (spec.type === 'lsi' && partition && partitionKey && partition.attribute !== partitionKey.attribute) {
      problems.push(`index ${indexName} is an lsi, so its partition key must be the table's (${partitionKey.attribute})`)
    }
    const projection = spec.projection ?? 'all'
    if (Array.isArray(projection)) {
      for (const projected of projection)
        if (!fieldByName.has(projected)) problems.push(`index ${indexName} projects unknown field ${projected}`)
    }
    if (partition) indexes.push({ name: indexName, type: spec.type, partition, sort, projection: projection as IndexMeta['projection'] })
  }
  const entityValue = options?.entity === undefined ? name : options.entity
  const entityAttribute = options?.entityAttribute ?? '_entity'
  if (entityValue !== false && fieldByAttribute.has(entityAttribute)) {
    problems.push(`the entity marker attribute ${entityAttribute} is also a field's attribute; set options.entityAttribute`)
  }
  if (problems.length > 0) throw new ConfigError(problems, { subject: `model ${String(name)}` })

  const composedKeys: KeyTemplate[] = []
  const seen = new Set<string>()
  for (const key of [partitionKey, sortKey, ...indexes.flatMap((index) => [index.partition, index.sort])]) {
    if (!key || key.isPlainField || seen.has(key.attribute)) continue
    seen.add(key.attribute)
    composedKeys.push(key)
  }
  return {
    name,
    fields,
    options,
    table: options.table,
    fieldList,
    fieldByName,
    fieldByAttribute,
    partitionKey: partitionKey!,
    sortKey,
    indexes,
    entity: entityValue === false ? undefined : { attribute: entityAttribute, value: entityValue },
    versionField: roles.get('version'),
    createdAtField: roles.get('createdAt'),
    updatedAtField: roles.get('updatedAt'),
    ttlField: roles.get('ttl'),
    composedKeys,
    generatedIdFields: fieldList.filter((meta) => meta.idStrategy !== undefined),
  }
}
