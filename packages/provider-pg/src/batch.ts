import type { BatchDriver, Row } from '@tessera/core'
import type { PgConnection } from './pg-connection'
import { type PgEngine, serializeValues } from './pg-engine'
import { toQueryResult } from './to-query-result'

/**
 * How pg sends a batch: pipeline mode, every statement its own extended-protocol exchange with its own Sync, so
 * the whole batch costs one round trip. Statements queued behind a failed BEGIN would still run and commit one by
 * one, so a cancellable atomic batch confirms its BEGIN first. A cancel is one protocol cancel request, which
 * interrupts the statement running at that moment.
 */
export function createPgBatchDriver(engine: PgEngine): BatchDriver<PgConnection, (string | null)[] | undefined> {
  return {
    serialize: serializeValues,
    send(connection, text, serialized) {
      const name = engine.nameFor(connection, text, undefined, serialized?.length ?? 0)
      return connection.run(text, serialized, name).then(toQueryResult<Row>)
    },
    cancel(connection) {
      connection.requestCancel()
    },
    confirmsBegin: true,
  }
}
