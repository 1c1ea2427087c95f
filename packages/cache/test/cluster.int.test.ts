import { Cluster } from 'ioredis'
import { startRedisCluster } from '../../../tooling/test-services/redis-cluster'
import { describeOnDistributedRedis } from './distributed-suite'

describeOnDistributedRedis('the cache on a Redis Cluster (3 masters, 3 replicas)', async () => {
  const cluster = await startRedisCluster()
  const killed: { restart(): Promise<void> }[] = []
  const admin = new Cluster([...cluster.startupNodes])
  admin.on('error', () => {})
  return {
    client() {
      const client = new Cluster([...cluster.startupNodes], { clusterRetryStrategy: () => 100 })
      client.on('error', () => {})
      return client
    },
    async keys(prefix) {
      const found: string[] = []
      for (const node of admin.nodes('master')) {
        let cursor = '0'
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
          cursor = next
          found.push(...keys)
        } while (cursor !== '0')
      }
      return found
    },
    async failover() {
      await cluster.failover()
    },
    async killMaster() {
      const { killed: node } = await cluster.killMaster()
      killed.push(node)
    },
    async stop() {
      admin.disconnect()
      await cluster.stop()
    },
  }
})
