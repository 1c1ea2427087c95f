// `pnpm demo`: a walk through the toolkit on embedded defaults: no server needed.
// Each section shows one package; later packages add their own section.

import { createCache } from '@tessera/cache'
import { createTypeRegistry, OIDS, serializeParam } from '@tessera/converter'
import {
  createCircuitBreaker,
  createManualClock,
  getRetryDetails,
  isTesseraError,
  mapPgError,
  OptimisticLockError,
  retry,
  SerializationFailureError,
  sql,
  UniqueViolationError,
  ValidationError,
} from '@tessera/core'
import { presets, safeIdentifier, tableName, toCamel, toSnake } from '@tessera/naming'
import { createPgProvider } from '@tessera/provider-pg'
import {
  createMigrator,
  createSchemaSql,
  defineEntity,
  diffSchema,
  integer,
  repository,
  text,
  timestamptz,
  uuid,
  varchar,
} from '@tessera/schema'
import { startEmbeddedPostgres } from './embedded-postgres'

const heading = (title: string) => console.log(`\n== ${title} ==`)
const show = (label: string, value: unknown) => console.log(`  ${label.padEnd(34)} ${format(value)}`)

function format(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? `${v}n` : v))
}

async function coreSection(): Promise<void> {
  heading('@tessera/core: the sql tag')
  const email = "o'brien@example.com; DROP TABLE users --"
  const byEmail = sql`SELECT ${sql.id('id')}, ${sql.id('email')} FROM ${sql.id(['app', 'users'])} WHERE email = ${email}`
  const paged = sql`${byEmail} LIMIT ${10} OFFSET ${20}`
  show('nested fragments renumber', paged.toQuery())
  const rows = [
    [1, 'Ada'],
    [2, 'Grace'],
  ]
  show('sql.values for multi-row inserts', sql`INSERT INTO people (id, name) VALUES ${sql.values(rows)}`.toQuery())
  try {
    sql.id('x'.repeat(64))
  } catch (error) {
    show('an identifier over 63 bytes', (error as Error).message)
  }

  heading('@tessera/core: typed errors from either driver')
  // The fields PostgreSQL sends with a unique violation, as node-postgres and postgres.js name them.
  const fromPg = mapPgError({
    code: '23505',
    message: 'duplicate key value violates unique constraint "users_email_key"',
    constraint: 'users_email_key',
    table: 'users',
    severity: 'ERROR',
  })
  const fromPostgresJs = mapPgError({
    name: 'PostgresError',
    code: '23505',
    message: 'duplicate key value violates unique constraint "users_email_key"',
    constraint_name: 'users_email_key',
    table_name: 'users',
    severity: 'ERROR',
  })
  show('pg error → class', `${fromPg.constructor.name} (code ${fromPg.code}, retryable ${fromPg.retryable})`)
  show(
    'postgres.js error → class',
    `${fromPostgresJs.constructor.name} (instanceof UniqueViolationError: ${fromPostgresJs instanceof UniqueViolationError})`,
  )
  const network = mapPgError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))
  show('ECONNRESET → class', `${network.constructor.name} (code ${network.code}, retryable ${network.retryable})`)

  heading('@tessera/core: retry with backoff and full jitter')
  let calls = 0
  const committed = await retry(
    async (attempt) => {
      calls++
      if (attempt < 3) throw mapPgError({ code: '40001', message: 'could not serialize access due to concurrent update' })
      return 'committed'
    },
    { maxAttempts: 5, baseDelayMs: 5, onRetry: (e) => console.log(`  retry after attempt ${e.attempt}: wait ${e.delayMs.toFixed(1)} ms`) },
  )
  show('serialization failures, then', `${committed} after ${calls} attempts`)
  try {
    await retry(
      async () => {
        throw mapPgError({ code: '40001', message: 'could not serialize access' })
      },
      { maxAttempts: 2, baseDelayMs: 1 },
    )
  } catch (error) {
    show('giving up keeps the class', `${(error as Error).constructor.name}, attempts: ${getRetryDetails(error)?.attempts}`)
    show('…and it is a SerializationFailureError', error instanceof SerializationFailureError)
  }

  heading('@tessera/core: circuit breaker')
  const clock = createManualClock()
  const breaker = createCircuitBreaker({ name: 'demo', minimumCalls: 4, failureRatio: 0.5, openMs: 1_000, clock })
  breaker.onStateChange((change) => console.log(`  state: ${change.from} → ${change.to} (${change.reason})`))
  for (let i = 0; i < 4; i++) {
    await breaker
      .execute(async () => {
        throw new Error('redis is down')
      })
      .catch(() => {})
  }
  try {
    await breaker.execute(async () => 'never runs')
  } catch (error) {
    show('while open, calls fail fast', isTesseraError(error) ? `${error.code}: ${error.message}` : error)
  }
  clock.advance(1_000)
  show('after openMs, one probe succeeds', await breaker.execute(async () => 'ok'))
  show('state', breaker.state)
}

