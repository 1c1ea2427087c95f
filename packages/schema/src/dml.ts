import { type Queryable, type QueryConfig, type SqlQuery, sql } from '@tessera/core'
import { isAtomicChange } from './atomic'
import type { AnyEntity } from './define-entity'
import type { EntityMeta, FieldMeta } from './entity-meta'
import { paramWriter, toParamValue } from './repository-model'

/**
 * PostgreSQL's limit on parameters in one statement (the Bind message counts them in 16 bits): the chunk size of a
 * queryable that does not declare its own.
 */
export const DEFAULT_MAX_PARAMETERS = 65_535

/**
 * The most parameters one statement may carry through `queryable`: its declared `maxParameters` (postgres.js stops
 * at 65,533, two below the protocol), else {@link DEFAULT_MAX_PARAMETERS}.
 */
export function maxParametersOf(queryable: Queryable): number {
  const declared = queryable.maxParameters
  return typeof declared === 'number' && Number.isInteger(declared) && declared > 0 ? declared : DEFAULT_MAX_PARAMETERS
}

/** Options of {@link insertStatements}. */
export interface InsertStatementOptions {
  /** Append `RETURNING *`. */
  returning: boolean
  /** The limit each statement stays under; see {@link maxParametersOf}. */
  maxParameters: number
  /** Text between the VALUES list and RETURNING (an `ON CONFLICT` clause). Default: none. */
  suffix?: string | undefined
}

/** A row to write, by field name; `undefined` means "not given" (the column's DEFAULT). */
export type FieldValues = Readonly<Record<string, unknown>>

/** The columns a set of rows writes: every field any row gives, in column order. */
export function insertColumns(meta: EntityMeta, rows: readonly FieldValues[]): FieldMeta[] {
  const used = new Set<string>()
  for (const row of rows) for (const key in row) if (row[key] !== undefined) used.add(key)
  // Generated columns (GENERATED ALWAYS AS … STORED) are never written, even with validation off.
  return meta.fields.filter((f) => used.has(f.fieldName) && f.definition.computed === undefined)
}

/**
 * Multi-row INSERT statements for `rows`, split so no statement passes `options.maxParameters`. A value a row does
 * not give becomes `DEFAULT`, so database defaults apply row by row. Built as plain text: this is the hot path of
 * bulk inserts, and a `sql` fragment per value would cost more than the statement itself.
 *
 * @example insertStatements(User, meta, [{ email: 'a' }, { email: 'b' }], { returning: true, maxParameters: 65_535 }) // INSERT INTO "users" ("email") VALUES ($1), ($2) RETURNING *
 */
export function insertStatements(
  entity: AnyEntity,
  meta: EntityMeta,
  rows: readonly FieldValues[],
  options: InsertStatementOptions,
): QueryConfig[] {
  const columns = insertColumns(meta, rows)
  const tail = `${options.suffix ?? ''}${options.returning ? ' RETURNING *' : ''}`
  if (columns.length === 0) {
    // Nothing given at all (every column has a default): one DEFAULT VALUES statement per row.
    return rows.map(() => ({ text: `INSERT INTO ${meta.qualifiedTable} DEFAULT VALUES${tail}`, values: [] }))
  }
  const names = columns.map((c) => c.fieldName)
  const writers = columns.map((c) => paramWriter(entity, c))
  const head = `INSERT INTO ${meta.qualifiedTable} (${columns.map((c) => c.quotedColumn).join(', ')}) VALUES `
  const perStatement = Math.max(1, Math.floor(options.maxParameters / columns.length))
  const statements: QueryConfig[] = []
  for (let start = 0; start < rows.length; start += perStatement) {
    const end = Math.min(rows.length, start + perStatement)
    const values: unknown[] = []
    const tuples: string[] = new Array(end - start)
    for (let r = start; r < end; r++) {
      const row = rows[r] as FieldValues
      let tuple = '('
      for (let c = 0; c < names.length; c++) {
        const value = row[names[c] as string]
        if (c > 0) tuple += ', '
        if (value === undefined) tuple += 'DEFAULT'
        else {
          const write = writers[c]
          values.push(write === undefined ? value : write(value))
          tuple += `$${values.length}`
        }
      }
      tuples[r - start] = `${tuple})`
    }
    statements.push({ text: head + tuples.join(', ') + tail, values })
  }
  return statements
}

/** `"a" = $1 AND "b" = $2` for the primary key fields and their values. */
export function keyCondition(entity: AnyEntity, meta: EntityMeta, key: FieldValues): SqlQuery {
  return sql.join(
    meta.primaryKeys.map((f) => sql`${sql.id(f.columnName)} = ${toParamValue(entity, f, key[f.fieldName])}`),
    sql` AND `,
  )
}

/** `SET` assignments for `changes` (an {@link isAtomicChange} value computed from the column), plus `version = version + 1` and `updated_at = now` when the entity has them. */
export function setClause(entity: AnyEntity, meta: EntityMeta, changes: FieldValues, now: Date): SqlQuery {
  const parts: SqlQuery[] = []
  for (const field of meta.fields) {
    const value = changes[field.fieldName]
    if (value === undefined || field === meta.versionField || field === meta.updatedAtField) continue
    if (field.definition.computed !== undefined) continue
    const column = sql.id(field.columnName)
    if (isAtomicChange(value)) parts.push(value.kind === 'now' ? sql`${column} = now()` : sql`${column} = ${column} + ${value.amount}`)
    else parts.push(sql`${column} = ${toParamValue(entity, field, value)}`)
  }
  if (meta.versionField !== undefined) {
    const column = sql.id(meta.versionField.columnName)
    parts.push(sql`${column} = ${column} + 1`)
  }
  if (meta.updatedAtField !== undefined) parts.push(sql`${sql.id(meta.updatedAtField.columnName)} = ${now}`)
  return sql.join(parts)
}

/** The table as a `sql` fragment. */
export function tableOf(meta: EntityMeta): SqlQuery {
  return sql.id(meta.schema === undefined ? [meta.table] : [meta.schema, meta.table])
}
