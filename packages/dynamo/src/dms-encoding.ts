import { describeValue } from '@tessera/core'
import { DynamoInputError } from './dynamo-errors'

/**
 * A timestamp as DynamORM (Go `time.RFC3339Nano`) writes lifecycle fields: UTC, `Z`, fractional seconds with
 * trailing zeros removed and no fraction at all when it is zero. `2024-05-01T10:00:00.5Z`, `2024-05-01T10:00:00Z`.
 * JavaScript dates hold milliseconds, so at most 3 fractional digits are written; Go parses them all.
 */
export function formatRfc3339Nano(date: Date): string {
  if (!(date instanceof Date) || Number.isNaN(date.getTime()))
    throw new DynamoInputError(`expected a valid Date, got ${describeValue(date)}`)
  const iso = date.toISOString() // 2024-05-01T10:00:00.500Z
  const [whole, fraction = ''] = iso.slice(0, -1).split('.')
  const trimmed = fraction.replace(/0+$/, '')
  return `${whole}${trimmed ? `.${trimmed}` : ''}Z`
}

/** A TTL as DynamORM stores it: whole Unix epoch seconds (a `Date`, or epoch milliseconds). */
export function ttlEpochSeconds(at: Date | number): number {
  const ms = at instanceof Date ? at.getTime() : at
  if (typeof ms !== 'number' || !Number.isFinite(ms))
    throw new DynamoInputError(`expected a Date or epoch milliseconds, got ${describeValue(at)}`)
  return Math.floor(ms / 1000)
}

/**
 * DMS `omit_empty` emptiness: null/undefined, `''`, `0` (and `0n`), `false`, an empty array, set, map or plain
 * object, an invalid Date, and an object whose fields are all empty. Such a value is not written.
 */
export function isDmsEmpty(value: unknown): boolean {
  if (value === null || value === undefined) return true
  if (typeof value === 'string') return value === ''
  if (typeof value === 'number') return value === 0
  if (typeof value === 'bigint') return value === 0n
  if (typeof value === 'boolean') return value === false
  if (value instanceof Date) return Number.isNaN(value.getTime())
  if (Array.isArray(value)) return value.length === 0
  if (value instanceof Set || value instanceof Map) return value.size === 0
  if (value instanceof Uint8Array) return value.length === 0
  if (typeof value === 'object') {
    const fields = Object.values(value as Record<string, unknown>)
    return fields.length === 0 || fields.every(isDmsEmpty)
  }
  return false
}
