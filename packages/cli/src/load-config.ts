import { existsSync, readFileSync, statSync } from 'node:fs'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { createJiti, type Jiti } from 'jiti'
import { usageError } from './cli-error'
import type { DynamoConfig, TesseraConfig } from './define-config'

/** Config file names searched in each folder from the current one upwards, in this order. */
export const CONFIG_FILE_NAMES = [
  'tessera.config.ts',
  'tessera.config.mts',
  'tessera.config.cts',
  'tessera.config.js',
  'tessera.config.mjs',
  'tessera.config.cjs',
  'tessera.config.json',
] as const

/** A PostgreSQL database, resolved. */
export interface ResolvedDatabase {
  name: string
  url: string
  schema: string
}

/** The configuration after the file, the environment and the flags are merged and checked. */
export interface ResolvedConfig {
  /** The config file read, or undefined when none was found. */
  file: string | undefined
  /** Relative paths of the config resolve from here: the config file's folder, else the current folder. */
  baseDir: string
  /** PostgreSQL databases by name; the one from `postgres` / `TESSERA_PG_URL` is `'default'`. */
  databases: Map<string, ResolvedDatabase>
  /** Redis URLs by name (`'default'` for a single one). */
  redis: Map<string, string>
  dynamo: DynamoConfig | undefined
  /** The raw `entities` setting (paths resolved against `baseDir`). */
  entities: TesseraConfig['entities']
  migrations: { directory: string; table: string; schema: string | undefined; transaction: 'each' | 'all' }
  /** Loads modules (TypeScript too) the way the config file was loaded. */
  loader: Jiti
}

type Env = Readonly<Record<string, string | undefined>>

/** Finds the config file: `explicit` (the `--config` flag or `TESSERA_CONFIG`), else the first of {@link CONFIG_FILE_NAMES} from `cwd` upwards. */
export function findConfigFile(cwd: string, explicit: string | undefined): string | undefined {
  if (explicit !== undefined) {
    const file = resolve(cwd, explicit)
    if (!existsSync(file) || !statSync(file).isFile())
      throw usageError(`config file ${file} does not exist (given by --config or TESSERA_CONFIG)`)
    return file
  }
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    for (const name of CONFIG_FILE_NAMES) {
      const file = join(dir, name)
      if (existsSync(file)) return file
    }
    if (dirname(dir) === dir) return undefined
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (Array.isArray(value)) return 'an array'
  return value === null ? 'null' : typeof value
}

async function readConfigFile(file: string, loader: Jiti): Promise<TesseraConfig> {
  let loaded: unknown
  try {
    if (file.endsWith('.json')) loaded = JSON.parse(readFileSync(file, 'utf8'))
    else loaded = await loader.import(pathToFileURL(file).href, { default: true })
  } catch (error) {
    throw usageError(`cannot load config file ${file}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`, error)
  }
  if (typeof loaded !== 'object' || loaded === null || Array.isArray(loaded)) {
    throw usageError(`config file ${file} must export an object (export default defineConfig({ … })), got ${describe(loaded)}`)
  }
  return loaded as TesseraConfig
}

/** `TESSERA_PG_URL_REPLICA=…` → `['replica', '…']` for every variable with that prefix. */
function suffixed(env: Env, prefix: string): [string, string][] {
  const found: [string, string][] = []
  for (const [key, value] of Object.entries(env)) {
    if (key.startsWith(`${prefix}_`) && value !== undefined && value !== '') found.push([key.slice(prefix.length + 1).toLowerCase(), value])
  }
  return found.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}

function isUrl(value: unknown, protocols: readonly string[]): value is string {
  if (typeof value !== 'string') return false
  try {
    return protocols.includes(new URL(value).protocol)
  } catch {
    return false
  }
}

const PG_PROTOCOLS = ['postgres:', 'postgresql:']
const REDIS_PROTOCOLS = ['redis:', 'rediss:']

