import { type ConsumedCapacitySummary, type PreparedRequest, summariseConsumedCapacity } from './command-runner'
import type { AnyModel, Item } from './define-model'
import { unmarshalItem } from './item-codec'
import type { AttributeMap } from './key-identity'
import type { ModelContext } from './model-context'
import { openItems } from './model-encryption'

/** One page of a query or scan. */
export interface Page<T> {
  items: T[]
  /** Pass to `.cursor()` to continue after this page; `undefined` at the end. */
  cursor: string | undefined
  /** Items DynamoDB read before the filter. */
  scannedCount: number
  /** Capacity DynamoDB reported, when asked (`explain({ analyze: true })`). */
  consumedCapacity?: ConsumedCapacitySummary | undefined
}

/** How to read pages of a prepared query or scan. */
export interface PageReading {
  request: PreparedRequest
  /** The shape the cursor is bound to (computed only when a cursor is made). */
  shape: () => string
  /** Total items to return. Default: no limit. */
  limit: number | undefined
  /** Where to start (a decoded cursor). */
  startKey: AttributeMap | undefined
  signal: AbortSignal | undefined
}

/**
 * Reads pages: each DynamoDB request asks for at most the items still wanted (`Limit`), so a page ends exactly at
 * its cursor and nothing read is dropped. Stops at the end of the data or at `limit` items.
 */
export async function* readPages<M extends AnyModel>(context: ModelContext, reading: PageReading): AsyncGenerator<Page<Item<M>>> {
  let startKey = reading.startKey
  let remaining = reading.limit
  do {
    const input: Record<string, unknown> = { ...reading.request.input }
    if (startKey) input.ExclusiveStartKey = startKey
    if (remaining !== undefined) input.Limit = remaining
    const output = await context.runner.send({ ...reading.request, input }, reading.signal)
    const stored = (output.Items as AttributeMap[] | undefined) ?? []
    const opened = await openItems(context.encryptor, stored)
    const items = opened.map((item) => unmarshalItem(context.model, item) as Item<M>)
    startKey = output.LastEvaluatedKey as AttributeMap | undefined
    if (remaining !== undefined) remaining -= items.length
    const done = startKey === undefined || (remaining !== undefined && remaining <= 0)
    yield {
      items,
      cursor: startKey ? context.cursors.encode(startKey, reading.shape()) : undefined,
      scannedCount: (output.ScannedCount as number | undefined) ?? items.length,
      consumedCapacity: summariseConsumedCapacity(output.ConsumedCapacity),
    }
    if (done) return
  } while (true)
}

/** Counts matching items with `Select: 'COUNT'`, following every page. `request` must have no projection. */
export async function countItems(context: ModelContext, request: PreparedRequest, signal: AbortSignal | undefined): Promise<number> {
  let count = 0
  let startKey: AttributeMap | undefined
  do {
    const input: Record<string, unknown> = { ...request.input, Select: 'COUNT' }
    if (startKey) input.ExclusiveStartKey = startKey
    const output = await context.runner.send({ ...request, input }, signal)
    count += (output.Count as number | undefined) ?? 0
    startKey = output.LastEvaluatedKey as AttributeMap | undefined
  } while (startKey)
  return count
}