function namingSection(): void {
  heading('@tessera/naming')
  for (const field of ['userID', 'HTTPServerURL', 'user2FACode', 'firstName']) show(`toSnake(${field})`, toSnake(field))
  show('toCamel(first_name)', toCamel('first_name'))
  show('table for "Person" (default preset)', tableName('Person', { strategy: 'snake_case', plural: true }))
  show('graphql preset: column of "createdAt"', presets.graphql.column.toColumn('createdAt'))
  show('a 70-byte name, made safe', safeIdentifier('a_very_long_column_name_that_goes_on_and_on_past_the_postgres_limit_x'))
}

function converterSection(): void {
  heading('@tessera/converter: a value on its way out and back in')
  console.log('  (JS value → the parameter text sent; the text PostgreSQL answers with → the JS value read)')
  const registry = createTypeRegistry()
  // What PostgreSQL 15 prints for each value (DateStyle ISO), as the server would answer `SELECT $1::type`.
  const cases: Array<[string, number, unknown, string]> = [
    ['int8', OIDS.int8, 9007199254740993n, '9007199254740993'],
    ['timestamptz', OIDS.timestamptz, new Date('2024-02-29T13:45:12.123Z'), '2024-02-29 13:45:12.123+00'],
    ['text[]', OIDS._text, ['plain', 'with "quotes"', 'a,b', null, 'NULL'], '{plain,"with \\"quotes\\"","a,b",NULL,"NULL"}'],
    ['jsonb', OIDS.jsonb, { id: 1, tags: ['a', 'b'] }, '{"id": 1, "tags": ["a", "b"]}'],
    ['interval', OIDS.interval, undefined, '1 year 2 mons 3 days 04:05:06.789'],
  ]
  for (const [type, oid, value, answer] of cases) {
    if (value !== undefined) show(`${type} sent as`, serializeParam(value))
    show(`${type} read from ${answer}`, registry.getParser(oid)(answer))
  }
}

async function providerPgSection(connectionString: string): Promise<void> {
  heading('@tessera/provider-pg on an embedded PostgreSQL')
  const db = createPgProvider({ connectionString, applicationName: 'tessera-demo', pool: { max: 4 } })
  try {
    const version = await db.query<{ server_version: string }>('SHOW server_version')
    show('server', `PostgreSQL ${version.rows[0]?.server_version} (embedded-postgres, started by the demo)`)
    await db.query('CREATE TABLE account (id int PRIMARY KEY, owner text NOT NULL, balance numeric NOT NULL CHECK (balance >= 0))')

    const inserted = await db.batch(
      [
        { sql: sql`INSERT INTO account VALUES (${1}, ${'ada'}, ${100})` },
        { sql: sql`INSERT INTO account VALUES (${2}, ${'grace'}, ${50})` },
        { sql: 'SELECT count(*) AS n FROM account' },
      ],
      { atomic: true },
    )
    show(
      'atomic batch, one round trip',
      inserted.map((r) => `${r.command} ${r.rowCount}`),
    )

    await db.transaction(
      async (tx) => {
        await tx.query(sql`UPDATE account SET balance = balance - ${30} WHERE id = ${1}`)
        await tx.query(sql`UPDATE account SET balance = balance + ${30} WHERE id = ${2}`)
      },
      { isolation: 'serializable', retry: 3 },
    )
    const balances = await db.query('SELECT owner, balance FROM account ORDER BY id')
    show('after a serializable transfer', balances.rows)

    try {
      await db.transaction(async (tx) => {
        await tx.query(sql`UPDATE account SET balance = balance + ${500} WHERE id = ${2}`)
        await tx.query(sql`UPDATE account SET balance = balance - ${500} WHERE id = ${1}`)
      })
    } catch (error) {
      const after = await db.query('SELECT sum(balance) AS total FROM account')
      show('an overdraft rolls back', `${(error as Error).constructor.name}; total still ${after.rows[0]?.total}`)
    }

    let deliver: (text: string) => void = () => {}
    const received = new Promise<string>((resolve) => {
      deliver = resolve
    })
    const subscription = await db.listen('account events', (n) => deliver(`${n.channel}: ${n.payload}`))
    await db.notify('account events', JSON.stringify({ id: 2, event: 'credited' }))
    show('LISTEN/NOTIFY round trip', await received)
    await subscription.unlisten()
    const health = await db.health()
    show('health', { status: health.status, inUse: db.stats().inUse, idle: db.stats().idle })
  } finally {
    await db.close()
  }
}

