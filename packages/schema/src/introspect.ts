import { type Queryable, sql } from '@tessera/core'

/** A live column, as `pg_catalog` describes it. */
export interface LiveColumn {
  name: string
  /** `format_type()` text: `integer`, `character varying(320)`, `numeric(12,2)`, `timestamp with time zone`, `text[]`, `vector(3)`… */
  type: string
  nullable: boolean
  /** The default expression as PostgreSQL prints it (`now()`, `'draft'::text`), or undefined. */
  default: string | undefined
  /** `GENERATED … AS IDENTITY`. */
  identity: boolean
  /** The expression of a stored generated column (`GENERATED ALWAYS AS (…) STORED`), as PostgreSQL prints it; `default` is then undefined. */
  generated: string | undefined
}

/** A live index (including those behind PRIMARY KEY and UNIQUE constraints). */
export interface LiveIndex {
  name: string
  /** Key columns in order; an expression index lists `undefined` for its expressions. */
  columns: (string | undefined)[]
  unique: boolean
  primary: boolean
  /** Access method: `btree`, `gin`, `hnsw`… */
  method: string
  /** The constraint it backs (`p`rimary or `u`nique), if any. */
  constraint: 'p' | 'u' | undefined
  /** Whether the index has a WHERE clause. */
  partial: boolean
  /** `pg_get_indexdef` text: `CREATE UNIQUE INDEX users_email_idx ON app.users USING btree (email)`. */
  definition: string
}

/** A live foreign key. */
export interface LiveForeignKey {
  name: string
  columns: string[]
  referencedSchema: string
  referencedTable: string
  referencedColumns: string[]
  /** `cascade`, `restrict`, `set null`, `set default`, `no action`. */
  onDelete: string
  onUpdate: string
  /** `'deferred'` (DEFERRABLE INITIALLY DEFERRED), `'immediate'` (DEFERRABLE INITIALLY IMMEDIATE) or undefined (not deferrable). */
  deferrable: 'immediate' | 'deferred' | undefined
}

/** A live CHECK constraint. */
export interface LiveCheck {
  name: string
  /** `pg_get_constraintdef` text, e.g. `CHECK ((age >= 0))`. */
  definition: string
}

/** A live table. */
export interface LiveTable {
  schema: string
  name: string
  columns: LiveColumn[]
  indexes: LiveIndex[]
  foreignKeys: LiveForeignKey[]
  checks: LiveCheck[]
  /** Primary key columns in order (empty without one). */
  primaryKey: string[]
}

const ACTIONS: Record<string, string> = { a: 'no action', r: 'restrict', c: 'cascade', n: 'set null', d: 'set default' }

interface ColumnRow {
  table_name: string
  name: string
  type: string
  not_null: boolean
  default: string | null
  identity: string
  generated: string
}

interface IndexRow {
  table_name: string
  name: string
  columns: (string | null)[] | string
  unique: boolean
  primary: boolean
  method: string
  contype: string | null
  partial: boolean
  definition: string
}

interface ConstraintRow {
  table_name: string
  name: string
  contype: string
  columns: string[] | string
  ref_schema: string | null
  ref_table: string | null
  ref_columns: string[] | string | null
  on_delete: string
  on_update: string
  deferrable: boolean
  deferred: boolean
  definition: string
}

/** pg returns name[] as an array; a driver that does not know the type gives the literal `{a,b}`. */
function textArray(value: readonly (string | null)[] | string | null): (string | undefined)[] {
  if (value === null) return []
  if (Array.isArray(value)) return value.map((v) => v ?? undefined)
  const inner = (value as string).replace(/^\{|\}$/g, '')
  if (inner === '') return []
  return inner.split(',').map((part) => {
    if (part === 'NULL') return undefined
    return part.startsWith('"') ? part.slice(1, -1).replace(/\\(.)/g, '$1') : part
  })
}

/**
 * Reads the tables of `schema` from `pg_catalog`: columns with types, nullability, defaults and identity,
 * indexes, primary key, foreign keys and checks. Only ordinary and partitioned tables; views are skipped.
 *
 * @example
 * const tables = await introspectSchema(db, 'public') // Map<'users', LiveTable>
 */
