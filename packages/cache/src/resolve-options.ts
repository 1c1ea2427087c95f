import { ConfigError, describeValue, systemClock } from '@tessera/core'
import { isStandardSchema } from './check-value'
import { taggedJsonCodec } from './codec'
import type { CacheOptions, GetOrSetOptions, ResolvedOptions, SetOptions } from './options'

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null
}

const CACHE_OPTION_NAMES = [
  'namespace',
  'l1',
  'l2',
  'bus',
  'ttlMs',
  'jitter',
  'graceMs',
  'graceBackoffMs',
  'refreshAheadMs',
  'softTimeoutMs',
  'hardTimeoutMs',
  'negativeTtlMs',
  'codec',
  'breaker',
  'lock',
  'tagVersionTtlMs',
  'logger',
  'onError',
  'clock',
]
const L1_OPTION_NAMES = ['maxEntries', 'maxBytes', 'ttlMs', 'busDownTtlMs']
const L2_OPTION_NAMES = ['redis', 'keyPrefix', 'timeoutMs', 'maxEntryBytes', 'compressThresholdBytes', 'compression']
const BUS_OPTION_NAMES = ['enabled', 'channel', 'subscriber']
const LOCK_OPTION_NAMES = ['enabled', 'ttlMs', 'waitMs', 'pollMs', 'failureTtlMs']
const BREAKER_OPTION_NAMES = [
  'failureRatio',
  'minimumCalls',
  'windowMs',
  'windowBuckets',
  'openMs',
  'halfOpenProbes',
  'successesToClose',
  'consecutiveFailures',
  'isFailure',
]
const SET_OPTION_NAMES = new Set(['ttlMs', 'tags', 'graceMs', 'skipL2'])
const GET_OR_SET_OPTION_NAMES = new Set([
  ...SET_OPTION_NAMES,
  'softTimeoutMs',
  'hardTimeoutMs',
  'graceBackoffMs',
  'refreshAheadMs',
  'forceFresh',
  'checkValue',
])
const ENTRY_OPTION_NAMES = new Set([...SET_OPTION_NAMES, 'key', 'value'])
const CALL_OPTION_NAMES = { getOrSet: GET_OR_SET_OPTION_NAMES, set: SET_OPTION_NAMES, entry: ENTRY_OPTION_NAMES }

/**
 * Adds a problem for every own key of `object` that is not in `known`, naming the close match when there is one
 * (bentocache's `ttl` is our `ttlMs`): a misspelt option must not be silently ignored.
 */
function checkUnknown(problems: string[], path: string, object: object, known: ReadonlySet<string> | readonly string[]): void {
  const names = known instanceof Set ? known : new Set(known as readonly string[])
  for (const name of Object.keys(object)) {
    if (names.has(name)) continue
    const hint = names.has(`${name}Ms`) ? `; did you mean "${path}${name}Ms"?` : ''
    problems.push(`unknown option "${path}${name}"${hint} (known: ${[...names].join(', ')})`)
  }
}

/** A finite number ≥ 0 (`positive`: > 0). */
export function isDuration(value: unknown, positive = false): value is number {
  return typeof value === 'number' && Number.isFinite(value) && (positive ? value > 0 : value >= 0)
}

/** A TTL: a finite number > 0, or `Infinity` (never expires). */
export function isTtl(value: unknown): value is number {
  return value === Number.POSITIVE_INFINITY || isDuration(value, true)
}

function checkTtl(problems: string[], name: string, value: unknown): void {
  if (value !== undefined && !isTtl(value))
    problems.push(`${name} must be a finite number > 0 or Infinity (forever), got ${describeValue(value)}`)
}

function checkNumber(problems: string[], name: string, value: unknown, positive: boolean, integer = false): void {
  if (value === undefined) return
  if (!isDuration(value, positive) || (integer && !Number.isInteger(value))) {
    problems.push(`${name} must be a finite ${integer ? 'integer' : 'number'} ${positive ? '> 0' : '≥ 0'}, got ${describeValue(value)}`)
  }
}

export function checkNamespaceName(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.includes(':')) {
    return `a namespace must be a non-empty string without ":", got ${describeValue(value)}`
  }
  return undefined
}

