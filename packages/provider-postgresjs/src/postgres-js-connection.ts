import { AbortError, ConfigError, type ConnectionInfo, type Logger, type QueryResult, type Row } from '@tessera/core'
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
import type { PostgresJsQuery, PostgresJsSql, PostgresJsUnsafeOptions } from './postgres-js-client'
import { startCopyIn, startCopyOut } from './postgres-js-copy'
import { openPostgresJsPortal } from './postgres-js-portal'
import type { SocketTracker } from './sockets'
import { toQueryResult, toQueryResults } from './to-query-result'

const PREPARED: PostgresJsUnsafeOptions = Object.freeze({ prepare: true })
const UNPREPARED: PostgresJsUnsafeOptions = Object.freeze({ prepare: false })
const NO_PARAMS: SerializedParams = Object.freeze([])

/** ReadyForQuery's status byte, as read by the socket's response scanner. */
const STATUS_BY_BYTE: Readonly<Record<number, TransactionStatus>> = { 73: 'idle', 84: 'in-transaction', 69: 'failed' }

/** How long a cancelled statement may take to end before its session's socket is dropped. */
const CANCEL_GRACE_MS = 2_000
/** How often a cancel waiting for its statement to start looks again. */
const CANCEL_POLL_MS = 2

/** How long an idle session may take to say goodbye before its socket is dropped. */
const END_TIMEOUT_S = 1

/**
 * One server session: a postgres.js instance of its own with `max: 1`, so a statement sent on it shares the session
 * with nobody else's. That is what makes a cancel safe (it can only interrupt a statement of the holder) and lets
 * `@tessera/pool` lend sessions exactly as it lends pg clients; statements sent together on it are still pipelined
 * by postgres.js.
 */
export class PostgresJsConnection implements DriverConnection {
  broken = false
  tainted = false
  transactionStatus: TransactionStatus = 'unknown'
  /** Statements sent and not settled (a COPY until it is over): `cancel()` cancels them all, `close()` drops them. */
  readonly active = new Set<PostgresJsQuery>()
  /**
   * Counts the texts sent that may change the transaction status. A scanned reply reports a status only if no such
   * text was sent after it: a BEGIN's ReadyForQuery arrives after a pipelined COMMIT was already sent behind it, and
   * must not leave the session looking `in-transaction` (which would close it at release).
   */
  private statusEpoch = 0

  constructor(
    readonly sql: PostgresJsSql,
    readonly sockets: SocketTracker,
    readonly info: ConnectionInfo,
    /** Prepare statements with parameters (the provider's `prepare` option). */
    private readonly autoPrepare: boolean,
    private readonly logger: Logger | undefined,
  ) {}

  /** The session's backend PID, once it has run a statement. */
  get pid(): number | undefined {
    return this.info.processId
  }

  run(text: string, params: SerializedParams, options?: RunOptions): Promise<QueryResult> {
    const signal = options?.signal
    // Nothing is sent for a signal that already aborted.
    if (signal?.aborted) return Promise.reject(new AbortError('query', { cause: signal.reason }))
    const query = this.issue(text, params, options?.prepare, options?.rowMode === 'array')
    const settled = this.settle(query)
    const timeoutMs = options?.timeoutMs
    if (signal === undefined && timeoutMs === undefined) return settled
    return cancellableStatement(settled, text, { signal, timeoutMs }, this, () => this.cancelQuery(query))
  }

  /**
   * Every result of a multi-statement text. Its reply must be read through the socket's scanner, which gives each
   * row-less statement a result of its own: without it (TLS, or other statements outstanding on the session)
   * postgres.js would merge results, so the call is refused with a `ConfigError` instead.
   */
  runMulti(text: string, options?: RunOptions): Promise<QueryResult[]> {
    const signal = options?.signal
    if (signal?.aborted) return Promise.reject(new AbortError('query', { cause: signal.reason }))
    if (this.active.size > 0) {
      return Promise.reject(
        new ConfigError('queryMulti cannot run while other statements are outstanding on this postgres.js session; await them first', {
          subject: 'queryMulti call',
        }),
      )
    }
    if (this.broken) return this.settleAll(this.issue(text, NO_PARAMS, false))
    this.transactionStatus = 'unknown'
    const armed = this.sockets.arm(this.info.processId, this.statusReporter())
    if (!armed) {
      return Promise.reject(
        new ConfigError(
          'postgres.js cannot return the results of several statements separately over TLS (its socket cannot be read); use provider-pg, or one query() per statement',
          { subject: 'queryMulti call' },
        ),
      )
    }
    const query = this.sql.unsafe(text, NO_PARAMS, UNPREPARED)
    query.catch(() => {
      if (this.transactionStatus === 'unknown') this.tainted = true
    })
    if (options?.rowMode === 'array') query.values()
    this.active.add(query)
    const settled = this.settleAll(query)
    const timeoutMs = options?.timeoutMs
    if (signal === undefined && timeoutMs === undefined) return settled
    return cancellableStatement(settled, text, { signal, timeoutMs }, this, () => this.cancelQuery(query))
  }

