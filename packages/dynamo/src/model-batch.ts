import type { ValidationIssue } from '@tessera/core'
import { generateId } from '@tessera/schema/portable'
import { type BatchGetOptions, batchGet } from './batch-get'
import type { BatchOutcomeReason } from './batch-incomplete-error'
import { type BatchWriteEntry, type BatchWriteOptions, batchWrite } from './batch-write'
import type { AnyModel, FieldMeta, Insert, Item, Key } from './define-model'
import { marshalItem, unmarshalItem } from './item-codec'
import { itemSizeBytes, MAX_ITEM_BYTES } from './item-size'
import type { AttributeMap } from './key-identity'
import { type ModelContext, marshalKey, throwIfIssues } from './model-context'
import { openItems, sealItems } from './model-encryption'

/** Options of a model's `batchGet`: the engine's, plus the read consistency. */
export interface ModelBatchGetOptions extends Omit<BatchGetOptions, 'tables'> {
  /** Strongly consistent reads. Default: `false`. */
  consistent?: boolean | undefined
}

/** What a model's `batchGet` read: one entry per key, in order (`undefined` when there is no such item). */
export interface ModelBatchGetResult<M extends AnyModel> {
  items: (Item<M> | undefined)[]
  /** Keys not read (only with `allowUnprocessed`; else a `BatchIncompleteError` is thrown). */
  unprocessed: { key: Key<M>; reason: BatchOutcomeReason }[]
}

/** What a model's `batchWrite` takes: items to put and keys to delete. */
export interface ModelBatchWrite<M extends AnyModel> {
  put?: readonly Insert<M>[] | undefined
  delete?: readonly Key<M>[] | undefined
}

/** What a model's `batchWrite` did. */
export interface ModelBatchWriteResult<M extends AnyModel = AnyModel> {
  written: number
  /** The put items as written (generated ids and timestamps filled), in the order given. */
  puts: Item<M>[]
  /** Positions (puts first, then deletes) not written, with the reason (only with `allowUnprocessed`). */
  unprocessed: { index: number; reason: BatchOutcomeReason }[]
  requests: number
}

function keyAttributes(model: AnyModel): string[] {
  return [model.partitionKey.attribute, ...(model.sortKey ? [model.sortKey.attribute] : [])]
}

/** Reads many items of one model with the batch engine (100 keys a request, unprocessed keys retried). */
export async function modelBatchGet<M extends AnyModel>(
  context: ModelContext,
  keys: readonly Key<M>[],
  options: ModelBatchGetOptions = {},
): Promise<ModelBatchGetResult<M>> {
  const issues: ValidationIssue[] = []
  const stored = keys.map((key, index) => {
    const keyIssues: ValidationIssue[] = []
    const marshalled = marshalKey(context.model, key, keyIssues)
    for (const issue of keyIssues) issues.push({ ...issue, path: [index, ...issue.path] })
    return marshalled
  })
  throwIfIssues(issues, `${context.model.name}.batchGet`)
  const { consistent, ...engineOptions } = options
  const result = await batchGet(
    context.runner.client,
    stored.map((key) => ({ table: context.table, key })),
    { ...engineOptions, tables: { [context.table]: { consistentRead: consistent ?? false } } },
  )
  const found = result.results.flatMap((entry) => (entry.item ? [entry.item] : []))
  const opened = await openItems(context.encryptor, found)
  let next = 0
  const items = result.results.map((entry) => (entry.item ? (unmarshalItem(context.model, opened[next++]!) as Item<M>) : undefined))
  return {
    items,
    unprocessed: result.unprocessed.map((miss) => ({ key: keys[miss.index]!, reason: miss.reason })),
  }
}

/**
 * Puts and deletes many items of one model with the batch engine (25 a request, unprocessed items retried).
 * Batch writes carry no conditions, so a model with a version field is refused: use `put`/`delete` or `transact`.
 */
export async function modelBatchWrite<M extends AnyModel>(
  context: ModelContext,
  writes: ModelBatchWrite<M>,
  options: Omit<BatchWriteOptions, 'keyAttributes'> = {},
): Promise<ModelBatchWriteResult<M>> {
  const model = context.model
  const issues: ValidationIssue[] = []
  if (model.versionField) {
    issues.push({
      path: [],
      message: `${model.name} has a version field, and a batch write cannot check versions: use put/delete (or transact) so that no stale write lands`,
    })
  }
  const now = new Date().toISOString()
  const entries: BatchWriteEntry[] = []
  const puts: Item<M>[] = []
  ;(writes.put ?? []).forEach((item, index) => {
    const written: Record<string, unknown> = { ...(item as Record<string, unknown>) }
    for (const meta of model.generatedIdFields) if (written[meta.name] === undefined) written[meta.name] = generateId(meta.idStrategy!)
    const createdAt = model.createdAtField as FieldMeta | undefined
    const updatedAt = model.updatedAtField as FieldMeta | undefined
    if (createdAt && written[createdAt.name] === undefined) written[createdAt.name] = now
    if (updatedAt) written[updatedAt.name] = now
    const itemIssues: ValidationIssue[] = []
    const stored = marshalItem(model, written, itemIssues)
    if (itemIssues.length === 0 && itemSizeBytes(stored) > MAX_ITEM_BYTES) itemIssues.push({ path: [], message: 'is over 400 KB' })
    for (const issue of itemIssues) issues.push({ ...issue, path: ['put', index, ...issue.path] })
    entries.push({ table: context.table, put: stored })
    puts.push(unmarshalItem(model, stored) as Item<M>)
  })
  ;(writes.delete ?? []).forEach((key, index) => {
    const keyIssues: ValidationIssue[] = []
    const stored = marshalKey(model, key, keyIssues)
    for (const issue of keyIssues) issues.push({ ...issue, path: ['delete', index, ...issue.path] })
    entries.push({ table: context.table, delete: stored })
  })
  throwIfIssues(issues, `${model.name}.batchWrite`)
  if (context.encryptor) {
    const puts = entries.filter((entry) => entry.put !== undefined)
    const sealed = await sealItems(
      context.encryptor,
      puts.map((entry) => entry.put as AttributeMap),
    )
    puts.forEach((entry, position) => {
      entry.put = sealed[position] as AttributeMap
    })
  }
  const result = await batchWrite(context.runner.client, entries, { ...options, keyAttributes: { [context.table]: keyAttributes(model) } })
  return {
    written: result.written,
    puts,
    unprocessed: result.unprocessed.map((miss) => ({ index: miss.index, reason: miss.reason })),
    requests: result.requests,
  }
}
