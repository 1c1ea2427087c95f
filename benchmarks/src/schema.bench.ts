// pnpm bench schema: compiled row mapping and parameter building of @tessera/schema against a hand-written
// object literal (the floor) and a straightforward reflective loop over the metadata; validation; metadata lookup cost.
import {
  bigint,
  boolean,
  date,
  defineEntity,
  entityMeta,
  integer,
  json,
  mapRow,
  mapRows,
  numeric,
  text,
  timestamptz,
  toParams,
  uuid,
  validateSync,
  varchar,
} from '@tessera/schema'
import { compare, consume, writeReport } from './harness'

// A 12-column entity, typical of an orders table.
const Order = defineEntity('Order', {
  id: uuid().primaryKey().generated('uuidv7'),
  tenantId: integer(),
  customerEmail: varchar(320),
  orderNumber: bigint(),
  status: text(),
  totalAmount: numeric(12, 2),
  isPaid: boolean(),
  placedOn: date(),
  shippedAt: timestamptz().nullable(),
  notes: text().nullable(),
  metadata: json<{ source: string }>(),
  createdAt: timestamptz().createdAt(),
})

const ROWS = 100_000
// Rows as a provider hands them over: column names, values already converted, one shape for all.
const rows = Array.from({ length: ROWS }, (_, i) => ({
  id: `0190f2a4-0000-7000-8000-${String(i).padStart(12, '0')}`,
  tenant_id: i % 50,
  customer_email: `user${i}@example.com`,
  order_number: BigInt(i),
  status: i % 3 === 0 ? 'paid' : 'open',
  total_amount: `${i}.99`,
  is_paid: i % 3 === 0,
  placed_on: '2024-05-06',
  shipped_at: i % 2 === 0 ? new Date(1_700_000_000_000 + i) : null,
  notes: i % 5 === 0 ? 'leave at the door' : null,
  metadata: { source: 'web' },
  created_at: new Date(1_700_000_000_000 - i),
}))
type OrderRow = (typeof rows)[number]

function handWritten(row: OrderRow) {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    customerEmail: row.customer_email,
    orderNumber: row.order_number,
    status: row.status,
    totalAmount: row.total_amount,
    isPaid: row.is_paid,
    placedOn: row.placed_on,
    shippedAt: row.shipped_at,
    notes: row.notes,
    metadata: row.metadata,
    createdAt: row.created_at,
  }
}

const meta = entityMeta(Order)
const fieldNames = meta.fields.map((f) => f.fieldName)
const columnNames = meta.fields.map((f) => f.columnName)

// What one writes without code generation: walk the metadata for every row.
function reflective(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (let i = 0; i < fieldNames.length; i++) out[fieldNames[i] as string] = row[columnNames[i] as string]
  return out
}

const compiled = mapRow(Order)
const out = new Array<unknown>(ROWS)

const mapping = await compare(
  `map ${ROWS.toLocaleString('en-US')} rows of a 12-column entity (one op = all rows)`,
  [
    {
      name: 'hand-written object literal',
      fn: () => {
        for (let i = 0; i < ROWS; i++) out[i] = handWritten(rows[i] as OrderRow)
        consume(out)
      },
    },
    {
      name: '@tessera/schema mapRow (compiled)',
      fn: () => {
        for (let i = 0; i < ROWS; i++) out[i] = compiled(rows[i] as OrderRow)
        consume(out)
      },
    },
    { name: '@tessera/schema mapRows', fn: () => consume(mapRows(Order, rows)) },
    {
      name: 'reflective loop over metadata',
      fn: () => {
        for (let i = 0; i < ROWS; i++) out[i] = reflective(rows[i] as OrderRow)
        consume(out)
      },
    },
  ],
  { opsPerSample: 1, rounds: 120, warmupRounds: 10 },
)

const objects = rows.map(handWritten)
const writer = toParams(Order)
type OrderObject = (typeof objects)[number]

const params = await compare(
  `parameters of ${ROWS.toLocaleString('en-US')} objects, 12 fields (one op = all objects)`,
  [
    {
      name: 'hand-written array literal',
      fn: () => {
        for (let i = 0; i < ROWS; i++) {
          const o = objects[i] as OrderObject
          out[i] = [
            o.id,
            o.tenantId,
            o.customerEmail,
            o.orderNumber,
            o.status,
            o.totalAmount,
            o.isPaid,
            o.placedOn,
            o.shippedAt,
            o.notes,
            JSON.stringify(o.metadata),
            o.createdAt,
          ]
        }
        consume(out)
      },
    },
    {
      name: '@tessera/schema toParams (compiled)',
      fn: () => {
        for (let i = 0; i < ROWS; i++) out[i] = writer(objects[i] as OrderObject)
        consume(out)
      },
    },
    {
      name: 'reflective loop over metadata',
      fn: () => {
        for (let i = 0; i < ROWS; i++) {
          const o = objects[i] as Record<string, unknown>
          const values = new Array<unknown>(meta.fields.length)
          for (let f = 0; f < meta.fields.length; f++) {
            const field = meta.fields[f]
            const value = o[field?.fieldName as string]
            values[f] = field?.kind === 'json' ? JSON.stringify(value) : value
          }
          out[i] = values
        }
        consume(out)
      },
    },
  ],
  { opsPerSample: 1, rounds: 120, warmupRounds: 10 },
)

