import { performance } from 'node:perf_hooks'
import { runBatch } from './batch-runner'
import type {
  BatchOptions,
  BatchQuery,
  HealthReport,
  ListenOptions,
  MultiQueryOptions,
  Notification,
  PoolStats,
  Provider,
  QueryOptions,
  QueryResult,
  ReservedConnection,
  ReserveOptions,
  Row,
  SqlInput,
  StreamOptions,
  Subscription,
  Transaction,
  TransactionOptions,
} from './contracts'
import { type CopyOptions, createCopyFromStream, createCopyToStream, poolLease } from './copy-streams'
import { createCursorStream } from './cursor-stream'
import { CHANNELS, type ConnectMessage, hasTraceSubscribers, traced } from './diagnostics'
import type { Driver, DriverConnection, DriverContext, ListenerConnection } from './driver'
import type { ConnectionInfo } from './hooks'
import { ListenSupervisor } from './listen-supervisor'
import { runQueryMulti } from './multi-statement-query'
import { ProviderRuntime, type RuntimeOptions } from './provider-runtime'
import { runReserved } from './reserved-connection'
import { rowSchemaOf, validatedQuery } from './row-schema'
import { assertChannelName } from './sql'
import { runTransaction } from './transaction-runner'

/** What {@link createDriverProvider} needs besides the driver: the resolved shared options. */
export type DriverProviderOptions = RuntimeOptions

const HEALTH_SQL = "SELECT current_setting('server_version') AS version, pg_is_in_recovery() AS recovery"
/** `health()` answers within this, whatever the network does: a stalled connection reads as `down`. */
export const HEALTH_DEADLINE_MS = 5_000
const NOTIFY_SQL = 'SELECT pg_notify($1, $2)'
const DEFAULT_CLOSE_TIMEOUT_MS = 30_000

/**
 * For driver authors: builds the one {@link Provider} over a {@link Driver}. Queries with hooks, read retries and
 * diagnostics; transactions with retry and savepoints; pipelined batches; cursor streams; LISTEN supervision;
 * notify; `health()` with a hard deadline; `stats()` in one shape; `close()` that drains every call made before it.
 * All of it is here, once, so every driver behaves the same by construction.
 *
 * `createDriver` receives the {@link DriverContext} through which the driver announces new sessions (so `onConnect`
 * and `tessera:connect` fire the same way for every driver).
 *
 * @example
 * const provider = createDriverProvider(resolved, (context) => createMyDriver(resolved, context))
 */
export function createDriverProvider<Connection extends DriverConnection, Extra extends object = object>(
  options: DriverProviderOptions,
  createDriver: (context: DriverContext) => Driver<Connection>,
  extra?: Extra,
): Provider & Extra {
  const context: DriverContext = {
    connected: (info, port) => announceConnect(options, info, port),
  }
  const driver = createDriver(context)
  const runtime = new ProviderRuntime<Connection>(driver, options)
  const listener = createListener(runtime)
  const lease = poolLease(runtime)
  let closing: Promise<void> | undefined

  const provider: Provider = {
    driver: driver.name,
    maxParameters: driver.properties.maxParameters,

    query<R = Row>(sql: SqlInput<R>, params?: readonly unknown[], queryOptions?: QueryOptions): Promise<QueryResult<R>> {
      const run = runtime.query(sql, params, queryOptions)
      const schema = rowSchemaOf(sql, queryOptions)
      if (schema === undefined) return runtime.track(run) as Promise<QueryResult<R>>
      return runtime.track(validatedQuery<R>(run, schema, sql, (error, text) => runtime.report(error, 'query', text)))
    },

    transaction<T>(fn: (tx: Transaction) => Promise<T>, transactionOptions?: TransactionOptions): Promise<T> {
      return runtime.track(runTransaction(runtime, fn, transactionOptions))
    },

    connection<T>(fn: (connection: ReservedConnection) => Promise<T>, reserveOptions?: ReserveOptions): Promise<T> {
      return runtime.track(runReserved(runtime, fn, reserveOptions))
    },

    batch(queries: readonly BatchQuery[], batchOptions?: BatchOptions): Promise<QueryResult[]> {
      return runtime.track(runBatch(runtime, queries, batchOptions))
    },

    queryMulti(sql: SqlInput, multiOptions?: MultiQueryOptions): Promise<QueryResult[]> {
      return runtime.track(runQueryMulti(runtime, sql, multiOptions))
    },

    stream<R = Row>(sql: SqlInput, params?: readonly unknown[], streamOptions?: StreamOptions): AsyncIterable<R> {
      return createCursorStream<R>(runtime, sql, params, streamOptions)
    },

    copyFrom: (sql: SqlInput, copyOptions?: CopyOptions) => createCopyFromStream(runtime, lease, sql, copyOptions),

    copyTo: (sql: SqlInput, copyOptions?: CopyOptions) => createCopyToStream(runtime, lease, sql, copyOptions),

    async listen(channel: string, onNotify: (notification: Notification) => void, listenOptions?: ListenOptions): Promise<Subscription> {
      try {
        return await runtime.track(listener.listen(channel, onNotify, listenOptions))
      } catch (error) {
        throw runtime.report(runtime.normalize(error), 'listen')
      }
    },

    notify(channel: string, payload?: string): Promise<void> {
      return runtime.track(notify(runtime, channel, payload))
    },

    health(): Promise<HealthReport> {
      return health(runtime)
    },

    stats(): PoolStats {
      return { ...driver.pool.stats(), errors: runtime.errorCount }
    },

    close(closeOptions?: { timeoutMs?: number | undefined }): Promise<void> {
      if (closing !== undefined) return closing
      runtime.closed = true
      closing = close(runtime, listener, closeOptions?.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS)
      return closing
    },

    [Symbol.asyncDispose](): Promise<void> {
      return provider.close()
    },
  }
  return Object.assign(provider, extra) as Provider & Extra
}