function database(name: string, value: unknown, fallbackSchema: string, problems: string[]): ResolvedDatabase | undefined {
  const where = name === 'default' ? 'postgres' : `databases.${name}`
  const spec = typeof value === 'string' ? { url: value } : value
  if (typeof spec !== 'object' || spec === null) {
    problems.push(`${where} must be a connection string or { url, schema? }, got ${describe(value)}`)
    return undefined
  }
  const { url, schema } = spec as { url?: unknown; schema?: unknown }
  if (!isUrl(url, PG_PROTOCOLS)) {
    problems.push(`${where} must be a postgres:// or postgresql:// connection string, got ${describe(url)}`)
    return undefined
  }
  if (schema !== undefined && (typeof schema !== 'string' || schema === '')) {
    problems.push(`${where}.schema must be a non-empty string, got ${describe(schema)}`)
    return undefined
  }
  return { name, url, schema: (schema as string | undefined) ?? fallbackSchema }
}

/**
 * Reads the config file (if any) and merges it with the environment, which wins: `TESSERA_PG_URL`,
 * `TESSERA_PG_SCHEMA`, `TESSERA_PG_URL_<NAME>`, `TESSERA_REDIS_URL`, `TESSERA_REDIS_URL_<NAME>`,
 * `TESSERA_DYNAMO_ENDPOINT`, `TESSERA_DYNAMO_REGION`, `TESSERA_ENTITIES`, `TESSERA_MIGRATIONS_DIR`,
 * `TESSERA_MIGRATIONS_TABLE`, `TESSERA_MIGRATIONS_SCHEMA`. Every problem is reported at once, before any I/O.
 */
