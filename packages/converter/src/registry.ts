/*
 * The codec registry: PostgreSQL type OID → parser, shared by every Tessera provider so a row reads the same
 * through `pg` and postgres.js. Representations (the serialiser in ./serialize must write these back):
 *
 * - int8: `bigint` (policy `int8`: 'bigint' | 'number' | 'string'); int2/int4/oid/float4/float8: `number`
 *   (float `NaN`, `Infinity`, `-Infinity` as numbers); numeric: `string` (policy: 'string' | 'number' | fn).
 * - bool: `boolean`; text, varchar, bpchar, name, char, citext, uuid, inet, cidr, macaddr, macaddr8, bit,
 *   varbit, time, timetz, money, xml, enums and unknown OIDs: `string` as PostgreSQL writes it.
 * - bytea: `Buffer` (policy 'Uint8Array'); json/jsonb: `JSON.parse` result.
 * - timestamp, timestamptz: `Date` (microseconds truncated to ms; timestamp without zone read as UTC);
 *   `infinity` / `-infinity` → the numbers `Infinity` / `-Infinity`. BC years → negative astronomical
 *   years in the Date (1 BC = year 0). Policy 'string' keeps PostgreSQL's text.
 * - date: `string` 'YYYY-MM-DD' (policy 'Date': a Date at UTC midnight, ±infinity → ±Infinity).
 * - interval: `{ years, months, days, hours, minutes, seconds, milliseconds }`, every field present, each with
 *   its own sign (PostgreSQL's `-1 years +3 days -04:05:06` → years -1, days 3, hours -4, minutes -5,
 *   seconds -6); microseconds live in the fraction of `milliseconds` (1 µs = 0.001). Policy 'iso' → an
 *   ISO 8601 string such as 'P1Y2M3DT4H5M6.789S'.
 * - point: `{ x, y }`; ranges: `Range` from ./range (`lower`, `upper`, `lowerInclusive`, `upperInclusive`,
 *   `empty`; unbounded side = `null`); pgvector `vector`: `number[]`.
 * - arrays of all of the above: nested JS arrays, NULL elements → `null`, lower bounds dropped.
 */
import { ConfigError, describeValue } from '@tessera/core'
import { OIDS } from './oids'
import { type ElementParser, parseArray } from './parsers/array'
import { parseDateAsDate, parseInterval, parseIntervalAsIso, parseTimestamp } from './parsers/datetime'
import { parseRange } from './parsers/range'
import {
  parseBool,
  parseByteaAsBuffer,
  parseByteaAsUint8Array,
  parseInt8AsBigInt,
  parseInt8AsNumber,
  parseJson,
  parseNumber,
  parseNumericAsNumber,
  parsePoint,
  parseText,
  parseVector,
} from './parsers/scalar'
import { serializeArrayWith } from './serialize'

/** Turns PostgreSQL's text for one value into a JavaScript value. Never called for SQL NULL. */
export type TextParser = (text: string) => unknown

/**
 * How to read (and optionally write) one PostgreSQL type.
 * @example registry.registerByName('ltree', { parse: (text) => text.split('.') })
 */
export interface Codec<T = unknown> {
  /** PostgreSQL text output → JS value. */
  parse(text: string): T
  /** JS value → PostgreSQL text input. Optional: used by adapters that serialise per type (postgres.js). */
  serialize?(value: T): string
  /** The array element delimiter (`typdelim`). Default: `','` (only `box` uses `';'`). */
  delimiter?: string | undefined
}

/**
 * How some types read, chosen per registry (so per provider instance). Every field is optional.
 */
export interface TypePolicies {
  /**
   * int8 (bigint, `count(*)`). `'bigint'` is exact; `'number'` throws a `ConversionError` for values beyond
   * ±(2^53 − 1) rather than lose digits; `'string'` keeps the text. Default: `'bigint'`.
   */
  int8?: 'bigint' | 'number' | 'string' | undefined
  /**
   * numeric / decimal. `'string'` is exact (also `'NaN'`, `'Infinity'`, `'-Infinity'`); `'number'` rounds to
   * a double; a function receives the text, e.g. `(text) => new Decimal(text)`. Default: `'string'`.
   */
  numeric?: 'string' | 'number' | ((text: string) => unknown) | undefined
  /** date. `'string'` ('2024-02-29', '0044-03-15 BC') because a calendar date has no zone; `'Date'` is UTC midnight. Default: `'string'`. */
  date?: 'string' | 'Date' | undefined
  /** timestamp / timestamptz. `'Date'` loses microseconds; `'string'` keeps PostgreSQL's text. Default: `'Date'`. */
  timestamp?: 'Date' | 'string' | undefined
  /** bytea. Default: `'Buffer'`. */
  bytea?: 'Buffer' | 'Uint8Array' | undefined
  /** interval. `'object'` is an `Interval`; `'iso'` an ISO 8601 duration string. Default: `'object'`. */
  interval?: 'object' | 'iso' | undefined
}

