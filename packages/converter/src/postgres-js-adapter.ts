import type { TypeRegistry } from './registry'

/**
 * One entry of postgres.js' `types` option (`postgres({ types: { name: { to, from, parse, serialize } } })`),
 * declared here so this package never imports `postgres`.
 */
export interface PostgresJsType {
  /** The OID postgres.js sends for a parameter of this type; present only when the codec can serialise. */
  to?: number
  /** The OIDs whose result text `parse` reads. */
  from: number[]
  /** Result text → JS value. */
  parse: (text: string) => unknown
  /** JS value → parameter text; present only when the codec has `serialize`. */
  serialize?: (value: unknown) => string
}

/**
 * Adapts a registry to postgres.js' `types` option: one entry per OID the registry knows, named
 * `tessera_<oid>` so it never replaces postgres.js' own named entries. Call it after
 * `registry.resolveNames` so extension types and enums are included.
 *
 * @example const sql = postgres(url, { types: postgresJsTypesFor(registry), fetch_types: false })
 */
export function postgresJsTypesFor(registry: TypeRegistry): Record<string, PostgresJsType> {
  const types: Record<string, PostgresJsType> = {}
  for (const oid of registry.oids()) {
    const codec = registry.getCodec(oid)
    if (codec === undefined) continue
    const entry: PostgresJsType = { from: [oid], parse: codec.parse.bind(codec) }
    if (codec.serialize !== undefined) {
      const serialize = codec.serialize.bind(codec)
      entry.to = oid
      entry.serialize = (value) => serialize(value)
    }
    types[`tessera_${oid}`] = entry
  }
  return types
}
