import type { CopyMethods } from './copy-streams'
import type { TesseraError } from './errors'
import type { Hooks } from './hooks'
import type { RetryPolicy } from './retry'
import type { ROW_SCHEMA, RowSchema } from './row-schema'
import type { SqlQuery } from './sql'

/** A result row: column name → converted value. */
export type Row = Record<string, unknown>

/** One column of a result, as the server described it. */
export interface FieldInfo {
  name: string
  /** PostgreSQL type OID. */
  dataTypeID: number
  /** OID of the table the column comes from, 0 when computed. */
  tableID?: number | undefined
  /** Attribute number of the column in that table, 0 when computed. */
  columnID?: number | undefined
}

/** What every query returns, whichever driver ran it. */
export interface QueryResult<R = Row> {
  rows: R[]
  /** Rows returned (SELECT) or affected (INSERT/UPDATE/DELETE). 0 for statements without a count. */
  rowCount: number
  /** The command tag's verb: `SELECT`, `INSERT`, `UPDATE`, `DELETE`, `CREATE`… */
  command: string
  fields: FieldInfo[]
}

/** Per-call options of a query. */
export interface QueryOptions {
  /** Aborting cancels the query on the server. */
  signal?: AbortSignal | undefined
  /** Cancels the query on the server after this many ms. Default: none. */
  timeoutMs?: number | undefined
  /** `true`: prepare automatically (default); a string: a named prepared statement; `false`: never (PgBouncer). */
  prepare?: boolean | string | undefined
  /** Retry policy for this call, or `false` to never retry. Default: the provider's policy. */
  retry?: RetryPolicy | false | undefined
  /**
   * A Standard Schema (zod, valibot…) every row is validated with; rows become its output (transforms apply). A row
   * that fails rejects the call with `RowValidationError`. Wins over one given with `sql.type(schema)`. Default: none.
   */
  schema?: RowSchema | undefined
  /**
   * `'array'`: each row is an array of its values in column order, so columns that share a name (`SELECT a.id, b.id`)
   * all survive; values are converted exactly as in object rows. Default: `'object'`.
   */
  rowMode?: 'object' | 'array' | undefined
}

/** Per-call options of `provider.queryMulti`: a text of several statements runs unprepared and is never retried. */
export interface MultiQueryOptions {
  /** Aborting cancels the text on the server; the statements it ran are rolled back (one implicit transaction). */
  signal?: AbortSignal | undefined
  /** Cancels the text on the server after this many ms (the wait for a connection included). Default: none. */
  timeoutMs?: number | undefined
  /** `'array'`: each row of every result as an array of its values, in column order. Default: `'object'`. */
  rowMode?: 'object' | 'array' | undefined
}

/**
 * A statement: plain text with `$n` placeholders, or a query built with the `sql` tag; one built with
 * `sql.type(schema)` carries its row type `R`.
 */
export type SqlInput<R = Row> = string | SqlQuery | TypedSqlQuery<R>

/** A query built with `sql.type(schema)`: its rows are validated with the schema and typed by its output. */
export type TypedSqlQuery<R> = SqlQuery & { readonly [ROW_SCHEMA]: RowSchema<R> }

