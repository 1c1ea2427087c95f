import {
  ConfigError,
  describeValue,
  type Queryable,
  type QueryResult as TesseraResult,
  type Transaction,
  type TransactionOptions,
} from '@tessera/core'
import type { CompiledQuery, DatabaseConnection, QueryResult, TransactionSettings } from 'kysely'
import { type HeldScope, holdScope } from './held-scope'
import { KyselyDialectError } from './kysely-dialect-error'
import type { QueryableCapabilities, ReservedConnection, ReserveOptions } from './queryable-shapes'

/** Commands whose row count Kysely reports as `numAffectedRows`. */
const AFFECTING_COMMANDS = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE'])

let cursorCounter = 0

/**
 * What Kysely calls a connection, over a Tessera queryable. Kysely acquires one for every statement, stream,
 * transaction and `db.connection()` call. Outside a transaction it holds nothing: each statement goes through
 * `queryable.query` (retries, hooks, routing, telemetry). In a transaction it holds the Tessera transaction (and a
 * stack of savepoints above it); under `withConnection` it holds a reserved connection.
 */
export class TesseraConnection implements DatabaseConnection {
  /** The transaction (index 0) and the savepoints Kysely opened in it, innermost last. */
  private readonly scopes: HeldScope<Transaction>[] = []
  private reserved: HeldScope<ReservedConnection> | undefined
  /** Statements, streams and transactions run without a reserved connection; a second one means `db.connection()`. */
  private unpinnedUses = 0

  constructor(private readonly queryable: QueryableCapabilities) {}

  /** Where statements run now: the innermost savepoint, the transaction, the reserved connection or the queryable. */
  private target(): QueryableCapabilities {
    const scope = this.scopes.at(-1)
    if (scope !== undefined) return scope.scope
    if (this.reserved !== undefined) return this.reserved.scope
    this.countUnpinnedUse()
    return this.queryable
  }

  /**
   * Kysely uses a connection it acquired for one statement, one stream or one transaction, except inside
   * `db.connection().execute(fn)`: a second use of a connection that holds nothing can only be that.
   */
  private countUnpinnedUse(): void {
    this.unpinnedUses++
    if (this.unpinnedUses > 1) {
      throw new KyselyDialectError(
        'KYSELY_CONNECTION_NOT_PINNED',
        'a second statement or transaction on one Kysely connection: db.connection() cannot hold a Tessera connection (Kysely does not tell its driver that a connection is for db.connection()), so its statements could run on different connections; use withConnection(db, fn) from @tessera/kysely, or db.transaction()',
      )
    }
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.target().query(compiledQuery.sql, compiledQuery.parameters)
    return toKyselyResult(result) as QueryResult<R>
  }

  async *streamQuery<R>(compiledQuery: CompiledQuery, chunkSize = 100): AsyncIterableIterator<QueryResult<R>> {
    if (!Number.isInteger(chunkSize) || chunkSize <= 0) {
      throw new ConfigError(`chunkSize is ${describeValue(chunkSize)}; accepted: a positive integer`, { subject: 'stream call' })
    }
    const target = this.target()
    if (typeof target.stream === 'function') {
      yield* chunked<R>(target.stream<R>(compiledQuery.sql, compiledQuery.parameters, { batchSize: chunkSize }), chunkSize)
      return
    }
    // A Tessera transaction (Kysely's, or the dialect's own queryable) has savepoint() and no stream(): use a cursor.
    if (typeof target.savepoint === 'function') {
      yield* cursorChunks<R>(target, compiledQuery, chunkSize)
      return
    }
    throw new KyselyDialectError(
      'KYSELY_STREAM_UNSUPPORTED',
      'this queryable has no stream() and is not a transaction, so .stream() has nothing to read with; pass a provider, or stream inside db.transaction()',
    )
  }

  /** `beginTransaction`: a Tessera transaction held open until `commit` or `rollback`. */
  async begin(settings: TransactionSettings): Promise<void> {
    const owner: QueryableCapabilities = this.reserved?.scope ?? this.queryable
    if (this.reserved === undefined) this.countUnpinnedUse()
    const options = transactionOptions(settings)
    if (typeof owner.transaction === 'function') {
      const transaction = owner.transaction.bind(owner)
      this.scopes.push(await holdScope<Transaction>((fn) => transaction(fn, options)))
      return
    }
    if (typeof owner.savepoint === 'function') {
      // The queryable is itself a Tessera transaction: Kysely's transaction becomes a savepoint in it.
      if (options.isolation !== undefined || options.readOnly !== undefined) {
        throw new KyselyDialectError(
          'KYSELY_TRANSACTION_UNSUPPORTED',
          'isolation level and access mode cannot be set here: the queryable is already a Tessera transaction, so db.transaction() runs as a savepoint in it; set them where that transaction begins',
        )
      }
      const savepoint = owner.savepoint.bind(owner)
      this.scopes.push(await holdScope<Transaction>((fn) => savepoint(fn)))
      return
    }
    throw new KyselyDialectError(
      'KYSELY_TRANSACTION_UNSUPPORTED',
      'this queryable has neither transaction() nor savepoint(), so db.transaction() cannot run on it; pass a provider or a Tessera transaction',
    )
  }

  /** `commitTransaction`: releases the open savepoints, innermost first, then commits. */
  async commit(): Promise<void> {
    await this.endScopesAbove(0, true)
  }

