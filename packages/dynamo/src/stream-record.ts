import { type NativeAttributeValue, unmarshall } from '@aws-sdk/util-dynamodb'
import { describeValue, TesseraError } from '@tessera/core'
import { DynamoInputError } from './dynamo-errors'
import type { AttributeMap } from './key-identity'

/** What happened to the item. */
export type StreamRecordType = 'insert' | 'modify' | 'remove'

/**
 * A DynamoDB stream record as `GetRecords` (the DynamoDB Streams client) or a Lambda event delivers it. In a
 * Lambda event, binary values arrive as base64 strings; both forms are accepted.
 */
export interface StreamRecordLike {
  eventID?: string | undefined
  eventName?: string | undefined
  dynamodb?:
    | {
        Keys?: Record<string, unknown> | undefined
        NewImage?: Record<string, unknown> | undefined
        OldImage?: Record<string, unknown> | undefined
        SequenceNumber?: string | undefined
        ApproximateCreationDateTime?: Date | number | undefined
      }
    | undefined
}

/** A decoded stream record: plain JavaScript values, as `unmarshall` returns them. */
export interface DecodedStreamRecord<T = Record<string, NativeAttributeValue>> {
  type: StreamRecordType
  /** The item's key attributes. */
  keys: Record<string, NativeAttributeValue>
  /** The item before the change (`modify`, `remove`; only with an `OLD_IMAGE` or `NEW_AND_OLD_IMAGES` stream). */
  old: T | undefined
  /** The item after the change (`insert`, `modify`; only with a `NEW_IMAGE` or `NEW_AND_OLD_IMAGES` stream). */
  new: T | undefined
  eventId: string | undefined
  sequenceNumber: string | undefined
  /** When the change was made, to the second. */
  approximateCreationTime: Date | undefined
}

/** Options of {@link decodeStreamRecord}. */
export interface DecodeStreamRecordOptions {
  /** Keep numbers as `NumberValue` strings instead of JavaScript numbers (no precision lost). Default: `false`. */
  wrapNumbers?: boolean | undefined
}

const TYPES: Record<string, StreamRecordType> = { INSERT: 'insert', MODIFY: 'modify', REMOVE: 'remove' }

/**
 * Decodes one stream record into `{ type, keys, old, new }` with plain values. A record that is not a DynamoDB
 * stream record (no `eventName` of INSERT / MODIFY / REMOVE) is a `DynamoInputError`.
 *
 * @example
 * const change = decodeStreamRecord(record)
 * if (change.type === 'modify') console.log(change.old?.status, '->', change.new?.status)
 */
export function decodeStreamRecord(record: StreamRecordLike, options: DecodeStreamRecordOptions = {}): DecodedStreamRecord {
  const images = decodeStreamImages(record)
  const decode = (image: AttributeMap | undefined) =>
    image === undefined ? undefined : unmarshall(image, { wrapNumbers: options.wrapNumbers === true })
  return { ...images.meta, old: decode(images.old), new: decode(images.new) }
}

/** A stream record's images as stored attribute maps (binary values as bytes), and what it says besides. */
export interface StreamImages {
  meta: Omit<DecodedStreamRecord, 'old' | 'new'>
  old: AttributeMap | undefined
  new: AttributeMap | undefined
}

/** Checks a stream record and returns its images still marshalled (for a model to open and unmarshal). */
export function decodeStreamImages(record: StreamRecordLike): StreamImages {
  const type = typeof record === 'object' && record !== null ? TYPES[String(record.eventName)] : undefined
  if (type === undefined) {
    throw new DynamoInputError(
      `not a DynamoDB stream record: eventName must be INSERT, MODIFY or REMOVE, got ${describeValue(record?.eventName)}`,
    )
  }
  const change = record.dynamodb ?? {}
  const created = change.ApproximateCreationDateTime
  return {
    meta: {
      type,
      keys: change.Keys === undefined ? {} : unmarshall(normalizeImage(change.Keys)),
      eventId: record.eventID,
      sequenceNumber: change.SequenceNumber,
      approximateCreationTime: created === undefined ? undefined : created instanceof Date ? created : new Date(created * 1000),
    },
    old: change.OldImage === undefined ? undefined : normalizeImage(change.OldImage),
    new: change.NewImage === undefined ? undefined : normalizeImage(change.NewImage),
  }
}

/** Turns the base64 strings of a Lambda event's binary values into bytes, so both sources decode alike. */
function normalizeImage(image: Record<string, unknown>): AttributeMap {
  const out: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(image)) out[name] = normalizeValue(value)
  return out as AttributeMap
}

function fromBase64(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64'))
}