/** The policies a registry uses, with every default filled in. */
export type ResolvedTypePolicies = Required<TypePolicies>

/** One row a type lookup returns: the type's name as asked, its OID and its array type's OID. */
export interface TypeLookupRow {
  name: string
  oid: number
  /** `pg_type.typarray`; 0 when the type has no array type. */
  arrayOid: number
  /** `pg_type.typtype`: `'e'` for enums, `'b'` base types, `'d'` domains, … Optional. */
  typtype?: string | undefined
}

/** Looks up type OIDs by name on a live connection, e.g. by running {@link TYPE_LOOKUP_SQL}. */
export type TypeLookup = (names: string[]) => Promise<readonly TypeLookupRow[]>

/** What {@link TypeRegistry.resolveNames} did. */
export interface ResolveNamesResult {
  /** Names now installed by OID. */
  resolved: string[]
  /** Names the database does not know (an extension that is not installed, a typo): left unresolved. */
  missing: string[]
}

/**
 * SQL a provider can run for {@link TypeRegistry.resolveNames} with the names as its one `text[]` parameter.
 * Names may be schema-qualified and follow the search path (`to_regtype`); unknown names give no row.
 */
export const TYPE_LOOKUP_SQL =
  'SELECT n.name, t.oid, t.typarray AS "arrayOid", t.typtype FROM unnest($1::text[]) AS n(name) JOIN pg_type t ON t.oid = to_regtype(n.name)'

/** A codec registry. Registries are independent: changing one never affects another or any driver global. */
export interface TypeRegistry {
  /** The policies in force, defaults filled in. */
  readonly policies: Readonly<ResolvedTypePolicies>
  /** The parser for a type OID. Unknown OIDs get a parser that returns the text unchanged. */
  getParser(oid: number): TextParser
  /** The codec for a type OID, or `undefined` if none is installed. */
  getCodec(oid: number): Codec | undefined
  /** Every OID with a codec installed (element and array types). */
  oids(): number[]
  /**
   * Installs a codec. By OID it takes effect at once (with `arrayOid`, its array type too); by `{ name }` it
   * waits for {@link TypeRegistry.resolveNames}. Replaces any codec already there.
   */
  register(target: number | { name: string }, codec: Codec, options?: { arrayOid?: number | undefined }): void
  /** Same as `register({ name }, codec)`: a type whose OID differs per database (extension types, enums). */
  registerByName(name: string, codec: Codec): void
  /** Registers a user enum by name: values read as strings, arrays of it as `string[]`. */
  registerEnum(name: string): void
  /** The names registered but not yet resolved to an OID (an empty list means nothing to look up). */
  pendingNames(): string[]
  /**
   * Looks up the pending name-registered types through `lookup` (on connect, typically with
   * {@link TYPE_LOOKUP_SQL}) and installs each codec and array codec by OID. Names the database does not
   * know stay pending and are reported as `missing`; with `refresh: true` every registered name is looked
   * up again (after `CREATE EXTENSION` or when enums were recreated). Default: `refresh: false`.
   * @throws ConfigError when a name registered with `registerEnum` is not an enum
   */
  resolveNames(lookup: TypeLookup, options?: { refresh?: boolean | undefined }): Promise<ResolveNamesResult>
}

const DEFAULT_POLICIES: ResolvedTypePolicies = {
  int8: 'bigint',
  numeric: 'string',
  date: 'string',
  timestamp: 'Date',
  bytea: 'Buffer',
  interval: 'object',
}

