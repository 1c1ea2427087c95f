// Throughput of @tessera/provider-pg against a raw pg.Pool on the real server: same pool size, same statements,
// same number of requests in flight. One operation is a batch of N concurrent queries awaited together.
// Goal: ≥ 0.95 of raw pg.Pool without hooks, ≥ 0.90 with five no-op onQuery hooks.
import type { Hooks } from '@tessera/core'
import { createPgProvider, type PgProvider } from '@tessera/provider-pg'
import pg from 'pg'
import { type Case, compare, consume, type GroupResult, writeReport } from './harness'

const PG_URL = process.env.TESSERA_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const POOL_SIZE = 8
const IN_FLIGHT = [1, 8, 64] as const
const OPTIONS = { opsPerSample: 20, rounds: 30, warmupRounds: 5 }

const STATEMENTS = {
  'SELECT 1': { text: 'SELECT 1 AS one', params: [] as unknown[] },
  '100 rows': { text: "SELECT g AS id, 'name ' || g AS name, now() AS at FROM generate_series(1, 100) g", params: [] as unknown[] },
  '1 parameter': { text: 'SELECT $1::int + 1 AS n', params: [41] as unknown[] },
}

const noOp: Hooks = {
  onQuery(_ctx, next) {
    return next()
  },
}

function inFlight(n: number, run: () => Promise<unknown>): () => Promise<void> {
  return async () => {
    const pending = new Array<Promise<unknown>>(n)
    for (let i = 0; i < n; i++) pending[i] = run()
    consume(await Promise.all(pending))
  }
}

async function main(): Promise<void> {
  const raw = new pg.Pool({ connectionString: PG_URL, max: POOL_SIZE, application_name: 'tessera-bench-raw' })
  const plain: PgProvider = createPgProvider({ connectionString: PG_URL, applicationName: 'tessera-bench', pool: { max: POOL_SIZE } })
  const hooked: PgProvider = createPgProvider({
    connectionString: PG_URL,
    applicationName: 'tessera-bench-hooks',
    pool: { max: POOL_SIZE },
    hooks: [noOp, { ...noOp }, { ...noOp }, { ...noOp }, { ...noOp }],
  })
  const groups: GroupResult[] = []
  try {
    for (const [label, { text, params }] of Object.entries(STATEMENTS)) {
      const concurrency = label === '1 parameter' ? [8] : IN_FLIGHT
      for (const n of concurrency) {
        const cases: Case[] = [
          { name: 'pg.Pool', fn: inFlight(n, () => raw.query(text, params)) },
          { name: 'provider-pg', fn: inFlight(n, () => plain.query(text, params)) },
          { name: 'provider-pg + 5 no-op hooks', fn: inFlight(n, () => hooked.query(text, params)) },
        ]
        groups.push(await compare(`${label}, ${n} in flight (pool of ${POOL_SIZE})`, cases, OPTIONS))
      }
    }
  } finally {
    await Promise.all([raw.end(), plain.close(), hooked.close()])
  }
  writeReport(
    'provider-pg',
    `@tessera/provider-pg against a raw \`pg.Pool\` (pg ${pgVersion()}) on PostgreSQL at ${new URL(PG_URL).host}, both with ${POOL_SIZE} connections. ` +
      `One operation = N concurrent \`query()\` calls awaited together; the per-op times below are per batch of N.`,
    groups,
    [
      'Goal: ratio ≥ 0.95 without hooks, ≥ 0.90 with five no-op `onQuery` hooks.',
      'The provider parses with its own codec registry (int8 → bigint, timestamps → Date) where pg.Pool uses pg-types; both return Date for `now()`.',
      'Statements without parameters use the simple protocol in both; with parameters the provider prepares a named statement once per connection, pg.Pool parses an unnamed one every time.',
      'Client and server share one machine, so the numbers include the server’s CPU time.',
    ],
  )
}

function pgVersion(): string {
  try {
    return (pg as unknown as { version?: string }).version ?? '8.x'
  } catch {
    return '8.x'
  }
}

await main()
