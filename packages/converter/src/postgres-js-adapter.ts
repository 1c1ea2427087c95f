import { ConversionError } from '@tessera/core'
import { OIDS } from './oids'
import type { TypeRegistry } from './registry'
import { type SerializeOptions, serializeParam } from './serialize'

/**
 * One entry of postgres.js' `types` option (`postgres({ types: { name: { to, from, parse, serialize } } })`),
 * declared here so this package never imports `postgres`.
 */
export interface PostgresJsType {
  /** The OID postgres.js serialises a parameter of this type with `serialize`. */
  to: number
  /** The OIDs whose result text `parse` reads. */
  from: number[]
  /** Result text → JS value. */
  parse: (text: string) => unknown
  /** JS value → parameter text. */
  serialize: (value: unknown) => string
}

/**
 * The OIDs postgres.js converts on its own (its built-in `number`, `json`, `boolean`, `date`, `bytea` and `string`
 * types, and `0`, the "unknown" type), so that no parameter is sent by postgres.js' rules instead of ours: its
 * `json` serialiser would, for one, JSON-encode a string that already holds JSON text a second time.
 */
const POSTGRES_JS_OWN_OIDS: readonly number[] = [0, 16, 17, 21, 23, 25, 26, 114, 700, 701, 1082, 1114, 1184, 3802]

/** Built-in type names by OID: the hint {@link serializeParam} reads (`int4`, `jsonb`, `_jsonb`…). */
const TYPE_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(OIDS).map(([name, oid]) => [oid, name]))

/**
 * Adapts a registry to postgres.js' `types` option, so that a raw postgres.js instance reads and writes values as the
 * Tessera providers do: one entry per OID the registry knows (array types included) plus the OIDs postgres.js has
 * its own converters for, named `tessera_<oid>` so it never replaces postgres.js' own named entries.
 *
 * - Reading: the registry's parser for that OID.
 * - Writing: the codec's own `serialize` when it has one, otherwise {@link serializeParam} with the type's name as the
 *   hint, which postgres.js knows from the server's description of the statement: a string for `json`/`jsonb` is
 *   sent as the JSON text it holds (postgres.js alone would encode it again), each element of a `json[]`/`jsonb[]`
 *   array is one JSON value, an integer column refuses `4.2` before anything is sent.
 *
 * postgres.js itself types some parameters before the server sees them (a `Date` as timestamptz, a bigint as int8, a
 * boolean as bool, a `Uint8Array` as bytea, an array as its first element's type): the server then converts from
 * that type, so a `Date` sent to a `timestamp without time zone` column is converted in the session's `TimeZone`
 * (the providers store its UTC wall-clock time). Call it after `registry.resolveNames` so extension types and enums
 * are included.
 *
 * @throws ConversionError (from a query) naming the value that cannot be sent and what is accepted
 * @example const sql = postgres(url, { types: postgresJsTypesFor(registry) })
 */
export function postgresJsTypesFor(registry: TypeRegistry): Record<string, PostgresJsType> {
  const types: Record<string, PostgresJsType> = {}
  const oids = new Set<number>([...POSTGRES_JS_OWN_OIDS, ...registry.oids()])
  for (const oid of oids) {
    types[`tessera_${oid}`] = { to: oid, from: [oid], parse: registry.getParser(oid), serialize: serializerFor(registry, oid) }
  }
  return types
}

function serializerFor(registry: TypeRegistry, oid: number): (value: unknown) => string {
  const codec = registry.getCodec(oid)
  if (codec?.serialize !== undefined) return codec.serialize.bind(codec)
  const hint = TYPE_NAMES.get(oid)
  const options: SerializeOptions | undefined = hint === undefined ? undefined : { hint }
  return (value) => {
    const text = serializeParam(value, undefined, options)
    // postgres.js sends SQL NULL only for a null it is given; a serialiser must return text.
    if (text === null) {
      throw new ConversionError({
        value,
        target: hint ?? `type ${oid}`,
        reason: 'it serialises to SQL NULL (toPostgres() returned null or undefined), which a postgres.js serializer cannot send',
        accepted: 'pass null itself for SQL NULL',
      })
    }
    return text
  }
}
