import { Readable, Writable } from 'node:stream'
import type { SqlInput } from './contracts'
import type { DriverCopyIn, DriverCopyOut } from './copy-seam'
import type { DriverConnection } from './driver'
import { AbortError, ConfigError, type TesseraError } from './errors'
import { isConnectionLoss } from './pg-errors'
import { ProviderClosedError } from './provider-errors'
import type { ProviderRuntime } from './provider-runtime'
import { SqlError } from './sql'

/** Options of `copyFrom` and `copyTo`. */
export interface CopyOptions {
  /** Aborting destroys the stream with an `AbortError`: a COPY FROM is rolled back (CopyFail), a COPY TO cancelled. */
  signal?: AbortSignal | undefined
}

/** The Writable `copyFrom` returns: pipe the data into it; once it emitted `'finish'` the server has every row. */
export interface CopyFromStream extends Writable {
  /** The rows the server copied (its `COPY n` tag), set before `'finish'`; `undefined` until then. */
  readonly rowCount: number | undefined
}

/** The Readable `copyTo` returns: the server's COPY data, chunk by chunk, with back-pressure. */
export interface CopyToStream extends Readable {
  /** The rows the server sent (its `COPY n` tag), set before `'end'`; `undefined` until then. */
  readonly rowCount: number | undefined
}

/** `copyFrom` / `copyTo`, on a provider (a pooled session) and on a transaction (its session). */
export interface CopyMethods {
  /**
   * Runs `COPY … FROM STDIN` and returns a Writable for its data (text, CSV or binary, as the statement says). Small
   * writes are gathered into 64 KiB CopyData messages; `write()` returns `false` while the socket is full. The
   * session is taken when the stream is created and given back when it finishes or is destroyed: destroying it (or a
   * source that fails inside `pipeline`) sends CopyFail, so no row is committed.
   *
   * @example
   * const copy = provider.copyFrom(sql`COPY items (id, name) FROM STDIN (FORMAT csv)`)
   * await pipeline(Readable.from(['1,apple\n', '2,pear\n']), copy)
   * copy.rowCount // 2
   */
  copyFrom(sql: SqlInput, options?: CopyOptions): CopyFromStream
  /**
   * Runs `COPY … TO STDOUT` and returns a Readable of its data. Reading slowly pauses the session's socket;
   * destroying the stream early cancels the COPY on the server.
   *
   * @example
   * await pipeline(provider.copyTo(sql`COPY items TO STDOUT (FORMAT csv)`), createWriteStream('items.csv'))
   */
  copyTo(sql: SqlInput, options?: CopyOptions): CopyToStream
}

/** Where a COPY takes its session from: the pool, or the transaction it runs in. */
export interface CopyLease {
  acquire(signal: AbortSignal | undefined): Promise<DriverConnection>
  release(connection: DriverConnection): void
}

/** Writes smaller than this are gathered into one CopyData message (pg-copy-streams and libpq send about as much). */
const GATHER_BYTES = 64 * 1024
/** A write at least this big is sent in a message of its own, without a copy. */
const SEND_AS_IS_BYTES = 16 * 1024

/** A lease on the provider's pool. */
export function poolLease(runtime: ProviderRuntime): CopyLease {
  return {
    acquire: (signal) => runtime.acquire(signal),
    release: (connection) => runtime.release(connection),
  }
}

/** The COPY statement's text; throws `SqlError` for parameters (COPY takes none) or a statement of the wrong direction. */
function copyText(runtime: ProviderRuntime, sql: SqlInput, direction: 'from' | 'to'): string {
  const { text, values } = runtime.compile(sql, undefined)
  if (values.length > 0) {
    throw new SqlError(
      `COPY takes no parameters, got ${values.length}; build table and column names with sql.id(…), and write options as literal text`,
      { value: values },
    )
  }
  const wanted = direction === 'from' ? /^\s*copy\b[\s\S]*\bfrom\s+stdin\b/i : /^\s*copy\b[\s\S]*\bto\s+stdout\b/i
  if (!wanted.test(text)) {
    const shape = direction === 'from' ? 'COPY … FROM STDIN' : 'COPY … TO STDOUT'
    throw new SqlError(`copy${direction === 'from' ? 'From' : 'To'} runs ${shape}; got ${JSON.stringify(text.slice(0, 80))}`, {
      value: text,
    })
  }
  return text
}

