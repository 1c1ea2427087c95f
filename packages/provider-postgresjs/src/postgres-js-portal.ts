import type { FieldInfo, QueryResult } from '@tessera/core'
import type { DriverPortal, SerializedParams } from '@tessera/core/driver'
import type { PostgresJsColumn } from './postgres-js-client'
import { isSessionLoss, type PostgresJsConnection } from './postgres-js-connection'

type Batch = readonly Record<string, unknown>[] & { columns?: readonly PostgresJsColumn[] | null | undefined }

/** One batch of a postgres.js cursor in core's shape (a batch carries its rows, and on postgres.js 3 its columns). */
function toBatch(batch: Batch, command: string): QueryResult {
  const rows = new Array<Record<string, unknown>>(batch.length)
  for (let i = 0; i < batch.length; i++) rows[i] = batch[i]!
  const columns = batch.columns ?? []
  const fields: FieldInfo[] = columns.map((column) => ({
    name: column.name,
    dataTypeID: column.type,
    tableID: column.table ?? 0,
    columnID: column.number ?? 0,
  }))
  return { rows, rowCount: rows.length, command, fields }
}

/**
 * A statement read through postgres.js' `cursor(n)`, which runs it in an unnamed portal, `n` rows per Execute: how
 * `provider.stream` reads `INSERT/UPDATE/DELETE … RETURNING`. The statement stays in the session's `active` set until
 * its last batch, so `close()` at the pool's deadline cancels it.
 */
export function openPostgresJsPortal(
  connection: PostgresJsConnection,
  text: string,
  params: SerializedParams,
  batchSize: number,
): DriverPortal {
  const query = connection.sql.unsafe(text, params, { prepare: false })
  const iterator = query.cursor(batchSize)[Symbol.asyncIterator]()
  const command = /^\s*(?:with\b[\s\S]*?\)\s*)?([a-z]+)/i.exec(text)?.[1]?.toUpperCase() ?? ''
  connection.active.add(query)
  let done = false
  const finish = () => {
    done = true
    connection.active.delete(query)
  }
  return {
    async next() {
      if (done) return undefined
      try {
        const step = await iterator.next()
        if (step.done === true) {
          finish()
          return undefined
        }
        return toBatch(step.value as Batch, command)
      } catch (error) {
        finish()
        if (isSessionLoss(error)) connection.broken = true
        throw error
      }
    },
    async close() {
      if (done) return
      finish()
      try {
        await iterator.return?.()
      } catch {
        // The outcome no longer matters to anyone: the stream ends either way.
      }
    },
  }
}
