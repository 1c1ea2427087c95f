// Throughput of @tessera/provider-pg against a raw pg.Pool on the real server: same pool size, same statements,
// same number of requests in flight. One operation is a batch of N concurrent queries awaited together.
// Goal: ≥ 0.95 of raw pg.Pool without hooks, ≥ 0.90 with five no-op onQuery hooks.
import { createPgProvider, type PgProvider } from '@tessera/provider-pg'
import pg from 'pg'
import { writeReport } from './harness'
import { fiveNoOpHooks, inFlight, PG_URL, POOL_SIZE, runProviderScenarios } from './provider-bench'

async function main(): Promise<void> {
  const groups = await runProviderScenarios(() => {
    const raw = new pg.Pool({ connectionString: PG_URL, max: POOL_SIZE, application_name: 'tessera-bench-raw' })
    const plain: PgProvider = createPgProvider({ connectionString: PG_URL, applicationName: 'tessera-bench', pool: { max: POOL_SIZE } })
    const hooked: PgProvider = createPgProvider({
      connectionString: PG_URL,
      applicationName: 'tessera-bench-hooks',
      pool: { max: POOL_SIZE },
      hooks: fiveNoOpHooks(),
    })
    return {
      cases: (text, params, n) => [
        { name: 'pg.Pool', fn: inFlight(n, () => raw.query(text, params)) },
        { name: 'provider-pg', fn: inFlight(n, () => plain.query(text, params)) },
        { name: 'provider-pg + 5 no-op hooks', fn: inFlight(n, () => hooked.query(text, params)) },
      ],
      close: () => Promise.all([raw.end(), plain.close(), hooked.close()]),
    }
  })
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
      'Every scenario is sampled on five fresh sets of pools (30 rounds each): a connection’s speed depends on where the kernel places its backend and socket, which stays fixed for its life and would otherwise favour one case for a whole run.',
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
