// Bulk paths of the providers against the raw drivers on the real server, in one process:
// - COPY FROM STDIN of 1,000,000 rows: provider-pg's copyFrom vs pg-copy-streams on a pg.Client, and
//   provider-postgresjs' copyFrom vs postgres.js' own `.writable()`. Goal: ≥ 0.95 of each raw driver.
// - A 1,000-row insert with sql.unnest (two parameters) vs a multi-row VALUES (2,000 parameters), through both
//   providers and through raw pg.
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { sql } from '@tessera/core'
import { createPgProvider } from '@tessera/provider-pg'
import { createPostgresJsProvider } from '@tessera/provider-postgresjs'
import pg from 'pg'
import pgCopyStreams from 'pg-copy-streams'
import postgres from 'postgres'
import { compare, type GroupResult, writeReport } from './harness'

const PG_URL = process.env.TESSERA_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const COPY_ROWS = 1_000_000
const ROWS_PER_CHUNK = 1_000
const INSERT_ROWS = 1_000

/** The COPY data, built once: 1,000 writes of 1,000 rows each (`id\tname\n`), about 20 MB in all. */
const CHUNKS: readonly string[] = Array.from({ length: COPY_ROWS / ROWS_PER_CHUNK }, (_, c) => {
  let text = ''
  for (let i = c * ROWS_PER_CHUNK; i < (c + 1) * ROWS_PER_CHUNK; i++) text += `${i}\tname number ${i}\n`
  return text
})

const INSERT_VALUES: readonly (readonly [number, string])[] = Array.from({ length: INSERT_ROWS }, (_, i) => [i, `name ${i}`] as const)
const VALUES_TEXT = (table: string) =>
  `INSERT INTO ${table} (id, name) VALUES ${INSERT_VALUES.map((_, i) => `($${2 * i + 1}, $${2 * i + 2})`).join(', ')}`
const VALUES_PARAMS = INSERT_VALUES.flat()
const UNNEST_TEXT = (table: string) => `INSERT INTO ${table} (id, name) SELECT * FROM unnest($1::int4[], $2::text[])`

