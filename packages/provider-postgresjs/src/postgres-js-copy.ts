import { type Readable, Stream, type Writable } from 'node:stream'
import type { DriverCopyIn, DriverCopyOut, TransactionStatus } from '@tessera/core/driver'
import type { PostgresJsQuery } from './postgres-js-client'
import { isSessionLoss, type PostgresJsConnection } from './postgres-js-connection'
import { COMMAND_COMPLETE, ERROR_RESPONSE } from './sockets'

const STATUS_BY_BYTE: Readonly<Record<number, TransactionStatus>> = { 73: 'idle', 84: 'in-transaction', 69: 'failed' }

/** postgres.js' names for the fields of an ErrorResponse, so core maps it as it maps postgres.js' own errors. */
const ERROR_FIELDS: Readonly<Record<number, string>> = {
  83: 'severity_local',
  86: 'severity',
  67: 'code',
  77: 'message',
  68: 'detail',
  72: 'hint',
  80: 'position',
  112: 'internal_position',
  113: 'internal_query',
  87: 'where',
  115: 'schema_name',
  116: 'table_name',
  99: 'column_name',
  100: 'data type_name',
  110: 'constraint_name',
  70: 'file',
  76: 'line',
  82: 'routine',
}

/** An ErrorResponse read off the socket, shaped like postgres.js' `PostgresError`. */
function parseErrorResponse(message: Buffer): Error {
  const fields: Record<string, string> = {}
  let start = 5
  for (let i = 5; i < message.length - 1; i++) {
    if (message[i] !== 0) continue
    const name = ERROR_FIELDS[message[start]!]
    if (name !== undefined) fields[name] = message.toString('utf8', start + 1, i)
    start = i + 1
  }
  return Object.assign(new Error(fields.message ?? 'COPY failed'), { name: 'PostgresError' }, fields)
}

/** The count of a `COPY n` CommandComplete. */
function parseCopyCount(message: Buffer): number | undefined {
  const match = /^COPY (\d+)$/.exec(message.toString('utf8', 5, message.length - 1))
  return match === null ? undefined : Number(match[1])
}

/**
 * How one COPY ends. With the session's socket readable (not TLS), its reply is read through the socket's scanner:
 * the COPY is over at its ReadyForQuery, with the count of its CommandComplete or the error of its ErrorResponse. That
 * covers what postgres.js 3 does not report (the count; an error after CopyDone, which would leave its stream waiting).
 * Over TLS, the stream's own end or error decides, and the count is the one postgres.js 4 reports (none from 3).
 */
class CopyOutcome {
  readonly settled: Promise<number | undefined>
  /** The reply is read through the scanner. */
  readonly armed: boolean
  private over = false
  private count: number | undefined
  private error: Error | undefined
  private resolve!: (count: number | undefined) => void
  private reject!: (error: unknown) => void
  private readonly unwatch: () => void

