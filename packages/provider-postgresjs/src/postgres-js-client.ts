/**
 * The subset of postgres.js (porsager's `postgres`, 3.4+) this provider uses, declared here so the provider never
 * imports the driver's types and a compatible instance (an instrumented wrapper, a test double) can be passed in.
 */

/** One column of a postgres.js result (`result.columns`). */
export interface PostgresJsColumn {
  name: string
  /** Type OID. */
  type: number
  /** OID of the source table, 0 when computed. */
  table: number
  /** Attribute number in that table, 0 when computed. */
  number: number
}

/** The backend a query ran on (`query.state`, `result.state`): one object per postgres.js connection slot. */
export interface PostgresJsBackend {
  pid: number | null
  secret: number | null
}

/** A postgres.js result: an array of row objects with the command tag's parts. */
export interface PostgresJsResult extends ReadonlyArray<Record<string, unknown>> {
  /** The number in the command tag (rows returned or affected), `null` when the tag has none. */
  readonly count: number | null
  /** The command tag without its count: `SELECT`, `INSERT`, `CREATE TABLE`… */
  readonly command: string | null
  readonly columns: readonly PostgresJsColumn[] | null | undefined
}

/** A pending postgres.js query: a lazy promise that runs when awaited or `execute()`d. */
export interface PostgresJsQuery extends Promise<PostgresJsResult | PostgresJsResult[]> {
  /** Set when the query was handed to a connection. */
  readonly state: PostgresJsBackend | null
  /** Sends a CancelRequest for the query (or drops it from the queue when it was not sent yet). */
  cancel(): unknown
  /** Runs the query now. */
  execute(): PostgresJsQuery
  /** `COPY … FROM STDIN`: resolves with the Writable for its data once the server is ready for it. */
  writable(): Promise<import('node:stream').Writable>
  /** `COPY … TO STDOUT`: resolves with the Readable of its data. */
  readable(): Promise<import('node:stream').Readable>
  /** Rows as arrays of (converted) values instead of objects; returns the same query. */
  values(): PostgresJsQuery
  /** Reads the result `rows` rows at a time through a portal. */
  cursor(rows: number): AsyncIterable<readonly Record<string, unknown>[]>
}

/** Options of `sql.unsafe`. */
export interface PostgresJsUnsafeOptions {
  prepare?: boolean | undefined
  /**
   * Called when the statement has been handed to a connection (`query.state` set), before it is written; return
   * true. postgres.js' own `sql.begin` uses it; the provider arms its socket's response scanner there.
   */
  onexecute?: ((connection: unknown) => unknown) | undefined
}

/** What both a postgres.js instance and a reserved connection can run. */
export interface PostgresJsQueryable {
  unsafe(text: string, params?: readonly (string | null)[], options?: PostgresJsUnsafeOptions): PostgresJsQuery
}

/** A connection reserved with `sql.reserve()`: statements run on it alone, in order, until `release()`. */
export interface PostgresJsReserved extends PostgresJsQueryable {
  release(): void
}

/** The postgres.js instance (`postgres(options)`). */
export interface PostgresJsSql extends PostgresJsQueryable {
  reserve(): Promise<PostgresJsReserved>
  end(options?: { timeout?: number | null | undefined }): Promise<void>
  /** The resolved options; the provider adds codecs for types resolved by name to `options.parsers`. */
  readonly options: { parsers: Record<number, unknown>; serializers: Record<number, unknown> }
}

/** One entry of postgres.js' `types` option. */
export interface PostgresJsTypeEntry {
  to: number
  from: number[]
  parse: (text: string) => unknown
  serialize: (value: unknown) => string
}

/** The notice or error fields postgres.js reports (`severity`, `code`, `message`, …). */
export type PostgresJsNotice = Record<string, unknown>

/** The postgres.js options the provider sets. */
export interface PostgresJsOptions {
  host?: string | undefined
  port?: number | undefined
  /** A Unix socket file: postgres.js connects there instead of `host`. */
  path?: string | undefined
  database?: string | undefined
  user?: string | undefined
  password?: string | (() => string | Promise<string>) | undefined
  /** `false`, `'prefer'`, `'require'`, or Node TLS options. */
  ssl?: boolean | 'prefer' | 'require' | object | undefined
  /** `read-write`, `read-only`, `primary`, `standby`, `prefer-standby`; `null`: any server. */
  target_session_attrs?: string | null | undefined
  max: number
  /** Seconds; `null` or `0`: never. */
  idle_timeout: number | null
  /** Seconds; `null`: never. */
  max_lifetime: number | null
  /** Seconds. */
  connect_timeout: number
  prepare: boolean
  fetch_types: boolean
  /** Not set by the provider: it writes the registry's codecs into the instance's tables instead. */
  types?: Record<string, PostgresJsTypeEntry> | undefined
  /** Startup parameters: `application_name`, `DateStyle`, `statement_timeout`… */
  connection: Record<string, string | number>
  onnotice?: ((notice: PostgresJsNotice) => void) | undefined
  onnotify?: ((channel: string, payload: string) => void) | undefined
  onclose?: ((connectionId: number) => void) | undefined
  /** Creates the socket of each new connection (the provider counts connections with it). */
  socket?: (() => import('node:net').Socket | Promise<import('node:net').Socket>) | undefined
}

/**
 * Creates a postgres.js instance: `postgres` itself, or a compatible function. The provider calls it once for its
 * pool and once more (with `max: 1`) for its LISTEN connection.
 */
export type PostgresJsFactory = (url: string | undefined, options: PostgresJsOptions) => PostgresJsSql
