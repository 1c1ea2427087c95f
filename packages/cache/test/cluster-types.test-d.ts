import { Cluster, Redis } from 'ioredis'
import { expectTypeOf, it } from 'vitest'
import { createCache } from '../src/create-cache'
import type { RedisLike } from '../src/redis-like'

it('accepts an ioredis Cluster and a sentinel-mode Redis as l2.redis', () => {
  const cluster = new Cluster([{ host: '127.0.0.1', port: 7000 }], { lazyConnect: true })
  const sentinel = new Redis({ sentinels: [{ host: '127.0.0.1', port: 26379 }], name: 'm', lazyConnect: true })
  expectTypeOf(cluster.nodes('master')[0]).toExtend<RedisLike | undefined>()
  createCache({ l2: { redis: cluster } })
  createCache({ l2: { redis: sentinel } })
})
