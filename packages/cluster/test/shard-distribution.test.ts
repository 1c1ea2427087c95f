import type { Provider } from '@tessera/core'
import { ConfigError, isTesseraError } from '@tessera/core'
import { describe, expect, it } from 'vitest'
import { hashKey, jumpHash } from '../src/consistent-hash'
import { createShardRouter, type Shard, type ShardStrategy, UnknownShardError } from '../src/index'

// Pure routing: the providers are never called here, so a stand-in with a `query` method is enough.
const standIn = { query: async () => ({ rows: [], rowCount: 0, command: 'SELECT', fields: [] }) } as unknown as Provider
const shardsNamed = (count: number, from = 0): Shard[] =>
  Array.from({ length: count }, (_, i) => ({ name: `shard-${i + from}`, provider: standIn }))
const names = (count: number) => shardsNamed(count).map((shard) => shard.name)

const KEYS = Array.from({ length: 100_000 }, (_, i) => `user:${i}`)
// χ² with 9 degrees of freedom exceeds 27.88 with probability 0.001 for a uniform spread.
const CHI_SQUARE_9_P001 = 27.88

function spread(strategy: ShardStrategy, keys: readonly string[], virtualNodes?: number) {
  const router = createShardRouter({ shards: shardsNamed(10), strategy, virtualNodes })
  const counts = new Map<string, number>(router.names.map((name) => [name, 0]))
  for (const key of keys) {
    const name = router.forKey(key).name
    counts.set(name, counts.get(name)! + 1)
  }
  const expected = keys.length / 10
  const values = [...counts.values()]
  const chiSquare = values.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0)
  const worstDeviation = Math.max(...values.map((count) => Math.abs(count - expected) / expected))
  return { chiSquare, worstDeviation }
}

describe.each(['jump', 'rendezvous'] as const)('%s strategy', (strategy) => {
  it('spreads 100,000 keys over 10 shards within 5% of uniform, passing a χ² test', () => {
    const { chiSquare, worstDeviation } = spread(strategy, KEYS)
    expect(worstDeviation).toBeLessThan(0.05)
    expect(chiSquare).toBeLessThan(CHI_SQUARE_9_P001)
  })

  it('moves at most 1/11 + 2% of keys when an 11th shard is added, all of them to the new shard', () => {
    const router = createShardRouter({ shards: shardsNamed(10), strategy })
    const plan = router.planRebalance(names(10), names(11), KEYS)
    expect(plan.total).toBe(KEYS.length)
    expect(plan.movedFraction).toBeLessThanOrEqual(1 / 11 + 0.02)
    expect(plan.movedFraction).toBeGreaterThan(1 / 11 - 0.02)
    for (const move of plan.moves) expect(move.to).toBe('shard-10')
  })

  it('maps integer keys evenly too', () => {
    const router = createShardRouter({ shards: shardsNamed(10), strategy })
    const counts = new Array<number>(10).fill(0)
    for (let key = 0; key < 100_000; key++) counts[router.names.indexOf(router.forKey(key).name)]!++
    for (const count of counts) expect(Math.abs(count - 10_000) / 10_000).toBeLessThan(0.05)
  })
})

describe('rendezvous strategy', () => {
  it('removing a middle shard moves only that shard’s keys', () => {
    const router = createShardRouter({ shards: shardsNamed(10), strategy: 'rendezvous' })
    const without = names(10).filter((name) => name !== 'shard-4')
    const plan = router.planRebalance(names(10), without, KEYS)
    for (const move of plan.moves) expect(move.from).toBe('shard-4')
    expect(plan.movedFraction).toBeLessThan(0.1 + 0.02)
  })
})

describe('jump strategy', () => {
  it('is the published jump hash’s monotone mapping: growing n to n+1 only ever moves keys to bucket n', () => {
    for (let i = 0; i < 2_000; i++) {
      const hash = hashKey(`k${i}`)
      for (let buckets = 1; buckets < 40; buckets++) {
        const now = jumpHash(hash, buckets)
        const next = jumpHash(hash, buckets + 1)
        expect(now).toBeLessThan(buckets)
        if (next !== now) expect(next).toBe(buckets)
      }
    }
  })
})