/** Shared by both directions: the session, error mapping and the provider's count of operations in flight. */
class CopySession {
  connection: DriverConnection | undefined
  text = ''
  private settle: (() => void) | undefined
  /** A copy created after `close()` is refused; one created before it runs, as any call made before `close()`. */
  private readonly closedAtStart: boolean

  private readonly signal: AbortSignal | undefined
  private readonly onAbort: (() => void) | undefined

  /** `destroy` is the stream's own: an abort of `signal` destroys the stream with an `AbortError`. */
  constructor(
    readonly runtime: ProviderRuntime,
    readonly lease: CopyLease,
    readonly operation: 'copyFrom' | 'copyTo',
    signal: AbortSignal | undefined,
    destroy: (error: Error) => void,
  ) {
    this.signal = signal
    if (signal !== undefined) {
      this.onAbort = () => destroy(new AbortError(operation, { cause: signal.reason }))
      signal.addEventListener('abort', this.onAbort, { once: true })
    }
    this.closedAtStart = runtime.closed
    // close() waits for the copy like any other call made before it.
    void runtime.track(
      new Promise<void>((resolve) => {
        this.settle = resolve
      }),
    )
  }

  /** A stream's `_construct`: runs `start`, and fails the stream with the mapped error. */
  construct(start: () => Promise<void>, callback: (error?: Error | null) => void): void {
    start().then(
      () => callback(),
      (error: unknown) => callback(this.fail(error)),
    )
  }

  /** The stream is being destroyed: an abort from now on has nothing to do. */
  stopWatching(): void {
    if (this.onAbort !== undefined) this.signal!.removeEventListener('abort', this.onAbort)
  }

  /** The error the caller sees, reported to `onError` once. */
  fail(error: unknown): Error {
    let mapped: TesseraError
    if (this.connection === undefined) mapped = this.runtime.normalize(error, this.text)
    else mapped = this.runtime.connectionFailure(this.connection, error, this.text)
    if (this.runtime.closed && isConnectionLoss(mapped)) {
      mapped = new ProviderClosedError(`a ${this.operation} still running at the close() deadline`, this.runtime.name, { cause: mapped })
    }
    return this.runtime.report(mapped, 'copy', this.text)
  }

  async open(sql: SqlInput, direction: 'from' | 'to'): Promise<DriverConnection> {
    const signal = this.signal
    if (this.closedAtStart) throw this.runtime.closedError(this.operation)
    this.text = copyText(this.runtime, sql, direction)
    if (signal?.aborted) throw new AbortError(this.operation, { cause: signal.reason })
    const connection = await this.lease.acquire(signal)
    this.connection = connection
    const supported = direction === 'from' ? connection.copyFrom : connection.copyTo
    if (supported === undefined) {
      throw new ConfigError(`the ${this.runtime.name} driver cannot run COPY (its connections have no ${this.operation})`, {
        subject: 'driver',
      })
    }
    return connection
  }

  /** Gives the session back (once) and ends the operation's tracking. */
  done(): void {
    const connection = this.connection
    this.connection = undefined
    if (connection !== undefined) this.lease.release(connection)
    this.settle?.()
    this.settle = undefined
  }
}

/** A source that failed or a `destroy()` without a reason: what the server is told in CopyFail. */
function failReason(error: Error | null): string {
  if (error === null) return 'the COPY stream was destroyed before it ended'
  return `the COPY stream failed: ${error.message}`
}

class CopyFromWritable extends Writable implements CopyFromStream {
  rowCount: number | undefined
  private copy: DriverCopyIn | undefined
  private gathered: Buffer[] = []
  private gatheredBytes = 0
  /** CopyDone or CopyFail was sent: the outcome is `copy.settled`'s. */
  private ending = false
  private completed = false
  private readonly session: CopySession

  constructor(
    runtime: ProviderRuntime,
    lease: CopyLease,
    private readonly sql: SqlInput,
    signal: AbortSignal | undefined,
  ) {
    super({ highWaterMark: GATHER_BYTES })
    this.session = new CopySession(runtime, lease, 'copyFrom', signal, (error) => this.destroy(error))
  }

  override _construct(callback: (error?: Error | null) => void): void {
    this.session.construct(() => this.start(), callback)
  }

