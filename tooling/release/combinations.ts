import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * What a user installs together, and what the release test runs in a fresh npm project made of exactly that: one
 * entry per combination. `@tessera/*` packages come from the test's Verdaccio, everything else from npm's default
 * registry. Third-party versions are the ones the workspace tests against (its devDependencies), so the release test
 * installs what the other tests exercised.
 */
export interface Combination {
  /** A short key, also the name of the fresh project's folder. */
  key: string
  /** What the report calls it, e.g. `@tessera/provider-postgresjs + postgres 3`. */
  title: string
  /** The Tessera packages the user names in their package.json (the README's install line). */
  tessera: readonly string[]
  /** Third-party dependencies, name → range. A function, read when the combination is installed. */
  dependencies: () => Record<string, string>
  /** Type packages a TypeScript user adds (e.g. `@types/pg`), left out of the installed size. */
  typeDependencies?: (() => Record<string, string>) | undefined
  /** Installed package whose major version must be this one, e.g. `['postgres', 3]`. */
  expectMajor?: readonly [name: string, major: number] | undefined
  /** `smoke.mjs`: run with node, and type-checked (checkJs) under nodenext and bundler resolution. */
  esm?: string | undefined
  /** `smoke.cjs`: the same through require(). */
  cjs?: string | undefined
  /** Commands run with npx in the project, each with what its output must contain (and must exit 0). */
  bin?: readonly BinRun[] | undefined
  /** Servers the smoke scripts need beside PostgreSQL and Redis, started by the release test. */
  services?: readonly 'dynamodb'[] | undefined
}

/** One `npx` command of a combination. */
export interface BinRun {
  args: readonly string[]
  /** What the output must contain. */
  expect: readonly string[]
  /** Added to the environment of the command. */
  env?: Record<string, string> | undefined
}

const root = new URL('../..', import.meta.url).pathname

/** The range a workspace package's devDependencies give `dependency` (what its tests run against). */
function testedRange(packageName: string, dependency: string): string {
  const manifest = JSON.parse(readFileSync(join(root, 'packages', packageName, 'package.json'), 'utf8')) as {
    devDependencies?: Record<string, string>
  }
  const range = manifest.devDependencies?.[dependency]
  if (range === undefined) throw new Error(`packages/${packageName} has no devDependency ${dependency}`)
  // `postgres4: npm:postgres@^4.2.0` is how the workspace installs a second major beside the first.
  return range.replace(/^npm:[^@]+@/, '')
}

const defaultPgUrl = 'postgres://postgres@127.0.0.1:5432/test'
const connection = `const connectionString = process.env.TESSERA_PG_URL ?? '${defaultPgUrl}'`

// DynamoDB Local, started by the release test: its endpoint comes in TESSERA_DYNAMODB_URL. The client talks to
// 127.0.0.1 only, with dummy credentials and region (and AWS_EC2_METADATA_DISABLED in the environment).
const dynamoClient = `const endpoint = process.env.TESSERA_DYNAMODB_URL
if (endpoint === undefined || !endpoint.startsWith('http://127.0.0.1:')) {
  throw new Error(\`TESSERA_DYNAMODB_URL must name a DynamoDB Local on 127.0.0.1, got \${endpoint}\`)
}
const client = new DynamoDBClient({ endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } })`

const dynamoModel = `const Order = defineModel(
  'Order',
  { customer: field.string(), day: field.string(), total: field.number(), version: field.version() },
  { table, keys: { partition: { attribute: 'pk', template: 'CUST#\${customer}' }, sort: { attribute: 'sk', template: 'DAY#\${day}' } } },
)`

