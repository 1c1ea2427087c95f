// Throughput and client CPU of @tessera/provider-postgresjs against a raw postgres.js instance on the real server:
// same pool size, same statements, same number of requests in flight. One operation is a batch of N concurrent calls
// awaited together. Ratios are relative to raw postgres.js (the first case).
// Goal: ≥ 0.95 of raw postgres.js without hooks, ≥ 0.90 with five no-op onQuery hooks; ≤ 2 µs client CPU per
// statement and ≤ 0.2 µs per row beyond raw postgres.js.
import { createPostgresJsProvider } from '@tessera/provider-postgresjs'
import postgres from 'postgres'
import { writeReport } from './harness'
import {
  type Contender,
  cpuOverheadLines,
  fiveNoOpHooks,
  PG_URL,
  POOL_SIZE,
  providerContender,
  runProviderScenarios,
  scenarioFilter,
} from './provider-bench'

type Param = string | number

async function main(): Promise<void> {
  const only = scenarioFilter()
  const results = await runProviderScenarios(() => {
    const raw = postgres(PG_URL, { max: POOL_SIZE, connection: { application_name: 'tessera-bench-raw-js' }, onnotice: () => {} })
    const plain = createPostgresJsProvider({ connectionString: PG_URL, applicationName: 'tessera-bench-js', pool: { max: POOL_SIZE } })
    const hooked = createPostgresJsProvider({
      connectionString: PG_URL,
      applicationName: 'tessera-bench-js-hooks',
      pool: { max: POOL_SIZE },
      hooks: fiveNoOpHooks(),
    })
    return {
      contenders: [
        rawPostgresJs('postgres.js', raw),
        providerContender('provider-postgresjs', plain),
        providerContender('provider-postgresjs + 5 no-op hooks', hooked),
      ],
      close: () => Promise.all([raw.end(), plain.close(), hooked.close()]),
    }
  }, only)
  if (only.length > 0) return
  writeReport(
    'provider-postgresjs',
    `@tessera/provider-postgresjs against raw postgres.js 3.4 on PostgreSQL at ${new URL(PG_URL).host}; every pool has ${POOL_SIZE} connections. ` +
      'One operation = N concurrent calls (`query()`, or a whole `transaction()`) awaited together; the per-op times and CPU below are per batch of N. ' +
      'Ratios are relative to raw postgres.js. (provider-pg against pg.Pool: see provider-pg.md.)',
    results.map((r) => r.group),
    [
      'Goal: ≥ 0.95 of raw postgres.js without hooks, ≥ 0.90 with five no-op `onQuery` hooks; ≤ 2 µs client CPU per statement and ≤ 0.2 µs per row beyond raw postgres.js.',
      ...cpuOverheadLines(results, 'postgres.js', ['provider-postgresjs', 'provider-postgresjs + 5 no-op hooks']),
      'Raw postgres.js runs `sql.unsafe(text, params, { prepare: true })` on one instance with `max` connections, and pipelines the statements it has queued on a connection; the provider lends each of its sessions (a postgres.js instance with `max: 1`) to one caller at a time, so beyond the pool size callers wait for a session instead of queueing on a busy one.',
      'The transaction: `sql.begin(fn)` running the statement three times for postgres.js; `provider.transaction(fn)` for the provider (five statements per call).',
      'Raw postgres.js parses with its own parsers; the provider with the converter’s (int8 → bigint, timestamps → Date), parameters serialised by `serializeParams`.',
      'Client and server share one (2-core, shared) machine, so ops/s and latencies include the server’s CPU time and other jobs; client CPU / op is the steadier number.',
      'Client CPU deltas of one run swing between runs on this shared machine by a few µs per statement (tens of ns per row): read a goal as met or missed over several runs.',
    ],
  )
}

function rawPostgresJs(name: string, sql: postgres.Sql): Contender {
  return {
    name,
    query: (text, params) => sql.unsafe(text, params as Param[], { prepare: true }),
    transaction: (text, params, statements) =>
      sql.begin(async (tx) => {
        for (let i = 0; i < statements; i++) await tx.unsafe(text, params as Param[], { prepare: true })
      }),
  }
}

await main()