export async function loadConfig(options: { cwd: string; configPath?: string | undefined; env: Env }): Promise<ResolvedConfig> {
  const { cwd, env } = options
  const file = findConfigFile(cwd, options.configPath ?? (env.TESSERA_CONFIG || undefined))
  const baseDir = file === undefined ? resolve(cwd) : dirname(file)
  const loader = createJiti(pathToFileURL(join(baseDir, 'tessera-config-loader.js')).href, { moduleCache: true, fsCache: false })
  const config = file === undefined ? {} : await readConfigFile(file, loader)
  const problems: string[] = []

  const known = new Set(['postgres', 'databases', 'redis', 'dynamo', 'entities', 'migrations'])
  for (const key of Object.keys(config)) {
    if (!known.has(key)) problems.push(`unknown setting ${JSON.stringify(key)}; accepted: ${[...known].join(', ')}`)
  }

  const pgSchema = env.TESSERA_PG_SCHEMA || undefined
  const databases = new Map<string, ResolvedDatabase>()
  let main: unknown = config.postgres
  if (env.TESSERA_PG_URL) {
    main = typeof main === 'object' && main !== null ? { ...main, url: env.TESSERA_PG_URL } : env.TESSERA_PG_URL
  }
  if (main !== undefined) {
    const db = database('default', main, 'public', problems)
    if (db !== undefined) databases.set('default', pgSchema === undefined ? db : { ...db, schema: pgSchema })
  }
  const named: Record<string, unknown> = { ...(config.databases ?? {}) }
  if (typeof config.databases !== 'undefined' && (typeof config.databases !== 'object' || config.databases === null)) {
    problems.push(`databases must be an object of connection strings by name, got ${describe(config.databases)}`)
  }
  for (const [name, url] of suffixed(env, 'TESSERA_PG_URL')) named[name] = url
  for (const [name, value] of Object.entries(named)) {
    if (name === 'default') {
      problems.push('databases.default: the name "default" is the `postgres` setting; choose another name')
      continue
    }
    const db = database(name, value, 'public', problems)
    if (db !== undefined) databases.set(name, db)
  }

  const redis = new Map<string, string>()
  const redisEntries: [string, unknown][] =
    typeof config.redis === 'string'
      ? [['default', config.redis]]
      : typeof config.redis === 'object' && config.redis !== null
        ? Object.entries(config.redis)
        : []
  if (config.redis !== undefined && redisEntries.length === 0 && typeof config.redis !== 'object') {
    problems.push(`redis must be a redis:// URL or an object of URLs by name, got ${describe(config.redis)}`)
  }
  if (env.TESSERA_REDIS_URL) redisEntries.push(['default', env.TESSERA_REDIS_URL])
  redisEntries.push(...suffixed(env, 'TESSERA_REDIS_URL'))
  for (const [name, url] of redisEntries) {
    if (!isUrl(url, REDIS_PROTOCOLS)) problems.push(`redis ${name} must be a redis:// or rediss:// URL, got ${describe(url)}`)
    else redis.set(name, url)
  }

  let dynamo: DynamoConfig | undefined
  if (config.dynamo !== undefined && (typeof config.dynamo !== 'object' || config.dynamo === null)) {
    problems.push(`dynamo must be an object { endpoint?, region?, credentials? }, got ${describe(config.dynamo)}`)
  } else {
    const endpoint = env.TESSERA_DYNAMO_ENDPOINT || config.dynamo?.endpoint
    const region = env.TESSERA_DYNAMO_REGION || config.dynamo?.region
    if (endpoint !== undefined && !isUrl(endpoint, ['http:', 'https:'])) {
      problems.push(`dynamo.endpoint must be an http:// or https:// URL, got ${describe(endpoint)}`)
    }
    if (config.dynamo !== undefined || endpoint !== undefined || region !== undefined) {
      dynamo = { ...config.dynamo, endpoint, region }
    }
  }

  let entities: TesseraConfig['entities'] = config.entities
  if (env.TESSERA_ENTITIES) entities = env.TESSERA_ENTITIES.split(',').map((path) => path.trim())
  if (typeof entities === 'string') entities = resolve(baseDir, entities)
  else if (Array.isArray(entities) && entities.every((entry) => typeof entry === 'string')) {
    entities = (entities as string[]).map((path) => resolve(baseDir, path))
  }

  const migrationsSpec = typeof config.migrations === 'string' ? { directory: config.migrations } : (config.migrations ?? {})
  if (typeof migrationsSpec !== 'object' || migrationsSpec === null) {
    problems.push(`migrations must be a folder or { directory, table, schema, transaction }, got ${describe(config.migrations)}`)
  }
  const directory = env.TESSERA_MIGRATIONS_DIR || migrationsSpec.directory || 'migrations'
  const table = env.TESSERA_MIGRATIONS_TABLE || migrationsSpec.table || 'tessera_migrations'
  const migrationSchema = env.TESSERA_MIGRATIONS_SCHEMA || migrationsSpec.schema || undefined
  const transaction = migrationsSpec.transaction ?? 'each'
  if (transaction !== 'each' && transaction !== 'all') {
    problems.push(`migrations.transaction must be 'each' or 'all', got ${describe(transaction)}`)
  }
  if (typeof directory !== 'string') problems.push(`migrations.directory must be a path, got ${describe(directory)}`)

  if (problems.length > 0) {
    throw usageError(`${file === undefined ? 'configuration' : `config ${file}`}: ${problems.join('; ')}`)
  }
  return {
    file,
    baseDir,
    databases,
    redis,
    dynamo,
    entities,
    migrations: {
      directory: isAbsolute(directory) ? directory : resolve(baseDir, directory),
      table,
      schema: migrationSchema,
      transaction,
    },
    loader,
  }
}

/** The database a command works on: `--database <name>`, else `'default'`, else the only one configured. */
export function selectDatabase(config: ResolvedConfig, name: string | undefined, url: string | undefined): ResolvedDatabase {
  if (url !== undefined) {
    if (!isUrl(url, PG_PROTOCOLS)) throw usageError(`--url must be a postgres:// or postgresql:// connection string, got ${describe(url)}`)
    return { name: 'url', url, schema: config.databases.get(name ?? 'default')?.schema ?? 'public' }
  }
  if (name !== undefined) {
    const found = config.databases.get(name)
    if (found === undefined) {
      const names = [...config.databases.keys()]
      throw usageError(`no database named ${JSON.stringify(name)}; configured: ${names.length === 0 ? 'none' : names.join(', ')}`)
    }
    return found
  }
  const fallback = config.databases.get('default') ?? (config.databases.size === 1 ? [...config.databases.values()][0] : undefined)
  if (fallback === undefined) {
    throw usageError(
      config.databases.size === 0
        ? 'no PostgreSQL database configured: set TESSERA_PG_URL, `postgres` in tessera.config.ts, or pass --url'
        : `several databases are configured (${[...config.databases.keys()].join(', ')}): choose one with --database <name>`,
    )
  }
  return fallback
}
