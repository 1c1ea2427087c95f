import type { PgCustomTypes } from '@tessera/converter'
import type { ConnectionOptions } from '@tessera/core'

/**
 * What the provider passes to the client constructor: the subset of node-postgres' `ClientConfig` it sets.
 * A compatible client (a `pg.Client` subclass, an instrumented wrapper) receives exactly this. The connection
 * fields have the same names and types in pg's config as in core's {@link ConnectionOptions}.
 */
export interface PgClientConfig
  extends Pick<ConnectionOptions, 'connectionString' | 'host' | 'port' | 'database' | 'user' | 'password' | 'ssl'> {
  application_name?: string | undefined
  /** Startup `options`: `-c DateStyle=ISO -c IntervalStyle=postgres -c client_encoding=UTF8`, plus the user's. */
  options?: string | undefined
  /** Server-side `statement_timeout`, sent as a startup parameter (no extra round trip). */
  statement_timeout?: number | undefined
  connectionTimeoutMillis?: number | undefined
  /** The per-client type parsers (the provider's registry); pg's global `types` stay untouched. */
  types: PgCustomTypes
  /** pg 8.23 (recent versions): write queued queries back to back instead of one per round trip (used by `batch`). */
  pipeline?: boolean | undefined
}

/** One statement as the provider hands it to `client.query`. */
export interface PgQueryConfig {
  text: string
  values?: readonly (string | null)[] | undefined
  /** A prepared statement name; omitted for unnamed (one-shot) statements. */
  name?: string | undefined
  /** `'array'`: rows as arrays of values. */
  rowMode?: 'array' | undefined
}

/** A column description as pg reports it. */
export interface PgFieldDescription {
  name: string
  dataTypeID: number
  tableID?: number | undefined
  columnID?: number | undefined
}

/** What `client.query` resolves to (pg's `Result`). */
export interface PgRawResult {
  rows: Record<string, unknown>[]
  rowCount: number | null
  command: string
  fields: PgFieldDescription[]
}

/** A NOTIFY message as pg emits it on `'notification'`. */
export interface PgNotificationMessage {
  channel: string
  payload?: string | undefined
  processId: number
}

/** A notice as pg emits it on `'notice'`: `severity`, `code`, `message`, `detail`, `hint`, `where`… (core's `toNotice` reads it). */
export interface PgNoticeMessage {
  message?: string | undefined
  code?: string | undefined
  severity?: string | undefined
}

/**
 * The subset of `pg.Client` the provider uses. Declared here so that the provider never needs pg's types at
 * runtime and a compatible client can be injected through `options.Client`.
 */
export interface PgClientLike {
  connect(): Promise<unknown>
  /**
   * Runs a statement, calling back with a result, or an array of results for a multi-statement simple query. The
   * callback form: the promise form costs a second promise and a stack capture per call.
   */
  query(
    textOrConfig: string | PgQueryConfig,
    values: readonly (string | null)[] | undefined,
    callback: (error: Error | null, result: PgRawResult | PgRawResult[]) => void,
  ): unknown
  end(): Promise<void>
  on(event: 'error', listener: (error: Error) => void): unknown
  on(event: 'notification', listener: (message: PgNotificationMessage) => void): unknown
  on(event: 'end', listener: () => void): unknown
  /** A NoticeResponse (RAISE NOTICE, a skipped DROP … IF EXISTS): pg's `NoticeMessage`, with the fields of an error. */
  on(event: 'notice', listener: (notice: PgNoticeMessage) => void): unknown
  /**
   * The transaction status of the last ReadyForQuery: `'I'` idle, `'T'` in a transaction, `'E'` in a failed one
   * (pg ≥ 8.20). Optional: without it the provider cannot tell, and trusts that statements closed their transactions.
   */
  getTransactionStatus?(): string | null
  /** The parser the client's `types` give a column type (pg has it): how a portal read by the provider converts rows. */
  getTypeParser?(oid: number, format?: string): (text: string) => unknown
  /** The backend PID, known after `connect`; used for cancel requests. (pg has it; @types/pg does not declare it.) */
  processID?: number | null | undefined
  /** The backend's cancel key, known after `connect`. */
  secretKey?: number | null | undefined
  /** Where the client connected (pg resolves the connection string into these). */
  host?: string | undefined
  port?: number | undefined
  database?: string | undefined
  /**
   * pg's wire connection. Optional: when present, the provider forgets a deallocated prepared statement in
   * `parsedStatements` so pg parses it again next time, and can destroy a stuck socket.
   */
  connection?:
    | {
        parsedStatements?: Record<string, string> | undefined
        stream?: { destroy(error?: Error): void } | undefined
      }
    | undefined
}

/** A client constructor: `pg.Client` or anything shaped like it. */
export type PgClientConstructor = new (config: PgClientConfig) => PgClientLike

/**
 * `Client`, with every instance sending its notices to `handleNotice` from the moment it is created (pool and LISTEN
 * connections alike). A subclass, so an injected client class keeps its own behaviour and `instanceof`.
 */
export function withNoticeHandler(Client: PgClientConstructor, handleNotice: (notice: PgNoticeMessage) => void): PgClientConstructor {
  return class NoticeHandlingClient extends Client {
    constructor(config: PgClientConfig) {
      super(config)
      this.on('notice', handleNotice)
    }
  }
}
