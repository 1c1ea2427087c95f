import type { Cache } from './cache'
import { CacheCore } from './cache-core'
import { CacheView } from './cache-view'
import type { CacheOptions } from './options'

/**
 * Creates a multi-level cache: L1 in this process (lru-cache), L2 in Redis (optional), kept coherent across
 * instances by a pub/sub bus, protected by a circuit breaker, with single flight, grace, soft/hard timeouts and tags.
 *
 * @throws ConfigError listing every invalid option.
 * @example
 * const cache = createCache({ namespace: 'app', l2: { redis: new Redis() }, ttlMs: 30_000, graceMs: 300_000 })
 * const user = await cache.getOrSet(`user:${id}`, () => db.findUser(id), { tags: ['users'] })
 */
export function createCache(options?: CacheOptions): Cache {
  const core = new CacheCore(options)
  return new CacheView(core, core.options.namespace)
}

export type { Cache, CacheEntryInput, CacheReadiness, Factory, FactoryContext, WarmSource } from './cache'
