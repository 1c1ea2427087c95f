import {
  type BatchQuery,
  ConfigError,
  createProvider,
  describeValue,
  isConnectionLoss,
  type Provider,
  type ProviderOptions,
  quoteIdentifier,
  type RetryPolicy,
} from '@tessera/core'
import { type Bulkhead, type BulkheadOptions, createBulkhead } from './tenant-bulkhead'
import { createTenantDatabases, type TenantDatabases, type TenantDatabasesStats } from './tenant-databases'
import { TenancyClosedError, UnknownTenantError } from './tenant-errors'
import { DEFAULT_TENANT_ID_MAX_LENGTH, validateTenantId } from './tenant-id'
import { createTenantScope, type TenantScope } from './tenant-scope'

/** How tenants are kept apart. */
export type TenancyStrategy = 'schema' | 'rls' | 'database'

/** Options of the `database` strategy: one provider per tenant database. */
export interface TenantDatabaseOptions {
  /**
   * A connection string with `{tenant}` where the database name goes, e.g. `postgres://app@db:5432/{tenant}`. The
   * provider is made with core's `createProvider` for `driver`. Give this or `open`.
   */
  connectionString?: string | undefined
  /** The driver of the tenant providers. Default: the driver of the provider given to `tenancy`. */
  driver?: string | undefined
  /** More provider options for every tenant provider (hooks, logger…); `pool.max` is set to `connectionsPerTenant`. */
  providerOptions?: Omit<ProviderOptions, 'connectionString'> | undefined
  /** The database name of a tenant. Default: the tenant id itself. */
  databaseName?: ((tenantId: string) => string) | undefined
  /**
   * Opens a tenant's provider yourself (another host per tenant, secrets from a vault…). Its pool should hold at most
   * `connectionsPerTenant` connections: that is what the budget counts. Wins over `connectionString`.
   */
  open?: ((tenantId: string) => Provider | Promise<Provider>) | undefined
  /** Connections all tenant providers may hold together. Default: `100`. */
  maxConnections?: number | undefined
  /** Connections each tenant provider may hold. Default: `5`. */
  connectionsPerTenant?: number | undefined
  /** A tenant provider unused this long is closed. Default: `60000`. */
  idleTimeoutMs?: number | undefined
  /** How long a call waits for room in the connection budget before `TimeoutError`. Default: `30000`. */
  acquireTimeoutMs?: number | undefined
}

/** Options of {@link tenancy}. */
export interface TenancyOptions {
  /** `schema`: a schema per tenant; `rls`: one set of tables with row-level security; `database`: a database per tenant. */
  strategy: TenancyStrategy
  /** The schema of a tenant (`schema` strategy). Default: the tenant id itself. */
  schemaName?: ((tenantId: string) => string) | undefined
  /**
   * Schemas searched after the tenant's (`schema` strategy), e.g. `['public']` for shared functions. Default: none, so a
   * table missing from the tenant's schema is an error rather than a read of a shared table.
   */
  sharedSchemas?: readonly string[] | undefined
  /** The setting that carries the tenant id (`rls` strategy), read by policies with `current_setting(…)`. Default: `'app.tenant_id'`. */
  setting?: string | undefined
  /** Tenant ids must match it. Default: letters, digits, `_` and `-`, not starting with `-`. */
  idPattern?: RegExp | undefined
  /** Longest tenant id, in bytes. Default: `63`. */
  maxIdLength?: number | undefined
  /** Only these tenants are accepted (checked in `forTenant`). Default: any valid id. */
  allow?: Iterable<string> | undefined
  /**
   * Says whether a tenant exists, before its first statement of every call (cache inside it if it is costly); `false`
   * or a rejection fails the call with `UnknownTenantError` before any SQL runs. Default: none.
   */
  resolve?: ((tenantId: string, signal: AbortSignal | undefined) => boolean | Promise<boolean>) | undefined
  /**
   * Retries a tenant read (`schema`/`rls`) whose connection was lost: the batch that carries it is one transaction, so
   * nothing was applied. Writes are never retried. `false`: never. Default: 3 attempts with backoff, as providers do.
   */
  retry?: RetryPolicy | false | undefined
  /** Per-tenant concurrency limit (a bulkhead), so one tenant cannot take the whole pool. */
  perTenant?: BulkheadOptions | undefined
  /** The `database` strategy's settings. Required for it. */
  database?: TenantDatabaseOptions | undefined
}

/** Counters of a tenancy. */
export interface TenancyStats {
  /** Tenants with an operation running or queued now. */
  activeTenants: number
  running: number
  queued: number
  /** The `database` strategy's provider pool. */
  databases?: TenantDatabasesStats | undefined
}

/** Tenants over one provider (or a cluster): `forTenant(id)` gives a scope that runs every statement for that tenant. */
export interface Tenancy {
  readonly strategy: TenancyStrategy
  /** The scope of one tenant. Throws `InvalidTenantIdError` / `UnknownTenantError` at once for a bad id. */
  forTenant(tenantId: string): TenantScope
  stats(): TenancyStats
  /**
   * Refuses new calls (`TenancyClosedError`), fails queued ones, and waits up to `timeoutMs` (default 10 s) for running
   * ones. With the `database` strategy it closes every tenant provider; the provider given to `tenancy` stays open.
   */
  close(options?: { timeoutMs?: number | undefined }): Promise<void>
}

