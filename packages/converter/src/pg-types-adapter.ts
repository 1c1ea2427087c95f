import type { TextParser, TypeRegistry } from './registry'

/**
 * The part of node-postgres' per-client `types` option Tessera fills in (pg's `CustomTypesConfig`),
 * declared here so this package never imports `pg` at runtime.
 */
export interface PgCustomTypes {
  /** The parser pg calls for each result column of that type OID and wire format. */
  getTypeParser(oid: number, format?: 'text' | 'binary'): TextParser
}

const passThrough = <T>(value: T): T => value

/**
 * Adapts a registry to node-postgres' per-client `types` option, leaving the global `pg.types` untouched.
 * Tessera reads text format; a binary-format column (only when a query asks for it) is passed through raw.
 *
 * @example const client = new pg.Client({ connectionString, types: pgTypesFor(registry) })
 */
export function pgTypesFor(registry: TypeRegistry): PgCustomTypes {
  return {
    getTypeParser(oid, format = 'text') {
      return format === 'text' ? registry.getParser(oid) : passThrough
    },
  }
}
