import type { DriverCopyIn, DriverCopyOut } from '@tessera/core/driver'

/** The socket under pg's wire connection, as a COPY writes to and pauses it. */
interface PgSocket {
  readonly writable: boolean
  write(data: Buffer): boolean
  cork(): void
  uncork(): void
  once(event: 'drain' | 'close', listener: () => void): unknown
  removeListener(event: 'drain' | 'close', listener: () => void): unknown
  pause(): unknown
  resume(): unknown
}

/** The subset of pg's `Connection` a COPY uses: a simple Query, and the socket for CopyData / CopyDone / CopyFail. */
export interface PgWire {
  query(text: string): void
  stream: PgSocket
}

/** What pg passes a submittable's `handleCommandComplete`. */
interface CommandCompleteMessage {
  text?: string | undefined
}

/** What pg passes `handleCopyData`. */
interface CopyDataMessage {
  chunk: Buffer
}

/** The count in a `COPY n` command tag. */
function copyCount(message: CommandCompleteMessage): number | undefined {
  const match = /^COPY (\d+)$/.exec(message.text ?? '')
  return match === null ? undefined : Number(match[1])
}

const COPY_DONE = Buffer.from([0x63, 0, 0, 0, 4])

/** A CopyData header ('d', length) for a chunk of `size` bytes. */
function copyDataHeader(size: number): Buffer {
  const header = Buffer.allocUnsafe(5)
  header[0] = 0x64
  header.writeUInt32BE(size + 4, 1)
  return header
}

/** A CopyFail message ('f', length, reason as a C string). */
function copyFailMessage(reason: string): Buffer {
  const text = Buffer.from(reason.replaceAll('\0', ' '), 'utf8')
  const message = Buffer.allocUnsafe(6 + text.length)
  message[0] = 0x66
  message.writeUInt32BE(5 + text.length, 1)
  text.copy(message, 5)
  message[message.length - 1] = 0
  return message
}

/**
 * The messages pg hands the active query. pg calls every `handle*` of its own `Query`; a submittable must answer them
 * all, even those a COPY never gets.
 */
abstract class PgCopySubmittable {
  readonly settled: Promise<number | undefined>
  protected wire: PgWire | undefined
  protected rowCount: number | undefined
  protected over = false
  private resolveSettled!: (count: number | undefined) => void
  private rejectSettled!: (error: unknown) => void

  constructor(
    readonly text: string,
    /** Called once, when the COPY is over: the connection restores what it changed for it. */
    private readonly onOver: () => void,
  ) {
    this.settled = new Promise((resolve, reject) => {
      this.resolveSettled = resolve
      this.rejectSettled = reject
    })
    // Settles even when nobody awaits it yet; the caller's handlers are attached separately.
    this.settled.catch(() => {})
  }

  submit(connection: PgWire): void {
    this.wire = connection
    connection.query(this.text)
  }

  protected succeed(): void {
    if (this.over) return
    this.over = true
    this.onOver()
    this.resolveSettled(this.rowCount)
  }

  protected failWith(error: unknown): void {
    if (this.over) return
    this.over = true
    this.onOver()
    this.rejectSettled(error)
  }

  handleCommandComplete(message: CommandCompleteMessage): void {
    this.rowCount = copyCount(message)
  }

  handleError(error: unknown): void {
    this.failWith(error)
  }

  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  abstract handleReadyForQuery(): void
  abstract handleCopyInResponse(): void
  abstract handleCopyData(message: CopyDataMessage): void
}

/** `COPY … FROM STDIN` on a pg client. */
export class PgCopyIn extends PgCopySubmittable implements DriverCopyIn {
  /** Resolves at CopyInResponse: the server waits for data. */
  readonly ready: Promise<void>
  private resolveReady!: () => void
  private rejectReady!: (error: unknown) => void
  private started = false

  constructor(text: string, onOver: () => void) {
    super(text, onOver)
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve
      this.rejectReady = reject
    })
    this.ready.catch(() => {})
    this.settled.catch((error: unknown) => this.rejectReady(error))
  }

  handleCopyInResponse(): void {
    this.started = true
    this.resolveReady()
  }

  handleCopyData(): void {}

  handleReadyForQuery(): void {
    if (this.started) this.succeed()
    else this.failWith(new Error(`the statement did not start a COPY FROM STDIN: ${this.text.slice(0, 80)}`))
  }

  write(chunk: Buffer, callback: (error?: Error | null) => void): void {
    const socket = this.wire?.stream
    // After an error the server drops whatever still comes; the stream learns of it through `settled`.
    if (this.over || socket === undefined || !socket.writable) {
      callback()
      return
    }
    socket.cork()
    socket.write(copyDataHeader(chunk.length))
    const flowing = socket.write(chunk)
    socket.uncork()
    if (flowing) {
      callback()
      return
    }
    const drained = () => {
      socket.removeListener('close', drained)
      socket.removeListener('drain', drained)
      callback()
    }
    socket.once('drain', drained)
    socket.once('close', drained)
  }

  end(): void {
    this.send(COPY_DONE)
  }

  fail(reason: string): void {
    this.send(copyFailMessage(reason))
  }

  private send(message: Buffer): void {
    const socket = this.wire?.stream
    if (this.over || socket === undefined || !socket.writable) return
    socket.write(message)
  }
}

/** `COPY … TO STDOUT` on a pg client. */
export class PgCopyOut extends PgCopySubmittable implements DriverCopyOut {
  constructor(
    text: string,
    onOver: () => void,
    private readonly onData: (chunk: Buffer) => void,
    private readonly onCancel: () => void,
  ) {
    super(text, onOver)
  }

  handleCopyData(message: CopyDataMessage): void {
    // pg's parser may reuse its buffer for the next read: the chunk is the caller's to keep.
    this.onData(Buffer.from(message.chunk))
  }

  /** A COPY FROM STDIN given to copyTo: refuse it, so the session is not left waiting for data. */
  handleCopyInResponse(): void {
    this.wire?.stream.write(copyFailMessage('copyTo runs COPY … TO STDOUT, not COPY … FROM STDIN'))
  }

  handleReadyForQuery(): void {
    this.succeed()
  }

  pause(): void {
    if (!this.over) this.wire?.stream.pause()
  }

  resume(): void {
    this.wire?.stream.resume()
  }

  cancel(): void {
    if (this.over) return
    this.onCancel()
  }
}
