import {
  AbortError,
  type BatchOptions,
  type BatchQuery,
  CHANNELS,
  ConfigError,
  describeValue,
  InvalidTransactionStateError,
  isTesseraError,
  type QueryContext,
  type QueryResult,
  type Row,
  TimeoutError,
  traced,
} from '@tessera/core'
import { markBatchIndex } from './errors'
import type { PgConnection } from './pg-connection'
import { type PgEngine, type Statement, serializeValues } from './pg-engine'
import { toQueryResult } from './to-query-result'

const NO_OPTIONS = Object.freeze({})

/**
 * `provider.batch`: every statement on one connection, written back to back (pg's pipeline mode) so the whole
 * batch costs one round trip. Each statement is its own extended-protocol exchange with its own Sync:
 *
 * - `atomic: false` (default): each statement runs in its own implicit transaction. A failing statement does
 *   not stop the others: the ones before *and after* it are committed. The batch rejects with the error of the
 *   first failing statement, its position in `error.batchIndex`.
 * - `atomic: true`: `BEGIN` … `COMMIT` around them: one failure rolls every statement back.
 *
 * `signal`/`timeoutMs` send one cancel request that interrupts the statement running at that moment.
 */
export async function runBatch(
  engine: PgEngine,
  queries: readonly BatchQuery[],
  options: BatchOptions = NO_OPTIONS,
): Promise<QueryResult[]> {
  let statements: Statement[] | undefined
  try {
    if (engine.closed) throw engine.closedError('batch')
    statements = compileAll(engine, queries)
    if (options.signal?.aborted) throw new AbortError('batch', { cause: options.signal.reason })
    if (statements.length === 0) return []
    const atomic = options.atomic === true
    // Without hooks every statement is known now: serialise them all before anything reaches the server, so
    // bad input fails the whole batch rather than one statement of it.
    const serialized = engine.hooks.hasQueryHooks ? undefined : statements.map((statement) => serializeValues(statement.values))
    const connection = await engine.acquire(options.signal, options.timeoutMs)
    try {
      return await withCancellation(connection, options, () =>
        serialized === undefined
          ? hookedBatch(engine, connection, statements!, atomic)
          : pipelinedBatch(
              engine,
              connection,
              statements!,
              serialized,
              atomic,
              options.signal !== undefined || options.timeoutMs !== undefined,
            ),
      )
    } finally {
      engine.release(connection)
    }
  } catch (error) {
    if (!isTesseraError(error)) throw error
    const index = (error as { batchIndex?: number }).batchIndex
    const sql = index === undefined ? undefined : statements?.[index]?.text
    throw engine.report(engine.normalize(error, sql), 'batch', sql)
  }
}

function compileAll(engine: PgEngine, queries: readonly BatchQuery[]): Statement[] {
  if (!Array.isArray(queries)) {
    throw new ConfigError(`batch needs an array of { sql, params }, got ${describeValue(queries)}`, { subject: 'batch call' })
  }
  return queries.map((query, index) => {
    if (typeof query !== 'object' || query === null) {
      throw new ConfigError(`batch entry ${index} is ${describeValue(query)}; accepted: { sql, params? }`, { subject: 'batch call' })
    }
    return engine.compile(query.sql, query.params)
  })
}

