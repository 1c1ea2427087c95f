import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import { DynamoInputError } from './dynamo-errors'
import type { AttributeMap } from './key-identity'

/** DynamoDB's largest item: 400 KB, attribute names included. */
export const MAX_ITEM_BYTES = 400 * 1024

const utf8 = (text: string) => Buffer.byteLength(text, 'utf8')

/**
 * The size DynamoDB counts for an item, by its published rules: each attribute's name in UTF-8 bytes plus its
 * value (strings in UTF-8 bytes, binary in bytes, numbers about one byte per two significant digits plus one,
 * booleans and null one byte, lists and maps 3 bytes plus their elements, sets their elements). Capacity units
 * and the 400 KB limit are computed from it; this is an estimate within a few bytes for numbers.
 */
export function itemSizeBytes(item: AttributeMap): number {
  let size = 0
  for (const [name, value] of Object.entries(item)) size += utf8(name) + valueSize(value)
  return size
}

function numberSize(text: string): number {
  const digits = text
    .replace(/^[-+]/, '')
    .replace(/[eE].*$/, '')
    .replace('.', '')
    .replace(/^0+/, '')
    .replace(/0+$/, '')
  return Math.ceil(Math.max(1, digits.length) / 2) + 1
}

function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return utf8(value.S)
  if (value.N !== undefined) return numberSize(value.N)
  if (value.B !== undefined) return value.B.length
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1
  if (value.SS !== undefined) return value.SS.reduce((sum, entry) => sum + utf8(entry), 0)
  if (value.NS !== undefined) return value.NS.reduce((sum, entry) => sum + numberSize(entry), 0)
  if (value.BS !== undefined) return value.BS.reduce((sum, entry) => sum + entry.length, 0)
  if (value.L !== undefined) return 3 + value.L.reduce((sum, entry) => sum + 1 + valueSize(entry), 0)
  if (value.M !== undefined) return 3 + Object.entries(value.M).reduce((sum, [name, entry]) => sum + 1 + utf8(name) + valueSize(entry), 0)
  return 0
}

/** Throws a `DynamoInputError` (`DYNAMO_ITEM_TOO_LARGE`) naming `where` when the item is over 400 KB. */
export function assertItemSize(item: AttributeMap, where: string): void {
  const size = itemSizeBytes(item)
  if (size > MAX_ITEM_BYTES) {
    throw new DynamoInputError(
      `${where} is ${size} bytes; DynamoDB items are at most ${MAX_ITEM_BYTES} bytes (400 KB), attribute names included`,
      {
        code: 'DYNAMO_ITEM_TOO_LARGE',
      },
    )
  }
}
