import { parseVector } from '@tessera/converter'
import type { Row } from '@tessera/core'
import { ConfigError } from '@tessera/core'
import type { AnyEntity, InferEntity, InferInsert } from './define-entity'
import { type EntityMeta, entityMeta, type FieldMeta } from './entity-meta'
import { toJsonText } from './json-value'

/** Maps one result row (column names) to an entity object (field names). */
export type RowMapper<E extends AnyEntity> = (row: Row) => InferEntity<E>

/** Reads an entity object (or part of one) into a parameter array, in the order of the fields it was made for. */
export type ParamsMapper<E extends AnyEntity> = (object: Partial<InferInsert<E>> | Partial<InferEntity<E>>) => unknown[]

/** Options of {@link mapRow}. */
export interface MapRowOptions {
  /** Map only these fields (for a `SELECT` of some columns). Default: every field. */
  fields?: readonly string[] | undefined
}

type Compiled = (row: Row) => unknown
type CompiledParams = (object: Record<string, unknown>) => unknown[]

interface MapperCache {
  readers: Map<string, Compiled>
  writers: Map<string, CompiledParams>
}

const caches = new WeakMap<EntityMeta, MapperCache>()
const ALL = '\u0000all'

function cacheOf(meta: EntityMeta): MapperCache {
  let cache = caches.get(meta)
  if (cache === undefined) {
    cache = { readers: new Map(), writers: new Map() }
    caches.set(meta, cache)
  }
  return cache
}

function selectFields(meta: EntityMeta, fields: readonly string[] | undefined): FieldMeta[] {
  if (fields === undefined) return meta.fields as FieldMeta[]
  const unknown = fields.filter((f) => !meta.byField.has(f))
  if (unknown.length > 0) {
    throw new ConfigError(
      unknown.map((f) => `${meta.name} has no field ${JSON.stringify(f)}; its fields: ${meta.fieldNames.join(', ')}`),
      { subject: 'field list' },
    )
  }
  return fields.map((f) => meta.byField.get(f) as FieldMeta)
}

/** Whether `new Function` is allowed here (a strict CSP or some edge runtimes forbid it). */
const canCompile = (() => {
  try {
    return new Function('return 1')() === 1
  } catch {
    return false
  }
})()

// A pgvector value arrives as number[] when the provider knows the type, as text '[1,2,3]' when it does not.
function readVector(value: unknown): unknown {
  return typeof value === 'string' ? parseVector(value) : value
}

/**
 * Builds the row reader. Column and field names enter the generated source only as `JSON.stringify` string
 * literals (never as identifiers), so no name can inject code; `__proto__` is refused by `defineEntity`.
 */
function compileReader(fields: readonly FieldMeta[]): Compiled {
  if (!canCompile) return closureReader(fields)
  const body = fields
    .map((f) => {
      const read = `row[${JSON.stringify(f.columnName)}]`
      return `${JSON.stringify(f.fieldName)}: ${f.kind === 'vector' ? `readVector(${read})` : read}`
    })
    .join(',\n    ')
  return new Function('readVector', `'use strict'\nreturn function mapRow(row) {\n  return {\n    ${body}\n  }\n}`)(readVector) as Compiled
}

function closureReader(fields: readonly FieldMeta[]): Compiled {
  const names = fields.map((f) => f.fieldName)
  const columns = fields.map((f) => f.columnName)
  const vectors = fields.map((f) => f.kind === 'vector')
  return (row) => {
    const out: Record<string, unknown> = {}
    for (let i = 0; i < names.length; i++) {
      const value = row[columns[i] as string]
      out[names[i] as string] = vectors[i] ? readVector(value) : value
    }
    return out
  }
}

// JSON goes as text: the parameter serialiser would send a JS array as a PostgreSQL array, not a JSON array. What
// JSON cannot hold (NaN, a Map…) is refused here too, so a write that skipped validation loses nothing silently.
function writeJson(value: unknown, field: string): unknown {
  return value === null || value === undefined ? value : toJsonText(value, field)
}

// pgvector reads '[1,2,3]', not the '{1,2,3}' an array parameter becomes.
function writeVector(value: unknown): unknown {
  return Array.isArray(value) ? `[${value.join(',')}]` : value
}

function compileWriter(fields: readonly FieldMeta[]): CompiledParams {
  if (!canCompile) return closureWriter(fields)
  const items = fields.map((f) => {
    const read = `object[${JSON.stringify(f.fieldName)}]`
    if (f.kind === 'json') return `writeJson(${read}, ${JSON.stringify(f.fieldName)})`
    if (f.kind === 'vector') return `writeVector(${read})`
    return read
  })
  return new Function('writeJson', 'writeVector', `'use strict'\nreturn function toParams(object) {\n  return [${items.join(', ')}]\n}`)(
    writeJson,
    writeVector,
  ) as CompiledParams
}

function closureWriter(fields: readonly FieldMeta[]): CompiledParams {
  return (object) =>
    fields.map((f) => {
      const value = object[f.fieldName]
      if (f.kind === 'json') return writeJson(value, f.fieldName)
      if (f.kind === 'vector') return writeVector(value)
      return value
    })
}

/**
 * The compiled row mapper of an entity: column names → field names, generated once per entity (and field list)
 * and cached. Values are taken as the provider's converter produced them (int8 → bigint, timestamptz → Date…);
 * the only post-processing is for vector columns a provider returned as text. Columns missing from the row map
 * to `undefined`; extra columns are ignored.
 *
 * @example
 * const toUser = mapRow(User)
 * const users = (await db.query(sql`SELECT * FROM users`)).rows.map(toUser)
 */
export function mapRow<E extends AnyEntity>(entity: E, options: MapRowOptions = {}): RowMapper<E> {
  const meta = entityMeta(entity)
  const cache = cacheOf(meta)
  const key = options.fields === undefined ? ALL : options.fields.join('\u0000')
  let reader = cache.readers.get(key)
  if (reader === undefined) {
    reader = compileReader(selectFields(meta, options.fields))
    cache.readers.set(key, reader)
  }
  return reader as RowMapper<E>
}

/**
 * Maps every row of a result with the entity's compiled mapper.
 * @example const users = mapRows(User, result.rows)
 */
export function mapRows<E extends AnyEntity>(entity: E, rows: readonly Row[], options: MapRowOptions = {}): InferEntity<E>[] {
  const reader = mapRow(entity, options)
  const out = new Array<InferEntity<E>>(rows.length)
  for (let i = 0; i < rows.length; i++) out[i] = reader(rows[i] as Row)
  return out
}

/**
 * The compiled parameter mapper: an object → its values in column order (or in the order of `fields`), ready to
 * bind as `$1…$n`. JSON fields are sent as JSON text and vectors as pgvector text; everything else as is (the
 * provider's serialiser handles Dates, bigints, Buffers, arrays). Absent fields give `undefined` (sent as NULL):
 * leave them out of `fields` to let a column default apply.
 *
 * @example
 * const params = toParams(User, ['email', 'name'])({ email: 'a@b.c', name: 'Ann' }) // ['a@b.c', 'Ann']
 */
export function toParams<E extends AnyEntity>(entity: E, fields?: readonly (keyof InferEntity<E> & string)[]): ParamsMapper<E> {
  const meta = entityMeta(entity)
  const cache = cacheOf(meta)
  const key = fields === undefined ? ALL : fields.join('\u0000')
  let writer = cache.writers.get(key)
  if (writer === undefined) {
    writer = compileWriter(selectFields(meta, fields))
    cache.writers.set(key, writer)
  }
  return writer as ParamsMapper<E>
}
