import type { SerializedParams } from '@tessera/core/driver'
import type { PgFieldDescription, PgRawResult } from './pg-client'

/** The subset of pg's `Connection` the portal uses: the extended-protocol messages. */
export interface PgPortalWire {
  parse(message: { text: string; types: number[] }): void
  bind(message: { portal: string; statement: string; values: readonly (string | null)[] }): void
  describe(message: { type: 'P'; name: string }): void
  execute(message: { portal: string; rows: number }): void
  flush(): void
  sync(): void
}

type Parser = (text: string) => unknown

interface Waiter {
  resolve(batch: PgRawResult | undefined): void
  reject(error: unknown): void
}

/**
 * A statement run through an unnamed portal, `rows` rows per Execute: what `provider.stream` uses for statements a
 * cursor cannot hold (`INSERT … RETURNING`, `UPDATE … RETURNING`, `DELETE … RETURNING`). The server runs the statement
 * to completion at the first Execute and keeps its rows; each Execute hands over the next batch, so the client holds
 * one batch at a time. A pg submittable: pg gives it every reply while it is the client's active query.
 */
export class PgPortal {
  private wire: PgPortalWire | undefined
  private fields: PgFieldDescription[] = []
  private parsers: Parser[] = []
  private rows: Record<string, unknown>[] = []
  private waiter: Waiter | undefined
  private state: 'running' | 'suspended' | 'complete' | 'failed' | 'over' = 'running'
  private failure: unknown
  private command = ''
  /** Settles when the session is ready again (or failed). */
  readonly over: Promise<void>
  private markOver!: () => void

  constructor(
    private readonly text: string,
    private readonly values: SerializedParams,
    private readonly batchSize: number,
    private readonly typeParser: (oid: number) => Parser,
    private readonly onOver: () => void,
  ) {
    this.over = new Promise((resolve) => {
      this.markOver = resolve
    })
  }

  submit(connection: PgPortalWire): void {
    this.wire = connection
    connection.parse({ text: this.text, types: [] })
    connection.bind({ portal: '', statement: '', values: this.values })
    connection.describe({ type: 'P', name: '' })
    connection.execute({ portal: '', rows: this.batchSize })
    connection.flush()
  }

  /** The next batch of rows, or `undefined` once every row was handed over. */
  next(): Promise<PgRawResult | undefined> {
    if (this.state === 'failed') return Promise.reject(this.failure)
    if (this.waiter !== undefined) return Promise.reject(new Error('next() called while a batch is still coming'))
    if (this.state === 'suspended') {
      this.state = 'running'
      this.wire!.execute({ portal: '', rows: this.batchSize })
      this.wire!.flush()
    } else if (this.state === 'complete' || this.state === 'over') {
      return Promise.resolve(this.takeRows())
    }
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject }
    })
  }

  /** Ends the portal (Sync) without reading the rest; resolves when the session is ready for the next statement. */
  close(): Promise<void> {
    if (this.state === 'suspended') {
      this.state = 'complete'
      this.wire!.sync()
    }
    return this.over
  }

  private takeRows(): PgRawResult | undefined {
    if (this.rows.length === 0) return undefined
    const rows = this.rows
    this.rows = []
    return { rows, rowCount: rows.length, command: this.command, fields: this.fields }
  }

  private deliver(): void {
    const waiter = this.waiter
    if (waiter === undefined) return
    this.waiter = undefined
    waiter.resolve(this.takeRows())
  }

  handleRowDescription(message: { fields: PgFieldDescription[] }): void {
    this.fields = message.fields
    this.parsers = message.fields.map((field) => this.typeParser(field.dataTypeID))
  }

  handleDataRow(message: { fields: (string | null)[] }): void {
    const row: Record<string, unknown> = {}
    const values = message.fields
    for (let i = 0; i < values.length; i++) {
      const value = values[i]
      row[this.fields[i]!.name] = value === null || value === undefined ? null : this.parsers[i]!(value)
    }
    this.rows.push(row)
  }

  handlePortalSuspended(): void {
    this.state = 'suspended'
    this.deliver()
  }

  handleCommandComplete(message: { text?: string | undefined }): void {
    this.command = /^[A-Z]+/.exec(message.text ?? '')?.[0] ?? ''
    this.state = 'complete'
    this.wire!.sync()
    this.deliver()
  }

  handleEmptyQuery(): void {
    this.state = 'complete'
    this.wire!.sync()
    this.deliver()
  }

  handleReadyForQuery(): void {
    this.finish()
    this.deliver()
  }

  handleError(error: unknown): void {
    this.state = 'failed'
    this.failure = error
    // After an error the server skips to the next Sync: send it, so the session gets back to ReadyForQuery.
    this.wire?.sync()
    const waiter = this.waiter
    this.waiter = undefined
    waiter?.reject(error)
    this.finish()
  }

  handleCopyInResponse(): void {}
  handleCopyData(): void {}

  private finish(): void {
    if (this.state !== 'failed') this.state = 'over'
    this.onOver()
    this.markOver()
  }
}
