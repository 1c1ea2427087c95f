import { Redis } from 'ioredis'
import { startRedisSentinel } from '../../../tooling/test-services/redis-sentinel'
import { describeOnDistributedRedis } from './distributed-suite'

describeOnDistributedRedis(
  'the cache on Redis Sentinel (a master, a replica, 3 sentinels)',
  async () => {
    const sentinel = await startRedisSentinel()
    const connect = () => {
      // failoverDetector: the client leaves a master the sentinels demoted as soon as they announce it.
      const client = new Redis({
        sentinels: [...sentinel.sentinels],
        name: sentinel.masterName,
        sentinelRetryStrategy: () => 100,
        failoverDetector: true,
      })
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
      async stop() {
        admin.disconnect()
        await sentinel.stop()
      },
    }
  },
  {
    busLosesMessagesOnFailover:
      'bus messages published while the subscriber moves to the new master can be lost: with the bus re-subscribing and L1 bounded by l1.busDownTtlMs while the bus is known down, this check still failed in 1 of 3 runs (the switch is not always seen as the bus going down)',
    killedMasterRecoveryUnreliable:
      'after SIGKILL of the master, a set on one instance was still not read by the other 20 s after the sentinels had promoted the replica, in 1 of 3 local runs and once in CI (cause not found: client reconnection, the breaker, or the no-send-while-not-ready rule)',
  },
)
