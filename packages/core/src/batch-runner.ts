import { untilCancelled } from './cancellable-statement'
import type { BatchOptions, BatchQuery, QueryResult } from './contracts'
import { type BatchMessage, CHANNELS, hasTraceSubscribers, traced } from './diagnostics'
import type { DriverConnection, SerializedParams } from './driver'
import { AbortError, ConfigError, describeValue, isTesseraError, TimeoutError } from './errors'
import type { QueryContext } from './hooks'
import { InvalidTransactionStateError, isConnectionLoss } from './pg-errors'
import { markBatchIndex } from './provider-errors'
import { outcomeUnknown, type ProviderRuntime, type Statement } from './provider-runtime'
import { isReadStatement } from './statement'

const NO_OPTIONS = Object.freeze({})
const NO_PARAMS: SerializedParams = Object.freeze([])

/**
 * For provider authors: `provider.batch`. Every statement on one connection, written back to back so the whole
 * batch costs one round trip:
 *
 * - `atomic: false` (default): each statement runs in its own implicit transaction. A failing statement does
 *   not stop the others: the ones before *and after* it are committed. The batch rejects with the error of the
 *   first failing statement, its position in `error.batchIndex` ({@link batchIndexOf}).
 * - `atomic: true`: `BEGIN` … `COMMIT` around them: one failure rolls every statement back.
 *
 * Without query hooks every parameter is serialised before anything reaches the server; with them, each statement
 * goes through `onQuery` in order. `signal`/`timeoutMs` call `driver.cancel` once.
 */
export async function runBatch(
  runtime: ProviderRuntime,
  queries: readonly BatchQuery[],
  options: BatchOptions = NO_OPTIONS,
): Promise<QueryResult[]> {
  let statements: Statement[] | undefined
  let serialized: SerializedParams[] | undefined
  try {
    if (runtime.closed) throw runtime.closedError('batch')
    statements = compileBatch(runtime, queries)
    if (options.signal?.aborted) throw new AbortError('batch', { cause: options.signal.reason })
    if (statements.length === 0) return []
    // Without hooks every statement is known now: serialise them all before anything reaches the server, so
    // bad input fails the whole batch rather than one statement of it.
    serialized = runtime.hooks.hasQueryHooks
      ? undefined
      : statements.map((statement) => runtime.serialize(statement.text, statement.values))
  } catch (error) {
    throw batchFailure(runtime, error, statements)
  }
  const compiled = statements
  const run = () => runCompiled(runtime, compiled, serialized, options)
  if (!hasTraceSubscribers(CHANNELS.batch)) return run()
  const runtimeOptions = runtime.options
  const message: BatchMessage = {
    driver: runtime.name,
    statements: compiled.map((statement) => statement.text),
    atomic: options.atomic === true,
    database: runtimeOptions.database,
    host: runtimeOptions.host,
    port: runtimeOptions.port,
    pool: runtimeOptions.name,
  }
  return traced(CHANNELS.batch, message, run)
}

/** The batch's statements on one connection, inside the `tessera:batch` span when someone listens. */
async function runCompiled(
  runtime: ProviderRuntime,
  statements: readonly Statement[],
  serialized: readonly SerializedParams[] | undefined,
  options: BatchOptions,
): Promise<QueryResult[]> {
  try {
    const atomic = options.atomic === true
    const connection = await runtime.acquire(options.signal, options.timeoutMs)
    try {
      const cancellable = options.signal !== undefined || options.timeoutMs !== undefined
      const confirmsBegin = cancellable && runtime.driver.properties.confirmsBeginInBatch
      return await withCancellation(connection, options, () =>
        serialized === undefined
          ? hookedBatch(runtime, connection, statements, atomic)
          : pipelinedBatch(runtime, connection, statements, serialized, atomic, confirmsBegin),
      )
    } finally {
      runtime.release(connection)
    }
  } catch (error) {
    throw batchFailure(runtime, error, statements)
  }
}

/** A batch's failure as the caller sees it: normalised (naming the failing statement) and reported once. */
function batchFailure(runtime: ProviderRuntime, error: unknown, statements: readonly Statement[] | undefined): unknown {
  if (!isTesseraError(error)) return error
  const index = (error as { batchIndex?: number | undefined }).batchIndex
  const sql = index === undefined ? undefined : statements?.[index]?.text
  return runtime.report(runtime.normalize(error, sql), 'batch', sql)
}

function compileBatch(runtime: ProviderRuntime, queries: readonly BatchQuery[]): Statement[] {
  if (!Array.isArray(queries)) {
    throw new ConfigError(`batch needs an array of { sql, params }, got ${describeValue(queries)}`, { subject: 'batch call' })
  }
  return queries.map((query, index) => {
    if (typeof query !== 'object' || query === null) {
      throw new ConfigError(`batch entry ${index} is ${describeValue(query)}; accepted: { sql, params? }`, { subject: 'batch call' })
    }
    return runtime.compile(query.sql, query.params)
  })
}