async function main(): Promise<void> {
  const admin = new pg.Client({ connectionString: PG_URL })
  await admin.connect()
  const tables = ['bench_copy_pg_raw', 'bench_copy_pg', 'bench_copy_pjs_raw', 'bench_copy_pjs', 'bench_insert']
  for (const table of tables) {
    await admin.query(`DROP TABLE IF EXISTS ${table}`)
    await admin.query(`CREATE UNLOGGED TABLE ${table} (id int, name text)`)
  }

  const rawPg = new pg.Client({ connectionString: PG_URL, application_name: 'tessera-bench-raw' })
  await rawPg.connect()
  const rawPostgres = postgres(PG_URL, { max: 1 })
  const providerPg = createPgProvider({ connectionString: PG_URL, applicationName: 'tessera-bench', pool: { max: 1 } })
  const providerPostgresJs = createPostgresJsProvider({ connectionString: PG_URL, applicationName: 'tessera-bench', pool: { max: 1 } })

  const source = () => Readable.from(CHUNKS)
  const groups: GroupResult[] = []
  groups.push(
    await compare(
      `COPY FROM STDIN of ${COPY_ROWS.toLocaleString('en-US')} rows (${ROWS_PER_CHUNK.toLocaleString('en-US')} rows per write)`,
      [
        {
          name: 'pg-copy-streams on pg.Client',
          fn: async () => {
            await rawPg.query('TRUNCATE bench_copy_pg_raw')
            await pipeline(source(), rawPg.query(pgCopyStreams.from('COPY bench_copy_pg_raw (id, name) FROM STDIN')))
          },
        },
        {
          name: 'provider-pg copyFrom',
          fn: async () => {
            await providerPg.query('TRUNCATE bench_copy_pg')
            await pipeline(source(), providerPg.copyFrom('COPY bench_copy_pg (id, name) FROM STDIN'))
          },
        },
        {
          name: 'postgres.js .writable()',
          fn: async () => {
            await rawPostgres.unsafe('TRUNCATE bench_copy_pjs_raw')
            await pipeline(source(), await rawPostgres.unsafe('COPY bench_copy_pjs_raw (id, name) FROM STDIN').writable())
          },
        },
        {
          name: 'provider-postgresjs copyFrom',
          fn: async () => {
            await providerPostgresJs.query('TRUNCATE bench_copy_pjs')
            await pipeline(source(), providerPostgresJs.copyFrom('COPY bench_copy_pjs (id, name) FROM STDIN'))
          },
        },
      ],
      { opsPerSample: 1, rounds: 8, warmupRounds: 1 },
    ),
  )

  const unnestQuery = sql`INSERT INTO bench_insert (id, name) SELECT * FROM ${sql.unnest(INSERT_VALUES, ['int4', 'text'])}`
  const valuesQuery = sql`INSERT INTO bench_insert (id, name) VALUES ${sql.values(INSERT_VALUES)}`
  groups.push(
    await compare(
      `INSERT of ${INSERT_ROWS.toLocaleString('en-US')} rows (int, text): unnest (2 parameters) vs multi-row VALUES (${VALUES_PARAMS.length.toLocaleString('en-US')} parameters)`,
      [
        { name: 'pg.Client, VALUES', fn: () => rawPg.query(VALUES_TEXT('bench_insert'), VALUES_PARAMS as unknown[]) },
        {
          name: 'pg.Client, unnest',
          fn: () => rawPg.query(UNNEST_TEXT('bench_insert'), [INSERT_VALUES.map((row) => row[0]), INSERT_VALUES.map((row) => row[1])]),
        },
        { name: 'provider-pg, sql.values', fn: () => providerPg.query(valuesQuery) },
        { name: 'provider-pg, sql.unnest', fn: () => providerPg.query(unnestQuery) },
        { name: 'provider-postgresjs, sql.values', fn: () => providerPostgresJs.query(valuesQuery) },
        { name: 'provider-postgresjs, sql.unnest', fn: () => providerPostgresJs.query(unnestQuery) },
        {
          name: 'provider-pg, sql.unnest built per call',
          fn: () => providerPg.query(sql`INSERT INTO bench_insert (id, name) SELECT * FROM ${sql.unnest(INSERT_VALUES, ['int4', 'text'])}`),
        },
      ],
      { opsPerSample: 10, rounds: 20, warmupRounds: 3 },
    ),
  )

  await Promise.all([rawPg.end(), rawPostgres.end(), providerPg.close(), providerPostgresJs.close()])
  for (const table of tables) await admin.query(`DROP TABLE IF EXISTS ${table}`)
  await admin.end()

  writeReport(
    'copy',
    `Bulk writes on PostgreSQL at ${new URL(PG_URL).host}, each contender on one connection: COPY FROM STDIN through the providers' \`copyFrom\` ` +
      'against the raw drivers (pg-copy-streams on a `pg.Client`, postgres.js `.writable()`), and a 1,000-row insert with `sql.unnest` against a multi-row VALUES. ' +
      'One COPY operation = TRUNCATE, then the whole stream piped in and confirmed by the server.',
    groups,
    [
      'Goal: provider-pg copyFrom ≥ 0.95 of pg-copy-streams, provider-postgresjs copyFrom ≥ 0.95 of postgres.js `.writable()`. Ratios are to the first row (pg-copy-streams); divide the two postgres.js rows for theirs.',
      'The source writes 1,000 rows (about 20 KB) per chunk. The providers gather writes below 64 KiB into one CopyData message; with many tiny writes (one row each) that makes them faster than the raw drivers, which send one message per write.',
      'The unnest rows: `sql.unnest` checks every element on the client (int4 range, strings) — the "built per call" row includes building and checking the fragment each time; the other provider rows reuse one built query.',
      'Client and server share one (2-core, shared) machine: for COPY, ops/s is mostly the server’s time; client CPU / op is the client’s own cost, and it swings between runs by tens of ms per million rows: read the CPU rows over several runs.',
      'provider-pg prepares the VALUES statement once per connection (2,000 parameters bound, no parse each time) where pg.Client parses it every time; serialising unnest’s two arrays into array literals is client work the VALUES case does not have.',
    ],
  )
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
