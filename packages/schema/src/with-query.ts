import { createTypeRegistry, OIDS, type TextParser } from '@tessera/converter'
import { describeValue, type Queryable, type Row, type SqlQuery, sql, ValidationError } from '@tessera/core'
import { orderByClause } from './cursor'
import type { AnyEntity, InferEntity } from './define-entity'
import type { EntityMeta, FieldMeta } from './entity-meta'
import { hasLifecycle, runLifecycle } from './lifecycle'
import type { RelationSpec, RelationsOf, RelationTarget, ResolvedRelation } from './relations'
import { relationsOf } from './relations'
import type { OrderBy } from './repository'
import { toParamValue } from './repository-model'
import { checkCount, sortKeysOf } from './sort-keys'
import { compileWhere, type Where, type WhereTarget } from './where'

/** How one relation is loaded inside `with`: which rows, in what order, how many per parent, and their own relations. */
export interface WithOptions<E> {
  /** Which related rows. Default: all. `undefined` anywhere inside is a `ValidationError`, as in every filter. */
  where?: EntityWhere<E> | undefined
  /** Default: the target's primary key, ascending. */
  orderBy?: OrderBy<InferEntity<E>> | undefined
  /** At most this many rows per parent row (list relations only). Default: no limit. */
  limit?: number | undefined
  /** Relations of the related rows, loaded in the same statement. */
  with?: With<E> | undefined
  /** Include soft-deleted related rows (a target with a `.deletedAt()` field). Default: `false`. */
  withDeleted?: boolean | undefined
}

/** Which relations of `E` to load: `true` for all rows, or {@link WithOptions}. */
export type With<E> = { [K in keyof RelationsOf<E>]?: true | false | WithOptions<RelationTarget<E, K>> | undefined }

type NestedWith<X> = X extends { with?: infer N | undefined } ? (undefined extends N ? Exclude<N, undefined> : N) : {}

type LoadedRelation<Spec, T, X> =
  Spec extends RelationSpec<'hasMany' | 'manyToMany', string> ? Loaded<T, NestedWith<X>>[] : Loaded<T, NestedWith<X>> | null

/** A row of `E` with the relations `W` asked for: lists for `hasMany`/`manyToMany`, a row or `null` for `belongsTo`/`hasOne`. */
export type Loaded<E, W> = [keyof W & keyof RelationsOf<E>] extends [never]
  ? InferEntity<E>
  : InferEntity<E> & {
      -readonly [K in keyof W & keyof RelationsOf<E> as W[K] extends false | undefined ? never : K]: LoadedRelation<
        RelationsOf<E>[K],
        RelationTarget<E, K>,
        W[K]
      >
    }

/** How a compiled `with` reads its column back. */
interface RelationPlan {
  readonly relation: ResolvedRelation
  /** The output column (top level) holding the relation's JSON. */
  readonly column: string
  readonly many: boolean
  readonly fields: readonly FieldMeta[]
  readonly parsers: readonly TextParser[]
  readonly nested: readonly RelationPlan[]
  /** Whether this plan or one below it has an `afterLoad` hook to run. */
  readonly hooked: boolean
}

/** A compiled `with`: the select-list items to add, and how to read them back. */
export interface CompiledWith {
  readonly columns: readonly SqlQuery[]
  readonly plans: readonly RelationPlan[]
}

/** The alias of the root table when a `with` is compiled. */
export const ROOT_ALIAS = '__t0'

const registry = createTypeRegistry()
const parseText: TextParser = (text) => text
const ALIASES: Record<string, string> = {
  integer: 'int4',
  int: 'int4',
  smallint: 'int2',
  bigint: 'int8',
  boolean: 'bool',
  real: 'float4',
  'double precision': 'float8',
  'character varying': 'varchar',
  'timestamp with time zone': 'timestamptz',
  'timestamp without time zone': 'timestamp',
  'time without time zone': 'time',
  'time with time zone': 'timetz',
}

/**
 * The parser of a field's PostgreSQL text output, the same codec the providers use for a top-level column with the
 * default type policies (so a nested row reads as the field's type says: `Date`, `bigint`, numeric text…).
 * Types the registry does not know by OID (enums, citext, domains) read as text; vectors as `number[]`.
 */
