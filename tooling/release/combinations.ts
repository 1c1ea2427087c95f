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
  /** Third-party dependencies, name → range. A function, so a pending entry never reads a manifest that lacks them. */
  dependencies: () => Record<string, string>
  /** Type packages a TypeScript user adds (e.g. `@types/pg`), left out of the installed size. */
  typeDependencies?: (() => Record<string, string>) | undefined
  /** Installed package whose major version must be this one, e.g. `['postgres', 3]`. */
  expectMajor?: readonly [name: string, major: number] | undefined
  /** `smoke.mjs`: run with node, and type-checked (checkJs) under nodenext and bundler resolution. */
  esm?: string | undefined
  /** `smoke.cjs`: the same through require(). */
  cjs?: string | undefined
  /** A command run with npx in the project, and what its output must contain. */
  bin?: { args: readonly string[]; expect: readonly string[] } | undefined
}

/**
 * Combinations whose package is still an empty scaffold on this branch (it exports only the template's `hello`). Their
 * entries are written, but skipped while they are listed here: whoever merges the package's real code removes its key
 * (and makes the entry's smoke script call the real API).
 */
export const pending: ReadonlySet<string> = new Set(['dynamo', 'observability', 'cli'])

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

const connection = `const connectionString = process.env.TESSERA_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'`

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
    // Loads beside the SDK and exports its API. The merger replaces this with a model round trip on DynamoDB Local.
    esm: `import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import * as dynamo from '@tessera/dynamo'

const client = new DynamoDBClient({ region: 'local', endpoint: 'http://127.0.0.1:1' })
const names = Object.keys(dynamo)
if (names.length === 0 || names.includes('hello')) throw new Error(\`@tessera/dynamo exports \${names.join(', ')}\`)
client.destroy()
console.log(\`esm: dynamo exports \${names.length} names\`)
`,
    cjs: `const { DynamoDBClient } = require('@aws-sdk/client-dynamodb')
const dynamo = require('@tessera/dynamo')

const client = new DynamoDBClient({ region: 'local', endpoint: 'http://127.0.0.1:1' })
const names = Object.keys(dynamo)
if (names.length === 0 || names.includes('hello')) throw new Error(\`@tessera/dynamo exports \${names.join(', ')}\`)
client.destroy()
console.log(\`cjs: dynamo exports \${names.length} names\`)
`,
  },
  {
    key: 'observability',
    title: '@tessera/observability + @opentelemetry/api',
    tessera: ['@tessera/core', '@tessera/observability'],
    dependencies: () => ({ '@opentelemetry/api': testedRange('observability', '@opentelemetry/api') }),
    // Loads beside the API and exports its API. The merger replaces this with a span recorded from a real query.
    esm: `import { trace } from '@opentelemetry/api'
import * as observability from '@tessera/observability'

const names = Object.keys(observability)
if (names.length === 0 || names.includes('hello')) throw new Error(\`@tessera/observability exports \${names.join(', ')}\`)
trace.getTracer('release-smoke')
console.log(\`esm: observability exports \${names.length} names\`)
`,
    cjs: `const { trace } = require('@opentelemetry/api')
const observability = require('@tessera/observability')

const names = Object.keys(observability)
if (names.length === 0 || names.includes('hello')) throw new Error(\`@tessera/observability exports \${names.join(', ')}\`)
trace.getTracer('release-smoke')
console.log(\`cjs: observability exports \${names.length} names\`)
`,
  },
  {
    key: 'cli',
    title: '@tessera/cli (npx tessera --help)',
    tessera: ['@tessera/core', '@tessera/cli'],
    dependencies: () => ({}),
    bin: { args: ['tessera', '--help'], expect: ['tessera', 'migrate', 'generate', 'health'] },
  },
]
