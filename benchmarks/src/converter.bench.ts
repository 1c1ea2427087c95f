// pnpm bench converter: parse throughput of @tessera/converter vs pg-types (what node-postgres uses) on the same inputs,
// and parameter serialisation vs node-postgres' own prepareValue.
import { createRequire } from 'node:module'
import { createTypeRegistry, OIDS, serializeParam, serializeParams } from '@tessera/converter'
import pgTypes from 'pg-types'
import { compare, consume, type GroupResult, writeReport } from './harness'

// node-postgres' per-value parameter preparation (what client.query runs on each value); absent from its type declarations.
const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils') as { prepareValue: (value: unknown) => unknown }

const ours = createTypeRegistry()
const oursString = createTypeRegistry({ int8: 'string' })

interface Input {
  type: string
  oid: number
  values: string[]
}

const inputs: Input[] = [
  { type: 'int8', oid: OIDS.int8, values: ['0', '42', '-9007199254740993', '1234567890123', '9223372036854775807'] },
  { type: 'numeric', oid: OIDS.numeric, values: ['0', '3.14159', '-12345678901234567890.123456789', 'NaN', '100.00'] },
  {
    type: 'timestamptz',
    oid: OIDS.timestamptz,
    values: ['2024-02-29 13:45:12.123456+00', '1999-12-31 23:59:59+05:30', '2026-11-23 00:00:00-08', '0044-03-15 12:00:00+00 BC'],
  },
  { type: 'int4[]', oid: OIDS._int4, values: ['{1,2,3,4,5,6,7,8,9,10}', '{}', '{-1,NULL,300000}', '{{1,2},{3,4}}'] },
  { type: 'text[]', oid: OIDS._text, values: ['{alpha,beta,gamma}', '{"with space","quote \\" inside",NULL}', '{"a,b","{}",plain}'] },
  {
    type: 'jsonb',
    oid: OIDS.jsonb,
    values: ['{"id": 1, "name": "Ada", "tags": ["a", "b"], "nested": {"ok": true}}', '[1, 2, 3]', '"text"', 'null'],
  },
]

const groups: GroupResult[] = []
for (const input of inputs) {
  const theirs = pgTypes.getTypeParser(input.oid, 'text') as (text: string) => unknown
  const mine = ours.getParser(input.oid)
  const cases = [
    {
      name: 'pg-types',
      fn: () => {
        for (const v of input.values) consume(theirs(v))
      },
    },
    {
      name: '@tessera/converter (default policy)',
      fn: () => {
        for (const v of input.values) consume(mine(v))
      },
    },
  ]
  if (input.type === 'int8') {
    // pg-types returns int8 as a string; the like-for-like comparison is our 'string' policy.
    const asString = oursString.getParser(input.oid)
    cases.push({
      name: "@tessera/converter (int8: 'string', like pg-types)",
      fn: () => {
        for (const v of input.values) consume(asString(v))
      },
    })
    cases.push({
      name: 'pg-types + BigInt() (what users write for exact int8)',
      fn: () => {
        for (const v of input.values) consume(BigInt(theirs(v) as string))
      },
    })
  }
  groups.push(await compare(`${input.type}: ${input.values.length} values per op`, cases, { opsPerSample: 2_000, rounds: 100 }))
}

interface ParamInput {
  title: string
  values: unknown[]
}

const paramInputs: ParamInput[] = [
  {
    title: 'Date parameters: 100 per op',
    values: Array.from({ length: 100 }, (_, i) => new Date(Date.UTC(2024, 0, 1) + i * 3_723_456_789)),
  },
  {
    title: 'JSON object parameters: 100 per op',
    values: Array.from({ length: 100 }, (_, i) => ({ id: i, name: `user ${i}`, tags: ['a', 'b'], nested: { ok: true, score: i / 7 } })),
  },
  {
    title: 'JSON object parameters with a null field: 100 per op',
    values: Array.from({ length: 100 }, (_, i) => ({ id: i, name: `user ${i}`, deletedAt: null, tags: ['a', 'b'] })),
  },
]

for (const input of paramInputs) {
  groups.push(
    await compare(
      input.title,
      [
        {
          name: 'pg prepareValue',
          fn: () => {
            for (const v of input.values) consume(prepareValue(v))
          },
        },
        {
          name: '@tessera/converter serializeParam',
          fn: () => {
            for (const v of input.values) consume(serializeParam(v))
          },
        },
        { name: '@tessera/converter serializeParams', fn: () => consume(serializeParams(input.values)) },
      ],
      { opsPerSample: 200, rounds: 100 },
    ),
  )
}

writeReport(
  'converter',
  "Text-format parse throughput on identical inputs: `@tessera/converter` parsers against `pg-types` 2 (the parsers node-postgres installs by default), and parameter serialisation against node-postgres' `prepareValue`. Goal: not slower on each type.",
  groups,
  [
    "int8: pg-types returns the text unchanged (a string), so the like-for-like row is our `int8: 'string'` policy. Our default is `'bigint'` (exact numbers), which pays for `BigInt()` itself; compare it with the `pg-types + BigInt()` row.",
    'timestamptz: both return a `Date`; ours parses the fields by hand instead of going through a regular expression and `new Date(string)`.',
    "Date parameters: pg writes the Date in the process' local time zone, ours in UTC, both field by field with padded integers.",
    'JSON parameters: pg calls `JSON.stringify`; ours also refuses what JSON cannot hold (bigint, NaN, ±Infinity, cycles) and the objects it would silently mangle (Map, Set, iterators…). The checks run around one plain `JSON.stringify`: a walk for NaN/±Infinity only when the text holds `null`, a value-by-value pass only to name a refused value.',
  ],
)
