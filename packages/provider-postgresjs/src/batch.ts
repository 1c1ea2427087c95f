import { serializeParams } from '@tessera/converter'
import type { BatchDriver } from '@tessera/core'
import type { Checkout, PostgresJsEngine } from './engine'

/**
 * How postgres.js sends a batch: every statement issued on the checkout at once, which postgres.js pipelines on
 * its connection so the whole batch costs one round trip. A cancel cancels every statement still running or queued.
 */
export function createPostgresJsBatchDriver(engine: PostgresJsEngine): BatchDriver<Checkout, (string | null)[] | undefined> {
  return {
    serialize: (values) => (values.length === 0 ? undefined : serializeParams(values)),
    send: (checkout, text, serialized) => engine.issue(checkout, text, serialized),
    cancel: (checkout) => engine.cancelAll(checkout),
  }
}