function parserOf(field: FieldMeta): TextParser {
  let type = field.sqlType
    .toLowerCase()
    .replace(/\(.*?\)/g, '')
    .trim()
  const isArray = type.endsWith('[]')
  if (isArray) type = type.slice(0, -2).trim()
  if (type === 'vector' || type === 'halfvec')
    return (text) =>
      text
        .slice(1, -1)
        .split(',')
        .filter((x) => x !== '')
        .map(Number)
  const name = ALIASES[type] ?? type
  const oid = (OIDS as Record<string, number>)[isArray ? `_${name}` : name]
  if (oid !== undefined) return registry.getParser(oid)
  return isArray ? registry.getParser(OIDS._text) : parseText
}

/**
 * The {@link WhereTarget} of an entity: fields by name, values written as the field writes them, and relations as
 * `EXISTS` subqueries correlated to `self` (how the statement names the entity's table: the table or its alias).
 */
export function whereTargetOf(meta: EntityMeta, self: SqlQuery = tableOf(meta), depth = 0): WhereTarget {
  return {
    name: meta.name,
    columnOf: (field) => meta.byField.get(field)?.columnName,
    toParam: (field, value) => toParamValue(meta.entity, meta.byField.get(field) as FieldMeta, value),
    relation(name, value, path, issues, nested) {
      const relation = relationsOf(meta.entity).get(name)
      if (relation === undefined) return undefined
      if (!isPlainObject(value) || Object.keys(value).length === 0 || !Object.keys(value).every((k) => RELATION_TESTS.has(k))) {
        issues.push({ path, message: `a relation condition is { some | none | every: filter }, got ${describeValue(value)}`, value })
        return sql`TRUE`
      }
      const alias = sql.id(`__e${depth + 1}`)
      const inner = whereTargetOf(relation.target, alias, depth + 1)
      const link = notDeleted(relation.target, alias, linkCondition(relation, alias, self, { next: depth + 1 }))
      const parts: SqlQuery[] = []
      for (const [test, filter] of Object.entries(value)) {
        const at = [...path, test]
        // `undefined` is refused inside, as everywhere in a filter (compileGroup reports it with this path).
        const condition = nested(filter, inner, at)
        const from = sql`${tableOf(relation.target)} AS ${alias}`
        if (test === 'some') parts.push(sql`EXISTS (SELECT 1 FROM ${from} WHERE ${link} AND (${condition}))`)
        else if (test === 'none') parts.push(sql`NOT EXISTS (SELECT 1 FROM ${from} WHERE ${link} AND (${condition}))`)
        else parts.push(sql`NOT EXISTS (SELECT 1 FROM ${from} WHERE ${link} AND NOT coalesce((${condition}), FALSE))`)
      }
      return parts.length === 1 ? (parts[0] as SqlQuery) : sql`(${sql.join(parts, sql` AND `)})`
    },
  }
}

const RELATION_TESTS = new Set(['some', 'none', 'every'])

/**
 * A condition on related rows (a key of the filter named after a relation): `some` (at least one related row
 * matches: `EXISTS`), `none` (no related row matches), `every` (no related row fails to match; true without related
 * rows). For a `belongsTo` / `hasOne` relation, `some` tests the one related row.
 */
export interface RelationCondition<T> {
  some?: EntityWhere<T> | undefined
  none?: EntityWhere<T> | undefined
  every?: EntityWhere<T> | undefined
}

/** Conditions on the relations of `E`, beside its fields in a filter. */
export type RelationConditions<E> = { [K in keyof RelationsOf<E>]?: RelationCondition<RelationTarget<E, K>> | undefined }

/** A filter over the fields of `E` and, for an entity with relations, over its related rows (`EXISTS`). */
export type EntityWhere<E> = Where<InferEntity<E>, RelationConditions<E>>

const OPTION_KEYS = new Set(['where', 'orderBy', 'limit', 'with', 'withDeleted'])

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Compiles `with` for rows of `meta` read as `alias`: one scalar subquery per relation in the select list (a JSON list
 * built with `json_agg`, or one JSON row), nested relations inside them. One statement whatever the number of parent
 * rows; a `limit` applies per parent row because each subquery is correlated to its parent.
 *
 * @throws ValidationError naming the path (`with.tasks.where.title`) of an unknown relation, a bad option or an
 * `undefined` in a filter.
 */
export function compileWith(meta: EntityMeta, withOption: unknown): CompiledWith {
  const counter = { next: 1 }
  const { items, plans } = compileLevel(meta, withOption, ROOT_ALIAS, ['with'], counter, true)
  return { columns: items, plans }
}