// Validation of insert input already of the right JavaScript types (the common case: a typed caller). The
// 5-field entity is the one the repository benchmark inserts; the hand-written check is the floor: typeof tests
// and a copy, nothing else.
const Person = defineEntity('BenchPerson', {
  id: uuid().primaryKey(),
  email: text(),
  name: text().nullable(),
  score: integer(),
  createdAt: timestamptz(),
})
const VALIDATE_ROWS = 10_000
const at = new Date('2024-05-01T00:00:00Z')
const inputs = Array.from({ length: VALIDATE_ROWS }, (_, i) => ({
  id: `0190f2a4-0000-7000-8000-${String(i).padStart(12, '0')}`,
  email: `user${i}@example.com`,
  name: i % 10 === 0 ? null : `User ${i}`,
  score: i % 1000,
  createdAt: at,
}))
type PersonInput = (typeof inputs)[number]
const validated = new Array<unknown>(VALIDATE_ROWS)

function handChecked(input: PersonInput): PersonInput {
  if (typeof input.id !== 'string' || typeof input.email !== 'string') throw new Error('bad')
  if (input.name !== null && typeof input.name !== 'string') throw new Error('bad')
  if (!Number.isInteger(input.score) || !(input.createdAt instanceof Date)) throw new Error('bad')
  return { id: input.id, email: input.email, name: input.name, score: input.score, createdAt: new Date(input.createdAt.getTime()) }
}

const validation = await compare(
  `validate ${VALIDATE_ROWS.toLocaleString('en-US')} insert inputs of a 5-field entity (one op = all inputs)`,
  [
    {
      name: 'hand-written typeof checks and copy',
      fn: () => {
        for (let i = 0; i < VALIDATE_ROWS; i++) validated[i] = handChecked(inputs[i] as PersonInput)
        consume(validated)
      },
    },
    {
      name: '@tessera/schema validateSync',
      fn: () => {
        for (let i = 0; i < VALIDATE_ROWS; i++) validated[i] = validateSync(Person, inputs[i])
        consume(validated)
      },
    },
  ],
  { opsPerSample: 1, rounds: 150, warmupRounds: 15 },
)

const orderInputs = objects.slice(0, VALIDATE_ROWS)
const orderValidation = await compare(
  `validate ${VALIDATE_ROWS.toLocaleString('en-US')} insert inputs of the 12-field entity (one op = all inputs)`,
  [
    {
      name: 'reflective loop over metadata (presence only)',
      fn: () => {
        for (let i = 0; i < VALIDATE_ROWS; i++) {
          const o = orderInputs[i] as Record<string, unknown>
          const copy: Record<string, unknown> = {}
          for (let f = 0; f < fieldNames.length; f++) {
            const name = fieldNames[f] as string
            if (o[name] !== undefined) copy[name] = o[name]
          }
          validated[i] = copy
        }
        consume(validated)
      },
    },
    {
      name: '@tessera/schema validateSync',
      fn: () => {
        for (let i = 0; i < VALIDATE_ROWS; i++) validated[i] = validateSync(Order, orderInputs[i])
        consume(validated)
      },
    },
  ],
  { opsPerSample: 1, rounds: 150, warmupRounds: 15 },
)

const plainMap = new WeakMap([[Order, meta]])
const lookup = await compare(
  'metadata lookup (one op = one lookup)',
  [
    { name: 'WeakMap.get (reference)', fn: () => consume(plainMap.get(Order)) },
    { name: 'entityMeta(entity)', fn: () => consume(entityMeta(Order)) },
    { name: "entityMeta(entity).byField.get('customerEmail')", fn: () => consume(entityMeta(Order).byField.get('customerEmail')) },
  ],
  { opsPerSample: 100_000, rounds: 100 },
)

const ratio = (group: typeof mapping, name: string, base: string) => {
  const a = group.results.find((r) => r.name === name)?.opsPerSec ?? 0
  const b = group.results.find((r) => r.name === base)?.opsPerSec ?? 1
  return (a / b).toFixed(2)
}
const perRowUs = (group: typeof mapping) =>
  ((group.results.find((r) => r.name === '@tessera/schema validateSync')?.p50Ns ?? 0) / VALIDATE_ROWS / 1000).toFixed(2)
const lookupNs = lookup.results.find((r) => r.name === 'entityMeta(entity)')?.p50Ns ?? 0

writeReport(
  'schema',
  'Row mapping and parameter building with `@tessera/schema` (compiled once per entity with `new Function` over a fixed template) against a hand-written object literal (the floor) and a reflective loop over the same metadata; validation of insert input; metadata lookup.',
  [mapping, params, validation, orderValidation, lookup],
  [
    `mapRow vs hand-written: ${ratio(mapping, '@tessera/schema mapRow (compiled)', 'hand-written object literal')} (goal ≥ 0.8); vs reflective loop: ${ratio(mapping, '@tessera/schema mapRow (compiled)', 'reflective loop over metadata')}× (goal ≥ 3×).`,
    `toParams vs hand-written: ${ratio(params, '@tessera/schema toParams (compiled)', 'hand-written array literal')}; vs reflective loop: ${ratio(params, '@tessera/schema toParams (compiled)', 'reflective loop over metadata')}×.`,
    `validateSync: ${perRowUs(validation)} µs per input (p50) for the 5-field entity, ${perRowUs(orderValidation)} µs for the 12-field one (its json field is checked with a JSON.stringify per row).`,
    `entityMeta lookup: ${lookupNs.toFixed(1)} ns p50 per call including the harness call overhead (goal < 50 ns).`,
    'Rows are plain objects of one shape with values already converted, as a provider returns them; the mapping cost is the object construction alone.',
  ],
)
