import {
  AbortError,
  ConfigError,
  describeValue,
  type Provider,
  type QueryOptions,
  type QueryResult,
  type Row,
  type SqlInput,
  TesseraError,
} from '@tessera/core'
import { createHashRing, hashKey, jumpHash, rendezvousIndex, type ShardKey } from './consistent-hash'

/** How keys are spread over shards. */
export type ShardStrategy = 'jump' | 'rendezvous' | 'ring'

/** One shard: a name that stays the same for the life of the data, and the provider of its database. */
export interface Shard {
  /** Names the shard in results, errors and rebalance plans; `rendezvous` and `ring` hash it, so never rename a shard. */
  readonly name: string
  readonly provider: Provider
}

/** Options of {@link createShardRouter}. */
export interface ShardRouterOptions {
  /** The shards, at least one, names unique. With `jump` their order is part of the mapping: append new shards at the end. */
  shards: readonly Shard[]
  /**
   * `rendezvous` (default): any shard can be added or removed, moving only its share of keys; O(shards) per lookup.
   * `jump`: fastest, no memory, even spread; only adding or removing the *last* shard is cheap.
   * `ring`: a hash ring with `virtualNodes` points per shard, O(log points) per lookup.
   */
  strategy?: ShardStrategy | undefined
  /** Points per shard on the ring (`ring` only): more points, a more even spread. Default: `160`. */
  virtualNodes?: number | undefined
}

/** Options of `router.fanOut`. */
export interface FanOutOptions extends Pick<QueryOptions, 'signal' | 'timeoutMs' | 'rowMode' | 'prepare'> {
  /** Only these shards. Default: every shard. */
  shards?: readonly string[] | undefined
}

/** One shard's answer to a fan-out. */
export interface ShardResult<R = Row> {
  shard: string
  result: QueryResult<R>
}

/** One shard's failure in a fan-out. */
export interface ShardFailure {
  shard: string
  error: unknown
}

/** Every shard's outcome: a fan-out never drops a failed shard silently. */
export interface FanOutResult<R = Row> {
  /** Shards that answered, in shard order. */
  results: ShardResult<R>[]
  /** Shards that failed, in shard order. */
  errors: ShardFailure[]
  /** `true` when every shard answered. */
  complete: boolean
  /** Every shard's rows concatenated, in shard order; throws `FanOutError` when any shard failed. */
  rows(): R[]
}

/** A key that moves in a rebalance. */
export interface ShardMove {
  key: ShardKey
  from: string
  to: string
}

/** What changes when the shard list goes from `from` to `to`. */
export interface RebalancePlan {
  moves: ShardMove[]
  /** Keys examined. */
  total: number
  /** `moves.length / total` (0 for no keys). */
  movedFraction: number
}

/** Routes keys to shards and queries every shard at once. There are no cross-shard transactions. */
export interface ShardRouter {
  readonly strategy: ShardStrategy
  /** The shard names, in the order given. */
  readonly names: readonly string[]
  /** The shard of a key (the very object given in `shards`). */
  forKey(key: ShardKey): Shard
  /** A shard by name; `UnknownShardError` for a name not in the router. */
  shard(name: string): Shard
  /**
   * Runs the statement on every shard (or `options.shards`) concurrently and resolves with every shard's result and
   * every shard's error, never rejecting for a shard's failure; `result.rows()` throws when any shard failed.
   */
  fanOut<R = Row>(sql: SqlInput<R>, params?: readonly unknown[], options?: FanOutOptions): Promise<FanOutResult<R>>
  /** The keys that change shard when the shard names go from `from` to `to`, with this router's strategy. */
  planRebalance(from: readonly string[], to: readonly string[], keys: Iterable<ShardKey>): RebalancePlan
}

/** A shard name the router does not have. */
export class UnknownShardError extends TesseraError {
  readonly shard: unknown
  constructor(shard: unknown, known: readonly string[]) {
    super(`unknown shard ${describeValue(shard)}; the shards are ${known.map((name) => JSON.stringify(name)).join(', ')}`, {
      code: 'SHARD_UNKNOWN',
    })
    this.shard = shard
  }
}

/** `fanOutResult.rows()` when a shard failed: the failures are in `failures`, the first one is the cause. */
export class FanOutError extends TesseraError {
  readonly failures: readonly ShardFailure[]
  constructor(failures: readonly ShardFailure[], total: number) {
    const names = failures.map((failure) => failure.shard).join(', ')
    super(`${failures.length} of ${total} shards failed (${names}): the answer would be partial`, {
      code: 'FAN_OUT_PARTIAL',
      cause: failures[0]?.error,
      retryable: failures.every((failure) => (failure.error as { retryable?: unknown } | undefined)?.retryable === true),
    })
    this.failures = failures
  }
}

const STRATEGIES = new Set<unknown>(['jump', 'rendezvous', 'ring'])
const DEFAULT_VIRTUAL_NODES = 160

/** The function from a key to a shard index, for a list of names and a strategy. */
function indexer(names: readonly string[], strategy: ShardStrategy, virtualNodes: number): (key: ShardKey) => number {
  const count = names.length
  if (strategy === 'jump') return (key) => jumpHash(hashKey(key), count)
  if (strategy === 'rendezvous') {
    const seeds = Uint32Array.from(names, (name) => hashKey(name))
    return (key) => rendezvousIndex(hashKey(key), seeds)
  }
  const ring = createHashRing(names, virtualNodes)
  return (key) => ring.lookup(hashKey(key))
}

