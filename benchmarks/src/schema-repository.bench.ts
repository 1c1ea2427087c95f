// @tessera/schema repositories against hand-written SQL through a raw pg.Pool on the real server.
// insertMany of 10k rows vs one hand-built multi-row INSERT (chunked the same way); findMany of 1k rows vs a raw
// SELECT with hand mapping of columns to fields. Goal: ratio ≥ 0.9 for both.
import { createPgProvider } from '@tessera/provider-pg'
import { defineEntity, integer, repository, text, timestamptz, uuid } from '@tessera/schema'
import pg from 'pg'
import { type Case, compare, consume, type GroupResult, writeReport } from './harness'

const PG_URL = process.env.TESSERA_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const SCHEMA = `bench_repo_${process.pid}`
const INSERT_ROWS = 10_000
const READ_ROWS = 1_000
const COLUMNS = ['id', 'email', 'name', 'score', 'created_at'] as const
const MAX_PARAMETERS = 65_535

const Person = defineEntity(
  'BenchPerson',
  {
    id: uuid().primaryKey(),
    email: text(),
    name: text().nullable(),
    score: integer(),
    createdAt: timestamptz(),
  },
  { schema: SCHEMA, table: 'people' },
)

interface Person {
  id: string
  email: string
  name: string | null
  score: number
  createdAt: Date
}

function people(count: number, offset: number): Person[] {
  const at = new Date('2024-05-01T00:00:00Z')
  return Array.from({ length: count }, (_, i) => ({
    id: crypto.randomUUID(),
    email: `user${offset + i}@example.com`,
    name: i % 10 === 0 ? null : `User ${offset + i}`,
    score: (offset + i) % 1000,
    createdAt: at,
  }))
}

/** The hand-written bulk insert: multi-row VALUES, as many rows per statement as the parameter limit allows, one transaction. */
async function rawInsertMany(pool: pg.Pool, rows: readonly Person[]): Promise<number> {
  const perStatement = Math.floor(MAX_PARAMETERS / COLUMNS.length)
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    let count = 0
    for (let start = 0; start < rows.length; start += perStatement) {
      const chunk = rows.slice(start, start + perStatement)
      const values: unknown[] = []
      const tuples: string[] = []
      for (const row of chunk) {
        const n = values.length
        values.push(row.id, row.email, row.name, row.score, row.createdAt)
        tuples.push(`($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}, $${n + 5})`)
      }
      const result = await client.query(`INSERT INTO "${SCHEMA}".people (${COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`, values)
      count += result.rowCount ?? 0
    }
    await client.query('COMMIT')
    return count
  } catch (error) {
    await client.query('ROLLBACK')
    throw error
  } finally {
    client.release()
  }
}

function mapPerson(row: Record<string, unknown>): Person {
  return {
    id: row.id as string,
    email: row.email as string,
    name: row.name as string | null,
    score: row.score as number,
    createdAt: row.created_at as Date,
  }
}

async function main(): Promise<void> {
  const raw = new pg.Pool({ connectionString: PG_URL, max: 2, application_name: 'tessera-bench-raw' })
  const db = createPgProvider({ connectionString: PG_URL, applicationName: 'tessera-bench-schema', pool: { max: 2 } })
  const repo = repository(Person, db)
  const groups: GroupResult[] = []
  try {
    await raw.query(`CREATE SCHEMA "${SCHEMA}"`)
    await raw.query(
      `CREATE TABLE "${SCHEMA}".people (id uuid PRIMARY KEY, email text NOT NULL, name text, score integer NOT NULL, created_at timestamptz NOT NULL)`,
    )

    // Each insert writes fresh rows (new ids) into the same table; rounds interleave the cases, so the growing table slows them alike.
    let offset = 0
    const batches = new Map<string, Person[]>()
    const nextBatch = (key: string): Person[] => {
      const rows = people(INSERT_ROWS, offset)
      offset += INSERT_ROWS
      batches.set(key, rows)
      return rows
    }
    const insertCases: Case[] = [
      {
        name: 'pg.Pool, hand-written multi-row INSERT',
        fn: async () => {
          consume(await rawInsertMany(raw, nextBatch('raw')))
        },
      },
      {
        name: 'repository.insertMany (returning: false)',
        fn: async () => {
          consume(await repo.insertMany(nextBatch('repo'), { returning: false }))
        },
      },
      {
        name: 'repository.insertMany (returning: false, validate: false)',
        fn: async () => {
          consume(await repo.insertMany(nextBatch('trusted'), { returning: false, validate: false }))
        },
      },
    ]
    groups.push(
      await compare(`insertMany of ${INSERT_ROWS.toLocaleString('en-US')} rows`, insertCases, {
        opsPerSample: 1,
        rounds: 30,
        warmupRounds: 3,
      }),
    )

    await raw.query(`TRUNCATE "${SCHEMA}".people`)
    await rawInsertMany(raw, people(READ_ROWS, 0))
    const readCases: Case[] = [
      {
        name: 'pg.Pool + hand mapping',
        fn: async () => {
          const { rows } = await raw.query(`SELECT * FROM "${SCHEMA}".people WHERE score >= $1 ORDER BY id`, [0])
          consume(rows.map(mapPerson))
        },
      },
      {
        name: 'repository.findMany',
        fn: async () => consume((await repo.findMany({ where: { score: { gte: 0 } }, orderBy: { id: 'asc' } })).rows),
      },
    ]
    groups.push(
      await compare(`findMany of ${READ_ROWS.toLocaleString('en-US')} rows`, readCases, { opsPerSample: 5, rounds: 60, warmupRounds: 5 }),
    )
  } finally {
    await raw.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`).catch(() => undefined)
    await Promise.all([raw.end(), db.close()])
  }
  writeReport(
    'schema-repository',
    `@tessera/schema repositories over @tessera/provider-pg against hand-written SQL through a raw \`pg.Pool\` on PostgreSQL at ${new URL(PG_URL).host}.`,
    groups,
    [
      'Goal: ratio ≥ 0.9 for both groups.',
      `insertMany: ${INSERT_ROWS.toLocaleString('en-US')} rows of 5 columns; both split into statements of at most 65,535 parameters inside one transaction; the repository also validates every row (built-in checks, with coercion) and fills generated values; \`validate: false\` skips validation for trusted bulk loads.`,
      `findMany: the same ${READ_ROWS.toLocaleString('en-US')} rows, one parameter, ordered by primary key; the repository maps columns to fields with its compiled mapper; the raw case maps by hand.`,
      'The provider parses with its own codec registry (timestamps → Date); pg.Pool uses pg-types.',
      'Client and server share one machine, so the numbers include the server’s CPU time.',
    ],
  )
}

await main()