function validatePolicies(policies: TypePolicies): ResolvedTypePolicies {
  const problems: string[] = []
  const check = (key: keyof TypePolicies, allowed: readonly unknown[], allowFunction = false) => {
    const value = policies[key]
    if (value === undefined || allowed.includes(value) || (allowFunction && typeof value === 'function')) return
    const list = allowed.map((a) => `'${a}'`).join(', ')
    problems.push(`${key} is ${describeValue(value)}; accepted: ${list}${allowFunction ? ' or a function (text) => value' : ''}`)
  }
  check('int8', ['bigint', 'number', 'string'])
  check('numeric', ['string', 'number'], true)
  check('date', ['string', 'Date'])
  check('timestamp', ['Date', 'string'])
  check('bytea', ['Buffer', 'Uint8Array'])
  check('interval', ['object', 'iso'])
  for (const key of Object.keys(policies)) {
    if (!(key in DEFAULT_POLICIES))
      problems.push(`unknown policy ${JSON.stringify(key)}; known: ${Object.keys(DEFAULT_POLICIES).join(', ')}`)
  }
  if (problems.length > 0) throw new ConfigError(problems, { subject: 'type policies' })
  const resolved = { ...DEFAULT_POLICIES }
  for (const key of Object.keys(DEFAULT_POLICIES) as (keyof TypePolicies)[]) {
    if (policies[key] !== undefined) (resolved as Record<string, unknown>)[key] = policies[key]
  }
  return resolved
}

/** The array codec for an element codec: text[] keeps elements as they are; a codec that writes its own text writes its arrays' elements. */
function arrayCodecOf(element: Codec): Codec {
  const parse = element.parse === parseText ? undefined : (element.parse as ElementParser)
  const delimiter = element.delimiter ?? ','
  const codec: Codec = { parse: (text) => parseArray(text, parse, delimiter) }
  if (element.serialize !== undefined) {
    const serializeElement = element.serialize.bind(element)
    codec.serialize = (value) => serializeArrayWith(value, serializeElement, delimiter)
  }
  return codec
}

function rangeCodecOf(bound: TextParser): Codec {
  return { parse: (text) => parseRange(text, bound) }
}

const textCodec: Codec<string> = { parse: parseText }

/**
 * Creates a codec registry with the built-in PostgreSQL types and the given policies.
 *
 * @param policies how int8, numeric, date, timestamp, bytea and interval read; see {@link TypePolicies}
 * @throws ConfigError listing every invalid policy
 * @example
 * const registry = createTypeRegistry({ int8: 'number', numeric: (text) => new Decimal(text) })
 * const client = new pg.Client({ connectionString, types: pgTypesFor(registry) })
 */
