import { Range } from '@tessera/converter'

/** One value of the type round-trip corpus: sent as `$1::<type>` and read back. */
export interface TypeCorpusEntry {
  /** What the value is, for test names: `int8 beyond 2^53`. */
  name: string
  /** The PostgreSQL type the parameter is cast to: `SELECT $1::<type> AS v`. */
  type: string
  /** The JavaScript value sent, in the representation `@tessera/converter` reads back. */
  value: unknown
  /** What reading it back gives when PostgreSQL normalises the input (a discrete range's bounds). Default: `value`. */
  expected?: unknown
}

const interval = (fields: Partial<Record<'years' | 'months' | 'days' | 'hours' | 'minutes' | 'seconds' | 'milliseconds', number>>) => ({
  years: 0,
  months: 0,
  days: 0,
  hours: 0,
  minutes: 0,
  seconds: 0,
  milliseconds: 0,
  ...fields,
})

/** Strings that break naive quoting in SQL literals, array literals and JSON. */
const HOSTILE_STRINGS = [
  '',
  ' ',
  'NULL',
  'null',
  'a,b',
  '{braces}',
  'quote"d',
  "it's",
  'back\\slash',
  'tab\there',
  'new\nline',
  '日本語 ✓ 🎉',
]

/**
 * Values every provider must send and read back unchanged (`toEqual`), with the default type policies:
 * int8 → bigint, numeric → exact string, timestamps → Date (timestamp without zone read as UTC), date →
 * 'YYYY-MM-DD' string, interval → object with every field, ranges → `Range`, point → `{ x, y }`, bytea → Buffer,
 * arrays → nested arrays with `null` elements. Shared with the parity suite, which compares providers with each other.
 */
export const TYPE_CORPUS: readonly TypeCorpusEntry[] = [
  { name: 'int2 bounds', type: 'int2[]', value: [-32768, 0, 32767] },
  { name: 'int2', type: 'int2', value: -32768 },
  { name: 'int4 max', type: 'int4', value: 2147483647 },
  { name: 'int4 min', type: 'int4', value: -2147483648 },
  { name: 'int8 beyond 2^53', type: 'int8', value: 9007199254740993n },
  { name: 'int8 min', type: 'int8', value: -9223372036854775808n },
  { name: 'float8 fraction', type: 'float8', value: 0.1 + 0.2 },
  { name: 'float8 tiny', type: 'float8', value: 5e-324 },
  { name: 'float8 NaN', type: 'float8', value: Number.NaN },
  { name: 'float8 Infinity', type: 'float8', value: Number.POSITIVE_INFINITY },
  { name: 'float8 -Infinity', type: 'float8', value: Number.NEGATIVE_INFINITY },
  { name: 'numeric beyond double precision', type: 'numeric', value: '12345678901234567890.123456789012345678' },
  { name: 'numeric keeps trailing zeros', type: 'numeric', value: '-0.000100' },
  { name: 'numeric NaN', type: 'numeric', value: 'NaN' },
  { name: 'bool true', type: 'bool', value: true },
  { name: 'bool false', type: 'bool', value: false },
  { name: 'text with unicode', type: 'text', value: 'héllo wörld ✓ 🎉 日本語 \u00a0' },
  { name: 'text with quotes and backslashes', type: 'text', value: `it's "quoted" \\ back\\slash $1 -- not a comment` },
  { name: 'empty text', type: 'text', value: '' },
  { name: 'bytea', type: 'bytea', value: Buffer.from([0, 1, 2, 0x5c, 0x27, 0x22, 127, 128, 255]) },
  { name: 'empty bytea', type: 'bytea', value: Buffer.alloc(0) },
  { name: 'uuid', type: 'uuid', value: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11' },
  { name: 'json object', type: 'json', value: { a: 1, b: [true, null, 'x'], c: { d: 'é "q"' } } },
  { name: 'jsonb object', type: 'jsonb', value: { nested: { list: [1, 2.5, -3], text: "it's" }, empty: {}, flag: false } },
  { name: 'date', type: 'date', value: '2024-02-29' },
  { name: 'date BC', type: 'date', value: '0044-03-15 BC' },
  { name: 'timestamptz with ms', type: 'timestamptz', value: new Date('2024-01-02T03:04:05.678Z') },
  { name: 'timestamptz before 1970', type: 'timestamptz', value: new Date('1969-07-20T20:17:40.123Z') },
  { name: 'timestamp read as UTC', type: 'timestamp', value: new Date('2024-06-30T23:59:59.999Z') },
  {
    name: 'interval with every field',
    type: 'interval',
    value: interval({ years: 1, months: 2, days: 3, hours: 4, minutes: 5, seconds: 6, milliseconds: 789 }),
  },
  { name: 'interval with mixed signs', type: 'interval', value: interval({ years: -1, days: 3, hours: -4, minutes: -5, seconds: -6 }) },
  { name: 'inet v4', type: 'inet', value: '192.168.0.1' },
  { name: 'inet v6 with prefix', type: 'inet', value: '2001:db8::/32' },
  { name: 'point', type: 'point', value: { x: 1.5, y: -2.25 } },
  { name: 'int4range', type: 'int4range', value: new Range(1, 10) },
  { name: 'int4range normalised', type: 'int4range', value: new Range(1, 10, '[]'), expected: new Range(1, 11) },
  { name: 'int4range unbounded above', type: 'int4range', value: new Range(5, null) },
  { name: 'empty int4range', type: 'int4range', value: Range.empty() },
  {
    name: 'tstzrange',
    type: 'tstzrange',
    value: new Range(new Date('2024-01-01T00:00:00.000Z'), new Date('2024-02-01T12:30:00.250Z'), '[]'),
  },
  { name: 'text[] with NULLs and hostile strings', type: 'text[]', value: [...HOSTILE_STRINGS, null] },
  { name: 'int4[] with NULLs', type: 'int4[]', value: [1, null, -3, null] },
  { name: 'empty int4[]', type: 'int4[]', value: [] },
  { name: 'int8[]', type: 'int8[]', value: [1n, null, 9007199254740993n] },
  { name: 'numeric[]', type: 'numeric[]', value: ['1.50', '-2.25', null] },
  { name: 'bool[]', type: 'bool[]', value: [true, false, null] },
  { name: 'timestamptz[]', type: 'timestamptz[]', value: [new Date('2024-01-02T03:04:05.678Z'), null] },
  {
    name: '2-D int4[]',
    type: 'int4[]',
    value: [
      [1, 2, 3],
      [4, null, 6],
    ],
  },
  {
    name: '2-D text[] with hostile strings',
    type: 'text[]',
    value: [
      ['a', 'NULL', '{x}'],
      ['quote"d', null, 'back\\slash'],
    ],
  },
]