// Table, put, get, query and explain: what the README's example does, on a table of its own.
const dynamoRoundTrip = `const { changes } = await ensureTable(client, { name: table, partitionKey: { name: 'pk', type: 'S' }, sortKey: { name: 'sk', type: 'S' } })
if (changes[0]?.type !== 'create-table') throw new Error(\`ensureTable did not create \${table}: \${JSON.stringify(changes)}\`)
const orders = createDynamo({ client }).model(Order)
await orders.put({ customer: 'c1', day: '2026-12-01', total: 120 })
await orders.put({ customer: 'c1', day: '2026-12-02', total: 80 })
await orders.put({ customer: 'c2', day: '2026-12-01', total: 5 })
const read = await orders.get({ customer: 'c1', day: '2026-12-01' })
if (read?.total !== 120 || read.version !== 0) throw new Error(\`expected the order back at version 0, got \${JSON.stringify(read)}\`)
const december = await orders.query().where({ customer: 'c1', day: { beginsWith: '2026-12' } }).all()
const totals = december.map((order) => order.total).join(',')
if (totals !== '120,80') throw new Error(\`expected c1's two orders in key order, got \${JSON.stringify(december)}\`)
const plan = await orders.query().where({ customer: 'c1' }).limit(10).explain()
if (plan.operation !== 'Query' || plan.table !== table || !(plan.capacity.units > 0)) {
  throw new Error(\`unexpected explanation \${JSON.stringify(plan)}\`)
}`

// With @opentelemetry/api alone (no SDK): a tracer provider registered through the API's own global, recording the
// names of the spans instrument() starts. Spans handed back are the API's non-recording ones.
const observabilityTracer = `/** @type {string[]} */
const spans = []
/** @type {import('@opentelemetry/api').Tracer} */
const tracer = {
  startSpan(name) {
    spans.push(name)
    return trace.wrapSpanContext(INVALID_SPAN_CONTEXT)
  },
  startActiveSpan() {
    throw new Error('instrument() starts its spans with startSpan')
  },
}
if (!trace.setGlobalTracerProvider({ getTracer: () => tracer })) throw new Error('a tracer provider was already registered')`

const observabilityChecks = `const { rows } = await db.query('SELECT $1::int + 1 AS answer', [41])
if (rows[0]?.answer !== 42) throw new Error(\`expected answer 42, got \${JSON.stringify(rows)}\`)
if (!spans.includes('SELECT')) throw new Error(\`expected a SELECT span, got \${JSON.stringify(spans)}\`)
if (instrumentation.snapshot().queries.count < 1) throw new Error('the live snapshot counted no query')
await new Promise((resolve, reject) => {
  server.once('error', reject)
  server.listen(0, '127.0.0.1', () => resolve(undefined))
})
const address = server.address()
if (address === null || typeof address === 'string') throw new Error('the health server has no port')
/** @param {string} path */
const get = async (path) => {
  const response = await fetch(\`http://127.0.0.1:\${address.port}\${path}\`)
  const body = /** @type {{ status?: string, dependencies?: Record<string, { status: string }>, live?: { queries: { count: number } } }} */ (
    await response.json()
  )
  return { status: response.status, body, text: \`\${path}: \${response.status} \${JSON.stringify(body)}\` }
}
const health = await get('/health')
if (health.status !== 200 || health.body.status !== 'ok') throw new Error(health.text)
const ready = await get('/ready')
if (ready.status !== 200 || ready.body.dependencies?.smoke?.status !== 'up') throw new Error(ready.text)
const dashboard = await get('/dashboard.json')
if (dashboard.status !== 200 || !((dashboard.body.live?.queries.count ?? 0) >= 1)) throw new Error(dashboard.text)`

function postgresJsEsm(): string {
  return `import { sql } from '@tessera/core'
import { createPostgresJsProvider } from '@tessera/provider-postgresjs'

${connection}
const db = createPostgresJsProvider({ connectionString })
try {
  const { rows } = await db.query(sql\`SELECT \${41}::int + 1 AS answer\`)
  if (rows[0]?.answer !== 42) throw new Error(\`expected answer 42, got \${JSON.stringify(rows)}\`)
  const inTransaction = await db.transaction(async (tx) => (await tx.query('SELECT current_database() AS name')).rows[0]?.name)
  console.log(\`esm: \${db.driver} ok, database \${inTransaction}\`)
} finally {
  await db.close()
}
`
}

function postgresJsCjs(): string {
  return `const { sql } = require('@tessera/core')
const { createPostgresJsProvider } = require('@tessera/provider-postgresjs')

${connection}
async function main() {
  const db = createPostgresJsProvider({ connectionString })
  try {
    const { rows } = await db.query(sql\`SELECT \${41}::int + 1 AS answer\`)
    if (rows[0]?.answer !== 42) throw new Error(\`expected answer 42, got \${JSON.stringify(rows)}\`)
    console.log(\`cjs: \${db.driver} ok\`)
  } finally {
    await db.close()
  }
}
main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
`
}