const STRATEGIES = new Set<unknown>(['schema', 'rls', 'database'])
const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_$]*\.[A-Za-z_][A-Za-z0-9_$]*$/

/**
 * Tenancy over any provider: a plain provider of either driver, or a cluster.
 *
 * @example
 * const tenants = tenancy(db, { strategy: 'schema' })
 * await tenants.forTenant('acme').query('SELECT * FROM invoices') // acme.invoices
 */
export function tenancy(provider: Provider, options: TenancyOptions): Tenancy {
  validateOptions(provider, options)
  const idRules = { pattern: options.idPattern, maxLength: options.maxIdLength ?? DEFAULT_TENANT_ID_MAX_LENGTH }
  const allowed = options.allow === undefined ? undefined : new Set(options.allow)
  const settingFor = settingStatement(options)
  const databases = options.strategy === 'database' ? openDatabases(provider, options.database!) : undefined
  const bulkheads = new Map<string, Bulkhead>()
  const running = new Set<Promise<unknown>>()
  let closed = false

  const bulkheadOf = (tenantId: string): Bulkhead => {
    let bulkhead = bulkheads.get(tenantId)
    if (bulkhead === undefined) {
      bulkhead = createBulkhead(tenantId, options.perTenant)
      bulkheads.set(tenantId, bulkhead)
    }
    return bulkhead
  }

  const admit = async (tenantId: string, signal: AbortSignal | undefined): Promise<void> => {
    if (closed) throw new TenancyClosedError(`a call for tenant ${JSON.stringify(tenantId)}`)
    if (options.resolve === undefined) return
    let known: boolean
    try {
      known = await options.resolve(tenantId, signal)
    } catch (cause) {
      throw new UnknownTenantError(tenantId, { cause })
    }
    if (known !== true) throw new UnknownTenantError(tenantId)
  }

  const runFor = <T>(tenantId: string, signal: AbortSignal | undefined, fn: (target: Provider) => Promise<T>): Promise<T> => {
    const work = (async () => {
      await admit(tenantId, signal)
      // The resolver may have taken a while: close() could have run meanwhile.
      if (closed) throw new TenancyClosedError(`a call for tenant ${JSON.stringify(tenantId)}`)
      const bulkhead = bulkheadOf(tenantId)
      try {
        return await bulkhead.run(() => (databases === undefined ? fn(provider) : onDatabase(databases, tenantId, signal, fn)), signal)
      } finally {
        if (bulkhead.running === 0 && bulkhead.queued === 0 && bulkheads.get(tenantId) === bulkhead) bulkheads.delete(tenantId)
      }
    })()
    running.add(work)
    const forget = () => running.delete(work)
    work.then(forget, forget)
    return work
  }

  return {
    strategy: options.strategy,
    forTenant(tenantId) {
      const id = validateTenantId(tenantId, idRules)
      if (allowed !== undefined && !allowed.has(id)) throw new UnknownTenantError(id)
      if (closed) throw new TenancyClosedError(`forTenant(${JSON.stringify(id)})`)
      return createTenantScope({
        tenantId: id,
        run: (signal, fn) => runFor(id, signal, fn),
        setting: settingFor === undefined ? undefined : (local) => settingFor(id, local),
        maxParameters: provider.maxParameters,
        retry: options.retry ?? {},
      })
    },
    stats() {
      let runningCount = 0
      let queued = 0
      for (const bulkhead of bulkheads.values()) {
        runningCount += bulkhead.running
        queued += bulkhead.queued
      }
      return { activeTenants: bulkheads.size, running: runningCount, queued, databases: databases?.stats() }
    },
    async close(closeOptions = {}) {
      if (closed) return
      closed = true
      for (const bulkhead of bulkheads.values()) bulkhead.close()
      const timeoutMs = closeOptions.timeoutMs ?? 10_000
      let timer: NodeJS.Timeout | undefined
      const timedOut = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs)
        timer.unref()
      })
      await Promise.race([Promise.allSettled([...running]), timedOut])
      clearTimeout(timer)
      await databases?.close({ timeoutMs })
    },
  }
}

/** Runs on the tenant's own provider; a lost or refused connection discards it, so the next call opens a fresh one. */
async function onDatabase<T>(
  databases: TenantDatabases,
  tenantId: string,
  signal: AbortSignal | undefined,
  fn: (target: Provider) => Promise<T>,
): Promise<T> {
  try {
    return await databases.use(tenantId, signal, fn)
  } catch (error) {
    if (isConnectionLoss(error) || isMissingDatabase(error)) await databases.discard(tenantId)
    throw error
  }
}

function isMissingDatabase(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '3D000'
}

