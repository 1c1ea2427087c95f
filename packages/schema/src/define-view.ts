import { ConfigError, describeValue, type SqlQuery } from '@tessera/core'
import type { NamingInput } from '@tessera/naming'
import { defineEntity, type Entity } from './define-entity'
import type { FieldMap } from './fields'

/** Where `defineEntity` finds the query of a view (an internal option, by registered symbol). */
export const VIEW_QUERY = Symbol.for('tessera.schema.viewQuery')

/**
 * A read-only entity over a view: `repository(view, db)` offers reads only (types and run time). Made by
 * {@link defineView}.
 */
export interface ViewEntity<Name extends string = string, F extends FieldMap = FieldMap, K extends string = string>
  extends Entity<Name, F, K> {
  readonly view: true
}

/** Any view entity. */
export type AnyViewEntity = ViewEntity<string, FieldMap, string>

/** Options of {@link defineView}. */
export interface ViewOptions<F extends FieldMap = FieldMap, K extends keyof F & string = keyof F & string> {
  /** The view's `SELECT` (values are rendered as literals). Its columns must match the fields' column names. */
  query: SqlQuery
  /** As for entities. Default: `'default'`. */
  naming?: NamingInput | undefined
  /** The view's name, used as is. Default: `naming.table(name)`. */
  view?: string | undefined
  /** The PostgreSQL schema. Default: none (`search_path`). */
  schema?: string | undefined
  /** The fields that identify a row (for `findById` and keyset pagination), when more than one is marked. Default: the field marked `.primaryKey()`. */
  primaryKey?: readonly K[] | undefined
}

const NOT_FOR_VIEWS: readonly [string, (d: Entity['fields'][string]['definition']) => boolean][] = [
  ['.references()', (d) => d.references !== undefined],
  ['.unique()', (d) => d.unique],
  ['.index()', (d) => d.index !== undefined],
  ['.check()', (d) => d.checks.length > 0],
  ['.default()', (d) => d.default !== undefined],
  ['.generated()', (d) => d.generated !== undefined],
  ['.generatedAs()', (d) => d.computed !== undefined],
  ['.createdAt()/.updatedAt()/.version()', (d) => d.role !== undefined],
]

/**
 * A read-only entity over a PostgreSQL view (`CREATE VIEW … AS <query>`). Reads map rows like an entity's; every
 * write method of its repository is absent from the types and throws a `ConfigError` at run time. Mark the field(s)
 * that identify a row with `.primaryKey()` (for `findById` and keyset pagination: not a constraint, views have none).
 * `createSchemaSql` creates it after the tables (`CREATE OR REPLACE VIEW`); `diffSchema` creates or replaces it.
 *
 * @example
 * const ActiveUser = defineView('ActiveUser', { id: uuid().primaryKey(), email: text() }, {
 *   query: sql`SELECT id, email FROM users WHERE deleted_at IS NULL`,
 * })
 * const active = await repository(ActiveUser, db).findMany({ limit: 20 })
 */
export function defineView<const Name extends string, F extends FieldMap, const K extends keyof F & string = never>(
  name: Name,
  fields: F,
  options: ViewOptions<F, K>,
): ViewEntity<Name, F, K> {
  const problems: string[] = []
  const query = (options as Partial<ViewOptions> | undefined)?.query
  if (typeof query !== 'object' || query === null || (query as unknown as Record<symbol, unknown>)[Symbol.for('tessera.sql')] !== true) {
    problems.push(`options.query is ${describeValue(query)}; accepted: a sql\`SELECT …\` query`)
  }
  if (typeof fields === 'object' && fields !== null) {
    for (const [fieldName, field] of Object.entries(fields)) {
      const definition = (field as Partial<Entity['fields'][string]>).definition
      if (definition === undefined) continue
      for (const [modifier, has] of NOT_FOR_VIEWS) {
        if (has(definition))
          problems.push(`field ${fieldName}: ${modifier} has no meaning on a view (it has no constraints, defaults or indexes)`)
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems, { subject: `view ${String(name)}` })
  const entity = defineEntity<Name, F, K>(name, fields, {
    naming: options.naming,
    table: options.view,
    schema: options.schema,
    primaryKey: options.primaryKey,
    [VIEW_QUERY]: query,
  } as never)
  return entity as ViewEntity<Name, F, K>
}

/** Whether `entity` is a view made by {@link defineView}. */
export function isView(entity: unknown): entity is AnyViewEntity {
  return typeof entity === 'object' && entity !== null && (entity as { view?: unknown }).view === true
}
