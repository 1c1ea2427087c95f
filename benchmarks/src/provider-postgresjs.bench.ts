// Throughput of @tessera/provider-postgresjs against a raw postgres.js instance on the real server, with raw pg and
// provider-pg in the same table: same pool size, same statements, same number of requests in flight. One operation
// is a batch of N concurrent queries awaited together. Ratios are relative to raw postgres.js (the first case).
// Goal: provider-postgresjs ≥ 0.95 of raw postgres.js without hooks, ≥ 0.90 with five no-op onQuery hooks.
import { createPgProvider } from '@tessera/provider-pg'
import { createPostgresJsProvider } from '@tessera/provider-postgresjs'
import pg from 'pg'
import postgres from 'postgres'
import { writeReport } from './harness'
import { fiveNoOpHooks, inFlight, PG_URL, POOL_SIZE, runProviderScenarios } from './provider-bench'

async function main(): Promise<void> {
  const groups = await runProviderScenarios(() => {
    const rawJs = postgres(PG_URL, { max: POOL_SIZE, connection: { application_name: 'tessera-bench-raw-js' }, onnotice: () => {} })
    const plainJs = createPostgresJsProvider({ connectionString: PG_URL, applicationName: 'tessera-bench-js', pool: { max: POOL_SIZE } })
    const hookedJs = createPostgresJsProvider({
      connectionString: PG_URL,
      applicationName: 'tessera-bench-js-hooks',
      pool: { max: POOL_SIZE },
      hooks: fiveNoOpHooks(),
    })
    const rawPg = new pg.Pool({ connectionString: PG_URL, max: POOL_SIZE, application_name: 'tessera-bench-raw' })
    const plainPg = createPgProvider({ connectionString: PG_URL, applicationName: 'tessera-bench', pool: { max: POOL_SIZE } })
    return {
      cases: (text, params, n) => [
        { name: 'postgres.js', fn: inFlight(n, () => rawJs.unsafe(text, params as (string | number)[], { prepare: true })) },
        { name: 'provider-postgresjs', fn: inFlight(n, () => plainJs.query(text, params)) },
        { name: 'provider-postgresjs + 5 no-op hooks', fn: inFlight(n, () => hookedJs.query(text, params)) },
        { name: 'pg.Pool', fn: inFlight(n, () => rawPg.query(text, params)) },
        { name: 'provider-pg', fn: inFlight(n, () => plainPg.query(text, params)) },
      ],
      close: () => Promise.all([rawJs.end(), plainJs.close(), hookedJs.close(), rawPg.end(), plainPg.close()]),
    }
  })
  writeReport(
    'provider-postgresjs',
    `@tessera/provider-postgresjs against raw postgres.js 3.4 on PostgreSQL at ${new URL(PG_URL).host}, with raw \`pg.Pool\` and ` +
      `@tessera/provider-pg in the same run; every pool has ${POOL_SIZE} connections. One operation = N concurrent \`query()\` ` +
      'calls awaited together; the per-op times below are per batch of N. Ratios are relative to raw postgres.js.',
    groups,
    [
      'Goal: provider-postgresjs ≥ 0.95 of raw postgres.js without hooks, ≥ 0.90 with five no-op `onQuery` hooks.',
      'Raw postgres.js runs `sql.unsafe(text, params, { prepare: true })` with its own parsers; the provider runs the same call with the converter’s parsers (int8 → bigint, timestamps → Date) and parameters serialised by `serializeParams`.',
      'Client and server share one machine, so the numbers include the server’s CPU time.',
    ],
  )
}

await main()
