import { tracingChannel } from 'node:diagnostics_channel'
import { pgTypesFor, serializeParams, TYPE_LOOKUP_SQL, type TypeLookupRow } from '@tessera/converter'
import {
  CHANNELS,
  type ConnectionInfo,
  type ConnectMessage,
  type ErrorContext,
  type HookOperation,
  isTesseraError,
  mapPgError,
  ProviderClosedError,
  type ProviderEngine,
  type QueryContext,
  type QueryMessage,
  type QueryOperation,
  type QueryOptions,
  type QueryResult,
  runQuery,
  type SqlInput,
  type Statement,
  type TesseraError,
  toQueryConfig,
  traced,
  traceStatement,
} from '@tessera/core'
import { createPool, type Pool } from '@tessera/pool'
import type { ResolvedPgOptions } from './options'
import type { PgClientConfig } from './pg-client'
import { PgConnection } from './pg-connection'
import { toQueryResult } from './to-query-result'

const EMPTY_PARAMS: readonly unknown[] = Object.freeze([])
const EMPTY_OPTIONS: QueryOptions = Object.freeze({})
const DESTROY = Object.freeze({ destroy: true })

// Held here so that `hasSubscribers` is a property read on the hot path (core's `traced` does the same check).
const queryChannel = tracingChannel(CHANNELS.query)

/** Parameters as pg takes them: text or null each, `undefined` for none. */
type Serialized = (string | null)[] | undefined

/**
 * Everything the provider's methods share: the pool of connections, the hooks, error reporting, and the
 * single-statement path. `createPgProvider` wraps one of these; core's transaction, batch and stream runners and
 * the listener use it directly.
 */
export class PgEngine implements ProviderEngine<PgConnection, Serialized> {
  readonly driver = 'pg'
  readonly pool: Pool<PgConnection>
  readonly hooks: ResolvedPgOptions['hooks']
  closed = false
  private readonly clientConfig: PgClientConfig
  /** Errors already given to `onError`, so one error passing through several layers is reported once. */
  private readonly reported = new WeakSet<object>()
  /** The pending type names last looked up: names the database lacks are not looked up again on every connect. */
  private lookedUpNames: string | undefined

  constructor(readonly o: ResolvedPgOptions) {
    this.hooks = o.hooks
    this.clientConfig = { ...o.clientConfig, types: pgTypesFor(o.registry) }
    this.pool = createPool<PgConnection>({
      name: o.name,
      create: (signal) => this.connect(signal),
      destroy: (connection) => connection.close(),
      min: o.pool.min,
      max: o.pool.max,
      acquireTimeoutMs: o.pool.acquireTimeoutMs,
      idleTimeoutMs: o.pool.idleTimeoutMs,
      maxLifetimeMs: o.pool.maxLifetimeMs,
      maxUses: o.pool.maxUses,
      leakDetectionMs: o.pool.leakDetectionMs,
    })
    this.pool.on('error', ({ error, operation }) => {
      o.logger?.warn({ err: error, operation, pool: o.name }, `pg pool ${operation} failed`)
    })
    this.pool.on('leak', ({ heldMs, stack }) => {
      o.logger?.warn({ heldMs, stack, pool: o.name }, `a pg connection has been held for ${heldMs} ms`)
    })
  }

  // ---- connections ----------------------------------------------------------------------------------

  /** Opens one physical connection, set up and announced (`tessera:connect`, `onConnect`). */
  connect(signal?: AbortSignal): Promise<PgConnection> {
    if (!this.hasConnectSubscribers()) return this.openConnection(signal)
    const message: ConnectMessage = { driver: 'pg', host: this.o.host, port: this.o.port, database: this.o.database }
    return traced(CHANNELS.connect, message, async () => {
      const connection = await this.openConnection(signal)
      message.processId = connection.info.processId
      return connection
    })
  }