function compileLevel(
  meta: EntityMeta,
  withOption: unknown,
  alias: string,
  path: (string | number)[],
  counter: { next: number },
  top: boolean,
): { items: SqlQuery[]; plans: RelationPlan[] } {
  if (!isPlainObject(withOption)) {
    throw new ValidationError(
      [{ path, message: `expected an object of relations to load, got ${describeValue(withOption)}`, value: withOption }],
      {
        subject: `${meta.name} with`,
      },
    )
  }
  const relations = relationsOf(meta.entity)
  const items: SqlQuery[] = []
  const plans: RelationPlan[] = []
  for (const [name, value] of Object.entries(withOption)) {
    const at = [...path, name]
    if (value === false || value === undefined) continue
    const relation = relations.get(name)
    if (relation === undefined) {
      const known = [...relations.keys()]
      throw new ValidationError(
        [
          {
            path: at,
            message: `${meta.name} has no relation ${describeValue(name)}; ${known.length === 0 ? 'declare relations with defineRelations' : `its relations: ${known.join(', ')}`}`,
            value: name,
          },
        ],
        { subject: `${meta.name} with` },
      )
    }
    const options = value === true ? {} : value
    if (!isPlainObject(options)) {
      throw new ValidationError(
        [{ path: at, message: `expected true or { where, orderBy, limit, with }, got ${describeValue(value)}`, value }],
        {
          subject: `${meta.name} with`,
        },
      )
    }
    const unknown = Object.keys(options).filter((k) => !OPTION_KEYS.has(k))
    if (unknown.length > 0) {
      throw new ValidationError(
        [{ path: [...at, unknown[0] as string], message: `unknown option; accepted: ${[...OPTION_KEYS].join(', ')}`, value: options }],
        { subject: `${meta.name} with` },
      )
    }
    const column = top ? `__tessera_w_${name}` : name
    const { subquery, plan } = compileRelation(relation, options, alias, at, counter, column)
    items.push(top ? sql`(${subquery}) AS ${sql.id(column)}` : sql`(${subquery})`)
    plans.push(plan)
  }
  return { items, plans }
}

function compileRelation(
  relation: ResolvedRelation,
  options: Record<string, unknown>,
  parentAlias: string,
  path: (string | number)[],
  counter: { next: number },
  column: string,
): { subquery: SqlQuery; plan: RelationPlan } {
  const target = relation.target
  const alias = `__t${counter.next++}`
  const many = relation.kind === 'hasMany' || relation.kind === 'manyToMany'
  if (!many && options.limit !== undefined) {
    throw new ValidationError(
      [
        {
          path: [...path, 'limit'],
          message: `${relation.kind} loads one row; limit applies to hasMany and manyToMany`,
          value: options.limit,
        },
      ],
      {
        subject: `${relation.source.name} with`,
      },
    )
  }
  const filter =
    options.where === undefined ? undefined : compileWhere(options.where, whereTargetOf(target, sql.id(alias)), [...path, 'where'])
  const keys = sortKeysOf(target, options.orderBy, [...path, 'orderBy'])
  const limit = checkCount(target, options.limit, [...path, 'limit'])
  const nested =
    options.with === undefined ? { items: [], plans: [] } : compileLevel(target, options.with, alias, [...path, 'with'], counter, false)

  const self = sql.id(alias)
  const link = linkCondition(relation, self, sql.id(parentAlias), counter)
  let condition = filter === undefined ? link : sql`${link} AND (${filter})`
  if (options.withDeleted !== true) condition = notDeleted(target, self, condition)
  const texts = sql.join(target.fields.map((f) => sql`${self}.${sql.id(f.columnName)}::text`))
  const rowExpression = sql`json_build_array(ARRAY[${texts}]::text[]${nested.items.length === 0 ? sql`` : sql`, ${sql.join(nested.items)}`})`
  const from = sql`${tableOf(target)} AS ${self}`
  const order = orderByClause(keys)
  let subquery: SqlQuery
  if (many) {
    const rows = sql.id(`__r${counter.next++}`)
    const limitClause = limit === undefined ? sql`` : sql` LIMIT ${limit}`
    subquery = sql`SELECT coalesce(json_agg(${rows}.r ORDER BY ${rows}.n), '[]'::json) FROM (SELECT ${rowExpression} AS r, row_number() OVER (ORDER BY ${order}) AS n FROM ${from} WHERE ${condition} ORDER BY ${order}${limitClause}) AS ${rows}`
  } else {
    subquery = sql`SELECT ${rowExpression} FROM ${from} WHERE ${condition} ORDER BY ${order} LIMIT 1`
  }
  const hooked = hasLifecycle(target.entity, 'afterLoad') || nested.plans.some((p) => p.hooked)
  return {
    subquery,
    plan: { relation, column, many, fields: target.fields, parsers: target.fields.map(parserOf), nested: nested.plans, hooked },
  }
}