export const combinations: readonly Combination[] = [
  {
    key: 'postgresjs-3',
    title: '@tessera/provider-postgresjs + postgres 3',
    tessera: ['@tessera/core', '@tessera/provider-postgresjs'],
    dependencies: () => ({ postgres: testedRange('provider-postgresjs', 'postgres') }),
    expectMajor: ['postgres', 3],
    esm: postgresJsEsm(),
    cjs: postgresJsCjs(),
  },
  {
    key: 'postgresjs-4',
    title: '@tessera/provider-postgresjs + postgres 4',
    tessera: ['@tessera/core', '@tessera/provider-postgresjs'],
    dependencies: () => ({ postgres: testedRange('provider-postgresjs', 'postgres4') }),
    expectMajor: ['postgres', 4],
    esm: postgresJsEsm(),
    cjs: postgresJsCjs(),
  },
  {
    key: 'pg',
    title: '@tessera/provider-pg + pg',
    tessera: ['@tessera/core', '@tessera/provider-pg'],
    dependencies: () => ({ pg: testedRange('provider-pg', 'pg') }),
    typeDependencies: () => ({ '@types/pg': testedRange('provider-pg', '@types/pg') }),
    expectMajor: ['pg', 8],
    esm: `import { sql } from '@tessera/core'
import { createPgProvider } from '@tessera/provider-pg'

${connection}
const db = createPgProvider({ connectionString })
try {
  const { rows } = await db.query(sql\`SELECT \${41}::int + 1 AS answer\`)
  if (rows[0]?.answer !== 42) throw new Error(\`expected answer 42, got \${JSON.stringify(rows)}\`)
  const inTransaction = await db.transaction(async (tx) => (await tx.query('SELECT current_database() AS name')).rows[0]?.name)
  console.log(\`esm: \${db.driver} ok, database \${inTransaction}\`)
} finally {
  await db.close()
}
`,
    cjs: `const { sql } = require('@tessera/core')
const { createPgProvider } = require('@tessera/provider-pg')

${connection}
async function main() {
  const db = createPgProvider({ connectionString })
  try {
    const { rows } = await db.query(sql\`SELECT \${41}::int + 1 AS answer\`)
    if (rows[0]?.answer !== 42) throw new Error(\`expected answer 42, got \${JSON.stringify(rows)}\`)
    console.log(\`cjs: \${db.driver} ok\`)
  } finally {
    await db.close()
  }
}
main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
`,
  },
  {
    key: 'cache',
    title: '@tessera/cache + ioredis',
    tessera: ['@tessera/core', '@tessera/cache'],
    dependencies: () => ({ ioredis: testedRange('cache', 'ioredis') }),
    expectMajor: ['ioredis', 5],
    // Two caches over one Redis: the second has an empty L1, so its hit proves the value went through Redis.
    esm: `import { createCache } from '@tessera/cache'
import { Redis } from 'ioredis'

const redis = new Redis(process.env.TESSERA_REDIS_URL ?? 'redis://127.0.0.1:6379')
const namespace = \`release_smoke_esm_\${process.pid}_\${Date.now()}\`
const writer = createCache({ namespace, l2: { redis, timeoutMs: 10_000 }, bus: false, ttlMs: 60_000 })
const reader = createCache({ namespace, l2: { redis, timeoutMs: 10_000 }, bus: false, ttlMs: 60_000 })
try {
  const written = await writer.getOrSet('answer', async () => 42)
  const read = await reader.getOrSet('answer', async () => {
    throw new Error('the second cache missed Redis')
  })
  if (written !== 42 || read !== 42) throw new Error(\`expected 42 twice, got \${written} and \${read}\`)
  await writer.delete('answer')
  console.log('esm: cache through Redis ok')
} finally {
  await writer.close()
  await reader.close()
  redis.disconnect()
}
`,
    cjs: `const { createCache } = require('@tessera/cache')
const { Redis } = require('ioredis')

async function main() {
  const redis = new Redis(process.env.TESSERA_REDIS_URL ?? 'redis://127.0.0.1:6379')
  const namespace = \`release_smoke_cjs_\${process.pid}_\${Date.now()}\`
  const writer = createCache({ namespace, l2: { redis, timeoutMs: 10_000 }, bus: false, ttlMs: 60_000 })
  const reader = createCache({ namespace, l2: { redis, timeoutMs: 10_000 }, bus: false, ttlMs: 60_000 })
  try {
    const written = await writer.getOrSet('answer', async () => 42)
    const read = await reader.getOrSet('answer', async () => {
      throw new Error('the second cache missed Redis')
    })
    if (written !== 42 || read !== 42) throw new Error(\`expected 42 twice, got \${written} and \${read}\`)
    await writer.delete('answer')
    console.log('cjs: cache through Redis ok')
  } finally {
    await writer.close()
    await reader.close()
    redis.disconnect()
  }
}
main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
`,
  },
  {
    key: 'schema',
    title: '@tessera/schema + @tessera/provider-pg + pg',
    tessera: ['@tessera/core', '@tessera/schema', '@tessera/provider-pg'],
    dependencies: () => ({ pg: testedRange('provider-pg', 'pg') }),
    typeDependencies: () => ({ '@types/pg': testedRange('provider-pg', '@types/pg') }),
    esm: `import { createPgProvider } from '@tessera/provider-pg'
import { createSchemaSql, defineEntity, repository, text, uuid } from '@tessera/schema'

${connection}
const schema = \`release_smoke_esm_\${process.pid}_\${Date.now()}\`
const Note = defineEntity('Note', { id: uuid().primaryKey().generated('uuidv7'), body: text() }, { schema })
const db = createPgProvider({ connectionString })
try {
  await db.query(\`CREATE SCHEMA "\${schema}"\`)
  for (const statement of createSchemaSql([Note])) await db.query(statement)
  const notes = repository(Note, db)
  const inserted = await notes.insert({ body: 'hello' })
  const found = await notes.findById(inserted.id)
  if (found?.body !== 'hello') throw new Error(\`expected the inserted note back, got \${JSON.stringify(found)}\`)
  console.log('esm: schema repository ok')
} finally {
  await db.query(\`DROP SCHEMA IF EXISTS "\${schema}" CASCADE\`)
  await db.close()
}
`,
    cjs: `const { createPgProvider } = require('@tessera/provider-pg')
const { createSchemaSql, defineEntity, repository, text, uuid } = require('@tessera/schema')

${connection}
async function main() {
  const schema = \`release_smoke_cjs_\${process.pid}_\${Date.now()}\`
  const Note = defineEntity('Note', { id: uuid().primaryKey().generated('uuidv7'), body: text() }, { schema })
  const db = createPgProvider({ connectionString })
  try {
    await db.query(\`CREATE SCHEMA "\${schema}"\`)
    for (const statement of createSchemaSql([Note])) await db.query(statement)
    const notes = repository(Note, db)
    const inserted = await notes.insert({ body: 'hello' })
    const found = await notes.findById(inserted.id)
    if (found?.body !== 'hello') throw new Error(\`expected the inserted note back, got \${JSON.stringify(found)}\`)
    console.log('cjs: schema repository ok')
  } finally {
    await db.query(\`DROP SCHEMA IF EXISTS "\${schema}" CASCADE\`)
    await db.close()
  }
}
main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
`,
  },
  {
    key: 'dynamo',
    title: '@tessera/dynamo + AWS SDK',
    tessera: ['@tessera/core', '@tessera/dynamo'],
    dependencies: () => ({
      '@aws-sdk/client-dynamodb': testedRange('dynamo', '@aws-sdk/client-dynamodb'),
      '@aws-sdk/util-dynamodb': testedRange('dynamo', '@aws-sdk/util-dynamodb'),
    }),
    services: ['dynamodb'],
    esm: `import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { createDynamo, defineModel, ensureTable, field } from '@tessera/dynamo'

${dynamoClient}
const table = \`release_smoke_esm_\${process.pid}_\${Date.now()}\`
${dynamoModel}
try {
  ${dynamoRoundTrip.replaceAll('\n', '\n  ')}
  console.log(\`esm: dynamo model round trip ok, \${plan.operation} on \${plan.table} at \${plan.capacity.units} \${plan.capacity.unit}\`)
} finally {
  await client.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined)
  client.destroy()
}
`,
    cjs: `const { DeleteTableCommand, DynamoDBClient } = require('@aws-sdk/client-dynamodb')
const { createDynamo, defineModel, ensureTable, field } = require('@tessera/dynamo')

${dynamoClient}
async function main() {
  const table = \`release_smoke_cjs_\${process.pid}_\${Date.now()}\`
  ${dynamoModel.replaceAll('\n', '\n  ')}
  try {
    ${dynamoRoundTrip.replaceAll('\n', '\n    ')}
    console.log(\`cjs: dynamo model round trip ok, \${plan.operation} on \${plan.table}\`)
  } finally {
    await client.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined)
  }
}
main()
  .catch((error) => {
    console.error(error)
    process.exitCode = 1
  })
  .finally(() => client.destroy())
`,
  },
  {
    key: 'observability',
    title: '@tessera/observability + @opentelemetry/api + @tessera/provider-pg + pg',
    tessera: ['@tessera/core', '@tessera/observability', '@tessera/provider-pg'],
    dependencies: () => ({
      '@opentelemetry/api': testedRange('observability', '@opentelemetry/api'),
      pg: testedRange('provider-pg', 'pg'),
    }),
    typeDependencies: () => ({ '@types/pg': testedRange('provider-pg', '@types/pg') }),
    esm: `import { createServer } from 'node:http'
import { INVALID_SPAN_CONTEXT, trace } from '@opentelemetry/api'
import { createHealthHandler, instrument } from '@tessera/observability'
import { createPgProvider } from '@tessera/provider-pg'

${connection}
${observabilityTracer}
const instrumentation = instrument({ slowQueryMs: 60_000 })
const db = createPgProvider({ connectionString, name: 'smoke', hooks: [instrumentation.hooks] })
const server = createServer(createHealthHandler({ providers: { smoke: db }, instrumentation }))
try {
  ${observabilityChecks.replaceAll('\n', '\n  ')}
  console.log(\`esm: observability ok, spans \${spans.join(', ')}\`)
} finally {
  server.close()
  await db.close()
  instrumentation.uninstrument()
}
`,
    cjs: `const { createServer } = require('node:http')
const { INVALID_SPAN_CONTEXT, trace } = require('@opentelemetry/api')
const { createHealthHandler, instrument } = require('@tessera/observability')
const { createPgProvider } = require('@tessera/provider-pg')

${connection}
${observabilityTracer}
async function main() {
  const instrumentation = instrument({ slowQueryMs: 60_000 })
  const db = createPgProvider({ connectionString, name: 'smoke', hooks: [instrumentation.hooks] })
  const server = createServer(createHealthHandler({ providers: { smoke: db }, instrumentation }))
  try {
    ${observabilityChecks.replaceAll('\n', '\n    ')}
    console.log(\`cjs: observability ok, spans \${spans.join(', ')}\`)
  } finally {
    server.close()
    await db.close()
    instrumentation.uninstrument()
  }
}
main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
`,
  },
  {
    key: 'cli',
    title: '@tessera/cli (npx tessera)',
    // The README's install line: the CLI peers on the user's schema and core.
    tessera: ['@tessera/core', '@tessera/schema', '@tessera/cli'],
    dependencies: () => ({}),
    bin: [
      // npm 11's npx takes --help (and --version) for itself even after the command name: \`--\` hands it to tessera.
      { args: ['--', 'tessera', '--help'], expect: ['tessera', 'migrate', 'generate', 'diff', 'explain', 'health'] },
      {
        args: ['tessera', 'health', '--json'],
        // Only the PostgreSQL: a Redis or DynamoDB named in the environment would need ioredis or the AWS SDK here.
        env: { TESSERA_PG_URL: process.env.TESSERA_PG_URL ?? defaultPgUrl, TESSERA_REDIS_URL: '', TESSERA_DYNAMO_ENDPOINT: '' },
        expect: ['"ok": true', '"kind": "postgres"', '"role": "primary"'],
      },
    ],
  },
]
