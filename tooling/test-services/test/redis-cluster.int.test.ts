import { Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisCluster, startRedisCluster } from '../redis-cluster'

let cluster: RedisCluster
const clients: Cluster[] = []

beforeAll(async () => {
  cluster = await startRedisCluster()
})

afterAll(async () => {
  for (const client of clients) client.disconnect()
  await cluster?.stop()
})

function connect(): Cluster {
  const client = new Cluster([...cluster.startupNodes], { clusterRetryStrategy: () => 100 })
  client.on('error', () => {})
  clients.push(client)
  return client
}

// Failovers wait on the nodes (node timeout, election) and then on the client: each test gets room for its own waits
// instead of the 20 s default, which a loaded machine ran out of once.
describe('startRedisCluster', { timeout: 60_000 }, () => {
  it('starts 3 masters and 3 replicas that an ioredis Cluster reads and writes across every slot', async () => {
    const nodes = await cluster.nodes()
    expect(nodes.filter((node) => node.role === 'master')).toHaveLength(3)
    expect(nodes.filter((node) => node.role === 'replica')).toHaveLength(3)
    const client = connect()
    const keys = Array.from({ length: 50 }, (_, i) => `cluster-test:${i}`)
    await Promise.all(keys.map((key, i) => client.set(key, String(i))))
    expect(await Promise.all(keys.map((key) => client.get(key)))).toEqual(keys.map((_, i) => String(i)))
    // The keys landed on every master.
    const perMaster = await Promise.all(client.nodes('master').map((node) => node.dbsize()))
    expect(perMaster.every((count) => count > 0)).toBe(true)
  })

  it('fails a master over with CLUSTER FAILOVER, and the client follows the new master', async () => {
    const client = connect()
    await client.set('cluster-test:failover', 'before')
    const slotOwner = await cluster.nodes()
    const { oldMaster, newMaster } = await cluster.failover()
    expect(newMaster).not.toBe(oldMaster)
    const after = await cluster.nodes()
    expect(after.find((node) => node.port === oldMaster)?.role).toBe('replica')
    expect(after.find((node) => node.port === newMaster)?.role).toBe('master')
    expect(slotOwner).toHaveLength(6)
    expect(await client.get('cluster-test:failover')).toBe('before')
    await client.set('cluster-test:failover', 'after')
    expect(await client.get('cluster-test:failover')).toBe('after')
  })

  it('survives a master killed with SIGKILL: its replica takes over and the killed node rejoins as a replica', async () => {
    const client = connect()
    const keys = Array.from({ length: 30 }, (_, i) => `cluster-test:kill:${i}`)
    await Promise.all(keys.map((key) => client.set(key, 'v')))
    // Let the replicas receive the writes before the crash.
    await Promise.all(client.nodes('master').map((node) => node.call('WAIT', '1', '1000')))
    const { killed, newMaster } = await cluster.killMaster()
    expect(killed.running).toBe(false)
    expect((await cluster.nodes()).find((node) => node.port === newMaster)?.role).toBe('master')
    expect(await Promise.all(keys.map((key) => client.get(key)))).toEqual(keys.map(() => 'v'))
    await killed.restart()
    await expect
      .poll(async () => (await cluster.nodes()).find((node) => node.port === killed.port)?.role, { timeout: 15_000 })
      .toBe('replica')
  })
})