/** No hooks: BEGIN, every statement and COMMIT are queued in one go. */
async function pipelinedBatch(
  runtime: ProviderRuntime,
  connection: DriverConnection,
  statements: readonly Statement[],
  serialized: readonly SerializedParams[],
  atomic: boolean,
  awaitBegin: boolean,
): Promise<QueryResult[]> {
  const fail =
    (sql: string) =>
    (error: unknown): never => {
      const mapped = runtime.connectionFailure(connection, error, sql)
      // Outside a transaction each statement commits on its own: a write whose reply was lost may have been applied.
      throw !atomic && isConnectionLoss(mapped) && !isReadStatement(sql) ? outcomeUnknown(mapped, sql) : mapped
    }
  const begin = atomic ? connection.send('BEGIN', NO_PARAMS).then(undefined, fail('BEGIN')) : undefined
  // On a healthy connection BEGIN fails only when a cancel request lands on it: a driver whose statements would
  // run and commit behind a failed BEGIN pays one round trip here, so the statements start only once BEGIN succeeded.
  if (begin !== undefined && awaitBegin) await begin
  const pending: Promise<QueryResult>[] = []
  for (let i = 0; i < statements.length; i++) {
    const { text, values } = statements[i]!
    const run = () => connection.send(text, serialized[i]!).then(runtime.renameColumns, fail(text))
    pending.push(runtime.isQueryTraced ? traced(CHANNELS.query, runtime.queryMessage(text, values, 'batch', atomic), run) : run())
  }
  const commit = atomic ? connection.send('COMMIT', NO_PARAMS).then(undefined, failCommit(runtime, connection)) : undefined
  // Observed together from the start: a BEGIN that fails while the statements are still running is not left
  // unhandled (which would crash the process) until they settle.
  const [settled, [beginOutcome, commitOutcome]] = await Promise.all([Promise.allSettled(pending), Promise.allSettled([begin, commit])])
  const failure = firstFailure(settled)
  if (beginOutcome.status === 'rejected') throw beginOutcome.reason
  if (failure !== undefined) {
    if (commitOutcome.status === 'fulfilled' && commitOutcome.value?.command === 'COMMIT') {
      // Only possible if a statement failed on the client without reaching the server.
      runtime.options.logger?.error({ index: failure.index }, 'atomic batch: a statement failed client-side but the transaction committed')
    }
    throw failure.error
  }
  if (commitOutcome.status === 'rejected') throw commitOutcome.reason
  return results(settled)
}

/**
 * With hooks: each statement goes through `onQuery`. A hook may await before calling `next`, so statements are
 * issued one after the other (each waits until the previous one is queued, not until it finished): the order
 * on the wire is the order of the batch and the round trips still overlap. COMMIT or ROLLBACK is decided once
 * all have settled, because a hook may fail a statement the server never saw.
 */
async function hookedBatch(
  runtime: ProviderRuntime,
  connection: DriverConnection,
  statements: readonly Statement[],
  atomic: boolean,
): Promise<QueryResult[]> {
  if (atomic) await runtime.runOn(connection, 'BEGIN', [], undefined)
  const pending: Promise<QueryResult>[] = []
  for (const { text, values } of statements) {
    let markIssued!: () => void
    const issued = new Promise<void>((resolve) => (markIssued = resolve))
    const ctx: QueryContext = {
      sql: text,
      params: values,
      options: {},
      driver: runtime.name,
      operation: 'batch',
      transaction: atomic,
      attempt: 1,
      meta: {},
    }
    const result = runtime.hooks.query(ctx, (next) => {
      markIssued()
      return runtime.runTracedOn(connection, next.sql, next.params, next.options, 'batch', atomic)
    })
    result.then(markIssued, markIssued)
    pending.push(result)
    await issued
  }
  // Every statement is settled before the connection goes back: it is returned quiet.
  const settled = await Promise.allSettled(pending)
  const failure = firstFailure(settled)
  if (atomic) {
    if (failure !== undefined) {
      await runtime.runOn(connection, 'ROLLBACK', [], undefined).catch(() => {
        connection.tainted = true
      })
    } else {
      const commit = await runtime.runOn(connection, 'COMMIT', [], undefined).then(undefined, failCommit(runtime, connection))
      if (commit.command === 'ROLLBACK') {
        throw new InvalidTransactionStateError({
          code: '25P02',
          message: 'the atomic batch was rolled back at COMMIT: a statement in it failed',
        })
      }
    }
  }
  if (failure !== undefined) throw failure.error
  return results(settled)
}

/** The first rejected statement, its error marked with its position. */
function firstFailure(settled: readonly PromiseSettledResult<QueryResult>[]): { index: number; error: unknown } | undefined {
  for (let i = 0; i < settled.length; i++) {
    const outcome = settled[i]!
    if (outcome.status === 'rejected') {
      markBatchIndex(outcome.reason, i)
      return { index: i, error: outcome.reason }
    }
  }
  return undefined
}

function results(settled: readonly PromiseSettledResult<QueryResult>[]): QueryResult[] {
  return settled.map((outcome) => (outcome as PromiseFulfilledResult<QueryResult>).value)
}

/**
 * One cancel for the whole batch when its signal aborts or its time runs out; the connection is not reused, and the
 * batch settles once the server has acted on the request (on a reserved connection, the caller's next statement is never
 * the one a late interrupt reaches).
 */
async function withCancellation<T>(connection: DriverConnection, options: BatchOptions, run: () => Promise<T>): Promise<T> {
  const { signal, timeoutMs } = options
  if (signal === undefined && timeoutMs === undefined) return run()
  const settlement = await untilCancelled(run, options, connection, () => connection.cancel())
  if ('value' in settlement) return settlement.value
  const cause = settlement.error
  if (settlement.reason === 'none') throw cause
  if (settlement.reason === 'aborted') throw new AbortError('batch', { cause })
  throw new TimeoutError({ operation: 'batch', timeoutMs: timeoutMs ?? 0 }, { cause })
}

/** A COMMIT whose reply was lost may have committed: its failure says the outcome is unknown. */
function failCommit(runtime: ProviderRuntime, connection: DriverConnection): (error: unknown) => never {
  return (error) => {
    const mapped = runtime.connectionFailure(connection, error, 'COMMIT')
    throw isConnectionLoss(mapped) ? outcomeUnknown(mapped, 'COMMIT') : mapped
  }
}
