// pnpm bench naming: cached snake → camel and camel → snake vs change-case on a realistic column list.
import { toCamel, toSnake } from '@tessera/naming'
import { camelCase, snakeCase } from 'change-case'
import { compare, consume, writeReport } from './harness'

// The columns of a typical wide table (an orders table of a shop), as stored and as fields.
const columns = [
  'id',
  'tenant_id',
  'customer_id',
  'order_number',
  'status',
  'currency_code',
  'subtotal_amount',
  'tax_amount',
  'shipping_amount',
  'discount_amount',
  'total_amount',
  'billing_address_id',
  'shipping_address_id',
  'placed_at',
  'paid_at',
  'shipped_at',
  'cancelled_at',
  'created_at',
  'updated_at',
  'external_ref_id',
]
const fields = columns.map((c) => toCamel(c))

const toCamelGroup = await compare(
  'snake → camel, 20 columns per op',
  [
    {
      name: 'change-case camelCase',
      fn: () => {
        for (const c of columns) consume(camelCase(c))
      },
    },
    {
      name: '@tessera/naming toCamel (memoised)',
      fn: () => {
        for (const c of columns) consume(toCamel(c))
      },
    },
  ],
  { opsPerSample: 1_000, rounds: 100 },
)

const toSnakeGroup = await compare(
  'camel → snake, 20 fields per op',
  [
    {
      name: 'change-case snakeCase',
      fn: () => {
        for (const f of fields) consume(snakeCase(f))
      },
    },
    {
      name: '@tessera/naming toSnake (memoised)',
      fn: () => {
        for (const f of fields) consume(toSnake(f))
      },
    },
  ],
  { opsPerSample: 1_000, rounds: 100 },
)

writeReport(
  'naming',
  'Converting a 20-column list between snake_case and camelCase, as a row mapper does for every row. Tessera memoises each conversion in a bounded cache, so after the first row a conversion is a map lookup; change-case recomputes every time. Goal: ≥ 5× change-case.',
  [toCamelGroup, toSnakeGroup],
  ['change-case 5 and @tessera/naming agree on every name in this list (both produce the same camelCase/snake_case output).'],
)
