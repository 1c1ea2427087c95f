import { AbortError, type ConnectionInfo, isConnectionLoss, type Logger, type QueryResult, quoteIdentifier, type Row } from '@tessera/core'
import {
  cancellableStatement,
  type DriverConnection,
  type DriverCopyIn,
  type DriverCopyOut,
  type DriverPortal,
  mayChangeTransactionState,
  type RunOptions,
  type SerializedParams,
  sendCancelRequest,
  type TransactionStatus,
} from '@tessera/core/driver'
import type { PgClientLike, PgQueryConfig, PgRawResult } from './pg-client'
import { PgCopyIn, PgCopyOut } from './pg-copy'
import { PgPortal } from './pg-portal'
import { statementName } from './statement'
import { toQueryResult } from './to-query-result'

/** pg's `Query` class as the provider builds one: from a text and its values, named afterwards. */
type PgQueryConstructor = new (text: string, values: readonly (string | null)[] | undefined) => PgQueryConfig

/** A multi-statement simple query resolves to one result per statement: the last one is the answer. */
function lastResult(result: PgRawResult | PgRawResult[]): PgRawResult {
  return Array.isArray(result) ? result[result.length - 1]! : result
}

function lastAsResult(result: PgRawResult | PgRawResult[]): QueryResult {
  return toQueryResult<Row>(lastResult(result))
}

/** Each statement's result of a simple query; an empty text (no statement) has none. */
function allResults(result: PgRawResult | PgRawResult[]): QueryResult[] {
  const list = Array.isArray(result) ? result : [result]
  const results: QueryResult[] = []
  for (const raw of list) if (raw.command !== null && raw.command !== undefined) results.push(toQueryResult<Row>(raw))
  return results
}

/** A column whose type has no parser: its text, as pg gives it. */
const keepText = (text: string): unknown => text

/** pg reports a submittable's outcome through its handlers; the callback it may also call is not needed. */
const ignoreCallback = (): void => {}

/** How long a cancel request may take before the connection is dropped instead (a stalled network). */
const CANCEL_REQUEST_TIMEOUT_MS = 2_000

/**
 * One physical connection: a pg client plus what the provider tracks about it (whether it broke, its
 * prepared statements, the hook-visible {@link ConnectionInfo}).
 */
export class PgConnection implements DriverConnection {
  /** The client failed (socket error, server terminated it): it must be destroyed, never reused. */
  broken = false
  /**
   * A cancel request was sent that the running statement may not have consumed; it could still hit the
   * next statement, so the connection is not reused.
   */
  tainted = false
  /** Statement text → prepared name, least recently used first (a Map keeps insertion order). */
  private readonly prepared = new Map<string, string>()
  /** Statements queued on the client and not yet settled. */
  private busy = 0
  /** The client's `Query` class (pg.Client and its subclasses have one), for named statements. */
  private readonly Query: PgQueryConstructor | undefined

  constructor(
    readonly client: PgClientLike,
    readonly info: ConnectionInfo,
    /** Named prepared statements kept; `0`: statements run unnamed unless a call names one. */
    private readonly cacheSize: number,
    private readonly logger: Logger | undefined,
  ) {
    // Every client gets an error listener: an idle client killed by the server (pg_terminate_backend, a
    // restart) emits 'error', and an EventEmitter without a listener would crash the process.
    client.on('error', this.onClientError)
    client.on('end', this.onClientEnd)
    const Query: unknown = (client.constructor as { Query?: unknown }).Query
    this.Query = typeof Query === 'function' ? (Query as PgQueryConstructor) : undefined
  }

  private readonly onClientError = (error: Error): void => {
    this.broken = true
    this.logger?.warn({ err: error, processId: this.info.processId }, 'pg connection failed; it will be replaced')
  }

  private readonly onClientEnd = (): void => {
    this.broken = true
  }

  /** ReadyForQuery's status after the last reply (pg ≥ 8.20 reports it); `'unknown'` on older clients. */
  get transactionStatus(): TransactionStatus {
    const status = this.client.getTransactionStatus?.()
    if (status === 'I') return 'idle'
    if (status === 'T') return 'in-transaction'
    if (status === 'E') return 'failed'
    return 'unknown'
  }

  /**
   * The prepared-statement name for a statement, or undefined to run it unnamed. Automatic preparation applies to
   * statements with parameters: those are the ones run many times with different values, and a parameterless text
   * may hold several statements, which only the simple protocol runs.
   */
  private nameFor(text: string, prepare: boolean | string | undefined, paramCount: number): string | undefined {
    if (typeof prepare === 'string') return prepare
    if (prepare === false || paramCount === 0) return undefined
    return this.preparedName(text)
  }

  run(text: string, params: SerializedParams, options?: RunOptions): Promise<QueryResult> {
    const name = this.nameFor(text, options?.prepare, params.length)
    const settled = this.runStatement(
      text,
      params.length === 0 ? undefined : params,
      name,
      options?.signal,
      options?.timeoutMs,
      options?.rowMode === 'array',
    )
    if (params.length === 0 && mayChangeTransactionState(text)) return settled.catch(this.distrustSession)
    return settled
  }