  constructor(
    private readonly connection: PostgresJsConnection,
    private readonly query: () => PostgresJsQuery | undefined,
  ) {
    this.settled = new Promise((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
    this.settled.catch(() => {})
    connection.transactionStatus = 'unknown'
    this.armed = connection.sockets.arm(connection.pid, this.onReady, this.onMessage)
    // A session that dies mid-COPY may not tell the stream (postgres.js 3 after CopyDone): its socket closing does.
    this.unwatch = connection.sockets.onceClosed(() => {
      connection.broken = true
      this.failWith(Object.assign(new Error('the connection was closed during COPY'), { code: 'CONNECTION_CLOSED' }))
    })
  }

  private readonly onMessage = (type: number, message: Buffer): void => {
    if (type === COMMAND_COMPLETE) this.count = parseCopyCount(message)
    else if (type === ERROR_RESPONSE) this.error ??= parseErrorResponse(message)
  }

  /** The reply's ReadyForQuery was read (armed), and the postgres.js stream ended: both are needed for success. */
  private replyEnded = false
  private streamDone = false

  private readonly onReady = (status: number): void => {
    this.connection.transactionStatus = STATUS_BY_BYTE[status] ?? 'unknown'
    if (this.error !== undefined) {
      this.failWith(this.error)
      return
    }
    this.replyEnded = true
    // postgres.js may hand the last data to its stream's consumer later than this: wait for the stream's end.
    if (this.streamDone) this.succeed(this.count)
  }

  /** What the postgres.js stream reported as its error. */
  streamFailed(error: unknown): void {
    if (isSessionLoss(error)) this.connection.broken = true
    // Read through the scanner, a server error is reported at the ReadyForQuery; a lost session never gets there.
    if (!this.armed || isSessionLoss(error)) this.failWith(error)
  }

  /** The postgres.js stream ended; decides only when the reply is not read through the scanner. */
  streamEnded(count: number | undefined): void {
    this.streamDone = true
    if (!this.armed) this.succeed(count)
    else if (this.replyEnded) this.succeed(this.count)
  }

  succeed(count: number | undefined): void {
    if (this.over) return
    this.finish()
    this.resolve(count)
  }

  failWith(error: unknown): void {
    if (this.over) return
    this.finish()
    if (this.connection.transactionStatus === 'unknown' && !this.armed) this.connection.tainted = true
    this.reject(error)
  }

  private finish(): void {
    this.over = true
    this.unwatch()
    const query = this.query()
    if (query !== undefined) this.connection.active.delete(query)
  }
}

/**
 * Listens for the COPY stream's errors from the moment postgres.js creates it. postgres.js makes the stream on
 * CopyOutResponse / CopyInResponse and resolves the query with it; an ErrorResponse in the same socket chunk destroys
 * the stream at once, and its 'error' (a nextTick) comes before the query's resolution reaches us (a microtask):
 * without a listener by then, it is an uncaught exception. postgres.js 3 keeps `resolve` as an own property, 4 as a
 * method: an own property wrapping either one sees the stream first.
 */
function listenFromCreation(query: PostgresJsQuery, outcome: CopyOutcome): void {
  const resolvable = query as unknown as { resolve: (value: unknown) => unknown }
  const resolve = resolvable.resolve
  resolvable.resolve = (value: unknown) => {
    if (value instanceof Stream) value.on('error', (error: Error) => outcome.streamFailed(error))
    return resolve.call(query, value)
  }
}

/** Sends the COPY statement (after arming the scanner) and waits for postgres.js' stream. */
async function startCopy<S extends Writable | Readable>(
  connection: PostgresJsConnection,
  text: string,
  open: (query: PostgresJsQuery) => Promise<S>,
): Promise<{ stream: S; outcome: CopyOutcome; query: PostgresJsQuery }> {
  if (connection.broken) {
    throw Object.assign(new Error('the connection of this session was closed'), { code: 'CONNECTION_CLOSED' })
  }
  let query: PostgresJsQuery | undefined
  const outcome = new CopyOutcome(connection, () => query)
  query = connection.sql.unsafe(text, [], { prepare: false })
  listenFromCreation(query, outcome)
  connection.active.add(query)
  try {
    return { stream: await open(query), outcome, query }
  } catch (error) {
    outcome.failWith(error)
    if (isSessionLoss(error)) connection.broken = true
    throw error
  }
}

/** `COPY … FROM STDIN` on a postgres.js session, through its `writable()`. */
export async function startCopyIn(connection: PostgresJsConnection, text: string): Promise<DriverCopyIn> {
  const { stream, outcome } = await startCopy(connection, text, (query) => query.writable())
  stream.on('finish', () => outcome.streamEnded((stream as { count?: number | null | undefined }).count ?? undefined))
  return {
    settled: outcome.settled,
    write(chunk, callback) {
      // The outcome (a bad row, a lost session) comes through `settled`, not through a write's callback.
      if (stream.destroyed || stream.writableEnded) callback()
      else stream.write(chunk, () => callback())
    },
    end: () => {
      stream.end()
    },
    fail: (reason) => {
      stream.destroy(new Error(reason))
    },
  }
}

/** `COPY … TO STDOUT` on a postgres.js session, through its `readable()`. */
export async function startCopyOut(
  connection: PostgresJsConnection,
  text: string,
  onData: (chunk: Buffer) => void,
): Promise<DriverCopyOut> {
  const { stream, outcome, query } = await startCopy(connection, text, (pending) => pending.readable())
  stream.on('end', () => outcome.streamEnded((stream as { count?: number | null | undefined }).count ?? undefined))
  stream.on('data', onData)
  return {
    settled: outcome.settled,
    pause: () => {
      stream.pause()
    },
    resume: () => {
      stream.resume()
    },
    cancel: () => {
      // The cancel request may land after the COPY ended, on the next statement: the session is not lent again.
      connection.tainted = true
      connection.cancelCopy(query, outcome.settled)
    },
  }
}
