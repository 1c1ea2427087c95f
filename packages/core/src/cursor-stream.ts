import type { QueryResult, Row, SqlInput, StreamOptions } from './contracts'
import { CHANNELS, hasTraceSubscribers, type OpenTrace, openTrace, type StreamMessage } from './diagnostics'
import type { DriverConnection, SerializedParams } from './driver'
import { AbortError, ConfigError, describeValue, isTesseraError } from './errors'
import type { QueryContext } from './hooks'
import type { DriverPortal } from './portal-seam'
import type { ProviderRuntime } from './provider-runtime'
import { rowSchemaOf, validateRows } from './row-schema'
import { isReadStatement } from './statement'

const CURSOR = 'tessera_cursor'
const OPENED: QueryResult = Object.freeze({ rows: [], rowCount: 0, command: 'DECLARE CURSOR', fields: [] }) as QueryResult

/**
 * For provider authors: `provider.stream` over any {@link ProviderEngine}. Rows come through a server-side cursor on
 * a dedicated pooled connection (`BEGIN; DECLARE … NO SCROLL CURSOR FOR …; FETCH n …`), so memory stays bounded
 * whatever the result size. The next batch is fetched only when the consumer has taken every row of the current
 * one (back-pressure). Breaking out of `for await`, throwing in its body, or aborting `signal` rolls the cursor's
 * transaction back (which closes the cursor) and returns the connection. Nothing runs until iteration starts.
 *
 * @example
 * stream: (sql, params, options) => createCursorStream(runtime, sql, params, options)
 */
export function createCursorStream<R = Row>(
  runtime: ProviderRuntime,
  sql: SqlInput,
  params: readonly unknown[] | undefined,
  options: StreamOptions = {},
): AsyncIterable<R> {
  return {
    [Symbol.asyncIterator]: () => iterate<R>(runtime, sql, params, options),
  }
}

