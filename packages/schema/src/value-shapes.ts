import { isIP } from 'node:net'
import { Range } from '@tessera/converter'
import { describeValue } from '@tessera/core'
import type { RangeType } from './fields'

/*
 * Shape checks of the values that have no `convert` kind: time of day, interval, inet/cidr, ranges. Each returns
 * `undefined` when the value is accepted as is, or the message of the issue.
 */

const TIME = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?$/

/** `'HH:MM'`, `'HH:MM:SS'` or `'HH:MM:SS.ffffff'`, from `00:00` to `24:00:00` (PostgreSQL accepts 24:00:00 as the end of a day). */
export function timeProblem(value: unknown): string | undefined {
  const accepted = "must be a time of day 'HH:MM', 'HH:MM:SS' or 'HH:MM:SS.ffffff' (00:00 to 24:00:00)"
  if (typeof value !== 'string') return `${accepted}, got ${describeValue(value)}`
  const parts = TIME.exec(value)
  if (parts === null) return accepted
  const [hours, minutes, seconds] = [Number(parts[1]), Number(parts[2]), Number(parts[3] ?? 0)]
  const fraction = Number(`0.${parts[4] ?? '0'}`)
  if (minutes > 59 || seconds > 59) return accepted
  if (hours > 24 || (hours === 24 && (minutes > 0 || seconds > 0 || fraction > 0))) return accepted
  return undefined
}

const INTERVAL_KEYS = new Set(['years', 'months', 'days', 'hours', 'minutes', 'seconds', 'milliseconds'])

/** An interval object: only the keys of `Interval`, each a finite number; at least one of them. */
export function intervalProblem(value: unknown): string | undefined {
  const accepted = 'must be an interval object { years?, months?, days?, hours?, minutes?, seconds?, milliseconds? } of finite numbers'
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Date) {
    return `${accepted}, got ${describeValue(value)}`
  }
  const entries = Object.entries(value)
  if (entries.length === 0) return accepted
  for (const [key, part] of entries) {
    if (!INTERVAL_KEYS.has(key)) return `${accepted}; ${JSON.stringify(key)} is not one of them`
    if (typeof part !== 'number' || !Number.isFinite(part)) return `${accepted}; ${key} is ${describeValue(part)}`
  }
  return undefined
}

/** An IPv4 or IPv6 address with an optional `/prefix`; for `cidr`, no bits set right of the prefix. */
export function networkProblem(value: unknown, kind: 'inet' | 'cidr'): string | undefined {
  const accepted =
    kind === 'inet'
      ? "must be an IPv4 or IPv6 address with an optional /prefix, e.g. '10.0.0.1' or '2001:db8::1/64'"
      : "must be an IPv4 or IPv6 network with no bits set right of its prefix, e.g. '10.0.0.0/8' or '2001:db8::/32'"
  if (typeof value !== 'string') return `${accepted}, got ${describeValue(value)}`
  const slash = value.indexOf('/')
  const address = slash === -1 ? value : value.slice(0, slash)
  const version = isIP(address)
  if (version === 0) return accepted
  const width = version === 4 ? 32 : 128
  let prefix = width
  if (slash !== -1) {
    const text = value.slice(slash + 1)
    if (!/^\d{1,3}$/.test(text) || Number(text) > width) return `${accepted} (the prefix is 0 to ${width})`
    prefix = Number(text)
  }
  if (kind === 'cidr' && hostBitsSet(address, version, prefix)) return `${accepted}; ${value} has bits set right of /${prefix}`
  return undefined
}

function addressBits(address: string, version: 4 | 6): bigint {
  if (version === 4) return address.split('.').reduce((bits, part) => (bits << 8n) | BigInt(part), 0n)
  // An IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
  let text = address
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (v4 !== null) {
    const bits = addressBits(v4[1] as string, 4)
    text = `${text.slice(0, v4.index)}${(bits >> 16n).toString(16)}:${(bits & 0xffffn).toString(16)}`
  }
  const [head = '', tail] = text.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? left : [...left, ...new Array(8 - left.length - right.length).fill('0'), ...right]
  return groups.reduce((bits, group) => (bits << 16n) | BigInt(`0x${group}`), 0n)
}

function hostBitsSet(address: string, version: number, prefix: number): boolean {
  const width = version === 4 ? 32 : 128
  const bits = addressBits(address, version as 4 | 6)
  const hostMask = (1n << BigInt(width - prefix)) - 1n
  return (bits & hostMask) !== 0n
}

const DECIMAL = /^-?\d+(?:\.\d+)?$/
const DATE_TEXT = /^\d{4}-\d{2}-\d{2}$/

/** A bound of a range type, as a write accepts it (reads give the same types). */
const BOUNDS: Record<RangeType, readonly [(bound: unknown) => boolean, string]> = {
  int4range: [(b) => typeof b === 'number' && Number.isInteger(b) && b >= -(2 ** 31) && b <= 2 ** 31 - 1, 'an integer'],
  int8range: [(b) => typeof b === 'bigint' && b >= -(2n ** 63n) && b <= 2n ** 63n - 1n, 'a bigint'],
  numrange: [(b) => typeof b === 'string' && DECIMAL.test(b), 'decimal text such as "12.50"'],
  tstzrange: [(b) => b instanceof Date && !Number.isNaN(b.getTime()), 'a valid Date'],
  daterange: [(b) => typeof b === 'string' && DATE_TEXT.test(b), "a 'YYYY-MM-DD' string"],
}

function compareBounds(type: RangeType, a: unknown, b: unknown): number {
  switch (type) {
    case 'int4range':
      return (a as number) - (b as number)
    case 'int8range':
      return (a as bigint) < (b as bigint) ? -1 : (a as bigint) > (b as bigint) ? 1 : 0
    case 'tstzrange':
      return (a as Date).getTime() - (b as Date).getTime()
    case 'daterange':
      return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0
    case 'numrange': {
      const x = Number(a)
      const y = Number(b)
      return x - y
    }
  }
}

/**
 * A `Range` (or an object of the same shape from another copy of the converter) whose bounds have the range's
 * JavaScript type, lower ≤ upper. `null` bounds are unbounded sides.
 */
export function rangeProblem(value: unknown, type: RangeType): string | undefined {
  const [accepts, expected] = BOUNDS[type]
  const accepted = `must be a Range of ${expected} bounds (null for an unbounded side), e.g. new Range(lower, upper, '[)')`
  if (!isRangeLike(value)) return `${accepted}, got ${describeValue(value)}`
  if (value.empty) return undefined
  for (const [side, bound] of [
    ['lower', value.lower],
    ['upper', value.upper],
  ] as const) {
    if (bound !== null && !accepts(bound)) return `${accepted}; its ${side} bound is ${describeValue(bound)}`
  }
  if (value.lower !== null && value.upper !== null && compareBounds(type, value.lower, value.upper) > 0) {
    return `${accepted}; its lower bound ${describeValue(value.lower)} is above its upper bound ${describeValue(value.upper)}`
  }
  return undefined
}

interface RangeLike {
  lower: unknown
  upper: unknown
  lowerInclusive: boolean
  upperInclusive: boolean
  empty: boolean
}

function isRangeLike(value: unknown): value is RangeLike {
  if (value instanceof Range) return true
  if (typeof value !== 'object' || value === null) return false
  const r = value as Record<string, unknown>
  return (
    'lower' in r &&
    'upper' in r &&
    typeof r.lowerInclusive === 'boolean' &&
    typeof r.upperInclusive === 'boolean' &&
    typeof r.empty === 'boolean'
  )
}
