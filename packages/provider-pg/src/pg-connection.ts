import { AbortError, type ConnectionInfo, isConnectionLoss, type Logger, mapPgError, quoteIdentifier, TimeoutError } from '@tessera/core'
import { sendCancelRequest } from './cancel-request'
import type { PgClientLike, PgQueryConfig, PgRawResult } from './pg-client'
import { statementName } from './statement'

const NOT_CANCELLED = 0
const ABORTED = 1
const TIMED_OUT = 2

/**
 * One physical connection: a pg client plus what the provider tracks about it (whether it broke, its
 * prepared statements, the hook-visible {@link ConnectionInfo}).
 */
export class PgConnection {
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

  constructor(
    readonly client: PgClientLike,
    readonly info: ConnectionInfo,
    private readonly cacheSize: number,
    private readonly logger: Logger | undefined,
  ) {
    // Every client gets an error listener: an idle client killed by the server (pg_terminate_backend, a
    // restart) emits 'error', and an EventEmitter without a listener would crash the process.
    client.on('error', this.onClientError)
    client.on('end', this.onClientEnd)
  }

  private readonly onClientError = (error: Error): void => {
    this.broken = true
    this.logger?.warn({ err: error, processId: this.info.processId }, 'pg connection failed; it will be replaced')
  }

  private readonly onClientEnd = (): void => {
    this.broken = true
  }

  /** Whether the pool may lend this connection again. */
  /**
   * Whether the connection may go back to the pool. Not when it broke or was tainted, and not when a statement
   * left a transaction open (`query('BEGIN')`, or a text without its COMMIT): the next borrower's statements
   * would silently run inside it. Such a connection is destroyed and replaced.
   */
  get isReusable(): boolean {
    if (this.broken || this.tainted) return false
    const status = this.client.getTransactionStatus?.()
    return status === undefined || status === null || status === 'I'
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
    this.client.query({ text: `DEALLOCATE ${quoteIdentifier(name)}` }).then(undefined, (error: unknown) => {
      this.logger?.debug({ err: error, statement: name }, 'DEALLOCATE of an evicted prepared statement failed')
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
  run(
    text: string,
    values: readonly (string | null)[] | undefined,
    name: string | undefined,
    signal?: AbortSignal,
    timeoutMs?: number,
  ): Promise<PgRawResult> {
    if (signal?.aborted) return Promise.reject(new AbortError('query', { cause: signal.reason }))
    const config: PgQueryConfig = name === undefined ? { text, values } : { text, values, name }
    this.busy++
    const settled = this.client.query(config).then(this.onResult, this.onFailure)
    if (signal === undefined && timeoutMs === undefined) return settled
    return this.cancellable(settled, text, signal, timeoutMs)
  }

  private readonly onResult = (result: PgRawResult | PgRawResult[]): PgRawResult => {
    this.busy--
    // A multi-statement simple query resolves to one result per statement: the last one is the answer.
    return Array.isArray(result) ? result[result.length - 1]! : result
  }

  private readonly onFailure = (error: unknown): never => {
    this.busy--
    if (isConnectionLoss(error)) this.broken = true
    // 26000: a prepared statement vanished (DISCARD ALL, DEALLOCATE ALL run by hand): start over.
    else if ((error as { code?: unknown } | null)?.code === '26000') this.forgetPrepared()
    throw error
  }

  private async cancellable(
    settled: Promise<PgRawResult>,
    text: string,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
  ): Promise<PgRawResult> {
    let reason = NOT_CANCELLED
    const cancel = (why: number) => {
      if (reason !== NOT_CANCELLED) return
      reason = why
      this.requestCancel()
    }
    const onAbort = () => cancel(ABORTED)
    signal?.addEventListener('abort', onAbort)
    const timer = timeoutMs === undefined ? undefined : setTimeout(cancel, Math.max(0, timeoutMs), TIMED_OUT)
    try {
      const result = await settled
      // The statement finished before the cancel landed: the request may still interrupt the next one.
      if (reason !== NOT_CANCELLED) this.tainted = true
      return result
    } catch (error) {
      if (reason === NOT_CANCELLED) throw error
      const cause = mapPgError(error, { sql: text })
      if (cause.code !== '57014') this.tainted = true
      if (reason === ABORTED) throw new AbortError('query', { cause })
      throw new TimeoutError({ operation: 'query', timeoutMs: timeoutMs ?? 0 }, { cause })
    } finally {
      if (timer !== undefined) clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
  }

  /** Asks the server to cancel what this connection runs; if the request cannot be sent, drops the socket. */
  requestCancel(): void {
    const { processID, secretKey } = this.client
    if (processID === null || processID === undefined || secretKey === null || secretKey === undefined) {
      this.destroySocket(new Error('cannot cancel: the backend key is unknown'))
      return
    }
    const target = { host: this.client.host ?? 'localhost', port: this.client.port ?? 5432, processId: processID, secretKey }
    sendCancelRequest(target).then(undefined, (error: unknown) => {
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
      this.destroySocket(new Error('the connection was closed while a statement was running'))
      return
    }
    try {
      await this.client.end()
    } catch (error) {
      this.logger?.debug({ err: error }, 'closing a pg connection failed')
    }
  }
}
