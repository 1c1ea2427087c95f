import type { Notification, PoolStats, QueryResult } from './contracts'
import type { DriverCopyIn, DriverCopyOut } from './copy-seam'
import type { ConnectionInfo } from './hooks'
import type { DriverPortal } from './portal-seam'

/**
 * Parameters as a driver sends them: each value already text (or `null`), as `@tessera/converter`'s
 * `serializeParams` writes them. Both built-in drivers send every parameter as text, so the server infers types the
 * same way whichever driver runs the statement.
 */
export type SerializedParams = readonly (string | null)[]

/** How one statement runs on a {@link DriverConnection}. */
export interface RunOptions {
  /** `false`: unnamed; a string: that prepared-statement name; `true` or unset: the driver's automatic preparation. */
  prepare?: boolean | string | undefined
  /** Cancels the statement on the server when it aborts; the call then rejects with the abort reason's `AbortError`. */
  signal?: AbortSignal | undefined
  /** Cancels the statement on the server after this many ms; the call then rejects with a `TimeoutError`. */
  timeoutMs?: number | undefined
  /** `'array'`: each row as an array of its values, in column order (the caller's `rowMode`). Default: objects. */
  rowMode?: 'object' | 'array' | undefined
}

/**
 * Where a session stands after its last reply (ReadyForQuery's status byte): outside a transaction block, inside
 * one, inside a failed one, or not known (a driver that cannot read it).
 */
export type TransactionStatus = 'idle' | 'in-transaction' | 'failed' | 'unknown'

/**
 * For driver authors: one physical connection (one server session) held by the provider. Statements sent on it run
 * alone and in order. The provider owns everything above it: hooks, diagnostics, retries, transactions.
 */
export interface DriverConnection {
  /** What hooks see (`onConnect`, `onAcquire`, `onRelease`). */
  readonly info: ConnectionInfo
  /** The session died (socket error, terminated backend): it is never used again. */
  broken: boolean
  /** Its state is unknown (a failed rollback, a cancel that may still land): it is closed instead of reused. */
  tainted: boolean
  /** The transaction status after the last reply. A connection not `'idle'` is never lent again. */
  readonly transactionStatus: TransactionStatus
  /**
   * Runs one statement and waits for its result. With `signal` or `timeoutMs` the statement is cancelled on the
   * server when either fires, and the connection is then tainted: the cancel request may still land on a later statement.
   * Rejects with the driver's raw error: the provider normalises it.
   */
  run(text: string, params: SerializedParams, options?: RunOptions): Promise<QueryResult>
  /**
   * Queues one statement without waiting for the ones before it (pipelining): a batch writes all its statements
   * at once. Rejects with the driver's raw error.
   */
  send(text: string, params: SerializedParams): Promise<QueryResult>
  /**
   * Runs a text of several statements without parameters (simple protocol) and resolves to one result per statement,
   * in order (statements the server skips, such as empty ones, have none). Honours `signal`, `timeoutMs` and `rowMode`
   * as {@link run} does. A driver that cannot tell the results apart in some case rejects with a `ConfigError` rather
   * than return merged results. Optional: without it `provider.queryMulti` refuses with a `ConfigError`.
   */
  runMulti?(text: string, options?: RunOptions): Promise<QueryResult[]>
  /**
   * Interrupts whatever runs on the session now (a batch's signal or timeout); taints nothing by itself. May return a
   * promise that settles once nothing of the cancel is still on its way to the server (the server took the request and
   * closed its socket, or the session was dropped): the batch settles only then, so a late interrupt cannot reach the
   * caller's next statement on the same session (a reserved connection's).
   */
  cancel(): void | Promise<void>
  /**
   * Starts `COPY … FROM STDIN` (simple protocol); resolves once the server is ready for data, rejects with the raw
   * error when the statement fails (no such table…). Optional: without it `provider.copyFrom` refuses.
   */
  copyFrom?(text: string): Promise<DriverCopyIn>
  /** Starts `COPY … TO STDOUT`; `onData` receives every data chunk. Optional: without it `provider.copyTo` refuses. */
  copyTo?(text: string, onData: (chunk: Buffer) => void): Promise<DriverCopyOut>
  /**
   * Runs a statement through a portal, `batchSize` rows per Execute: how `provider.stream` reads `… RETURNING` writes,
   * which `DECLARE CURSOR` refuses. Optional: without it such a stream is refused with a `ConfigError`.
   */
  portal?(text: string, params: SerializedParams, batchSize: number): DriverPortal
  /** Closes the session; never throws. A statement still running is cancelled and its socket dropped. */
  close(): Promise<void>
}

