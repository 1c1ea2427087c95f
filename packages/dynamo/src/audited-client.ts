import type { DynamoClientLike } from './dynamo-client-like'
import type { AttributeMap } from './key-identity'
import { operationName } from './tenant-scope'

/** One write that DynamoDB applied. */
export interface AuditEvent {
  /** Who wrote, as `AuditOptions.actor` said at the time. */
  actor: string | undefined
  /** The DynamoDB operation that carried it: `'PutItem'`, `'BatchWriteItem'`, `'TransactWriteItems'`… */
  operation: string
  action: 'put' | 'update' | 'delete'
  table: string
  /** The key written: a request's `Key`, or for a put the key attributes of its item (when `keyAttributes` names them). */
  key: AttributeMap | undefined
  /** The item before the write, when the request asked DynamoDB for it (`ReturnValues: 'ALL_OLD'`). */
  before: AttributeMap | undefined
  /** The item after the write: a put's item, or an update's `ALL_NEW` return values. */
  after: AttributeMap | undefined
  at: Date
}

/** Receives every applied write. It may be async: the write's caller waits for it. */
export type AuditHook = (event: AuditEvent) => void | Promise<void>

/** Options of {@link auditedClient}. */
export interface AuditOptions {
  hook: AuditHook
  /** Who is writing: a name, or a function asked at each write (e.g. reading an AsyncLocalStorage). Default: undefined. */
  actor?: string | (() => string | undefined) | undefined
  /** Key attribute names per table, to report the key of puts. Default: none (puts report `key: undefined`). */
  keyAttributes?: Record<string, readonly string[]> | undefined
  /**
   * Called when the hook throws. The write was applied either way, so the caller still gets its result.
   * Default: `process.emitWarning`.
   */
  onHookError?: ((error: unknown, event: AuditEvent) => void) | undefined
}

/**
 * Wraps a client so that every write it applies, through any engine or the model layer, reaches the audit hook:
 * PutItem, UpdateItem, DeleteItem, each written entry of BatchWriteItem (items DynamoDB returned unprocessed are
 * not reported), and each put/update/delete of a TransactWriteItems that committed. Failed writes are not
 * reported: nothing was applied.
 */
export function auditedClient(client: DynamoClientLike, options: AuditOptions): DynamoClientLike {
  const actorNow = () => (typeof options.actor === 'function' ? options.actor() : options.actor)
  const onHookError =
    options.onHookError ??
    ((error: unknown) =>
      process.emitWarning(`audit hook failed: ${error instanceof Error ? error.message : String(error)}`, 'TesseraAuditWarning'))
  const keyOf = (table: string, item: AttributeMap | undefined) => {
    const names = options.keyAttributes?.[table]
    return names && item ? (Object.fromEntries(names.map((name) => [name, item[name]])) as AttributeMap) : undefined
  }
  return {
    async send(command, sendOptions) {
      const output = await client.send(command, sendOptions)
      const operation = operationName(command)
      const events = eventsOf(operation, command?.input ?? {}, output ?? {}, keyOf)
      if (events.length === 0) return output
      const actor = actorNow()
      const at = new Date()
      for (const partial of events) {
        const event: AuditEvent = { actor, operation, at, ...partial }
        try {
          await options.hook(event)
        } catch (error) {
          onHookError(error, event)
        }
      }
      return output
    },
  }
}

type PartialEvent = Omit<AuditEvent, 'actor' | 'operation' | 'at'>
type KeyOf = (table: string, item: AttributeMap | undefined) => AttributeMap | undefined

// biome-ignore lint/suspicious/noExplicitAny: raw SDK inputs and outputs, narrowed field by field
function eventsOf(operation: string, input: any, output: any, keyOf: KeyOf): PartialEvent[] {
  const table = input.TableName as string
  const old = input.ReturnValues === 'ALL_OLD' ? output.Attributes : undefined
  switch (operation) {
    case 'PutItem':
      return [{ action: 'put', table, key: keyOf(table, input.Item), before: old, after: input.Item }]
    case 'UpdateItem':
      return [
        { action: 'update', table, key: input.Key, before: old, after: input.ReturnValues === 'ALL_NEW' ? output.Attributes : undefined },
      ]
    case 'DeleteItem':
      return [{ action: 'delete', table, key: input.Key, before: old, after: undefined }]
    case 'BatchWriteItem':
      return batchEvents(input.RequestItems ?? {}, output.UnprocessedItems ?? {}, keyOf)
    case 'TransactWriteItems':
      return (input.TransactItems ?? []).flatMap(
        (entry: Record<string, { TableName: string; Item?: AttributeMap; Key?: AttributeMap }>): PartialEvent[] => {
          if (entry.Put)
            return [
              {
                action: 'put',
                table: entry.Put.TableName,
                key: keyOf(entry.Put.TableName, entry.Put.Item),
                before: undefined,
                after: entry.Put.Item,
              },
            ]
          if (entry.Update)
            return [{ action: 'update', table: entry.Update.TableName, key: entry.Update.Key, before: undefined, after: undefined }]
          if (entry.Delete)
            return [{ action: 'delete', table: entry.Delete.TableName, key: entry.Delete.Key, before: undefined, after: undefined }]
          return []
        },
      )
    default:
      return []
  }
}

function batchEvents(
  requests: Record<string, { PutRequest?: { Item: AttributeMap }; DeleteRequest?: { Key: AttributeMap } }[]>,
  unprocessed: Record<string, { PutRequest?: { Item: AttributeMap }; DeleteRequest?: { Key: AttributeMap } }[]>,
  keyOf: KeyOf,
): PartialEvent[] {
  const events: PartialEvent[] = []
  for (const [table, writes] of Object.entries(requests)) {
    const returned = new Set((unprocessed[table] ?? []).map((write) => JSON.stringify(write)))
    for (const write of writes) {
      if (returned.has(JSON.stringify(write))) continue
      if (write.PutRequest)
        events.push({ action: 'put', table, key: keyOf(table, write.PutRequest.Item), before: undefined, after: write.PutRequest.Item })
      else if (write.DeleteRequest)
        events.push({ action: 'delete', table, key: write.DeleteRequest.Key, before: undefined, after: undefined })
    }
  }
  return events
}