/** No hooks: BEGIN, every statement and COMMIT are queued in one go. */
async function pipelinedBatch(
  engine: PgEngine,
  connection: PgConnection,
  statements: readonly Statement[],
  serialized: readonly ((string | null)[] | undefined)[],
  atomic: boolean,
  cancellable: boolean,
): Promise<QueryResult[]> {
  const fail =
    (sql: string) =>
    (error: unknown): never => {
      throw engine.normalize(error, sql)
    }
  const begin = atomic ? connection.run('BEGIN', undefined, undefined).then(undefined, fail('BEGIN')) : undefined
  // Each pipelined statement has its own Sync, so statements queued behind a BEGIN that failed would run and
  // commit one by one. On a healthy connection BEGIN fails only when a cancel request lands on it: when this
  // batch can be cancelled, pay one round trip and start the statements only once BEGIN has succeeded.
  if (begin !== undefined && cancellable) await begin
  const pending: Promise<QueryResult>[] = []
  for (let i = 0; i < statements.length; i++) {
    const { text, values } = statements[i]!
    const name = engine.nameFor(connection, text, undefined, values.length)
    const run = () => connection.run(text, serialized[i], name).then(toQueryResult<Row>, fail(text))
    pending.push(engine.isQueryTraced ? traced(CHANNELS.query, engine.queryMessage(text, values, 'batch', atomic), run) : run())
  }
  const commit = atomic ? connection.run('COMMIT', undefined, undefined).then(undefined, fail('COMMIT')) : undefined
  // Observed together from the start: a BEGIN that fails while the statements are still running is not left
  // unhandled (which would crash the process) until they settle.
  const [settled, [beginOutcome, commitOutcome]] = await Promise.all([Promise.allSettled(pending), Promise.allSettled([begin, commit])])
  const failure = firstFailure(settled)
  if (beginOutcome.status === 'rejected') throw beginOutcome.reason
  if (failure !== undefined) {
    if (commitOutcome.status === 'fulfilled' && commitOutcome.value?.command === 'COMMIT') {
      // Only possible if a statement failed on the client without reaching the server.
      engine.o.logger?.error({ index: failure.index }, 'atomic batch: a statement failed client-side but the transaction committed')
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
  engine: PgEngine,
  connection: PgConnection,
  statements: readonly Statement[],
  atomic: boolean,
): Promise<QueryResult[]> {
  if (atomic) await engine.runOn(connection, 'BEGIN', [], undefined)
  const pending: Promise<QueryResult>[] = []
  for (const { text, values } of statements) {
    let markIssued!: () => void
    const issued = new Promise<void>((resolve) => (markIssued = resolve))
    const ctx: QueryContext = {
      sql: text,
      params: values,
      options: {},
      driver: 'pg',
      operation: 'batch',
      transaction: atomic,
      attempt: 1,
      meta: {},
    }
    const result = engine.hooks.query(ctx, (next) => {
      markIssued()
      if (!engine.isQueryTraced) return engine.runOn(connection, next.sql, next.params, next.options)
      return engine.traceStatement(next.sql, next.params, 'batch', atomic, (serialized) =>
        engine.runSerializedOn(connection, next.sql, serialized, next.options),
      )
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
      await engine.runOn(connection, 'ROLLBACK', [], undefined).catch(() => {
        connection.tainted = true
      })
    } else {
      const commit = await engine.runOn(connection, 'COMMIT', [], undefined)
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

/** One cancel request for the whole batch when its signal aborts or its time runs out. */
async function withCancellation<T>(connection: PgConnection, options: BatchOptions, run: () => Promise<T>): Promise<T> {
  const { signal, timeoutMs } = options
  if (signal === undefined && timeoutMs === undefined) return run()
  let reason: 'abort' | 'timeout' | undefined
  const cancel = (why: 'abort' | 'timeout') => {
    if (reason !== undefined) return
    reason = why
    connection.tainted = true
    connection.requestCancel()
  }
  const onAbort = () => cancel('abort')
  signal?.addEventListener('abort', onAbort)
  const timer = timeoutMs === undefined ? undefined : setTimeout(cancel, timeoutMs, 'timeout')
  try {
    return await run()
  } catch (cause) {
    if (reason === undefined) throw cause
    if (reason === 'abort') throw new AbortError('batch', { cause })
    throw new TimeoutError({ operation: 'batch', timeoutMs: timeoutMs ?? 0 }, { cause })
  } finally {
    if (timer !== undefined) clearTimeout(timer)
    signal?.removeEventListener('abort', onAbort)
  }
}
