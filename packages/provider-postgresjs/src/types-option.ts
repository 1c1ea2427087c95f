import type { TypeRegistry } from '@tessera/converter'

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
 * Installs the registry's codecs on a postgres.js instance, for every OID it knows and every OID postgres.js would
 * otherwise convert on its own. postgres.js reads `options.parsers` whenever a statement is described, so this also
 * works after `registry.resolveNames` (enums, extension types). Written straight into the instance's tables rather than
 * passed as the `types` option, which postgres.js turns into a closure per entry for every instance it creates.
 */
export function installTypes(
  registry: TypeRegistry,
  target: { parsers: Record<number, unknown>; serializers: Record<number, unknown> },
): void {
  for (const oid of POSTGRES_JS_OWN_OIDS) {
    target.parsers[oid] = registry.getParser(oid)
    target.serializers[oid] = passText
  }
  for (const oid of registry.oids()) {
    target.parsers[oid] = registry.getParser(oid)
    target.serializers[oid] = passText
  }
}
