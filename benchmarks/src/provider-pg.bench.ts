// Throughput and client CPU of @tessera/provider-pg against a raw pg.Pool on the real server: same pool size, same
// statements, same number of requests in flight. One operation is a batch of N concurrent calls awaited together.
// Goal: ≥ 0.95 of raw pg.Pool without hooks, ≥ 0.90 with five no-op onQuery hooks; ≤ 2 µs client CPU per statement
// and ≤ 0.2 µs per row beyond pg.Pool.
import { createPgProvider } from '@tessera/provider-pg'
import pg from 'pg'
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

async function main(): Promise<void> {
  const only = scenarioFilter()
  const results = await runProviderScenarios(() => {
    const raw = new pg.Pool({ connectionString: PG_URL, max: POOL_SIZE, application_name: 'tessera-bench-raw' })
    const plain = createPgProvider({ connectionString: PG_URL, applicationName: 'tessera-bench', pool: { max: POOL_SIZE } })
    const hooked = createPgProvider({
      connectionString: PG_URL,
      applicationName: 'tessera-bench-hooks',
      pool: { max: POOL_SIZE },
      hooks: fiveNoOpHooks(),
    })
    return {
      contenders: [
        rawPg('pg.Pool', raw),
        providerContender('provider-pg', plain),
        providerContender('provider-pg + 5 no-op hooks', hooked),
      ],
      close: () => Promise.all([raw.end(), plain.close(), hooked.close()]),
    }
  }, only)
  if (only.length > 0) return
  writeReport(
    'provider-pg',
    `@tessera/provider-pg against a raw \`pg.Pool\` (pg ${pgVersion()}) on PostgreSQL at ${new URL(PG_URL).host}, both with ${POOL_SIZE} connections. ` +
      'One operation = N concurrent calls (`query()`, or a whole `transaction()`) awaited together; the per-op times and CPU below are per batch of N.',
    results.map((r) => r.group),
    [
      'Goal: ratio ≥ 0.95 without hooks, ≥ 0.90 with five no-op `onQuery` hooks; ≤ 2 µs client CPU per statement and ≤ 0.2 µs per row beyond `pg.Pool`.',
      ...cpuOverheadLines(results, 'pg.Pool', ['provider-pg', 'provider-pg + 5 no-op hooks']),
      'The provider parses with its own codec registry (int8 → bigint, timestamps → Date) where pg.Pool uses pg-types; both return Date for timestamps.',
      'Statements without parameters use the simple protocol in both; with parameters the provider prepares a named statement once per connection, pg.Pool parses an unnamed one every time (more server time, and more messages for the client to write and read).',
      'The transaction: `pool.connect()`, BEGIN, the statement three times, COMMIT, `release()` for pg.Pool; `provider.transaction(fn)` running the statement three times for the provider (five statements per call).',
      'Client and server share one (2-core, shared) machine, so ops/s and latencies include the server’s CPU time and other jobs; client CPU / op is the steadier number.',
      'Every scenario is sampled on five fresh sets of pools: a connection’s speed depends on where the kernel places its backend and socket, which stays fixed for its life and would otherwise favour one case for a whole run.',
      'Client CPU deltas of one run swing between runs on this shared machine by a few µs per statement (tens of ns per row): read a goal as met or missed over several runs.',
    ],
  )
}

function rawPg(name: string, pool: pg.Pool): Contender {
  return {
    name,
    query: (text, params) => pool.query(text, params as unknown[]),
    async transaction(text, params, statements) {
      const client = await pool.connect()
      try {
        await client.query('BEGIN')
        for (let i = 0; i < statements; i++) await client.query(text, params as unknown[])
        await client.query('COMMIT')
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {})
        throw error
      } finally {
        client.release()
      }
    },
  }
}

function pgVersion(): string {
  try {
    return (pg as unknown as { version?: string }).version ?? '8.x'
  } catch {
    return '8.x'
  }
}

await main()