async function* iterate<R>(
  runtime: ProviderRuntime,
  sql: SqlInput,
  params: readonly unknown[] | undefined,
  options: StreamOptions,
): AsyncGenerator<R> {
  let text: string | undefined
  let values: readonly unknown[] | undefined
  let connection: DriverConnection | undefined
  /** A write with RETURNING (which DECLARE refuses) is read through a portal instead of a cursor. */
  let portal: DriverPortal | undefined
  let finished = false
  /** The `tessera:stream` span's message and events, only when someone listens. */
  let message: StreamMessage | undefined
  let trace: OpenTrace | undefined
  let failure: { error: unknown } | undefined
  const { signal } = options
  try {
    if (runtime.closed) throw runtime.closedError('stream')
    const batchSize = options.batchSize ?? 100
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new ConfigError(`batchSize must be an integer ≥ 1, got ${describeValue(batchSize)}`, { subject: 'stream options' })
    }
    ;({ text, values } = runtime.compile(sql, params))
    if (signal?.aborted) throw new AbortError('stream', { cause: signal.reason })
    const schema = rowSchemaOf(sql, options)
    let validatedCount = 0

    // The opening goes through onQuery, so a hook can observe it, rewrite it, or answer it (a cache hit).
    // A hook may call `next` again (a retry): every opening starts on a fresh connection, the previous one
    // given back, and a failed opening gives its connection back at once.
    const open = async (ctx: { sql: string; params: readonly unknown[] }, serialized: SerializedParams): Promise<QueryResult> => {
      await giveBack()
      try {
        connection = await runtime.acquire(signal)
      } catch (error) {
        throw runtime.normalize(error, ctx.sql)
      }
      const body = ctx.sql.trim().replace(/;+\s*$/, '')
      if (!isReadStatement(body)) {
        await openPortal(connection, body, serialized)
        return OPENED
      }
      const begin = runtime.runOn(connection, 'BEGIN', [], undefined)
      const declare = runtime.runSerializedOn(connection, `DECLARE ${CURSOR} NO SCROLL CURSOR FOR ${body}`, serialized, {
        signal,
        prepare: false,
      })
      try {
        // Both are queued at once (one round trip); a failed BEGIN fails the DECLARE too.
        await Promise.all([begin, declare])
      } catch (error) {
        await giveBack()
        throw error
      }
      return OPENED
    }
    // Parameters are serialised before acquiring (bad input fails without touching the pool) and before the span.
    const traceOpen = (ctx: { sql: string; params: readonly unknown[] }): Promise<QueryResult> => {
      if (runtime.isQueryTraced) return runtime.traceStatement(ctx.sql, ctx.params, 'stream', false, (serialized) => open(ctx, serialized))
      let serialized: SerializedParams
      try {
        serialized = runtime.serialize(ctx.sql, ctx.params)
      } catch (error) {
        return Promise.reject(error)
      }
      return open(ctx, serialized)
    }

    if (hasTraceSubscribers(CHANNELS.stream)) {
      const runtimeOptions = runtime.options
      message = {
        sql: text,
        driver: runtime.name,
        rows: 0,
        database: runtimeOptions.database,
        host: runtimeOptions.host,
        port: runtimeOptions.port,
        pool: runtimeOptions.name,
      }
      if (runtimeOptions.diagnosticsIncludeParams) message.params = values
      trace = openTrace(CHANNELS.stream, message)
    }
    const statement = { sql: text, params: values }
    if (runtime.hooks.hasQueryHooks) {
      let opened = false
      const ctx: QueryContext = {
        sql: text,
        params: values,
        options: { signal },
        driver: runtime.name,
        operation: 'stream',
        transaction: false,
        attempt: 1,
        meta: {},
      }
      const hooked = () =>
        runtime.hooks.query(ctx, (next) => {
          opened = true
          return traceOpen(next)
        })
      const answer = await (trace === undefined ? hooked() : trace.run(hooked))
      if (!opened) {
        const rows = schema === undefined ? answer.rows : await validateRows(answer.rows, schema, text)
        for (const row of rows) {
          if (message !== undefined) message.rows++
          yield row as R
        }
        finished = true
        return
      }
    } else {
      await (trace === undefined ? traceOpen(statement) : trace.run(() => traceOpen(statement)))
    }

    if (portal !== undefined) {
      for (;;) {
        const raw = await nextFromPortal(portal)
        if (raw === undefined) break
        const batch = runtime.renameColumns === undefined ? raw : runtime.renameColumns(raw)
        const rows = schema === undefined ? batch.rows : await validateRows(batch.rows, schema, text, validatedCount)
        validatedCount += rows.length
        for (const row of rows) {
          if (message !== undefined) message.rows++
          yield row as R
        }
      }
      // The session is the portal's until its last reply: COMMIT goes after it.
      await portal.close()
      await runtime.runOn(connection!, 'COMMIT', [], undefined)
      finished = true
      return
    }
    const fetchOptions = signal === undefined && options.rowMode === undefined ? undefined : { signal, rowMode: options.rowMode }
    const fetch = `FETCH ${batchSize} FROM ${CURSOR}`
    for (;;) {
      const batch = await runtime.runOn(connection!, fetch, [], fetchOptions)
      const rows = schema === undefined ? batch.rows : await validateRows(batch.rows, schema, text, validatedCount)
      validatedCount += rows.length
      for (const row of rows) {
        if (message !== undefined) message.rows++
        yield row as R
      }
      if (batch.rows.length < batchSize) break
    }
    const close = runtime.runOn(connection!, `CLOSE ${CURSOR}`, [], undefined)
    const commit = runtime.runOn(connection!, 'COMMIT', [], undefined)
    await Promise.all([close, commit])
    finished = true
  } catch (error) {
    // Driver errors are normalised where they happen; anything else was thrown by a hook and passes unchanged.
    const thrown = isTesseraError(error) ? runtime.report(runtime.normalize(error, text), 'stream', text, values) : error
    failure = { error: thrown }
    throw thrown
  } finally {
    try {
      if (finished) giveBackNow()
      else await giveBack()
    } finally {
      if (trace !== undefined) {
        message!.completed = finished
        trace.finish(failure)
      }
    }
  }

  /**
   * BEGIN, then the statement in a portal, `batchSize` rows per Execute: the write runs inside the stream's transaction,
   * so it commits only when every row was read, and rolls back when the stream stops early or fails.
   */
  async function openPortal(held: DriverConnection, body: string, serialized: SerializedParams): Promise<void> {
    if (options.rowMode === 'array') {
      throw new ConfigError("rowMode 'array' is not available when streaming a write with RETURNING; read object rows", {
        subject: 'stream options',
      })
    }
    if (held.portal === undefined) {
      throw new ConfigError(`the ${runtime.name} driver cannot stream a write with RETURNING (its connections have no portal)`, {
        subject: 'driver',
      })
    }
    try {
      await runtime.runOn(held, 'BEGIN', [], undefined)
      portal = held.portal(body, serialized, options.batchSize ?? 100)
    } catch (error) {
      await giveBack()
      throw error
    }
  }

  /** The portal's next batch; an aborted signal cancels the statement on the server and rejects with `AbortError`. */
  async function nextFromPortal(open: DriverPortal): Promise<QueryResult | undefined> {
    const held = connection!
    if (signal?.aborted) throw new AbortError('stream', { cause: signal.reason })
    let requested: Promise<void> | undefined
    const onAbort = () => {
      // The cancel may land after this batch, on a later statement: the session is not lent again.
      held.tainted = true
      requested = Promise.resolve(held.cancel())
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      return await open.next()
    } catch (error) {
      if (signal?.aborted) throw new AbortError('stream', { cause: signal.reason })
      throw runtime.connectionFailure(held, error, text!)
    } finally {
      signal?.removeEventListener('abort', onAbort)
      // Settles once the server has acted on the request: the ROLLBACK that follows, and on a reserved connection the
      // caller's next statement, are never what a late interrupt reaches.
      if (requested !== undefined) await requested.then(undefined, () => {})
    }
  }

  /** Releases the held connection, if any, after rolling back (which closes the cursor and ends the transaction). */
  async function giveBack(): Promise<void> {
    const held = connection
    if (held === undefined) return
    connection = undefined
    const open = portal
    portal = undefined
    if (open !== undefined) await open.close()
    // Also on a tainted session (a cancel fired; the statements wait until it is through): a reserved connection stays
    // with its caller, whose next statement would otherwise find the cursor's transaction still open and failed.
    if (!held.broken) {
      try {
        await runtime.runOn(held, 'ROLLBACK', [], undefined)
      } catch {
        held.tainted = true
      }
    }
    runtime.release(held)
  }

  /** Releases the held connection, if any, as it is (the cursor's transaction was committed). */
  function giveBackNow(): void {
    portal = undefined
    if (connection === undefined) return
    runtime.release(connection)
    connection = undefined
  }
}