/** For driver authors: the pool of {@link DriverConnection}s a driver lends (`@tessera/pool` builds one). */
export interface DriverPool<Connection extends DriverConnection> {
  /** Lends a connection, waiting at most `timeoutMs` (default: the pool's `acquireTimeoutMs`). */
  acquire(options?: { signal?: AbortSignal | undefined; timeoutMs?: number | undefined }): Promise<Connection>
  /** Takes a connection back; `destroy: true` closes it instead of lending it again. */
  release(connection: Connection, destroy: boolean): void
  /** Counters in {@link PoolStats}' shape, wait percentiles by core's one formula. */
  stats(): PoolStats
  /** Stops lending, waits for every lent connection up to `timeoutMs`, then closes them all. */
  drain(options: { timeoutMs: number }): Promise<void>
}

/** For driver authors: the dedicated LISTEN session a provider opens through {@link Driver.openListener}. */
export interface ListenerConnection {
  /** Runs `LISTEN "…"` / `UNLISTEN "…"`. Rejects with the driver's raw error. */
  run(statement: string): Promise<unknown>
  /** Closes the session; never throws. */
  close(): Promise<void>
}

/** What a LISTEN session reports back to the provider. */
export interface ListenerEvents {
  onNotification(notification: Notification): void
  /** The session died; the provider opens a new one and LISTENs again. Called at most once per session. */
  onLost(cause: unknown): void
}

/**
 * Every way one driver differs from another, declared in one place. The provider reads them; nothing else about a
 * driver is allowed to change behaviour.
 */
export interface DriverProperties {
  /** The largest number of parameters one statement may have (pg: 65535, the protocol's limit; postgres.js: 65533). */
  readonly maxParameters: number
  /**
   * Whether an atomic batch that can be cancelled waits for its BEGIN before queueing its statements: needed when
   * statements queued behind a failed BEGIN would still run and commit one by one (pg's pipeline mode).
   */
  readonly confirmsBeginInBatch: boolean
  /** Whether the driver reports the session's transaction status after each reply ({@link DriverConnection.transactionStatus}). */
  readonly knowsTransactionStatus: boolean
}

/**
 * For driver authors: what a provider needs from a driver. Modelled on Kysely's `Driver` + `DatabaseConnection`:
 * the driver opens, runs and closes; the provider (core's `createDriverProvider`) does everything else once, the same
 * for every driver.
 */
export interface Driver<Connection extends DriverConnection = DriverConnection> {
  /** `'pg'`, `'postgres.js'`: the `driver` of hook contexts, diagnostics and errors. */
  readonly name: string
  readonly properties: DriverProperties
  readonly pool: DriverPool<Connection>
  /** A statement's parameters as text. Throws a `ConversionError` naming a value that cannot be sent. */
  serialize(values: readonly unknown[]): SerializedParams
  /** Opens the dedicated LISTEN session. */
  openListener(events: ListenerEvents): Promise<ListenerConnection>
  /** Turns an error only this driver raises into a Tessera error; `undefined` leaves it to `mapPgError`. */
  mapError?(error: unknown): import('./errors').TesseraError | undefined
  /** After the pool drained: anything else the driver holds (timers, sockets). Never throws. */
  close?(): Promise<void>
}

/**
 * For driver authors: what the provider hands a driver when it builds it, so that connection-level hooks and
 * diagnostics fire the same way for every driver.
 */
export interface DriverContext {
  /**
   * Call once a new session is open and before it is first used: publishes `tessera:connect` and runs `onConnect`.
   * If it rejects, close the session and fail the connect with its error.
   */
  connected(info: ConnectionInfo, port: number | undefined): Promise<void>
}