/** Validates `createCache` options and fills in defaults. Every problem is listed in one `ConfigError`. */
export function resolveOptions(options: CacheOptions = {}): ResolvedOptions {
  if (!isObject(options as unknown))
    throw new ConfigError(`expected an options object, got ${describeValue(options)}`, { subject: 'cache options' })
  const problems: string[] = []
  checkUnknown(problems, '', options, CACHE_OPTION_NAMES)
  const namespace = options.namespace ?? 'default'
  const badNamespace = checkNamespaceName(namespace)
  if (badNamespace) problems.push(`namespace: ${badNamespace}`)

  const l1 = options.l1 ?? {}
  if (l1 !== false && !isObject(l1)) problems.push(`l1 must be an object or false, got ${describeValue(l1)}`)
  else if (l1 !== false) {
    checkUnknown(problems, 'l1.', l1, L1_OPTION_NAMES)
    checkNumber(problems, 'l1.maxEntries', l1.maxEntries, true, true)
    checkNumber(problems, 'l1.maxBytes', l1.maxBytes, true, true)
    checkNumber(problems, 'l1.ttlMs', l1.ttlMs, true)
    checkNumber(problems, 'l1.busDownTtlMs', l1.busDownTtlMs, false)
  }

  const l2 = options.l2
  if (l2 !== undefined) {
    if (!isObject(l2)) problems.push(`l2 must be an object with a redis client, got ${describeValue(l2)}`)
    else {
      checkUnknown(problems, 'l2.', l2, L2_OPTION_NAMES)
      const redis = l2.redis as unknown
      if (
        !isObject(redis) ||
        typeof (redis as { get?: unknown }).get !== 'function' ||
        typeof (redis as { mget?: unknown }).mget !== 'function'
      ) {
        problems.push(`l2.redis must be an ioredis client or Cluster (or compatible), got ${describeValue(redis)}`)
      }
      if (l2.keyPrefix !== undefined && typeof l2.keyPrefix !== 'string')
        problems.push(`l2.keyPrefix must be a string, got ${describeValue(l2.keyPrefix)}`)
      checkNumber(problems, 'l2.timeoutMs', l2.timeoutMs, true)
      checkNumber(problems, 'l2.maxEntryBytes', l2.maxEntryBytes, true, true)
      checkNumber(problems, 'l2.compressThresholdBytes', l2.compressThresholdBytes, true, true)
      if (l2.compression !== undefined && l2.compression !== 'gzip' && l2.compression !== 'brotli')
        problems.push(`l2.compression must be 'gzip' or 'brotli', got ${describeValue(l2.compression)}`)
    }
  }
  if (l1 === false && l2 === undefined) problems.push('l1 is false and no l2 is set: there is nowhere to cache')

  const bus = options.bus
  if (bus !== undefined && typeof bus !== 'boolean' && !isObject(bus))
    problems.push(`bus must be a boolean or an object, got ${describeValue(bus)}`)
  if (isObject(bus)) checkUnknown(problems, 'bus.', bus, BUS_OPTION_NAMES)
  if (isObject(bus) && bus.channel !== undefined && (typeof bus.channel !== 'string' || bus.channel === '')) {
    problems.push(`bus.channel must be a non-empty string, got ${describeValue(bus.channel)}`)
  }
  const wantsBus = bus === true || (isObject(bus) && bus.enabled !== false)
  if (wantsBus && l2 === undefined) problems.push('bus needs l2 (it travels over Redis pub/sub)')

  checkTtl(problems, 'ttlMs', options.ttlMs)
  if (options.jitter !== undefined && !(isDuration(options.jitter) && options.jitter < 1)) {
    problems.push(`jitter must be a number in [0, 1), got ${describeValue(options.jitter)}`)
  }
  checkNumber(problems, 'graceMs', options.graceMs, false)
  checkNumber(problems, 'graceBackoffMs', options.graceBackoffMs, false)
  checkNumber(problems, 'refreshAheadMs', options.refreshAheadMs, false)
  checkNumber(problems, 'softTimeoutMs', options.softTimeoutMs, false)
  checkNumber(problems, 'hardTimeoutMs', options.hardTimeoutMs, true)
  checkNumber(problems, 'negativeTtlMs', options.negativeTtlMs, false)
  checkNumber(problems, 'tagVersionTtlMs', options.tagVersionTtlMs, false)
  const codec = options.codec
  if (codec !== undefined && !(isObject(codec) && typeof codec.encode === 'function' && typeof codec.decode === 'function')) {
    problems.push(`codec must have encode and decode functions, got ${describeValue(codec)}`)
  }
  if (options.breaker !== undefined && options.breaker !== false && !isObject(options.breaker)) {
    problems.push(`breaker must be an object or false, got ${describeValue(options.breaker)}`)
  }
  if (isObject(options.breaker)) checkUnknown(problems, 'breaker.', options.breaker, BREAKER_OPTION_NAMES)
  const lock = options.lock
  if (lock !== undefined) {
    if (!isObject(lock)) problems.push(`lock must be an object, got ${describeValue(lock)}`)
    else {
      checkUnknown(problems, 'lock.', lock, LOCK_OPTION_NAMES)
      checkNumber(problems, 'lock.ttlMs', lock.ttlMs, true)
      checkNumber(problems, 'lock.waitMs', lock.waitMs, false)
      checkNumber(problems, 'lock.pollMs', lock.pollMs, true)
      checkNumber(problems, 'lock.failureTtlMs', lock.failureTtlMs, false)
      if (lock.enabled === true && l2 === undefined) problems.push('lock needs l2 (the lock lives in Redis)')
    }
  }
  const logger = options.logger
  if (logger !== undefined && !(isObject(logger) && typeof logger.warn === 'function' && typeof logger.error === 'function')) {
    problems.push(`logger must have debug/info/warn/error methods, got ${describeValue(logger)}`)
  }
  if (options.onError !== undefined && typeof options.onError !== 'function')
    problems.push(`onError must be a function, got ${describeValue(options.onError)}`)
  if (options.clock !== undefined && !(isObject(options.clock) && typeof options.clock.now === 'function')) {
    problems.push(`clock must have a now() method, got ${describeValue(options.clock)}`)
  }
  if (problems.length > 0) throw new ConfigError(problems, { subject: 'cache options' })

  const keyPrefix = l2?.keyPrefix ?? 'tessera:'
  const busObject = isObject(bus) ? bus : undefined
  return {
    namespace,
    l1:
      l1 === false
        ? undefined
        : {
            maxEntries: l1.maxEntries ?? 10_000,
            maxBytes: l1.maxBytes,
            ttlMs: l1.ttlMs ?? 60_000,
            busDownTtlMs: Math.min(l1.busDownTtlMs ?? 1_000, l1.ttlMs ?? 60_000),
          },
    l2:
      l2 === undefined
        ? undefined
        : {
            redis: l2.redis,
            keyPrefix,
            timeoutMs: l2.timeoutMs ?? 250,
            maxEntryBytes: l2.maxEntryBytes ?? 1_048_576,
            compressThresholdBytes: l2.compressThresholdBytes,
            compression: l2.compression ?? 'gzip',
          },
    bus:
      l2 === undefined || bus === false || busObject?.enabled === false
        ? undefined
        : { channel: busObject?.channel ?? `${keyPrefix}bus`, subscriber: busObject?.subscriber },
    ttlMs: options.ttlMs ?? 60_000,
    jitter: options.jitter ?? 0.1,
    graceMs: options.graceMs ?? 0,
    graceBackoffMs: options.graceBackoffMs ?? 0,
    refreshAheadMs: options.refreshAheadMs ?? 0,
    softTimeoutMs: options.softTimeoutMs,
    hardTimeoutMs: options.hardTimeoutMs,
    negativeTtlMs: options.negativeTtlMs ?? 0,
    codec: codec ?? taggedJsonCodec,
    breaker: options.breaker === false ? undefined : { consecutiveFailures: 5, ...options.breaker },
    lock:
      lock?.enabled === true
        ? { ttlMs: lock.ttlMs ?? 5_000, waitMs: lock.waitMs ?? 5_000, pollMs: lock.pollMs ?? 50, failureTtlMs: lock.failureTtlMs ?? 1_000 }
        : undefined,
    tagVersionTtlMs: options.tagVersionTtlMs ?? 1_000,
    logger,
    onError: options.onError,
    clock: options.clock ?? systemClock,
  }
}