  private settleAll(query: PostgresJsQuery): Promise<QueryResult[]> {
    return query.then(
      (raw) => {
        this.ended(query)
        return toQueryResults(raw)
      },
      (error: unknown) => {
        this.ended(query)
        if (isSessionLoss(error)) this.broken = true
        throw error
      },
    )
  }

  send(text: string, params: SerializedParams): Promise<QueryResult> {
    return this.settle(this.issue(text, params, undefined))
  }

  cancel(): Promise<void> {
    return Promise.all(Array.from(this.active, (query) => this.cancelQuery(query))).then(() => {})
  }

  portal(text: string, params: SerializedParams, batchSize: number): DriverPortal {
    return openPostgresJsPortal(this, text, params, batchSize)
  }

  copyFrom(text: string): Promise<DriverCopyIn> {
    return startCopyIn(this, text)
  }

  copyTo(text: string, onData: (chunk: Buffer) => void): Promise<DriverCopyOut> {
    return startCopyOut(this, text, onData)
  }

  /**
   * Cancels one statement. One not yet handed to the session is dropped by postgres.js; one on the session gets a
   * protocol CancelRequest of ours (postgres.js' own opens its cancel socket in a way whose failure can escape as an
   * unhandled rejection). The session is the holder's alone, so the cancel can only reach the holder's statements.
   * When the request cannot be sent, or the statement does not end soon after (a stalled network), the session's
   * socket is dropped: every statement on it fails at once with a connection error.
   */
  /**
   * Cancels a COPY on the session: it is running (postgres.js handed its stream out), so the request goes at once; the
   * socket is dropped when the COPY has not ended (`ended`) soon after.
   */
  cancelCopy(query: PostgresJsQuery, ended: Promise<unknown>): void {
    void this.cancelQuery(query, ended)
  }

  /**
   * Resolves (never rejects) once nothing of the cancel is still on its way to the server: the server took the request
   * and closed its socket, the request failed and the session was dropped, or no request was needed (the statement was
   * dropped from the queue, or ended before it ran).
   */
  private cancelQuery(query: PostgresJsQuery, copyEnded?: Promise<unknown>): Promise<void> {
    const backend = query.state
    if (backend === null) {
      Promise.resolve(query.cancel()).catch(() => {})
      return Promise.resolve()
    }
    const dropSession = () => {
      this.broken = true
      this.sockets.destroyAll()
    }
    if (backend.pid === null || backend.secret === null) {
      dropSession()
      return Promise.resolve()
    }
    // The server this session connected to, which may be any of a host list (a socket directory for a Unix socket).
    const { host, port } = this.sockets.target
    const target = { host, port, processId: backend.pid, secretKey: backend.secret }
    let done = false
    let retry: ReturnType<typeof setTimeout> | undefined
    let request: Promise<void> | undefined
    let isThrough!: () => void
    const through = new Promise<void>((resolve) => {
      isThrough = resolve
    })
    // A CancelRequest only interrupts what the backend runs at that moment: wait until postgres.js reports the
    // statement running (`active`, postgres.js 3.4) so the request cannot land before it starts and be lost.
    const send = () => {
      if (done) return
      if (copyEnded === undefined && (query as { active?: boolean | undefined }).active === false) {
        retry = setTimeout(send, CANCEL_POLL_MS)
        return
      }
      request = sendCancelRequest(target, CANCEL_GRACE_MS).catch((error: unknown) => {
        this.logger?.warn({ err: error, processId: backend.pid }, 'cancel request failed; dropping the connection instead')
        dropSession()
      })
      void request.then(isThrough)
    }
    send()
    // Not ended soon after: the session is dropped, and with it anything still on its way to the backend matters to no
    // one (no statement is sent on that session again). A cursor's query, whose own promise never settles, ends here too.
    const grace = setTimeout(() => {
      done = true
      if (retry !== undefined) clearTimeout(retry)
      dropSession()
      isThrough()
    }, CANCEL_GRACE_MS)
    grace.unref()
    const settled = () => {
      done = true
      clearTimeout(grace)
      if (retry !== undefined) clearTimeout(retry)
      // Ended before the request went out: none will.
      if (request === undefined) isThrough()
    }
    ;(copyEnded ?? query).then(settled, settled)
    return through
  }