export async function introspectSchema(queryable: Queryable, schema = 'public'): Promise<Map<string, LiveTable>> {
  const tables = new Map<string, LiveTable>()
  const tableRows = await queryable.query<{ name: string }>(sql`
    SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ${schema} AND c.relkind IN ('r', 'p') ORDER BY c.relname`)
  for (const row of tableRows.rows) {
    tables.set(row.name, { schema, name: row.name, columns: [], indexes: [], foreignKeys: [], checks: [], primaryKey: [] })
  }
  if (tables.size === 0) return tables

  const columns = await queryable.query<ColumnRow>(sql`
    SELECT c.relname AS table_name, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
           a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS default, a.attidentity::text AS identity,
           a.attgenerated::text AS generated
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE n.nspname = ${schema} AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY c.relname, a.attnum`)
  for (const row of columns.rows) {
    tables.get(row.table_name)?.columns.push({
      name: row.name,
      type: row.type,
      nullable: !row.not_null,
      default: row.generated === '' ? (row.default ?? undefined) : undefined,
      identity: row.identity !== '',
      generated: row.generated === '' ? undefined : (row.default ?? undefined),
    })
  }

  const indexes = await queryable.query<IndexRow>(sql`
    SELECT t.relname AS table_name, i.relname AS name,
           ARRAY(SELECT a.attname FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                 LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
                 WHERE k.ord <= x.indnkeyatts ORDER BY k.ord)::text[] AS columns,
           x.indisunique AS unique, x.indisprimary AS primary, am.amname AS method,
           con.contype::text AS contype, x.indpred IS NOT NULL AS partial,
           pg_get_indexdef(x.indexrelid) AS definition
    FROM pg_index x
    JOIN pg_class i ON i.oid = x.indexrelid
    JOIN pg_class t ON t.oid = x.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    JOIN pg_am am ON am.oid = i.relam
    LEFT JOIN pg_constraint con ON con.conindid = x.indexrelid AND con.contype IN ('p', 'u')
    WHERE n.nspname = ${schema}
    ORDER BY t.relname, i.relname`)
  for (const row of indexes.rows) {
    const table = tables.get(row.table_name)
    if (table === undefined) continue
    const index: LiveIndex = {
      name: row.name,
      columns: textArray(row.columns),
      unique: row.unique,
      primary: row.primary,
      method: row.method,
      constraint: row.contype === 'p' || row.contype === 'u' ? row.contype : undefined,
      partial: row.partial,
      definition: row.definition,
    }
    table.indexes.push(index)
    if (index.primary) table.primaryKey = index.columns.filter((c): c is string => c !== undefined)
  }

  const constraints = await queryable.query<ConstraintRow>(sql`
    SELECT t.relname AS table_name, con.conname AS name, con.contype::text AS contype,
           ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord)::text[] AS columns,
           rn.nspname AS ref_schema, rt.relname AS ref_table,
           ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.ord)::text[] AS ref_columns,
           con.confdeltype::text AS on_delete, con.confupdtype::text AS on_update,
           con.condeferrable AS deferrable, con.condeferred AS deferred,
           pg_get_constraintdef(con.oid) AS definition
    FROM pg_constraint con
    JOIN pg_class t ON t.oid = con.conrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    LEFT JOIN pg_class rt ON rt.oid = con.confrelid
    LEFT JOIN pg_namespace rn ON rn.oid = rt.relnamespace
    WHERE n.nspname = ${schema} AND con.contype IN ('f', 'c')
    ORDER BY t.relname, con.conname`)
  for (const row of constraints.rows) {
    const table = tables.get(row.table_name)
    if (table === undefined) continue
    if (row.contype === 'c') {
      table.checks.push({ name: row.name, definition: row.definition })
      continue
    }
    table.foreignKeys.push({
      name: row.name,
      columns: textArray(row.columns) as string[],
      referencedSchema: row.ref_schema ?? schema,
      referencedTable: row.ref_table ?? '',
      referencedColumns: textArray(row.ref_columns) as string[],
      onDelete: ACTIONS[row.on_delete] ?? 'no action',
      onUpdate: ACTIONS[row.on_update] ?? 'no action',
      deferrable: row.deferrable ? (row.deferred ? 'deferred' : 'immediate') : undefined,
    })
  }
  return tables
}

/**
 * The enum types of `schema` with their values in order (`CREATE TYPE … AS ENUM`).
 * @example await introspectEnums(db, 'app') // Map { 'task_status' => ['todo', 'doing', 'done'] }
 */
export async function introspectEnums(queryable: Queryable, schema = 'public'): Promise<Map<string, string[]>> {
  const { rows } = await queryable.query<{ name: string; value: string }>(sql`
    SELECT t.typname AS name, e.enumlabel AS value
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_enum e ON e.enumtypid = t.oid
    WHERE n.nspname = ${schema}
    ORDER BY t.typname, e.enumsortorder`)
  const types = new Map<string, string[]>()
  for (const row of rows) {
    const values = types.get(row.name)
    if (values === undefined) types.set(row.name, [row.value])
    else values.push(row.value)
  }
  return types
}
