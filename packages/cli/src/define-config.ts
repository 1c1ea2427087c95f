/**
 * A PostgreSQL database the CLI connects to. A string is the connection string alone.
 */
export interface PostgresConfig {
  /** Connection string: `postgres://user:password@host:5432/db`. Required. */
  url: string
  /** The schema `diff` compares entities without a schema in, and `generate pg` reads. Default: `'public'`. */
  schema?: string | undefined
}

/** Where the migrations live and how they are recorded. A string is the folder alone. */
export interface MigrationsConfig {
  /** The folder of migration files, relative to the config file. Default: `'migrations'`. */
  directory?: string | undefined
  /** The table that records applied migrations. Default: `'tessera_migrations'`. */
  table?: string | undefined
  /** The schema of that table; migrations run with `search_path` set to it. Default: none (the connection's). */
  schema?: string | undefined
  /** `'each'` (one transaction per migration) or `'all'` (one for the whole run). Default: `'each'`. */
  transaction?: 'each' | 'all' | undefined
}

/** The DynamoDB client settings (`@aws-sdk/client-dynamodb`'s `DynamoDBClientConfig`, the parts a CLI needs). */
export interface DynamoConfig {
  /** Endpoint URL, e.g. DynamoDB Local's `http://127.0.0.1:8000`. Default: the AWS endpoint of `region`. */
  endpoint?: string | undefined
  /** AWS region. Default: the SDK's (`AWS_REGION`), else `'us-east-1'`. */
  region?: string | undefined
  /** Static credentials. Default: the SDK's credential chain (`AWS_ACCESS_KEY_ID`…). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string | undefined } | undefined
}

/**
 * What `tessera.config.ts` (or `.mts`, `.js`, `.mjs`, `.cjs`, `.json`) exports, as its default export. Every field is
 * optional and can also come from an environment variable (see the README), which wins over the file.
 *
 * @example
 * export default defineConfig({ postgres: process.env.DATABASE_URL, entities: './src/entities.ts', migrations: 'db/migrations' })
 */
export interface TesseraConfig {
  /**
   * The PostgreSQL database that `migrate`, `diff` and `generate pg` use. `health` checks it. Default: none
   * (`TESSERA_PG_URL`).
   */
  postgres?: string | PostgresConfig | undefined
  /**
   * More PostgreSQL databases, by name, that `health` checks too (replicas, shards) and `--database <name>`
   * selects. Default: none (`TESSERA_PG_URL_<NAME>`).
   */
  databases?: Readonly<Record<string, string | PostgresConfig>> | undefined
  /** Redis servers `health` checks: one URL or URLs by name. Default: none (`TESSERA_REDIS_URL`, `TESSERA_REDIS_URL_<NAME>`). */
  redis?: string | Readonly<Record<string, string>> | undefined
  /** The DynamoDB client settings `health` and the DynamoDB commands use. Default: none (`TESSERA_DYNAMO_ENDPOINT`, `TESSERA_DYNAMO_REGION`). */
  dynamo?: DynamoConfig | undefined
  /**
   * The entities `diff` compares with the database: the entities themselves (an array, or an object such as a
   * module namespace, whose entity values are taken), or the path of a module (relative to the config file) whose
   * exported entities are taken, or several paths. Default: none (`TESSERA_ENTITIES`, paths separated by commas).
   */
  entities?: string | readonly string[] | readonly unknown[] | Readonly<Record<string, unknown>> | undefined
  /** The migrations folder, or its settings. Default: `'migrations'` next to the config file (`TESSERA_MIGRATIONS_DIR`). */
  migrations?: string | MigrationsConfig | undefined
}

/**
 * Returns `config` unchanged: it only gives a config file its types.
 *
 * @example
 * import { defineConfig } from '@tessera/cli'
 * export default defineConfig({ postgres: 'postgres://postgres@127.0.0.1:5432/app', migrations: 'db/migrations' })
 */
export function defineConfig(config: TesseraConfig): TesseraConfig {
  return config
}