  /**
   * Sends one statement. A text that may change the session's transaction state (BEGIN, COMMIT…, or several
   * statements in one text) sent while nothing else is outstanding has its reply read through the socket's
   * {@link ResponseScanner}: it learns the transaction status, and gives each statement of a multi-statement text a
   * result of its own.
   */
  private issue(text: string, params: SerializedParams, prepare: boolean | string | undefined, asArrays = false): PostgresJsQuery {
    // A dead session is never reopened behind the holder's back: postgres.js would silently connect again, and a
    // transaction's next statement would run on a new session, outside the transaction.
    if (this.broken) {
      const error = Object.assign(new Error('the connection of this session was closed'), { code: 'CONNECTION_CLOSED' })
      return Promise.reject(error) as PostgresJsQuery
    }
    const unsafeOptions = prepare === false || params.length === 0 || !this.autoPrepare ? UNPREPARED : PREPARED
    let query: PostgresJsQuery
    if (params.length === 0 && mayChangeTransactionState(text)) {
      // Behind other statements the reply cannot be read from a message boundary: the status is then not known
      // (the provider's own pipelined BEGIN … COMMIT of a batch or a stream's CLOSE + COMMIT).
      if (this.active.size === 0) query = this.scanned(text, params, unsafeOptions)
      else {
        this.statusEpoch++
        this.transactionStatus = 'unknown'
        query = this.sql.unsafe(text, params, unsafeOptions)
      }
    } else query = this.sql.unsafe(text, params, unsafeOptions)
    // Before it is awaited (which sends it): the rows are then built as arrays.
    if (asArrays) query.values()
    this.active.add(query)
    return query
  }

  /**
   * A statement from {@link issue} as core's result, once the connection noted how it ended. One `then` on the query
   * for all of it: each `then` on a postgres.js query runs its lazy `handle()` and a species lookup, and makes a
   * promise.
   */
  private settle(query: PostgresJsQuery): Promise<QueryResult> {
    return query.then(
      (raw) => {
        this.ended(query)
        return toQueryResult<Row>(raw)
      },
      (error: unknown) => {
        this.ended(query)
        if (isSessionLoss(error)) this.broken = true
        throw error
      },
    )
  }

  private ended(query: PostgresJsQuery): void {
    this.active.delete(query)
    if (this.info.processId === undefined && query.state?.pid != null) this.info.processId = query.state.pid
  }

  /**
   * Sends a statement whose reply the socket's scanner reads. The session is ours alone and idle, so the scanner is
   * armed before the statement is written and the reply starts at a message boundary. (Over TLS nothing can be read:
   * the status becomes `'unknown'` and, when such a text fails, the session is not reused.)
   */
  private scanned(text: string, params: SerializedParams, options: PostgresJsUnsafeOptions): PostgresJsQuery {
    this.transactionStatus = 'unknown'
    this.sockets.arm(this.info.processId, this.statusReporter())
    const query = this.sql.unsafe(text, params, options)
    // A failed text may have left the session anywhere; its status may be read only after the caller saw the error.
    query.catch(() => {
      if (this.transactionStatus === 'unknown') this.tainted = true
    })
    return query
  }

  /** The scanner's callback for the text about to be sent: it sets the status unless a later such text was sent. */
  statusReporter(): (status: number) => void {
    const epoch = ++this.statusEpoch
    return (status) => {
      if (epoch === this.statusEpoch) this.transactionStatus = STATUS_BY_BYTE[status] ?? 'unknown'
    }
  }

  /**
   * Ends the session; never throws. A session with statements outstanding (the pool gave up waiting for it while
   * draining) has them cancelled and its socket dropped at once, so neither the caller nor the backend waits.
   */
  async close(): Promise<void> {
    this.broken = true
    if (this.active.size > 0) {
      this.cancel()
      this.sockets.destroyAll()
    }
    try {
      await this.sql.end({ timeout: END_TIMEOUT_S })
    } catch (error) {
      this.logger?.debug({ err: error }, 'closing a postgres.js session failed')
    }
    this.sockets.destroyAll()
  }
}

/** Errors after which the session is gone. */
export function isSessionLoss(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code !== 'string') return false
  return (
    code.startsWith('08') ||
    code.startsWith('57P') ||
    code === 'CONNECTION_CLOSED' ||
    code === 'CONNECTION_ENDED' ||
    code === 'CONNECTION_DESTROYED' ||
    code === 'ECONNRESET' ||
    code === 'EPIPE' ||
    code === 'ETIMEDOUT' ||
    code === 'CONNECT_TIMEOUT'
  )
}