  private async start(): Promise<void> {
    const connection = await this.session.open(this.sql, 'from')
    this.copy = await connection.copyFrom!(this.session.text)
    // A bad row makes the server end the COPY at once: the stream fails then, not at the next write.
    this.copy.settled.then(undefined, (error: unknown) => {
      if (!this.ending) this.destroy(this.session.fail(error))
    })
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    // A chunk big enough on its own goes as it is: gathering it would only copy it.
    if (this.gatheredBytes === 0 && chunk.length >= SEND_AS_IS_BYTES) {
      this.copy!.write(chunk, (error) => callback(error === undefined || error === null ? null : this.session.fail(error)))
      return
    }
    this.gathered.push(chunk)
    this.gatheredBytes += chunk.length
    if (this.gatheredBytes >= GATHER_BYTES) this.flush(callback)
    else callback()
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    for (const { chunk } of chunks) {
      this.gathered.push(chunk)
      this.gatheredBytes += chunk.length
    }
    if (this.gatheredBytes >= GATHER_BYTES) this.flush(callback)
    else callback()
  }

  private flush(callback: (error?: Error | null) => void): void {
    const data = this.gathered.length === 1 ? this.gathered[0]! : Buffer.concat(this.gathered, this.gatheredBytes)
    this.gathered = []
    this.gatheredBytes = 0
    this.copy!.write(data, (error) => callback(error === undefined || error === null ? null : this.session.fail(error)))
  }

  override _final(callback: (error?: Error | null) => void): void {
    const end = () => {
      this.ending = true
      this.copy!.end()
      this.copy!.settled.then(
        (count) => {
          this.rowCount = count
          this.completed = true
          callback()
        },
        (error: unknown) => callback(this.session.fail(error)),
      )
    }
    if (this.gatheredBytes === 0) end()
    else this.flush((error) => (error ? callback(error) : end()))
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.session.stopWatching()
    const copy = this.copy
    if (copy === undefined || this.completed) {
      this.session.done()
      callback(error)
      return
    }
    if (!this.ending) {
      this.ending = true
      copy.fail(failReason(error))
    }
    // The session is given back once the server has dropped the rows (or it died).
    copy.settled.then(
      () => {
        this.session.done()
        callback(error)
      },
      () => {
        this.session.done()
        callback(error)
      },
    )
  }
}

class CopyToReadable extends Readable implements CopyToStream {
  rowCount: number | undefined
  private copy: DriverCopyOut | undefined
  private paused = false
  private completed = false
  private readonly session: CopySession

  constructor(
    runtime: ProviderRuntime,
    lease: CopyLease,
    private readonly sql: SqlInput,
    signal: AbortSignal | undefined,
  ) {
    super()
    this.session = new CopySession(runtime, lease, 'copyTo', signal, (error) => this.destroy(error))
  }

  override _construct(callback: (error?: Error | null) => void): void {
    this.session.construct(() => this.start(), callback)
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.destroyed) return
    if (!this.push(chunk) && !this.paused) {
      this.paused = true
      this.copy?.pause()
    }
  }

  private async start(): Promise<void> {
    const connection = await this.session.open(this.sql, 'to')
    const copy = await connection.copyTo!(this.session.text, this.onData)
    this.copy = copy
    if (this.paused) copy.pause()
    copy.settled.then(
      (count) => {
        this.rowCount = count
        this.completed = true
        this.session.done()
        this.push(null)
      },
      (error: unknown) => {
        if (!this.destroyed) this.destroy(this.session.fail(error))
      },
    )
  }

  override _read(): void {
    if (!this.paused) return
    this.paused = false
    this.copy?.resume()
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.session.stopWatching()
    const copy = this.copy
    if (copy === undefined || this.completed) {
      this.session.done()
      callback(error)
      return
    }
    copy.cancel()
    copy.resume()
    const done = () => {
      this.session.done()
      callback(error)
    }
    copy.settled.then(done, done)
  }
}

/** For provider authors: `copyFrom` over a lease (the pool, or a transaction's session). */
export function createCopyFromStream(runtime: ProviderRuntime, lease: CopyLease, sql: SqlInput, options?: CopyOptions): CopyFromStream {
  return new CopyFromWritable(runtime, lease, sql, options?.signal)
}

/** For provider authors: `copyTo` over a lease (the pool, or a transaction's session). */
export function createCopyToStream(runtime: ProviderRuntime, lease: CopyLease, sql: SqlInput, options?: CopyOptions): CopyToStream {
  return new CopyToReadable(runtime, lease, sql, options?.signal)
}