/** Publishes `tessera:connect` around `onConnect` for a new session. */
async function announceConnect(options: DriverProviderOptions, info: ConnectionInfo, port: number | undefined): Promise<void> {
  const run = async () => {
    if (options.hooks.hasConnectHooks) await options.hooks.connect(info)
  }
  if (!hasTraceSubscribers(CHANNELS.connect)) return run()
  const message: ConnectMessage = {
    driver: info.driver,
    host: options.host,
    port: options.port ?? port,
    database: options.database,
    pool: options.name,
  }
  if (info.processId !== undefined) message.processId = info.processId
  await traced(CHANNELS.connect, message, run)
}

async function notify(runtime: ProviderRuntime, channel: string, payload: string | undefined): Promise<void> {
  if (runtime.closed) throw runtime.report(runtime.closedError('notify'), 'notify')
  try {
    // The channel LISTEN would have refused: the server would truncate it, and nobody could ever receive it.
    assertChannelName(channel)
    await runtime.tracedExecute(NOTIFY_SQL, [channel, payload ?? ''], undefined, 'query')
  } catch (error) {
    throw runtime.report(runtime.normalize(error), 'notify', NOTIFY_SQL)
  }
}

/**
 * One probe query, bounded by {@link HEALTH_DEADLINE_MS} however the network behaves: the probe is cancelled at the
 * deadline, and the answer does not wait for the cancel to land. Never throws.
 */
async function health(runtime: ProviderRuntime): Promise<HealthReport> {
  const started = performance.now()
  const pool = () => runtime.driver.pool.stats()
  if (runtime.closed) return { status: 'down', error: 'the provider is closed', details: { pool: pool() } }
  const controller = new AbortController()
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort()
      reject(new Error(`no answer within ${HEALTH_DEADLINE_MS} ms`))
    }, HEALTH_DEADLINE_MS)
  })
  const probe = runtime.execute(HEALTH_SQL, [], { signal: controller.signal }, HEALTH_DEADLINE_MS)
  // The probe may settle after the deadline answered: its outcome is no longer anyone's.
  probe.catch(() => {})
  try {
    const result = await Promise.race([probe, deadline])
    const row = result.rows[0] as { version: string; recovery: boolean } | undefined
    return {
      status: 'up',
      latencyMs: performance.now() - started,
      details: { serverVersion: row?.version, inRecovery: row?.recovery, pool: pool() },
    }
  } catch (error) {
    return {
      status: 'down',
      latencyMs: performance.now() - started,
      error: error instanceof Error ? error.message : String(error),
      details: { pool: pool() },
    }
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Stops new work, lets every call made before `close()` finish (up to `timeoutMs`), closes the LISTEN session, then
 * drains the pool: whatever still runs at the deadline is cancelled and its connection dropped.
 */
async function close(runtime: ProviderRuntime, listener: ListenSupervisor, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs
  let timer: ReturnType<typeof setTimeout> | undefined
  await Promise.race([
    runtime.whenIdle(),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs)
    }),
  ])
  clearTimeout(timer)
  try {
    await listener.close()
  } catch (error) {
    runtime.options.logger?.warn({ err: error }, 'closing the LISTEN connection failed')
  }
  await runtime.driver.pool.drain({ timeoutMs: Math.max(0, deadline - performance.now()) })
  await runtime.driver.close?.()
}

/** Every LISTEN of the provider on one dedicated session the driver opens, supervised by {@link ListenSupervisor}. */
function createListener(runtime: ProviderRuntime): ListenSupervisor {
  let current: ListenerConnection | undefined
  let opening: Promise<ListenerConnection> | undefined
  const open = (): Promise<ListenerConnection> => {
    const session = runtime.driver.openListener({
      onNotification: (notification) => {
        if (opened === current) supervisor.dispatch(notification)
      },
      onLost: (cause) => {
        if (opened !== current || opened === undefined) return
        current = undefined
        void opened.close()
        supervisor.connectionLost(() => runtime.normalize(cause))
      },
    })
    let opened: ListenerConnection | undefined
    return session.then((connection) => {
      opened = connection
      return connection
    })
  }
  const supervisor = new ListenSupervisor({
    connection: {
      async run(statement) {
        if (current === undefined) {
          opening ??= open().finally(() => {
            opening = undefined
          })
          current = await opening
        }
        try {
          await current.run(statement)
        } catch (error) {
          throw runtime.normalize(error, statement)
        }
      },
      async end() {
        const connection = current
        current = undefined
        if (connection !== undefined) await connection.close()
      },
    },
    closedError: (operation) => runtime.closedError(operation),
    logger: runtime.options.logger,
  })
  return supervisor
}