function checkNames(names: readonly unknown[], subject: string): string[] {
  const problems: string[] = []
  if (!Array.isArray(names) || names.length === 0) {
    throw new ConfigError(`${subject} is ${describeValue(names)}; expected at least one shard`, { subject: 'shard router' })
  }
  const seen = new Set<string>()
  names.forEach((name, index) => {
    if (typeof name !== 'string' || name === '')
      problems.push(`${subject}[${index}] name is ${describeValue(name)}; expected a non-empty string`)
    else if (seen.has(name)) problems.push(`${subject}[${index}] name ${JSON.stringify(name)} is a duplicate; shard names must be unique`)
    else seen.add(name)
  })
  if (problems.length > 0) throw new ConfigError(problems, { subject: 'shard router' })
  return names as string[]
}

function checkKey(key: unknown): asserts key is ShardKey {
  if (typeof key === 'string') return
  if (typeof key === 'number' && Number.isSafeInteger(key)) return
  throw new ConfigError(`shard key is ${describeValue(key)}; accepted: a string or a safe integer`, { subject: 'shard key' })
}

/**
 * Shards over several PostgreSQL databases, each behind its own provider (of either driver, or a cluster).
 *
 * @example
 * const router = createShardRouter({ shards: [{ name: 'a', provider: a }, { name: 'b', provider: b }] })
 * await router.forKey(userId).provider.query('SELECT * FROM orders WHERE user_id = $1', [userId])
 */
export function createShardRouter(options: ShardRouterOptions): ShardRouter {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(`options are ${describeValue(options)}; expected { shards, strategy? }`, { subject: 'shard router' })
  }
  const strategy = options.strategy ?? 'rendezvous'
  const virtualNodes = options.virtualNodes ?? DEFAULT_VIRTUAL_NODES
  const problems: string[] = []
  if (!STRATEGIES.has(strategy)) problems.push(`strategy is ${describeValue(strategy)}; accepted: 'jump', 'rendezvous', 'ring'`)
  if (!(Number.isInteger(virtualNodes) && virtualNodes >= 1 && virtualNodes <= 10_000)) {
    problems.push(`virtualNodes is ${describeValue(virtualNodes)}; expected an integer from 1 to 10000`)
  }
  if (Array.isArray(options.shards)) {
    options.shards.forEach((shard, index) => {
      if (typeof shard !== 'object' || shard === null || typeof (shard as Shard).provider?.query !== 'function') {
        problems.push(`shards[${index}] is ${describeValue(shard)}; expected { name, provider }`)
      }
    })
  }
  if (problems.length > 0) throw new ConfigError(problems, { subject: 'shard router' })
  const shards = [...options.shards]
  const names = checkNames(
    shards.map((shard) => shard.name),
    'shards',
  )
  const byName = new Map(shards.map((shard) => [shard.name, shard]))
  const indexOf = indexer(names, strategy, virtualNodes)

  const shard = (name: string): Shard => {
    const found = byName.get(name)
    if (found === undefined) throw new UnknownShardError(name, names)
    return found
  }

  return {
    strategy,
    names,
    forKey(key) {
      checkKey(key)
      return shards[indexOf(key)]!
    },
    shard,
    async fanOut<R>(sql: SqlInput<R>, params?: readonly unknown[], fanOutOptions: FanOutOptions = {}): Promise<FanOutResult<R>> {
      const targets = fanOutOptions.shards === undefined ? shards : fanOutOptions.shards.map(shard)
      if (fanOutOptions.signal?.aborted) throw new AbortError('fanOut', { cause: fanOutOptions.signal.reason })
      const { shards: _only, ...queryOptions } = fanOutOptions
      const settled = await Promise.allSettled(targets.map((target) => target.provider.query<R>(sql, params, queryOptions)))
      const results: ShardResult<R>[] = []
      const errors: ShardFailure[] = []
      settled.forEach((outcome, index) => {
        const name = targets[index]!.name
        if (outcome.status === 'fulfilled') results.push({ shard: name, result: outcome.value })
        else errors.push({ shard: name, error: outcome.reason })
      })
      return {
        results,
        errors,
        complete: errors.length === 0,
        rows() {
          if (errors.length > 0) throw new FanOutError(errors, targets.length)
          return results.flatMap((entry) => entry.result.rows)
        },
      }
    },
    planRebalance(from, to, keys) {
      const before = checkNames(from, 'from')
      const after = checkNames(to, 'to')
      const oldIndex = indexer(before, strategy, virtualNodes)
      const newIndex = indexer(after, strategy, virtualNodes)
      const moves: ShardMove[] = []
      let total = 0
      for (const key of keys) {
        checkKey(key)
        total++
        const was = before[oldIndex(key)]!
        const will = after[newIndex(key)]!
        if (was !== will) moves.push({ key, from: was, to: will })
      }
      return { moves, total, movedFraction: total === 0 ? 0 : moves.length / total }
    },
  }
}
