import type { TypeRegistry } from '@tessera/converter'
import type { PostgresJsTypeEntry } from './postgres-js-client'

/**
 * OIDs postgres.js parses or serialises on its own (its built-in `number`, `json`, `boolean`, `date` and `bytea`
 * types, and `0`, the "unknown" type its strings are sent with). Each gets an entry of ours so no value is
 * converted by postgres.js instead of the registry.
 */
const POSTGRES_JS_OWN_OIDS: readonly number[] = [0, 16, 17, 21, 23, 25, 26, 114, 700, 701, 1082, 1114, 1184, 3802]

/**
 * Parameters reach postgres.js already serialised by `serializeParams` (text, or `null`); after describing a
 * statement postgres.js runs the serialiser of the type the server inferred, so each must leave text alone.
 */
function passText(value: unknown): string {
  return typeof value === 'string' ? value : String(value)
}

/**
 * Builds postgres.js' `types` option from the registry: one entry per OID, array types included, parsing with the
 * registry's codec and serialising as the identity. With `fetch_types` postgres.js would otherwise install its own
 * array parsers, but it skips every array OID that already has both a parser and a serialiser here.
 */
export function postgresJsTypes(registry: TypeRegistry): Record<string, PostgresJsTypeEntry> {
  const types: Record<string, PostgresJsTypeEntry> = {}
  const oids = new Set<number>([...POSTGRES_JS_OWN_OIDS, ...registry.oids()])
  for (const oid of oids) types[`tessera_${oid}`] = entryFor(registry, oid)
  return types
}

/** The entry for one OID: the registry's parser (the text itself for OIDs it does not know). */
export function entryFor(registry: TypeRegistry, oid: number): PostgresJsTypeEntry {
  return { to: oid, from: [oid], parse: registry.getParser(oid), serialize: passText }
}

/**
 * After `registry.resolveNames` (enums, extension types): installs the new codecs on the running instance. postgres.js
 * reads `options.parsers` whenever a statement is described, so statements prepared afterwards use them.
 */
export function installResolvedTypes(
  registry: TypeRegistry,
  target: { parsers: Record<number, unknown>; serializers: Record<number, unknown> },
  oids: readonly number[],
): void {
  for (const oid of oids) {
    target.parsers[oid] = registry.getParser(oid)
    target.serializers[oid] = passText
  }
}
