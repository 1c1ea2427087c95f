import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import { describeValue } from '@tessera/core'
import { DynamoInputError } from './dynamo-errors'

/** An item or key as DynamoDB sends it: attribute name → typed `AttributeValue`. */
export type AttributeMap = Record<string, AttributeValue>

/**
 * A string that is equal for two keys exactly when DynamoDB sees the same item: the table and each key
 * attribute's type and value, attributes in sorted order. Throws when a key attribute is missing or not a
 * scalar key type (S, N, B).
 */
export function keyIdentity(table: string, item: AttributeMap, keyAttributes: readonly string[]): string {
  const parts: string[] = [table]
  for (const name of [...keyAttributes].sort()) {
    const value = item[name]
    if (value === undefined) {
      throw new DynamoInputError(
        `the item for table ${JSON.stringify(table)} has no key attribute ${JSON.stringify(name)} (keys: ${keyAttributes.join(', ')}); got attributes ${describeValue(Object.keys(item))}`,
      )
    }
    parts.push(name, scalarKeyText(table, name, value))
  }
  return JSON.stringify(parts)
}

function scalarKeyText(table: string, name: string, value: AttributeValue): string {
  if (value.S !== undefined) return `S:${value.S}`
  // DynamoDB compares numbers by value: 1, 1.0 and 1e0 are the same key.
  if (value.N !== undefined) return `N:${canonicalNumber(value.N)}`
  if (value.B !== undefined) return `B:${Buffer.from(value.B).toString('base64')}`
  throw new DynamoInputError(
    `key attribute ${JSON.stringify(name)} of table ${JSON.stringify(table)} must be S, N or B, got ${describeValue(value)}`,
  )
}

function canonicalNumber(text: string): string {
  const number = Number(text)
  return Number.isFinite(number) && String(number).length <= 15 ? String(number) : text.trim()
}
