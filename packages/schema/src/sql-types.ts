import type { FieldDefinition } from './fields'

/**
 * The PostgreSQL type of a field, as DDL writes it: `text`, `varchar(320)`, `integer`, `bigint`, `numeric(12, 2)`,
 * `boolean`, `uuid`, `timestamptz`, `date`, `jsonb`, `text` for enums (with a CHECK constraint, see `ddl.ts`),
 * `<element>[]` for arrays, `bytea`, `vector(n)`.
 *
 * @example sqlTypeOf(varchar(320).definition) // 'varchar(320)'
 */
export function sqlTypeOf(definition: FieldDefinition): string {
  switch (definition.kind) {
    case 'text':
    case 'enum':
      return 'text'
    case 'varchar':
      return definition.length === undefined ? 'varchar' : `varchar(${definition.length})`
    case 'integer':
      return 'integer'
    case 'bigint':
      return 'bigint'
    case 'numeric':
      if (definition.precision === undefined) return 'numeric'
      return definition.scale === undefined ? `numeric(${definition.precision})` : `numeric(${definition.precision}, ${definition.scale})`
    case 'boolean':
      return 'boolean'
    case 'uuid':
      return 'uuid'
    case 'timestamptz':
      return 'timestamptz'
    case 'date':
      return 'date'
    case 'json':
      return 'jsonb'
    case 'array':
      return definition.element === undefined ? 'text[]' : `${sqlTypeOf(definition.element)}[]`
    case 'bytea':
      return 'bytea'
    case 'vector':
      return definition.dimensions === undefined ? 'vector' : `vector(${definition.dimensions})`
    case 'smallint':
      return 'smallint'
    case 'real':
      return 'real'
    case 'doublePrecision':
      return 'double precision'
    case 'timestamp':
      return 'timestamp'
    case 'time':
      return 'time'
    case 'interval':
      return 'interval'
    case 'inet':
      return 'inet'
    case 'cidr':
      return 'cidr'
    case 'citext':
      return 'citext'
    case 'tsvector':
      return 'tsvector'
    case 'range':
      return definition.rangeType ?? 'int4range'
  }
}

/**
 * The type name PostgreSQL reports in `information_schema.columns.data_type` / `udt_name` terms, for comparing a
 * definition with a live table (schema diff): `character varying`, `integer`, `ARRAY`, `USER-DEFINED` (vector)…
 */
export function informationSchemaTypeOf(definition: FieldDefinition): string {
  switch (definition.kind) {
    case 'text':
    case 'enum':
      return 'text'
    case 'varchar':
      return 'character varying'
    case 'integer':
      return 'integer'
    case 'bigint':
      return 'bigint'
    case 'numeric':
      return 'numeric'
    case 'boolean':
      return 'boolean'
    case 'uuid':
      return 'uuid'
    case 'timestamptz':
      return 'timestamp with time zone'
    case 'date':
      return 'date'
    case 'json':
      return 'jsonb'
    case 'array':
      return 'ARRAY'
    case 'bytea':
      return 'bytea'
    case 'vector':
    case 'citext':
      return 'USER-DEFINED'
    case 'smallint':
      return 'smallint'
    case 'real':
      return 'real'
    case 'doublePrecision':
      return 'double precision'
    case 'timestamp':
      return 'timestamp without time zone'
    case 'time':
      return 'time without time zone'
    case 'interval':
      return 'interval'
    case 'inet':
      return 'inet'
    case 'cidr':
      return 'cidr'
    case 'tsvector':
      return 'tsvector'
    case 'range':
      return definition.rangeType ?? 'int4range'
  }
}