/** Anything that runs queries: a provider, a transaction, a cluster router. */
export interface Queryable {
  query<R = Row>(sql: SqlInput<R>, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<R>>
  /**
   * The most parameters one statement may carry through this queryable (the driver's limit: 65535 for pg, 65533 for
   * postgres.js). Bulk writers size their chunks by it. Optional for queryables that do not know; assume 65535 then.
   */
  readonly maxParameters?: number | undefined
}

/** Runs a text of several statements and gives every result: a provider, a transaction, a reserved connection. */
export interface MultiQueryable {
  /**
   * Runs a text of several statements (simple protocol: no parameters) and resolves to every statement's result, in
   * order (`query` gives only the last). Outside a transaction block the text is one implicit transaction: a failing
   * statement rejects the call with its error and rolls back the statements before it.
   */
  queryMulti(sql: SqlInput, options?: MultiQueryOptions): Promise<QueryResult[]>
}

/** A query bound to an open transaction. */
export interface Transaction extends Queryable, MultiQueryable, CopyMethods {
  /** Runs `fn` inside a savepoint: rolled back to it when `fn` throws, released when it returns. */
  savepoint<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>
}

export type IsolationLevel = 'read committed' | 'repeatable read' | 'serializable'

export interface TransactionOptions {
  /** Default: the server's default (read committed). */
  isolation?: IsolationLevel | undefined
  readOnly?: boolean | undefined
  /** Only meaningful with `serializable` + `readOnly`. */
  deferrable?: boolean | undefined
  /** Re-run the whole function on serialization failures and deadlocks: attempts, or a policy. Default: no retry. */
  retry?: number | RetryPolicy | undefined
  signal?: AbortSignal | undefined
}

/** One statement of a batch. */
export interface BatchQuery {
  sql: SqlInput
  params?: readonly unknown[] | undefined
}

export interface BatchOptions {
  /** Run the statements in one transaction: all or nothing. Default: `false`. */
  atomic?: boolean | undefined
  signal?: AbortSignal | undefined
  timeoutMs?: number | undefined
}

export interface StreamOptions {
  /** Rows fetched per round trip. Default: 100. */
  batchSize?: number | undefined
  /** Validates every row, as {@link QueryOptions.schema}; `rowIndex` counts from the stream's first row. */
  schema?: RowSchema | undefined
  /** Rows as arrays, as {@link QueryOptions.rowMode}. Default: `'object'`. */
  rowMode?: 'object' | 'array' | undefined
  signal?: AbortSignal | undefined
}

/** A message received on a LISTEN channel. */
export interface Notification {
  channel: string
  payload: string
  /** PID of the notifying backend. */
  processId: number
}

export interface ListenOptions {
  /** Called when the listening connection is lost; notifications sent meanwhile are missed. */
  onLost?: ((error: TesseraError) => void) | undefined
  /** Called when listening resumes on a new connection. */
  onRestored?: (() => void) | undefined
  signal?: AbortSignal | undefined
}

/** An active LISTEN. */
export interface Subscription {
  readonly channel: string
  unlisten(): Promise<void>
}

/** Counters and gauges of a connection pool. */
export interface PoolStats {
  /** Open connections (idle + in use). */
  size: number
  idle: number
  inUse: number
  /** Callers waiting for a connection. */
  pending: number
  max: number
  created: number
  destroyed: number
  timeouts: number
  /** Wait for a connection, in ms. */
  waitMs?: { p50: number; p99: number; max: number } | undefined
  [extra: string]: unknown
}

export type HealthStatus = 'up' | 'degraded' | 'down'

export interface HealthReport {
  status: HealthStatus
  /** Round trip of the health probe, ms. */
  latencyMs?: number | undefined
  /** Free-form details: server version, replica lag, breaker state… */
  details?: Record<string, unknown> | undefined
  /** Named sub-checks (one per replica, per tier…). */
  checks?: Record<string, HealthReport> | undefined
  error?: string | undefined
}

/** A pool of connections to one database, whichever driver is underneath. */
export interface Provider extends Queryable, MultiQueryable, CopyMethods {
  /** `'pg'`, `'postgres.js'`, … */
  readonly driver: string
  transaction<T>(fn: (tx: Transaction) => Promise<T>, options?: TransactionOptions): Promise<T>
  /**
   * Holds one connection for `fn`, outside any transaction (advisory locks, `SET`, temporary tables), then resets its
   * session and gives it back. See {@link ReservedConnection}.
   */
  connection<T>(fn: (connection: ReservedConnection) => Promise<T>, options?: ReserveOptions): Promise<T>
  /** Runs the statements pipelined, in one round trip where the driver can. */
  batch(queries: readonly BatchQuery[], options?: BatchOptions): Promise<QueryResult[]>
  stream<R = Row>(sql: SqlInput<R>, params?: readonly unknown[], options?: StreamOptions): AsyncIterable<R>
  listen(channel: string, onNotify: (notification: Notification) => void, options?: ListenOptions): Promise<Subscription>
  notify(channel: string, payload?: string): Promise<void>
  health(): Promise<HealthReport>
  stats(): PoolStats
  close(options?: { timeoutMs?: number | undefined }): Promise<void>
  /** `await using db = await createProvider(…)` closes the provider at the end of the scope, as `close()` does. */
  [Symbol.asyncDispose](): Promise<void>
}

/**
 * A logger: a subset that pino, bunyan, winston and `console` all satisfy.
 * Each method takes a structured object first and an optional message, pino style.
 */
export interface Logger {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

/** TLS settings passed to the driver (a subset of Node's `tls.ConnectionOptions`). */
export interface TlsOptions {
  rejectUnauthorized?: boolean | undefined
  ca?: string | Buffer | Array<string | Buffer> | undefined
  cert?: string | Buffer | undefined
  key?: string | Buffer | undefined
  servername?: string | undefined
}

/**
 * Where and how to connect. A connection string is accepted wherever the separate fields are. Each setting comes
 * from its field, else the connection string, else its `PG*` environment variable, else the default, as in libpq
 * (see `@tessera/core`'s README, "Connection settings").
 */
export interface ConnectionOptions {
  /**
   * A libpq connection URI (`postgres://user:password@host:port,host2:port2/database?sslmode=…`, a socket
   * directory as `?host=/var/run/postgresql` or `%2Fvar%2Frun%2Fpostgresql`) or `socket:/dir?db=…`. Fields given
   * separately win over it.
   */
  connectionString?: string | undefined
  /**
   * A host name, an IP address, a Unix socket directory, or a comma-separated list of them tried in order.
   * Default: `PGHOST`, else the local socket directory (`/var/run/postgresql` or `/tmp`) when it holds the port's
   * socket, else `'localhost'`.
   */
  host?: string | undefined
  /** Default: `PGPORT`, else `5432`. */
  port?: number | undefined
  /** Default: `PGDATABASE`, else the user name. */
  database?: string | undefined
  /** Default: `PGUSER`, else the operating-system user. */
  user?: string | undefined
  /** A string, or a function called for every new connection (rotating credentials, IAM tokens). Default: `PGPASSWORD`. */
  password?: string | (() => string | Promise<string>) | undefined
  /**
   * `true` for TLS with the system's CAs (sslmode verify-full), an object for custom settings. Wins over `sslmode`.
   * Default: the connection string's `sslmode`, else `PGSSLMODE`, else `false`.
   */
  ssl?: boolean | TlsOptions | undefined
  /** Shown in `pg_stat_activity.application_name`. Default: `application_name`, else `PGAPPNAME`, else `'tessera'`. */
  applicationName?: string | undefined
  /** Give up on one connection attempt after this many ms. Default: `connect_timeout`, else `PGCONNECT_TIMEOUT`, else `10000`. */
  connectTimeoutMs?: number | undefined
}

/** Pool settings every provider understands (each maps them onto its driver). */
export interface ProviderPoolOptions {
  /** Connections kept open even when idle. Default: `0`. */
  min?: number | undefined
  /** Most connections open at once. Default: `10`. */
  max?: number | undefined
  /** How long a query waits for a free connection before `PoolTimeoutError`. Default: `30000`. */
  acquireTimeoutMs?: number | undefined
  /** Idle connections above `min` are closed after this many ms. Default: `30000`. */
  idleTimeoutMs?: number | undefined
  /** Connections are replaced after this many ms (with jitter). Default: `0` (never). */
  maxLifetimeMs?: number | undefined
  /** Report a connection held longer than this as a leak, with the holder's stack. Default: `0` (off). */
  leakDetectionMs?: number | undefined
}

/**
 * A notice or warning the server sent besides a statement's result: `RAISE NOTICE`/`WARNING`/`INFO` in PL/pgSQL,
 * `DROP TABLE IF EXISTS` of a missing table, an identifier truncated to 63 bytes… The fields are those of a
 * `DatabaseError`, normalised the same way from either driver; fields the server did not send are `undefined`.
 */
export interface Notice {
  /** `WARNING`, `NOTICE`, `INFO`, `DEBUG` or `LOG`. */
  severity: string | undefined
  /** The SQLSTATE: `00000` for a plain `RAISE NOTICE`, `01000` for a plain `RAISE WARNING`, `42622` for a truncated identifier… */
  code: string
  /** The primary message, e.g. `table "t" does not exist, skipping`. */
  message: string
  detail: string | undefined
  hint: string | undefined
  /** 1-based character index into the statement text. */
  position: number | undefined
  internalPosition: number | undefined
  internalQuery: string | undefined
  /** Call stack context, e.g. `PL/pgSQL function inline_code_block line 1 at RAISE`. */
  where: string | undefined
  schema: string | undefined
  table: string | undefined
  column: string | undefined
  dataType: string | undefined
  constraint: string | undefined
  /** Server source file, line and routine that sent the notice. */
  file: string | undefined
  line: number | undefined
  routine: string | undefined
}

/**
 * The options shape shared by every provider (`createPgProvider`, `createPostgresJsProvider`), so switching
 * drivers changes one factory name. Providers add driver-specific fields (type policies, client injection).
 */
export interface ProviderOptions extends ConnectionOptions {
  pool?: ProviderPoolOptions | undefined
  /** Server-side `statement_timeout` for every connection, ms. Default: none. */
  statementTimeoutMs?: number | undefined
  /** Automatic prepared statements. Set `false` behind PgBouncer in transaction mode. Default: `true`. */
  prepare?: boolean | undefined
  /** Hooks, in registration order (the first is the outermost). */
  hooks?: Hooks | readonly Hooks[] | undefined
  /** Where the provider logs (pino, console, …). Default: none. */
  logger?: Logger | undefined
  /**
   * Receives every notice the server sends on any of the provider's connections (pool, transactions, LISTEN), with
   * the same fields whichever driver runs. It is called before the statement that caused the notice resolves; what it
   * throws is logged, never thrown into the query. Default: none; notices then go to `logger.debug`.
   * @example createPgProvider({ connectionString, onNotice: (notice) => console.warn(`${notice.severity}: ${notice.message}`) })
   */
  onNotice?: ((notice: Notice) => void) | undefined
  /**
   * Retry policy for reads that fail with a retryable error (connection lost, too many connections…).
   * Writes outside a transaction are never retried. `false` disables it. Default: 3 attempts with backoff.
   */
  retry?: RetryPolicy | false | undefined
  /**
   * Renames the columns of every result (row keys and `fields[].name`): a function `(column) => name`, e.g. `toCamel`
   * from `@tessera/naming`. Called once per distinct column name. Default: none (names as the server sends them).
   * @example createPgProvider({ connectionString, columnNames: toCamel }) // created_at → createdAt
   */
  columnNames?: ((column: string) => string) | undefined
}

/**
 * One connection held by `provider.connection(fn)` while `fn` runs: every statement runs on the same server session,
 * outside a transaction unless one is started with {@link ReservedConnection.transaction}. When `fn` settles, the
 * session is reset (settings, temporary tables, advisory locks, LISTENs, cursors) or, when it cannot be reset, closed;
 * the object then refuses further use with `ConnectionReleasedError`.
 */
export interface ReservedConnection extends Queryable, MultiQueryable {
  /** A transaction on this connection. While it runs, the connection itself refuses statements (`ConnectionBusyError`). */
  transaction<T>(fn: (tx: Transaction) => Promise<T>, options?: TransactionOptions): Promise<T>
  /** The statements pipelined on this connection. */
  batch(queries: readonly BatchQuery[], options?: BatchOptions): Promise<QueryResult[]>
  /** Rows through a cursor on this connection; the connection is busy until the iteration ends. */
  stream<R = Row>(sql: SqlInput<R>, params?: readonly unknown[], options?: StreamOptions): AsyncIterable<R>
}

/** Options of `provider.connection(fn, options)`. */
export interface ReserveOptions {
  /** Aborts the wait for a connection, and cancels any statement the connection runs while `fn` runs. */
  signal?: AbortSignal | undefined
  /** How long to wait for a free connection before `PoolTimeoutError`. Default: the pool's `acquireTimeoutMs`. */
  timeoutMs?: number | undefined
}