function settingStatement(options: TenancyOptions): ((tenantId: string, local: boolean) => BatchQuery) | undefined {
  if (options.strategy === 'schema') {
    const schemaName = options.schemaName ?? ((tenantId: string) => tenantId)
    const shared = (options.sharedSchemas ?? []).map((schema) => quoteIdentifier(schema))
    return (tenantId, local) => {
      const path = [quoteIdentifier(checkedSchemaName(schemaName(tenantId), tenantId)), ...shared].join(', ')
      return { sql: `SELECT set_config('search_path', $1, ${local})`, params: [path] }
    }
  }
  if (options.strategy === 'rls') {
    const setting = options.setting ?? 'app.tenant_id'
    return (tenantId, local) => ({ sql: `SELECT set_config($1, $2, ${local})`, params: [setting, tenantId] })
  }
  return undefined
}

function checkedSchemaName(schema: unknown, tenantId: string): string {
  if (typeof schema !== 'string' || schema === '' || Buffer.byteLength(schema) > 63) {
    throw new ConfigError(
      `schemaName(${JSON.stringify(tenantId)}) returned ${describeValue(schema)}; expected a schema name of 1 to 63 bytes`,
      {
        subject: 'tenancy options',
      },
    )
  }
  return schema
}

function openDatabases(provider: Provider, database: TenantDatabaseOptions): TenantDatabases {
  const perTenant = database.connectionsPerTenant ?? 5
  const databaseName = database.databaseName ?? ((tenantId: string) => tenantId)
  const open =
    database.open ??
    ((tenantId: string) =>
      createProvider({
        ...database.providerOptions,
        driver: database.driver ?? provider.driver,
        connectionString: database.connectionString!.replaceAll('{tenant}', encodeURIComponent(databaseName(tenantId))),
        pool: { ...database.providerOptions?.pool, max: perTenant },
      } as Parameters<typeof createProvider>[0]))
  return createTenantDatabases({
    open,
    maxConnections: database.maxConnections,
    connectionsPerTenant: perTenant,
    idleTimeoutMs: database.idleTimeoutMs,
    acquireTimeoutMs: database.acquireTimeoutMs,
  })
}

function validateOptions(provider: Provider, options: TenancyOptions): void {
  const problems: string[] = []
  if (typeof provider !== 'object' || provider === null || typeof provider.query !== 'function') {
    problems.push(`provider is ${describeValue(provider)}; expected a Provider (createPgProvider, createPostgresJsProvider, a cluster…)`)
  }
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError([...problems, `options are ${describeValue(options)}; expected { strategy, … }`], { subject: 'tenancy options' })
  }
  if (!STRATEGIES.has(options.strategy))
    problems.push(`strategy is ${describeValue(options.strategy)}; accepted: 'schema', 'rls', 'database'`)
  if (options.setting !== undefined && (typeof options.setting !== 'string' || !SETTING_NAME.test(options.setting))) {
    problems.push(`setting is ${describeValue(options.setting)}; expected a custom setting name with a dot, such as 'app.tenant_id'`)
  }
  if (options.maxIdLength !== undefined && !(Number.isInteger(options.maxIdLength) && options.maxIdLength >= 1)) {
    problems.push(`maxIdLength is ${describeValue(options.maxIdLength)}; expected an integer ≥ 1`)
  }
  if (options.retry !== undefined && options.retry !== false && (typeof options.retry !== 'object' || options.retry === null)) {
    problems.push(`retry is ${describeValue(options.retry)}; expected a retry policy object or false`)
  }
  const limits = options.perTenant ?? {}
  for (const key of ['maxConcurrent', 'maxQueue', 'queueTimeoutMs'] as const) {
    const value = limits[key]
    if (value !== undefined && !(Number.isInteger(value) && value >= (key === 'maxQueue' ? 0 : 1))) {
      problems.push(`perTenant.${key} is ${describeValue(value)}; expected an integer ≥ ${key === 'maxQueue' ? 0 : 1}`)
    }
  }
  if (options.strategy === 'database') {
    const database = options.database
    if (database === undefined) problems.push(`strategy 'database' needs database: { connectionString } or database: { open }`)
    else {
      if (
        database.open === undefined &&
        (typeof database.connectionString !== 'string' || !database.connectionString.includes('{tenant}'))
      ) {
        problems.push(
          `database.connectionString is ${describeValue(database.connectionString)}; expected a connection string with {tenant} where the database name goes, or give database.open`,
        )
      }
      for (const key of ['maxConnections', 'connectionsPerTenant', 'idleTimeoutMs', 'acquireTimeoutMs'] as const) {
        const value = database[key]
        if (value !== undefined && !(Number.isInteger(value) && value >= 1))
          problems.push(`database.${key} is ${describeValue(value)}; expected an integer ≥ 1`)
      }
      const per = database.connectionsPerTenant ?? 5
      const max = database.maxConnections ?? 100
      if (per > max) problems.push(`database.connectionsPerTenant (${per}) is above database.maxConnections (${max})`)
    }
  }
  if (problems.length > 0) throw new ConfigError(problems, { subject: 'tenancy options' })
}
