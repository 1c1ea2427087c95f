// pnpm bench core: the sql tag vs a hand-written { text, values }, and the cost of composed no-op hooks.
import { composeHooks, type Hooks, type QueryContext, type QueryResult, sql } from '@tessera/core'
import { compare, consume, writeReport } from './harness'

const userId = 42
const email = 'ada@example.com'
const limit = 10

const tagGroup = await compare(
  'build a query: sql tag vs hand-written { text, values }',
  [
    {
      name: 'hand-written object',
      fn: () => consume({ text: 'SELECT id, email FROM users WHERE id = $1 AND email = $2 LIMIT $3', values: [userId, email, limit] }),
    },
    {
      name: 'sql tag + toQuery()',
      fn: () => consume(sql`SELECT id, email FROM users WHERE id = ${userId} AND email = ${email} LIMIT ${limit}`.toQuery()),
    },
  ],
  { opsPerSample: 10_000, rounds: 100 },
)

const where = (id: number) => sql`id = ${id}`
const nestedGroup = await compare(
  'compose: nested fragment + sql.id + sql.join',
  [
    {
      name: 'hand-written object',
      fn: () => consume({ text: 'SELECT "id", "email" FROM "app"."users" WHERE id = $1 AND email = $2', values: [userId, email] }),
    },
    {
      name: 'sql tag with fragments',
      fn: () =>
        consume(
          sql`SELECT ${sql.join([sql.id('id'), sql.id('email')], sql`, `)} FROM ${sql.id(['app', 'users'])} WHERE ${where(userId)} AND email = ${email}`.toQuery(),
        ),
    },
  ],
  { opsPerSample: 10_000, rounds: 100 },
)

const result: QueryResult = { rows: [], rowCount: 0, command: 'SELECT', fields: [] }
const resolved = Promise.resolve(result)
const final = (_ctx: QueryContext) => resolved
const noop: Hooks = { onQuery: (_ctx, next) => next() }
const ctx: QueryContext = {
  sql: 'SELECT 1',
  params: [],
  options: {},
  driver: 'bench',
  operation: 'query',
  transaction: false,
  attempt: 1,
  meta: {},
}
const chains = [0, 1, 5].map((n) => ({ n, hooks: composeHooks(Array.from({ length: n }, () => noop)) }))

const hookGroup = await compare(
  'one query call through 0, 1 and 5 composed no-op onQuery hooks',
  [
    { name: 'direct call of the driver function', fn: () => final(ctx) },
    ...chains.map(({ n, hooks }) => ({ name: `${n} hook${n === 1 ? '' : 's'}`, fn: () => hooks.query(ctx, final) })),
  ],
  { opsPerSample: 10_000, rounds: 100 },
)

writeReport(
  'core',
  'Query building with the `sql` tag against a hand-written `{ text, values }` object, and the per-call cost of composed no-op `onQuery` hooks against calling the driver function directly (an already-resolved promise, so only the hook machinery is measured).',
  [tagGroup, nestedGroup, hookGroup],
  [
    'The hook rows measure the machinery alone; against a real round trip to PostgreSQL (tens of µs) the difference is what the provider benchmarks report.',
  ],
)