  private hasConnectSubscribers(): boolean {
    return tracingChannel(CHANNELS.connect).hasSubscribers
  }

  private async openConnection(signal: AbortSignal | undefined): Promise<PgConnection> {
    const client = new this.o.Client({ ...this.clientConfig })
    const info: ConnectionInfo = { driver: 'pg', host: this.o.host, database: this.o.database, meta: {} }
    const connection = new PgConnection(client, info, this.o.prepare ? this.o.preparedStatementCacheSize : 0, this.o.logger)
    const onAbort = () => connection.destroySocket(new Error('connect aborted: the pool is closing'))
    signal?.addEventListener('abort', onAbort)
    try {
      await client.connect()
      info.processId = client.processID ?? undefined
      await this.resolveTypeNames(connection)
      if (this.hooks.hasConnectHooks) await this.hooks.connect(info)
      return connection
    } catch (error) {
      await connection.close()
      throw mapPgError(error)
    } finally {
      signal?.removeEventListener('abort', onAbort)
    }
  }

  /** Installs codecs for types known by name only (citext, vector, user enums) from this database's OIDs. */
  private async resolveTypeNames(connection: PgConnection): Promise<void> {
    const registry = this.o.registry
    const pending = registry.pendingNames()
    if (pending.length === 0) return
    const key = pending.join('\u0000')
    if (key === this.lookedUpNames) return
    const result = await registry.resolveNames(async (names) => {
      const raw = await connection.run(TYPE_LOOKUP_SQL, serializeParams([names]), undefined)
      return raw.rows as unknown as TypeLookupRow[]
    })
    this.lookedUpNames = registry.pendingNames().join('\u0000')
    if (result.resolved.length > 0) this.o.logger?.debug({ types: result.resolved }, 'pg provider resolved type names')
  }

  /**
   * Borrows a connection. A connection that broke while idle (its `'error'` fired) is destroyed and the
   * next one taken. Runs `onAcquire`.
   */
  async acquire(signal?: AbortSignal, timeoutMs?: number): Promise<PgConnection> {
    const options = signal === undefined && timeoutMs === undefined ? undefined : { signal, timeoutMs }
    // `tessera:pool:acquire` is published by @tessera/pool itself.
    return this.checkAcquired(await this.pool.acquire(options), options)
  }

  /** What follows an acquire: replace a connection that broke while idle, run `onAcquire`. */
  private async checkAcquired(
    acquired: PgConnection,
    options: { signal?: AbortSignal; timeoutMs?: number } | undefined,
  ): Promise<PgConnection> {
    let connection = acquired
    for (;;) {
      if (!connection.isReusable) {
        this.pool.release(connection, DESTROY)
        connection = await this.pool.acquire(options)
        continue
      }
      if (this.hooks.hasAcquireHooks) {
        try {
          await this.hooks.acquire(connection.info)
        } catch (error) {
          this.pool.release(connection)
          throw error
        }
      }
      return connection
    }
  }

  /** Returns a connection: destroyed when it broke or a cancel may still be in flight. Runs `onRelease`. */
  release(connection: PgConnection): void {
    if (this.hooks.hasReleaseHooks) {
      void this.releaseAfterHooks(connection)
      return
    }
    this.pool.release(connection, connection.isReusable ? undefined : DESTROY)
  }

  private async releaseAfterHooks(connection: PgConnection): Promise<void> {
    try {
      await this.hooks.release(connection.info)
    } catch (error) {
      // The caller's operation already succeeded or failed on its own; a failing release hook must not
      // change that. Its state is unknown though, so the connection is not reused.
      this.o.logger?.warn({ err: error }, 'onRelease hook failed; the connection is closed')
      connection.tainted = true
    }
    this.pool.release(connection, connection.isReusable ? undefined : DESTROY)
  }

  // ---- errors ---------------------------------------------------------------------------------------