function normalizeValue(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value
  const typed = value as Record<string, unknown>
  if (typeof typed.B === 'string') return { B: fromBase64(typed.B) }
  if (Array.isArray(typed.BS)) return { BS: typed.BS.map((entry) => (typeof entry === 'string' ? fromBase64(entry) : entry)) }
  if (Array.isArray(typed.L)) return { L: typed.L.map(normalizeValue) }
  if (typeof typed.M === 'object' && typed.M !== null) return { M: normalizeImage(typed.M as Record<string, unknown>) }
  return value
}

/** A handler of one model's records. */
export type StreamHandler = (change: DecodedStreamRecord, record: StreamRecordLike) => void | Promise<void>

/** Options of {@link createStreamRouter}. */
export interface StreamRouterOptions {
  /** The attribute naming each item's model (entity marker) in a single-table design, e.g. `'entity'`. */
  markerAttribute: string
  /** Handlers by marker value. */
  handlers: Record<string, StreamHandler>
  /** Called for records whose marker is missing or has no handler. Default: they are skipped. */
  onUnmatched?: StreamHandler | undefined
  /** Passed to {@link decodeStreamRecord}. */
  decode?: DecodeStreamRecordOptions | undefined
}

/** What {@link StreamRouter.processBatch} did. */
export interface StreamBatchResult {
  /** Records handed to a handler. */
  handled: number
  /** Records with no handler for their marker. */
  unmatched: number
  /**
   * Lambda's partial batch response: the record that failed and every record after it (they were not handled,
   * to keep each item's changes in order). Empty when all succeeded.
   */
  batchItemFailures: { itemIdentifier: string }[]
  /** The error of the failed record, wrapped in a `TesseraError` (`DYNAMO_STREAM_HANDLER_FAILED`). */
  error: TesseraError | undefined
}

/** Routes the records of a single-table stream to a handler per model. */
export interface StreamRouter {
  /** Decodes one record and calls its model's handler; resolves with the marker value it routed on (or undefined). */
  route(record: StreamRecordLike): Promise<string | undefined>
  /**
   * Routes records in order, one at a time. Stops at the first handler that throws and reports that record and
   * the rest as failures (Lambda `ReportBatchItemFailures` shape), so they are delivered again in order.
   */
  processBatch(records: readonly StreamRecordLike[]): Promise<StreamBatchResult>
}

/**
 * Routes stream records by the entity marker attribute of their new image (the old image for a removal) to
 * the handler registered for that marker.
 *
 * @example
 * const router = createStreamRouter({ markerAttribute: 'entity', handlers: { User: (change) => sync(change.new) } })
 * export const handler = async (event) => ({ batchItemFailures: (await router.processBatch(event.Records)).batchItemFailures })
 */
export function createStreamRouter(options: StreamRouterOptions): StreamRouter {
  if (typeof options?.markerAttribute !== 'string' || options.markerAttribute === '') {
    throw new DynamoInputError(`markerAttribute must be a non-empty string, got ${describeValue(options?.markerAttribute)}`)
  }
  for (const [marker, handler] of Object.entries(options.handlers ?? {})) {
    if (typeof handler !== 'function')
      throw new DynamoInputError(`handler for ${JSON.stringify(marker)} must be a function, got ${describeValue(handler)}`)
  }
  const route = async (record: StreamRecordLike): Promise<string | undefined> => {
    const change = decodeStreamRecord(record, options.decode)
    const image = change.new ?? change.old
    const marker = image?.[options.markerAttribute]
    const handler = typeof marker === 'string' ? options.handlers[marker] : undefined
    if (handler === undefined || typeof marker !== 'string') {
      await options.onUnmatched?.(change, record)
      return undefined
    }
    await handler(change, record)
    return marker
  }
  return { route, processBatch: (records) => processStreamBatch(records, route) }
}

/**
 * Routes records in order, one at a time; stops at the first that throws and reports it and every later record
 * (Lambda's `ReportBatchItemFailures` shape), so they are delivered again in order.
 */
export async function processStreamBatch(
  records: readonly StreamRecordLike[],
  route: (record: StreamRecordLike) => Promise<string | undefined>,
): Promise<StreamBatchResult> {
  let handled = 0
  let unmatched = 0
  for (const [position, record] of records.entries()) {
    try {
      if ((await route(record)) === undefined) unmatched++
      else handled++
    } catch (error) {
      const id = (entry: StreamRecordLike) => entry.dynamodb?.SequenceNumber ?? entry.eventID ?? ''
      return {
        handled,
        unmatched,
        batchItemFailures: records.slice(position).map((entry) => ({ itemIdentifier: id(entry) })),
        error: new TesseraError(
          `stream handler failed on record ${id(record)}: ${error instanceof Error ? error.message : describeValue(error)}`,
          { code: 'DYNAMO_STREAM_HANDLER_FAILED', cause: error },
        ),
      }
    }
  }
  return { handled, unmatched, batchItemFailures: [], error: undefined }
}
