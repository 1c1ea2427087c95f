// Kysely through @tessera/kysely against Kysely's own PostgresDialect on a pg.Pool of the same size, on the real
// server: the same Kysely queries, the same number in flight. Goal: ratio ≥ 0.95 for a point select, a 100-row select
// and an insert. A row for Kysely over provider-postgresjs shows the other driver.

import { readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { createTesseraDialect } from '@tessera/kysely'
import { createPgProvider } from '@tessera/provider-pg'
import { createPostgresJsProvider } from '@tessera/provider-postgresjs'
import { type Generated, Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { type CaseSamples, consume, type GroupResult, sampleCases, summarize, writeReport } from './harness'

const PG_URL = process.env.TESSERA_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const POOL_SIZE = 10
const SCHEMA = `bench_kysely_${process.pid}`
// Fresh pools per epoch: a connection's speed depends on where the kernel placed its backend (see provider-bench.ts).
const EPOCHS = 3
const OPTIONS = { opsPerSample: 20, rounds: 30, warmupRounds: 5 }
const IN_FLIGHT = [1, 8]

interface Database {
  item: { id: Generated<number>; name: string; qty: number; price: number }
  written: { id: Generated<number>; name: string; qty: number }
}

interface Contender {
  name: string
  db: Kysely<Database>
  close(): Promise<void>
}

function contenders(): Contender[] {
  const pool = new pg.Pool({ connectionString: PG_URL, max: POOL_SIZE, application_name: 'tessera-bench-kysely-pg' })
  const pgProvider = createPgProvider({ connectionString: PG_URL, applicationName: 'tessera-bench-kysely', pool: { max: POOL_SIZE } })
  const jsProvider = createPostgresJsProvider({
    connectionString: PG_URL,
    applicationName: 'tessera-bench-kysely',
    pool: { max: POOL_SIZE },
  })
  const kysely = (dialect: ConstructorParameters<typeof Kysely<Database>>[0]['dialect']) =>
    new Kysely<Database>({ dialect }).withSchema(SCHEMA)
  return [
    { name: 'Kysely PostgresDialect on pg.Pool', db: kysely(new PostgresDialect({ pool })), close: () => pool.end() },
    {
      name: 'Kysely @tessera/kysely on provider-pg',
      db: kysely(createTesseraDialect({ queryable: pgProvider })),
      close: () => pgProvider.close(),
    },
    {
      name: 'Kysely @tessera/kysely on provider-postgresjs',
      db: kysely(createTesseraDialect({ queryable: jsProvider })),
      close: () => jsProvider.close(),
    },
  ]
}

interface Scenario {
  label: string
  run(db: Kysely<Database>, n: number): Promise<unknown>
}

const SCENARIOS: Scenario[] = [
  {
    label: 'point select by primary key',
    run: (db, n) =>
      db
        .selectFrom('item')
        .selectAll()
        .where('id', '=', 1 + (n % 1000))
        .executeTakeFirst(),
  },
  {
    label: '100-row select',
    run: (db, n) =>
      db
        .selectFrom('item')
        .selectAll()
        .where('id', '>', n % 900)
        .orderBy('id')
        .limit(100)
        .execute(),
  },
  {
    label: 'insert one row',
    run: (db, n) =>
      db
        .insertInto('written')
        .values({ name: `row ${n}`, qty: n })
        .execute(),
  },
]

async function setUp(): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  await client.query(`CREATE SCHEMA ${SCHEMA}`)
  await client.query(`CREATE TABLE ${SCHEMA}.item (id serial PRIMARY KEY, name text NOT NULL, qty int NOT NULL, price float8 NOT NULL)`)
  await client.query(`INSERT INTO ${SCHEMA}.item (name, qty, price) SELECT 'item ' || g, g % 50, g / 7.0 FROM generate_series(1, 1000) g`)
  await client.query(`CREATE TABLE ${SCHEMA}.written (id serial PRIMARY KEY, name text NOT NULL, qty int NOT NULL)`)
  await client.end()
}

async function tearDown(): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`)
  await client.end()
}

async function main(): Promise<void> {
  await setUp()
  const groups: GroupResult[] = []
  try {
    for (const scenario of SCENARIOS) {
      for (const inFlight of IN_FLIGHT) {
        let names: string[] = []
        let merged: CaseSamples[] = []
        for (let epoch = 0; epoch < EPOCHS; epoch++) {
          const all = contenders()
          names = all.map((c) => c.name)
          let counter = 0
          const cases = all.map((c) => ({
            name: c.name,
            fn: async () => {
              const calls: Promise<unknown>[] = []
              for (let i = 0; i < inFlight; i++) calls.push(scenario.run(c.db, counter++))
              consume(await Promise.all(calls))
            },
          }))
          const samples = await sampleCases(cases, OPTIONS)
          merged =
            merged.length === 0
              ? samples
              : merged.map((m, i) => ({ ms: [...m.ms, ...samples[i]!.ms], cpuUs: [...m.cpuUs, ...samples[i]!.cpuUs] }))
          await Promise.all(all.map((c) => c.close()))
        }
        groups.push(summarize(`${scenario.label}, ${inFlight} in flight (pools of ${POOL_SIZE})`, names, merged, OPTIONS.opsPerSample))
      }
    }
  } finally {
    await tearDown()
  }
  writeReport(
    'kysely',
    `The same Kysely ${kyselyVersion()} queries through \`@tessera/kysely\` (over provider-pg and provider-postgresjs) and through Kysely's own \`PostgresDialect\` on a \`pg.Pool\`, all with ${POOL_SIZE} connections, on PostgreSQL at ${new URL(PG_URL).host}. One operation = N concurrent Kysely queries awaited together; the per-op times and CPU are per batch of N.`,
    groups,
    [
      'Goal: ratio ≥ 0.95 of Kysely on `PostgresDialect` for each scenario (the @tessera/kysely rows over provider-pg).',
      "Kysely compiles the query the same way for all; the difference is the driver under it: `queryable.query()` (retries, hooks, typed errors, telemetry, the converter) against `pg.Pool.connect()` + `client.query()` + `release()` per query in Kysely's pg driver.",
      `Every scenario is sampled on ${EPOCHS} fresh sets of pools (pool opening not timed), for the reason given in provider-bench.ts.`,
      `Load average when the report was written: ${loadavg()
        .map((load) => load.toFixed(1))
        .join(
          ' / ',
        )} (1 / 5 / 15 min) on 2 cores: other jobs ran meanwhile, so absolute numbers are far below what the machine does alone.`,
      'Client and server share one (2-core, shared) machine: ops/s include the server’s CPU and other jobs; client CPU / op is the steadier number, and one run’s CPU deltas swing by a few µs per statement.',
    ],
  )
}

function kyselyVersion(): string {
  const manifest = new URL('../node_modules/kysely/package.json', import.meta.url)
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version
}

await main()