describe('ring strategy (documented bound)', () => {
  it('with 160 virtual nodes spreads 100,000 keys over 10 shards within 15% of uniform', () => {
    const { worstDeviation } = spread('ring', KEYS, 160)
    expect(worstDeviation).toBeLessThan(0.15)
  })

  it('with 1,000 virtual nodes within 10%', () => {
    const { worstDeviation } = spread('ring', KEYS, 1000)
    expect(worstDeviation).toBeLessThan(0.1)
  })

  it('adding an 11th shard moves at most 1/11 + 5% of keys, all to the new shard', () => {
    const router = createShardRouter({ shards: shardsNamed(10), strategy: 'ring' })
    const plan = router.planRebalance(names(10), names(11), KEYS)
    expect(plan.movedFraction).toBeLessThanOrEqual(1 / 11 + 0.05)
    for (const move of plan.moves) expect(move.to).toBe('shard-10')
  })

  it('does not depend on the order the shards are listed in', () => {
    const a = createShardRouter({ shards: shardsNamed(5), strategy: 'ring' })
    const b = createShardRouter({ shards: shardsNamed(5).reverse(), strategy: 'ring' })
    for (const key of KEYS.slice(0, 5_000)) expect(a.forKey(key).name).toBe(b.forKey(key).name)
  })
})

describe('routing is stable', () => {
  it.each(['jump', 'rendezvous', 'ring'] as const)('%s: the same key always reaches the same shard, across routers', (strategy) => {
    const a = createShardRouter({ shards: shardsNamed(7), strategy })
    const b = createShardRouter({ shards: shardsNamed(7), strategy })
    for (const key of KEYS.slice(0, 5_000)) expect(a.forKey(key)).toBe(a.forKey(key))
    for (const key of KEYS.slice(0, 5_000)) expect(b.forKey(key).name).toBe(a.forKey(key).name)
  })

  it('pins known keys, so a change to the hash that would move stored data fails here', () => {
    const router = createShardRouter({ shards: shardsNamed(10), strategy: 'jump' })
    const pinned = ['alpha', 'beta', 'gamma', 'delta', 42].map((key) => router.forKey(key).name)
    expect(pinned).toMatchInlineSnapshot(`
      [
        "shard-1",
        "shard-6",
        "shard-8",
        "shard-1",
        "shard-0",
      ]
    `)
  })
})

describe('bad input', () => {
  it('an empty shard list is a ConfigError', () => {
    expect(() => createShardRouter({ shards: [] })).toThrow(ConfigError)
    expect(() => createShardRouter({ shards: [] })).toThrow(/at least one shard/)
  })

  it('duplicate shard names are a ConfigError naming the duplicate', () => {
    expect(() => createShardRouter({ shards: [...shardsNamed(2), { name: 'shard-1', provider: standIn }] })).toThrow(
      /"shard-1" is a duplicate/,
    )
  })

  it('an unknown strategy, a bad virtualNodes and a shard without a provider are listed together', () => {
    const attempt = () =>
      createShardRouter({
        shards: [{ name: 'a' } as unknown as Shard],
        strategy: 'modulo' as ShardStrategy,
        virtualNodes: 0,
      })
    expect(attempt).toThrow(ConfigError)
    try {
      attempt()
    } catch (error) {
      expect((error as ConfigError).problems).toHaveLength(3)
    }
  })

  it('an unknown shard name is an UnknownShardError listing the shards', () => {
    const router = createShardRouter({ shards: shardsNamed(3) })
    expect(() => router.shard('shard-9')).toThrow(UnknownShardError)
    expect(() => router.shard('shard-9')).toThrow(/unknown shard "shard-9"; the shards are "shard-0", "shard-1", "shard-2"/)
  })

  it('a key that is neither a string nor a safe integer is a ConfigError', () => {
    const router = createShardRouter({ shards: shardsNamed(3) })
    for (const key of [undefined, null, 1.5, Number.NaN, {}, 2 ** 60]) {
      expect(() => router.forKey(key as unknown as string)).toThrow(ConfigError)
    }
  })

  it('a rebalance plan with duplicate or empty shard lists is a ConfigError', () => {
    const router = createShardRouter({ shards: shardsNamed(3) })
    expect(() => router.planRebalance(['a', 'a'], ['a'], [])).toThrow(/duplicate/)
    expect(() => router.planRebalance([], ['a'], [])).toThrow(/at least one shard/)
    const error = (() => {
      try {
        router.planRebalance([], ['a'], [])
      } catch (caught) {
        return caught
      }
    })()
    expect(isTesseraError(error)).toBe(true)
  })
})