export function createTypeRegistry(policies: TypePolicies = {}): TypeRegistry {
  const resolved = validatePolicies(policies)
  const codecs = new Map<number, Codec>()
  const parsers = new Map<number, TextParser>()
  const byName = new Map<string, { codec: Codec; isEnum: boolean; oid?: number | undefined }>()

  function install(oid: number, codec: Codec, arrayOid?: number): void {
    codecs.set(oid, codec)
    parsers.set(oid, codec.parse)
    if (arrayOid !== undefined && arrayOid !== 0) {
      const arrayCodec = arrayCodecOf(codec)
      codecs.set(arrayOid, arrayCodec)
      parsers.set(arrayOid, arrayCodec.parse)
    }
  }

  const builtin = (name: keyof typeof OIDS, codec: Codec) => {
    const arrayOid = OIDS[`_${name}` as keyof typeof OIDS] as number | undefined
    install(OIDS[name], codec, arrayOid)
  }

  const int8Parse = resolved.int8 === 'bigint' ? parseInt8AsBigInt : resolved.int8 === 'number' ? parseInt8AsNumber : parseText
  const numericParse =
    typeof resolved.numeric === 'function' ? resolved.numeric : resolved.numeric === 'number' ? parseNumericAsNumber : parseText
  const timestampParse = resolved.timestamp === 'Date' ? parseTimestamp : parseText
  const dateParse = resolved.date === 'Date' ? parseDateAsDate : parseText

  builtin('bool', { parse: parseBool })
  for (const name of ['int2', 'int4', 'oid', 'float4', 'float8'] as const) builtin(name, { parse: parseNumber })
  builtin('int8', { parse: int8Parse })
  builtin('numeric', { parse: numericParse })
  builtin('bytea', { parse: resolved.bytea === 'Buffer' ? parseByteaAsBuffer : parseByteaAsUint8Array })
  builtin('json', { parse: parseJson })
  builtin('jsonb', { parse: parseJson })
  builtin('timestamp', { parse: timestampParse })
  builtin('timestamptz', { parse: timestampParse })
  builtin('date', { parse: dateParse })
  builtin('interval', { parse: resolved.interval === 'object' ? parseInterval : parseIntervalAsIso })
  builtin('point', { parse: parsePoint })
  builtin('box', { parse: parseText, delimiter: ';' })
  for (const name of [
    'text',
    'varchar',
    'bpchar',
    'name',
    'char',
    'uuid',
    'inet',
    'cidr',
    'macaddr',
    'macaddr8',
    'bit',
    'varbit',
    'time',
    'timetz',
    'money',
    'xml',
    'jsonpath',
    'regclass',
    'tid',
    'xid',
    'cid',
    'lseg',
    'path',
    'polygon',
    'line',
    'circle',
  ] as const) {
    builtin(name, textCodec)
  }
  builtin('int4range', rangeCodecOf(parseNumber))
  builtin('int8range', rangeCodecOf(int8Parse))
  builtin('numrange', rangeCodecOf(numericParse))
  builtin('daterange', rangeCodecOf(dateParse))
  builtin('tsrange', rangeCodecOf(timestampParse))
  builtin('tstzrange', rangeCodecOf(timestampParse))

  // Extension types with a per-database OID: installed when a provider resolves names at connect time.
  byName.set('citext', { codec: textCodec, isEnum: false })
  byName.set('vector', { codec: { parse: parseVector }, isEnum: false })
  byName.set('halfvec', { codec: { parse: parseVector }, isEnum: false })

  function checkCodec(codec: Codec, where: string): void {
    if (typeof codec !== 'object' || codec === null || typeof codec.parse !== 'function') {
      throw new ConfigError(`codec for ${where} is ${describeValue(codec)}; accepted: { parse(text), serialize?(value), delimiter? }`)
    }
    if (codec.delimiter !== undefined && (typeof codec.delimiter !== 'string' || codec.delimiter.length !== 1)) {
      throw new ConfigError(`delimiter for ${where} is ${describeValue(codec.delimiter)}; accepted: a single character such as ','`)
    }
  }

  function checkName(name: unknown): asserts name is string {
    if (typeof name !== 'string' || name.trim() === '') {
      throw new ConfigError(`type name is ${describeValue(name)}; accepted: a non-empty type name such as 'citext' or 'app.mood'`)
    }
  }

  const registry: TypeRegistry = {
    policies: Object.freeze({ ...resolved }),
    getParser(oid) {
      return parsers.get(oid) ?? parseText
    },
    getCodec(oid) {
      return codecs.get(oid)
    },
    oids() {
      return [...codecs.keys()]
    },
    register(target, codec, options = {}) {
      if (typeof target === 'number') {
        if (!Number.isInteger(target) || target <= 0) {
          throw new ConfigError(`type OID is ${describeValue(target)}; accepted: a positive integer OID or { name }`)
        }
        checkCodec(codec, `OID ${target}`)
        install(target, codec, options.arrayOid)
        return
      }
      checkName(target?.name)
      checkCodec(codec, `type ${JSON.stringify(target.name)}`)
      byName.set(target.name, { codec, isEnum: false })
    },
    registerByName(name, codec) {
      registry.register({ name }, codec)
    },
    registerEnum(name) {
      checkName(name)
      byName.set(name, { codec: textCodec, isEnum: true })
    },
    pendingNames() {
      return [...byName].filter(([, entry]) => entry.oid === undefined).map(([name]) => name)
    },
    async resolveNames(lookup, options = {}) {
      const names = options.refresh === true ? [...byName.keys()] : registry.pendingNames()
      if (names.length === 0) return { resolved: [], missing: [] }
      const rows = await lookup(names)
      const resolvedNames: string[] = []
      const problems: string[] = []
      for (const row of rows) {
        const entry = byName.get(row.name)
        if (entry === undefined) continue
        if (entry.isEnum && row.typtype !== undefined && row.typtype !== 'e') {
          problems.push(`${JSON.stringify(row.name)} was registered as an enum but is a type of kind '${row.typtype}'`)
          continue
        }
        entry.oid = Number(row.oid)
        install(entry.oid, entry.codec, Number(row.arrayOid))
        resolvedNames.push(row.name)
      }
      if (problems.length > 0) throw new ConfigError(problems, { subject: 'type registrations' })
      return { resolved: resolvedNames, missing: names.filter((name) => !resolvedNames.includes(name)) }
    },
  }
  return registry
}