const Author = defineEntity(
  'Author',
  {
    id: uuid().primaryKey().generated('uuidv7'),
    email: varchar(320)
      .unique()
      .pattern(/^[^@\s]+@[^@\s]+$/),
    name: text().length({ min: 1, max: 100 }),
    version: integer().version(),
  },
  { schema: 'demo' },
)
const Article = defineEntity(
  'Article',
  {
    id: uuid().primaryKey().generated('uuidv7'),
    authorId: uuid().references(() => Author.fields.id, { onDelete: 'cascade' }),
    title: text().length({ min: 1, max: 200 }),
    publishedAt: timestamptz(),
  },
  { schema: 'demo' },
)

async function schemaSection(connectionString: string): Promise<void> {
  heading('@tessera/schema: two related entities, migrated, written and read')
  const db = createPgProvider({ connectionString, applicationName: 'tessera-demo-schema' })
  try {
    const migrator = createMigrator(db, {
      schema: 'demo',
      migrations: [{ id: 1, name: 'authors and articles', up: createSchemaSql([Author, Article]).join(';\n') }],
    })
    await migrator.up()
    const status = await migrator.status()
    show(
      'migrations applied',
      status.applied.map((m) => `${m.id} ${m.name}`),
    )
    show('diff against the definitions', `${(await diffSchema([Author, Article], db)).changes.length} changes`)

    const authors = repository(Author, db)
    const articles = repository(Article, db)
    const ada = await authors.insert({ email: 'ada@example.com', name: 'Ada' })
    show('inserted', { id: `${ada.id.slice(0, 8)}…`, email: ada.email, version: ada.version })
    await articles.insertMany(
      Array.from({ length: 7 }, (_, i) => ({
        authorId: ada.id,
        title: `Note ${i + 1}`,
        publishedAt: new Date(Date.UTC(2026, 0, 1 + (i % 3))),
      })),
    )
    let cursor: string | undefined
    let pageNumber = 0
    do {
      const page = await articles.findMany({ where: { authorId: ada.id }, orderBy: { publishedAt: 'asc' }, limit: 3, after: cursor })
      pageNumber++
      show(
        `page ${pageNumber} (keyset cursor)`,
        page.rows.map((a) => a.title),
      )
      cursor = page.nextCursor
    } while (cursor !== undefined)

    try {
      await authors.insert({ email: 'not an email', name: '' })
    } catch (error) {
      if (error instanceof ValidationError)
        show(
          'validation, nothing written',
          error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
        )
      else throw error
    }

    const [first, second] = await Promise.allSettled([
      authors.update(ada.id, { name: 'Ada Lovelace', version: ada.version }),
      authors.update(ada.id, { name: 'Countess of Lovelace', version: ada.version }),
    ])
    const loser = [first, second].find((r) => r.status === 'rejected')
    show(
      'two updates of version 1',
      `one wins (${[first, second].filter((r) => r.status === 'fulfilled').length}), one gets ${loser?.status === 'rejected' && loser.reason instanceof OptimisticLockError ? 'OptimisticLockError' : 'nothing'}`,
    )
    show('now', await authors.findById(ada.id).then((a) => ({ name: a?.name, version: a?.version })))
  } finally {
    await db.close()
  }
}

async function cacheSection(): Promise<void> {
  heading('@tessera/cache (L1 only here; add `l2: { redis }` for the shared Redis tier)')
  let databaseUp = true
  let databaseCalls = 0
  const loadProduct = async (id: number) => {
    databaseCalls++
    await new Promise((resolve) => setTimeout(resolve, 20))
    if (!databaseUp) throw new Error('database is down')
    return { id, name: `product ${id}`, loadedAt: new Date(), stock: 12n }
  }
  const cache = createCache({ namespace: 'demo', ttlMs: 50, graceMs: 60_000, jitter: 0 })

  const first = await cache.getOrSet('product:1', () => loadProduct(1))
  const again = await cache.getOrSet('product:1', () => loadProduct(1))
  show('a miss, then a hit', `${databaseCalls} database call; same value: ${first === again}`)

  databaseCalls = 0
  const burst = await Promise.all(Array.from({ length: 100 }, () => cache.getOrSet('product:2', () => loadProduct(2))))
  show('100 concurrent getOrSet, one key', `${burst.length} answers from ${databaseCalls} database call (single flight)`)

  await new Promise((resolve) => setTimeout(resolve, 80)) // product:1 is now past its TTL, inside its grace
  databaseUp = false
  const stale = await cache.getOrSet('product:1', () => loadProduct(1))
  show('TTL passed and the database is down', `stale value served: ${stale.name}, stock ${stale.stock}n`)
  const stats = cache.stats() as unknown as Record<string, unknown>
  show('stats', Object.fromEntries(Object.entries(stats).filter(([k]) => /hit|miss|stale|coalesc|factory/i.test(k))))
  await cache.close()
}

await coreSection()
namingSection()
converterSection()
await cacheSection()
const server = await startEmbeddedPostgres()
try {
  await providerPgSection(server.connectionString)
  await schemaSection(server.connectionString)
} finally {
  await server.stop()
}
console.log('\ndemo finished')