/**
 * Checks per-call options; returns the problems (empty when fine). Cheap enough for every call: a handful of
 * property reads, so that a bad TTL is reported even when the key happens to be an L1 hit.
 */
export function callOptionProblems(options: GetOrSetOptions | SetOptions, kind: 'getOrSet' | 'set' | 'entry'): string[] {
  const problems: string[] = []
  if (!isObject(options)) return [`options must be an object, got ${describeValue(options)}`]
  const known = CALL_OPTION_NAMES[kind]
  for (const name in options) {
    if (!known.has(name)) {
      checkUnknown(problems, '', options, known)
      break
    }
  }
  checkTtl(problems, 'ttlMs', options.ttlMs)
  checkNumber(problems, 'graceMs', options.graceMs, false)
  const timeouts = options as GetOrSetOptions
  checkNumber(problems, 'softTimeoutMs', timeouts.softTimeoutMs, false)
  checkNumber(problems, 'hardTimeoutMs', timeouts.hardTimeoutMs, true)
  checkNumber(problems, 'graceBackoffMs', timeouts.graceBackoffMs, false)
  checkNumber(problems, 'refreshAheadMs', timeouts.refreshAheadMs, false)
  if (timeouts.checkValue !== undefined && !isStandardSchema(timeouts.checkValue)) {
    problems.push(`checkValue must be a Standard Schema (with a "~standard".validate function), got ${describeValue(timeouts.checkValue)}`)
  }
  if (timeouts.forceFresh !== undefined && typeof timeouts.forceFresh !== 'boolean') {
    problems.push(`forceFresh must be a boolean, got ${describeValue(timeouts.forceFresh)}`)
  }
  const tags = options.tags
  if (tags !== undefined && tagList(tags) === undefined) {
    problems.push(`tags must be a non-empty string or an array of them, got ${describeValue(tags)}`)
  }
  return problems
}

/** `tags` as a list (a single string is one tag), or `undefined` when it is not a string or an array of non-empty strings. */
export function tagList(tags: unknown): readonly string[] | undefined {
  if (typeof tags === 'string') return tags.length > 0 ? [tags] : undefined
  if (!Array.isArray(tags)) return undefined
  for (const tag of tags) if (typeof tag !== 'string' || tag.length === 0) return undefined
  return tags as readonly string[]
}