function linkCondition(relation: ResolvedRelation, self: SqlQuery, parent: SqlQuery, counter: { next: number }): SqlQuery {
  const targetColumn = sql`${self}.${sql.id(relation.targetField.columnName)}`
  const sourceColumn = sql`${parent}.${sql.id(relation.sourceField.columnName)}`
  if (relation.through === undefined) return sql`${targetColumn} = ${sourceColumn}`
  const join = sql.id(`__j${counter.next++}`)
  const { meta, sourceKey, targetKey } = relation.through
  return sql`${targetColumn} IN (SELECT ${join}.${sql.id(targetKey.columnName)} FROM ${tableOf(meta)} AS ${join} WHERE ${join}.${sql.id(sourceKey.columnName)} = ${sourceColumn})`
}

/** `condition`, and for an entity with soft delete, only its rows not deleted (related rows never count deleted ones). */
function notDeleted(meta: EntityMeta, self: SqlQuery, condition: SqlQuery): SqlQuery {
  const field = meta.deletedAtField
  return field === undefined ? condition : sql`${condition} AND ${self}.${sql.id(field.columnName)} IS NULL`
}

function tableOf(meta: EntityMeta): SqlQuery {
  return sql.id(meta.schema === undefined ? [meta.table] : [meta.schema, meta.table])
}

/**
 * Reads the relations of `rows` (raw result rows) into `entities` (the mapped rows, same order): parses each nested
 * value with its field's codec, then runs nested `afterLoad` hooks where the entities have them.
 */
export async function attachRelations(
  plans: readonly RelationPlan[],
  rows: readonly Row[],
  entities: unknown[],
  queryable: Queryable,
): Promise<void> {
  const hooked = plans.some((p) => p.hooked)
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as Row
    const entity = entities[i] as Record<string, unknown>
    for (const plan of plans) {
      let value = row[plan.column]
      if (typeof value === 'string') value = JSON.parse(value)
      entity[plan.relation.name] = readRelation(plan, value)
    }
  }
  if (!hooked) return
  for (const entity of entities) {
    for (const plan of plans) {
      if (!plan.hooked) continue
      const holder = entity as Record<string, unknown>
      holder[plan.relation.name] = await runHooks(plan, holder[plan.relation.name], queryable)
    }
  }
}

function readRelation(plan: RelationPlan, value: unknown): unknown {
  if (plan.many) {
    const list = Array.isArray(value) ? value : []
    const out = new Array(list.length)
    for (let i = 0; i < list.length; i++) out[i] = readRow(plan, list[i] as unknown[])
    return out
  }
  return value === null || value === undefined ? null : readRow(plan, value as unknown[])
}

function readRow(plan: RelationPlan, value: readonly unknown[]): Record<string, unknown> {
  const texts = value[0] as readonly (string | null)[]
  const out: Record<string, unknown> = {}
  const { fields, parsers } = plan
  for (let i = 0; i < fields.length; i++) {
    const text = texts[i]
    out[(fields[i] as FieldMeta).fieldName] = text === null || text === undefined ? null : (parsers[i] as TextParser)(text)
  }
  for (let i = 0; i < plan.nested.length; i++) {
    const nested = plan.nested[i] as RelationPlan
    out[nested.relation.name] = readRelation(nested, value[i + 1])
  }
  return out
}

async function runHooks(plan: RelationPlan, value: unknown, queryable: Queryable): Promise<unknown> {
  if (Array.isArray(value)) {
    const out = new Array(value.length)
    for (let i = 0; i < value.length; i++) out[i] = await hookRow(plan, value[i] as Record<string, unknown>, queryable)
    return out
  }
  return value === null ? null : hookRow(plan, value as Record<string, unknown>, queryable)
}

async function hookRow(plan: RelationPlan, row: Record<string, unknown>, queryable: Queryable): Promise<Record<string, unknown>> {
  for (const nested of plan.nested)
    if (nested.hooked) row[nested.relation.name] = await runHooks(nested, row[nested.relation.name], queryable)
  const entity: AnyEntity = plan.relation.target.entity
  if (!hasLifecycle(entity, 'afterLoad')) return row
  const loaded = (await runLifecycle(entity, 'afterLoad', row as never, { operation: 'load', queryable })) as Record<string, unknown>
  // The hook sees the row with its relations; what it returns keeps them.
  for (const nested of plan.nested) if (!(nested.relation.name in loaded)) loaded[nested.relation.name] = row[nested.relation.name]
  return loaded
}
