import { Redis } from 'ioredis'
import { startRedisSentinel } from '../../../tooling/test-services/redis-sentinel'
import { describeOnDistributedRedis } from './distributed-suite'

describeOnDistributedRedis('the cache on Redis Sentinel (a master, a replica, 3 sentinels)', async () => {
  const sentinel = await startRedisSentinel()
  const connect = () => {
    // No failoverDetector: with it, ioredis 5 ends the client for good (status `end`, no more reconnects) when the
    // sentinels announce a new master while the client is reconnecting to the killed one (the detector cuts the
    // connector mid-connect: "Connection is closed."). The sentinels disconnect the old master's clients instead.
    const client = new Redis({ sentinels: [...sentinel.sentinels], name: sentinel.masterName, sentinelRetryStrategy: () => 100 })
    client.on('error', () => {})
    return client
  }
  const admin = connect()
  return {
    client: connect,
    async keys(prefix) {
      const found: string[] = []
      let cursor = '0'
      do {
        const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
        cursor = next
        found.push(...keys)
      } while (cursor !== '0')
      return found
    },
    async failover() {
      await sentinel.failover()
    },
    async killMaster() {
      const { killed } = await sentinel.killMaster()
      // Back as a replica, so the pair is redundant for whatever runs next.
      await killed.restart()
    },
    async describe() {
      const roles = await Promise.all(
        sentinel.servers.map(async (server) => {
          const probe = new Redis({ port: server.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
          probe.on('error', () => {})
          try {
            await probe.connect()
            return `${server.port}: ${String(await probe.role()).slice(0, 40)}`
          } catch (error) {
            return `${server.port}: ${String(error)}`
          } finally {
            probe.disconnect()
          }
        }),
      )
      return `sentinels say master ${await sentinel.masterPort()}; ${roles.join(' | ')}`
    },
    async stop() {
      admin.disconnect()
      await sentinel.stop()
    },
  }
})