  /** Any error a provider operation met, as the Tessera error the caller receives. */
  normalize(error: unknown, sql?: string): TesseraError {
    if (isTesseraError(error)) {
      // The pool wraps the connect error; callers branch on the database error (refused, bad password…).
      if (error.code === 'POOL_CREATE_FAILED' && isTesseraError(error.cause)) return error.cause
      if (error.code === 'POOL_CLOSED') return new ProviderClosedError('an operation', 'pg')
      return error
    }
    return mapPgError(error, sql === undefined ? undefined : { sql })
  }

  /** Tells `onError` (once per error) and returns the error, for `throw engine.report(…)`. */
  report(error: TesseraError, operation: HookOperation, sql?: string, params?: readonly unknown[]): TesseraError {
    if (!this.hooks.hasErrorHooks || this.reported.has(error)) return error
    this.reported.add(error)
    const context: ErrorContext = { operation, driver: 'pg' }
    if (sql !== undefined) context.sql = sql
    if (params !== undefined) context.params = params
    this.hooks.error(error, context)
    return error
  }

  /** Rejects work started after `close()`. */
  closedError(operation: string): TesseraError {
    return new ProviderClosedError(operation, 'pg')
  }

  // ---- statements -----------------------------------------------------------------------------------

  /** The text and parameters of a `SqlInput`; throws `SqlError` for bad input. */
  compile(sql: SqlInput, params: readonly unknown[] | undefined): Statement {
    if (typeof sql === 'string' && (params === undefined || Array.isArray(params))) return { text: sql, values: params ?? EMPTY_PARAMS }
    return toQueryConfig(sql, params)
  }

  /**
   * The prepared-statement name for a statement on a connection, or undefined to run it unnamed.
   * Automatic preparation applies to statements with parameters: those are the ones run many times with
   * different values, and a parameterless text may hold several statements, which only the simple protocol runs.
   */
  nameFor(connection: PgConnection, text: string, prepare: boolean | string | undefined, paramCount: number): string | undefined {
    if (typeof prepare === 'string') return prepare
    if (prepare === false || !this.o.prepare || paramCount === 0) return undefined
    return connection.preparedName(text)
  }

  /** Runs one statement on a connection the caller holds (a transaction's, a batch's). Errors are normalised. */
  runOn(connection: PgConnection, text: string, values: readonly unknown[], options: QueryOptions | undefined): Promise<QueryResult> {
    let serialized: (string | null)[] | undefined
    try {
      serialized = serializeValues(values)
    } catch (error) {
      return Promise.reject(this.normalize(error, text))
    }
    return this.runSerializedOn(connection, text, serialized, options)
  }

  /** Parameters as pg takes them, serialised before a statement's span opens and before a connection is taken. */
  serialize(values: readonly unknown[]): Serialized {
    return serializeValues(values)
  }

  /** `runOn` with parameters already serialised (by `serialize`). */
  async runSerializedOn(
    connection: PgConnection,
    text: string,
    serialized: Serialized,
    options: QueryOptions | undefined,
  ): Promise<QueryResult> {
    try {
      const name = this.nameFor(connection, text, options?.prepare, serialized?.length ?? 0)
      const raw = await connection.run(text, serialized, name, options?.signal, options?.timeoutMs)
      return toQueryResult(raw)
    } catch (error) {
      throw this.normalize(error, text)
    }
  }

  /** Runs one statement on a pooled connection: serialise, acquire, run, release. Errors are normalised. */
  execute(text: string, values: readonly unknown[], options: QueryOptions | undefined, acquireTimeoutMs?: number): Promise<QueryResult> {
    let serialized: (string | null)[] | undefined
    try {
      // Serialised before acquiring, so bad input fails without touching the pool.
      serialized = serializeValues(values)
    } catch (error) {
      return Promise.reject(this.normalize(error, text))
    }
    return this.executeSerialized(text, serialized, options, acquireTimeoutMs)
  }