  /** `rollbackTransaction`: rolls back the open savepoints, innermost first (Tessera unwinds them in order), then the transaction. */
  async rollback(): Promise<void> {
    await this.endScopesAbove(0, false)
  }

  async savepoint(name: string): Promise<void> {
    const parent = this.scopes.at(-1)
    if (parent === undefined) throw notInTransaction('savepoint')
    const savepoint = parent.scope.savepoint.bind(parent.scope)
    this.scopes.push(await holdScope<Transaction>((fn) => savepoint(fn), name))
  }

  /** `ROLLBACK TO SAVEPOINT`: undoes the savepoint's work, which stays open (as in SQL) for more work or another rollback. */
  async rollbackToSavepoint(name: string): Promise<void> {
    await this.endScopesAbove(this.savepointIndex(name), false)
    await this.savepoint(name)
  }

  /** `RELEASE SAVEPOINT`: keeps the savepoint's work and forgets it (and the savepoints opened after it). */
  async releaseSavepoint(name: string): Promise<void> {
    await this.endScopesAbove(this.savepointIndex(name), true)
  }

  private savepointIndex(name: string): number {
    for (let index = this.scopes.length - 1; index >= 1; index--) {
      if (this.scopes[index]?.name === name) return index
    }
    if (this.scopes.length === 0) throw notInTransaction('rollbackToSavepoint / releaseSavepoint')
    const open = this.scopes.flatMap((scope) => (scope.name === undefined ? [] : [`"${scope.name}"`]))
    throw new KyselyDialectError(
      'KYSELY_SAVEPOINT_UNKNOWN',
      `no open savepoint named ${describeValue(name)} in this transaction (open: ${open.length === 0 ? 'none' : open.join(', ')})`,
    )
  }

  /** Ends the scopes from `index` up, innermost first; the first failure stops and is thrown, the rest are rolled back. */
  private async endScopesAbove(index: number, commit: boolean): Promise<void> {
    let failure: unknown
    while (this.scopes.length > index) {
      const scope = this.scopes.pop() as HeldScope<Transaction>
      try {
        await scope.end(commit && failure === undefined)
      } catch (error) {
        failure ??= error
      }
    }
    if (failure !== undefined) throw failure
  }

  /** Under `withConnection`: holds one of the queryable's connections until {@link release}. */
  async reserve(options: ReserveOptions | undefined): Promise<void> {
    const queryable = this.queryable
    if (typeof queryable.connection !== 'function') {
      throw new KyselyDialectError(
        'KYSELY_CONNECTION_UNSUPPORTED',
        'withConnection needs a queryable with connection(fn) (a provider of a Tessera version that reserves connections); this one has none, so statements cannot be kept on one connection',
      )
    }
    const connection = queryable.connection.bind(queryable)
    this.reserved = await holdScope<ReservedConnection>((fn) => connection(fn, options))
  }

  /** `releaseConnection`: gives back a reserved connection; a transaction Kysely left open is rolled back first. */
  async release(): Promise<void> {
    if (this.scopes.length > 0) await this.rollback()
    const reserved = this.reserved
    this.reserved = undefined
    await reserved?.end(true)
  }
}

function notInTransaction(operation: string): KyselyDialectError {
  return new KyselyDialectError('KYSELY_TRANSACTION_UNSUPPORTED', `${operation} needs an open transaction on this connection`)
}

function toKyselyResult(result: TesseraResult): QueryResult<unknown> {
  if (AFFECTING_COMMANDS.has(result.command)) return { rows: result.rows, numAffectedRows: BigInt(result.rowCount) }
  return { rows: result.rows }
}

/** Kysely's transaction settings as Tessera's transaction options; values Tessera refuses reach its `ConfigError`. */
function transactionOptions(settings: TransactionSettings): TransactionOptions {
  const options: TransactionOptions = {}
  if (settings.isolationLevel !== undefined) options.isolation = settings.isolationLevel as TransactionOptions['isolation']
  if (settings.accessMode !== undefined) options.readOnly = settings.accessMode === 'read only'
  return options
}

async function* chunked<R>(rows: AsyncIterable<R>, chunkSize: number): AsyncIterableIterator<QueryResult<R>> {
  let chunk: R[] = []
  for await (const row of rows) {
    chunk.push(row)
    if (chunk.length === chunkSize) {
      yield { rows: chunk }
      chunk = []
    }
  }
  if (chunk.length > 0) yield { rows: chunk }
}

/** Streams in a transaction whose queryable has no `stream()`: a server-side cursor, `chunkSize` rows per FETCH. */
async function* cursorChunks<R>(tx: Queryable, compiledQuery: CompiledQuery, chunkSize: number): AsyncIterableIterator<QueryResult<R>> {
  const cursor = `tessera_kysely_cursor_${++cursorCounter}`
  await tx.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR ${compiledQuery.sql}`, compiledQuery.parameters)
  try {
    while (true) {
      const { rows } = await tx.query<R>(`FETCH FORWARD ${chunkSize} FROM ${cursor}`)
      if (rows.length > 0) yield { rows }
      if (rows.length < chunkSize) return
    }
  } finally {
    // After a failed FETCH the transaction is aborted and CLOSE fails too; the cursor ends with the transaction then.
    await tx.query(`CLOSE ${cursor}`).catch(() => undefined)
  }
}
