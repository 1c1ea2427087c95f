import type { ConsumedCapacitySummary, ModelOperation, PreparedRequest } from './command-runner'
import type { AnyModel, FieldMeta } from './define-model'
import type { FieldKind } from './fields'

/** On-demand prices in US dollars per million request units. Defaults: 0.125 read, 0.625 write. */
export interface Pricing {
  /** Per million read request units. Default: 0.125. */
  readPerMillion?: number | undefined
  /** Per million write request units. Default: 0.625. */
  writePerMillion?: number | undefined
}

/** Options of `.explain()`. */
export interface ExplainOptions {
  /** Run the operation with `ReturnConsumedCapacity: 'INDEXES'` and report the real figures in `actual`. Default: `false`. */
  analyze?: boolean | undefined
  /** Items a query or scan is assumed to read, for the estimate. Default: its `limit`, else 1 (and a warning). */
  assumeItems?: number | undefined
  signal?: AbortSignal | undefined
}

/**
 * What `.explain()` returns: a plain object, safe to print as JSON. Expressions use the `#a0` / `:v0` placeholders
 * the request carries; values are never included (they may hold personal data).
 */
export interface Explanation {
  /** The DynamoDB operation: `'GetItem'`, `'Query'`, `'Scan'`, `'PutItem'`, `'UpdateItem'`, `'DeleteItem'`. */
  operation: ModelOperation
  table: string
  /** The index read, or `undefined` for the table itself. */
  index: string | undefined
  /** Why this index (or the table) was chosen, for a query. */
  indexChoice: string | undefined
  keyCondition: string | undefined
  filter: string | undefined
  condition: string | undefined
  update: string | undefined
  projection: string | undefined
  /** Placeholder → attribute name. */
  attributeNames: Record<string, string>
  /** Conditions DynamoDB evaluates after reading the items: read capacity is paid for items they then discard. */
  appliedAfterRead: string[]
  /** Estimated size of one whole item (what capacity is charged on), in bytes. */
  itemSizeBytes: number
  /** Estimated size of one returned item after projection, in bytes. */
  projectedItemSizeBytes: number
  /** `'item'` when computed from the item being written, `'model'` when estimated from the field kinds. */
  sizeBasis: 'item' | 'model'
  /** Items the estimate assumes are read or written. */
  itemsAssumed: number
  capacity: {
    unit: 'read' | 'write'
    /** The estimate for this request as configured. */
    units: number
    /** Read estimates under both consistencies (reads only). */
    stronglyConsistent?: number | undefined
    eventuallyConsistent?: number | undefined
    /** The same work inside a transaction (twice the units). */
    transactional: number
  }
  /** On-demand price of `capacity.units`, in US dollars. */
  costUsd: number
  pricePerMillionUnits: number
  warnings: string[]
  /** With `analyze`: what DynamoDB reported. */
  actual?:
    | {
        capacityUnits: number
        byTableOrIndex: Record<string, number> | undefined
        /** Items returned (queries and scans). */
        count?: number | undefined
        /** Items read before the filter (queries and scans). */
        scannedCount?: number | undefined
      }
    | undefined
}

const ASSUMED_BYTES: Readonly<Record<FieldKind, number>> = {
  string: 32,
  number: 8,
  boolean: 1,
  binary: 64,
  stringSet: 96,
  numberSet: 24,
  binarySet: 192,
  list: 64,
  map: 64,
}

/** Estimates an item's size from the model: names plus an assumed size per field kind (strings 32 bytes, …). */
export function estimateItemSize(model: AnyModel, onlyFields?: readonly string[]): number {
  let size = 0
  for (const meta of model.fieldList as readonly FieldMeta[]) {
    if (onlyFields && !onlyFields.includes(meta.name)) continue
    size += meta.attribute.length + ASSUMED_BYTES[meta.kind]
  }
  if (!onlyFields) {
    for (const key of model.composedKeys) size += key.attribute.length + 40
    if (model.entity) size += model.entity.attribute.length + model.entity.value.length
  }
  return size
}

/** What the builders know beyond the request itself. */
export interface ExplainContext {
  request: PreparedRequest
  itemSizeBytes: number
  projectedItemSizeBytes: number
  sizeBasis: 'item' | 'model'
  itemsAssumed: number
  /** Extra write units for secondary indexes the write changes. */
  indexWrites?: number | undefined
  appliedAfterRead: string[]
  indexChoice?: string | undefined
  warnings: string[]
  pricing: Required<Pricing>
}

const READ_OPERATIONS: ReadonlySet<ModelOperation> = new Set(['GetItem', 'Query', 'Scan'])

/** Turns a prepared request and its context into an {@link Explanation}. */
export function explainRequest(context: ExplainContext): Explanation {
  const { request } = context
  const input = request.input as Record<string, unknown>
  const isRead = READ_OPERATIONS.has(request.operation)
  let capacity: Explanation['capacity']
  if (isRead) {
    // Get: per item rounded up to 4 KB; query and scan: the sum of item sizes, rounded up once.
    const blocks =
      request.operation === 'GetItem'
        ? Math.ceil(context.itemSizeBytes / 4096) * context.itemsAssumed
        : Math.max(1, Math.ceil((context.itemSizeBytes * context.itemsAssumed) / 4096))
    const strongly = blocks
    const eventually = blocks / 2
    const units = input.ConsistentRead === true ? strongly : eventually
    capacity = { unit: 'read', units, stronglyConsistent: strongly, eventuallyConsistent: eventually, transactional: strongly * 2 }
  } else {
    const units = (Math.ceil(context.itemSizeBytes / 1024) || 1) * (1 + (context.indexWrites ?? 0)) * context.itemsAssumed
    capacity = { unit: 'write', units, transactional: units * 2 }
  }
  const pricePerMillionUnits = isRead ? context.pricing.readPerMillion : context.pricing.writePerMillion
  return {
    operation: request.operation,
    table: request.table,
    index: request.index,
    indexChoice: context.indexChoice,
    keyCondition: input.KeyConditionExpression as string | undefined,
    filter: input.FilterExpression as string | undefined,
    condition: input.ConditionExpression as string | undefined,
    update: input.UpdateExpression as string | undefined,
    projection: input.ProjectionExpression as string | undefined,
    attributeNames: { ...((input.ExpressionAttributeNames as Record<string, string> | undefined) ?? {}) },
    appliedAfterRead: context.appliedAfterRead,
    itemSizeBytes: context.itemSizeBytes,
    projectedItemSizeBytes: context.projectedItemSizeBytes,
    sizeBasis: context.sizeBasis,
    itemsAssumed: context.itemsAssumed,
    capacity,
    costUsd: (capacity.units * pricePerMillionUnits) / 1_000_000,
    pricePerMillionUnits,
    warnings: context.warnings,
  }
}

/** Adds what DynamoDB reported to an explanation. */
export function withActual(
  explanation: Explanation,
  consumed: ConsumedCapacitySummary | undefined,
  counts: { count?: number | undefined; scannedCount?: number | undefined } = {},
): Explanation {
  explanation.actual = {
    capacityUnits: consumed?.capacityUnits ?? 0,
    byTableOrIndex: consumed?.byTableOrIndex,
    count: counts.count,
    scannedCount: counts.scannedCount,
  }
  return explanation
}

/** Resolves pricing defaults. */
export function resolvePricing(pricing: Pricing | undefined): Required<Pricing> {
  return { readPerMillion: pricing?.readPerMillion ?? 0.125, writePerMillion: pricing?.writePerMillion ?? 0.625 }
}