  /** `execute` with parameters already serialised. */
  async executeSerialized(
    text: string,
    serialized: (string | null)[] | undefined,
    options: QueryOptions | undefined,
    acquireTimeoutMs?: number,
  ): Promise<QueryResult> {
    let connection: PgConnection | undefined
    try {
      let signal: AbortSignal | undefined
      let timeoutMs: number | undefined
      let deadline = 0
      if (options !== undefined) {
        signal = options.signal
        timeoutMs = options.timeoutMs
        // `timeoutMs` bounds the whole call: waiting for a connection uses part of it.
        if (timeoutMs !== undefined) {
          deadline = Date.now() + timeoutMs
          acquireTimeoutMs = Math.min(acquireTimeoutMs ?? this.o.pool.acquireTimeoutMs, timeoutMs) || timeoutMs
        }
      }
      const acquireOptions = signal === undefined && acquireTimeoutMs === undefined ? undefined : { signal, timeoutMs: acquireTimeoutMs }
      const acquired = await this.pool.acquire(acquireOptions)
      // checkAcquired releases what it cannot hand over, so `connection` is set only once the caller owns it.
      connection = acquired.isReusable && !this.hooks.hasAcquireHooks ? acquired : await this.checkAcquired(acquired, acquireOptions)
      if (timeoutMs !== undefined) timeoutMs = Math.max(1, deadline - Date.now())
      const name = this.nameFor(connection, text, options?.prepare, serialized?.length ?? 0)
      const raw = await connection.run(text, serialized, name, signal, timeoutMs)
      return toQueryResult(raw)
    } catch (error) {
      throw this.normalize(error, text)
    } finally {
      if (connection !== undefined) this.release(connection)
    }
  }

  /** `execute`, published on `tessera:query` when someone listens. */
  tracedExecute(
    text: string,
    values: readonly unknown[],
    options: QueryOptions | undefined,
    operation: QueryOperation,
  ): Promise<QueryResult> {
    if (!queryChannel.hasSubscribers) return this.execute(text, values, options)
    return traceStatement(this, text, values, operation, false, (serialized) => this.executeSerialized(text, serialized, options))
  }

  /** A `tessera:query` message. */
  queryMessage(text: string, values: readonly unknown[], operation: QueryOperation, transaction: boolean): QueryMessage {
    const message: QueryMessage = { sql: text, driver: 'pg', operation, database: this.o.database, transaction }
    if (this.o.diagnosticsIncludeParams) message.params = values
    return message
  }

  /** Whether anyone subscribed to `tessera:query`. */
  get isQueryTraced(): boolean {
    return queryChannel.hasSubscribers
  }

  private readonly finalQuery = (ctx: QueryContext): Promise<QueryResult> =>
    this.tracedExecute(ctx.sql, ctx.params, ctx.options, ctx.operation)

  /** One attempt of `provider.query`, through the `onQuery` hooks when there are any. */
  attemptQuery(text: string, values: readonly unknown[], options: QueryOptions | undefined, attempt: number): Promise<QueryResult> {
    if (!this.hooks.hasQueryHooks) return this.tracedExecute(text, values, options, 'query')
    const ctx: QueryContext = {
      sql: text,
      params: values,
      options: options ?? EMPTY_OPTIONS,
      driver: 'pg',
      operation: 'query',
      transaction: false,
      attempt,
      meta: {},
    }
    return this.hooks.query(ctx, this.finalQuery)
  }

  /** `provider.query`: one attempt, and retries for a read that lost its connection (core's `runQuery`). */
  query(sql: SqlInput, params: readonly unknown[] | undefined, options: QueryOptions | undefined): Promise<QueryResult> {
    return runQuery(this, sql, params, options)
  }
}

/** Parameters as pg takes them, `undefined` for none. Throws `ConversionError` naming a value that cannot be sent. */
export function serializeValues(values: readonly unknown[]): Serialized {
  return values.length === 0 ? undefined : serializeParams(values)
}