  /**
   * A text that may change the transaction state failed: pg reports the error before the ReadyForQuery that tells
   * where the session stands, so it may still be inside a (failed) transaction block. It is not lent again.
   */
  private readonly distrustSession = (error: unknown): never => {
    this.tainted = true
    throw error
  }

  /** Every result of a multi-statement text (simple protocol: pg resolves to one result per statement). */
  runMulti(text: string, options?: RunOptions): Promise<QueryResult[]> {
    const signal = options?.signal
    if (signal?.aborted) return Promise.reject(new AbortError('query', { cause: signal.reason }))
    this.busy++
    const settled = this.submit(text, undefined, undefined, options?.rowMode === 'array', allResults)
    const timeoutMs = options?.timeoutMs
    const run =
      signal === undefined && timeoutMs === undefined
        ? settled
        : cancellableStatement(settled, text, { signal, timeoutMs }, this, () => this.requestCancel())
    return run.catch(this.distrustSession)
  }

  send(text: string, params: SerializedParams): Promise<QueryResult> {
    return this.runStatement(text, params.length === 0 ? undefined : params, this.nameFor(text, undefined, params.length))
  }

  cancel(): Promise<void> {
    return this.requestCancel()
  }

  portal(text: string, params: SerializedParams, batchSize: number): DriverPortal {
    const parserFor = (oid: number) => this.client.getTypeParser?.(oid, 'text') ?? keepText
    const portal = new PgPortal(text, params, batchSize, parserFor, this.holdForCopy())
    this.client.query(portal as unknown as PgQueryConfig, undefined, ignoreCallback)
    return {
      next: () => portal.next().then((raw) => (raw === undefined ? undefined : toQueryResult<Row>(raw))),
      close: () => portal.close(),
    }
  }

  copyFrom(text: string): Promise<DriverCopyIn> {
    const copy = new PgCopyIn(text, this.holdForCopy())
    this.client.query(copy as unknown as PgQueryConfig, undefined, ignoreCallback)
    return copy.ready.then(() => copy)
  }

  copyTo(text: string, onData: (chunk: Buffer) => void): Promise<DriverCopyOut> {
    const copy = new PgCopyOut(text, this.holdForCopy(), onData, () => {
      // The cancel request may land after the COPY ended, on the next statement: the session is not lent again.
      this.tainted = true
      this.requestCancel()
    })
    this.client.query(copy as unknown as PgQueryConfig, undefined, ignoreCallback)
    return Promise.resolve(copy)
  }

  /**
   * A COPY (or a portal) keeps the session for many round trips, which pg's pipeline mode refuses for anything but its own queries:
   * the session is held (nothing else is queued on it), so pipelining is off until the COPY is over. Counted as busy,
   * so `close()` at the pool's deadline cancels it and drops the socket. Returns what undoes it.
   */
  private holdForCopy(): () => void {
    const client = this.client as PgClientLike & { pipeline?: boolean | undefined }
    const pipelined = client.pipeline === true
    if (pipelined) client.pipeline = false
    this.busy++
    return () => {
      this.busy--
      if (pipelined) client.pipeline = true
    }
  }

  /**
   * The prepared-statement name to use for `text` on this connection, or `undefined` to run it unnamed.
   * Keeps at most `cacheSize` names: the least recently used one is `DEALLOCATE`d so the server's memory does
   * not grow without bound. Eviction waits for an idle connection (a queued statement may still use the name);
   * meanwhile new statements run unnamed.
   */
  preparedName(text: string): string | undefined {
    const cache = this.prepared
    let name = cache.get(text)
    if (name !== undefined) {
      cache.delete(text)
      cache.set(text, name)
      return name
    }
    if (this.cacheSize === 0) return undefined
    if (cache.size >= this.cacheSize) {
      if (this.busy > 0) return undefined
      this.evictOldest()
    }
    name = statementName(text)
    cache.set(text, name)
    return name
  }

  private evictOldest(): void {
    const oldest = this.prepared.entries().next().value
    if (oldest === undefined) return
    const [text, name] = oldest
    this.prepared.delete(text)
    const parsed = this.client.connection?.parsedStatements
    // Only a statement the server actually parsed exists there; without pg's bookkeeping we cannot tell pg to
    // parse it again, so we leave it on the server rather than break the client's cache.
    if (parsed === undefined || parsed[name] === undefined) return
    delete parsed[name]
    this.client.query(`DEALLOCATE ${quoteIdentifier(name)}`, undefined, (error) => {
      if (error) this.logger?.debug({ err: error, statement: name }, 'DEALLOCATE of an evicted prepared statement failed')
    })
  }

  /** Forgets every prepared statement (after `DISCARD ALL`/`DEALLOCATE ALL`, or a "does not exist" error). */
  forgetPrepared(): void {
    const parsed = this.client.connection?.parsedStatements
    if (parsed !== undefined) for (const name of this.prepared.values()) delete parsed[name]
    this.prepared.clear()
  }

  /**
   * Runs one statement. With `signal` or `timeoutMs` the statement is cancelled on the server (protocol cancel
   * request) when the signal aborts or the time runs out; the caller then gets an `AbortError` or a
   * `TimeoutError` whose `cause` is the server's `QueryCanceledError`.
   */
  private runStatement(
    text: string,
    values: readonly (string | null)[] | undefined,
    name: string | undefined,
    signal?: AbortSignal,
    timeoutMs?: number,
    asArrays = false,
  ): Promise<QueryResult> {
    if (signal?.aborted) return Promise.reject(new AbortError('query', { cause: signal.reason }))
    this.busy++
    const settled = this.submit(text, values, name, asArrays)
    if (signal === undefined && timeoutMs === undefined) return settled
    return cancellableStatement(settled, text, { signal, timeoutMs }, this, () => this.requestCancel())
  }

  /**
   * Sends one statement; resolves with its result in core's shape. pg's callback form, settling one promise of ours
   * in the callback: pg's promise form wraps every call in a second promise that captures a stack trace.
   */
  private submit<T = QueryResult>(
    text: string,
    values: readonly (string | null)[] | undefined,
    name: string | undefined,
    asArrays: boolean,
    shape: (result: PgRawResult | PgRawResult[]) => T = lastAsResult as (result: PgRawResult | PgRawResult[]) => T,
  ): Promise<T> {
    return new Promise((resolve, reject) => {
      const callback = (error: Error | null, result: PgRawResult | PgRawResult[]) => {
        this.busy--
        if (error !== null && error !== undefined) {
          reject(this.noteFailure(error))
          return
        }
        // Never throw into pg's callback: it runs inside pg's socket reader.
        try {
          resolve(shape(result))
        } catch (failure) {
          reject(failure)
        }
      }
      // Array rows: pg reads `rowMode` when it builds the query, so they go as a config object (copied by pg; not a hot path).
      if (asArrays) this.client.query({ text, values, name, rowMode: 'array' }, undefined, callback)
      else if (name === undefined) this.client.query(text, values, callback)
      else this.client.query(this.namedStatement(text, values, name), undefined, callback)
    })
  }

  /**
   * A named statement as pg takes it. pg copies a plain config object descriptor by descriptor before using it (a
   * few µs, more than all the rest the provider does for a statement), but takes a `Query` as it is: build one from
   * the text, with the client's own `Query` class (pg's pipeline mode refuses a `Query` from another copy of pg), and
   * name it. A compatible client without a `Query` class gets the plain config object.
   */
  private namedStatement(text: string, values: readonly (string | null)[] | undefined, name: string): PgQueryConfig {
    const Query = this.Query
    if (Query === undefined) return { text, values, name }
    const query = new Query(text, values)
    query.name = name
    return query
  }

  /** What a failed statement tells about the connection; returns the error. */
  private noteFailure(error: Error): Error {
    if (isConnectionLoss(error)) this.broken = true
    // 26000: a prepared statement vanished (DISCARD ALL, DEALLOCATE ALL run by hand): start over.
    else if ((error as { code?: unknown }).code === '26000') this.forgetPrepared()
    return error
  }

  /**
   * Asks the server to cancel what this connection runs; if the request cannot be sent, drops the socket. Resolves
   * (never rejects) once the server has taken the request and closed its socket, or once the socket was dropped.
   */
  requestCancel(): Promise<void> {
    const { processID, secretKey } = this.client
    if (processID === null || processID === undefined || secretKey === null || secretKey === undefined) {
      this.destroySocket(new Error('cannot cancel: the backend key is unknown'))
      return Promise.resolve()
    }
    const target = { host: this.client.host ?? 'localhost', port: this.client.port ?? 5432, processId: processID, secretKey }
    return sendCancelRequest(target, CANCEL_REQUEST_TIMEOUT_MS).then(undefined, (error: unknown) => {
      this.logger?.warn({ err: error, processId: processID }, 'cancel request failed; dropping the connection instead')
      this.destroySocket(error instanceof Error ? error : new Error(String(error)))
    })
  }

  /** Drops the socket at once: every queued statement fails with a connection error. */
  destroySocket(error: Error): void {
    this.broken = true
    const stream = this.client.connection?.stream
    if (stream !== undefined) stream.destroy(error)
    else this.client.end().then(undefined, () => {})
  }

  /**
   * Closes the connection; never throws. A connection still running a statement (the pool gave up waiting for
   * it while draining) has the statement cancelled on the server and its socket dropped, so neither the
   * caller nor the backend is left waiting.
   */
  async close(): Promise<void> {
    this.broken = true
    if (this.busy > 0) {
      this.requestCancel()
      this.destroySocket(
        Object.assign(new Error('the connection was closed while a statement was running'), { code: 'CONNECTION_DESTROYED' }),
      )
      return
    }
    try {
      await this.client.end()
    } catch (error) {
      this.logger?.debug({ err: error }, 'closing a pg connection failed')
    }
  }
}
