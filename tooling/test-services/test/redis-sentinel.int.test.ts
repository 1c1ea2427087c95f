import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisSentinel, startRedisSentinel } from '../redis-sentinel'

let sentinel: RedisSentinel
const clients: Redis[] = []

beforeAll(async () => {
  sentinel = await startRedisSentinel()
})

afterAll(async () => {
  for (const client of clients) client.disconnect()
  await sentinel?.stop()
})

function connect(): Redis {
  const client = new Redis({ sentinels: [...sentinel.sentinels], name: sentinel.masterName, sentinelRetryStrategy: () => 100 })
  client.on('error', () => {})
  clients.push(client)
  return client
}

describe('startRedisSentinel', () => {
  it('starts a master, a replica and three sentinels; a sentinel-mode client writes to the master', async () => {
    const client = connect()
    await client.set('sentinel-test:a', '1')
    expect(await client.get('sentinel-test:a')).toBe('1')
    expect(await sentinel.masterPort()).toBe(sentinel.servers[0]?.port)
  })

  it('fails over with SENTINEL FAILOVER, and the client follows the new master', async () => {
    const client = connect()
    await client.set('sentinel-test:b', 'before')
    await client.call('WAIT', '1', '1000')
    const { oldMaster, newMaster } = await sentinel.failover()
    expect(newMaster).not.toBe(oldMaster)
    await expect
      .poll(
        () =>
          client.set('sentinel-test:b', 'after').then(
            () => 'written',
            (error: Error) => error.message,
          ),
        { timeout: 15_000 },
      )
      .toBe('written')
    expect(await client.get('sentinel-test:b')).toBe('after')
    expect(await sentinel.masterPort()).toBe(newMaster)
  })

  it('loses no acknowledged write in a failover: writes are held until the replica caught up', async () => {
    const client = connect()
    let acknowledged = 0
    let running = true
    const writes = (async () => {
      for (let i = 1; running; i++) {
        try {
          await client.set('sentinel-test:d', String(i))
          acknowledged = i
        } catch {
          // held, then refused or cut off by the failover: not acknowledged
        }
        await new Promise((resolve) => setTimeout(resolve, 1))
      }
    })()
    await new Promise((resolve) => setTimeout(resolve, 100))
    await sentinel.failover()
    running = false
    await writes
    expect(acknowledged).toBeGreaterThan(0)
    await expect
      .poll(() => client.get('sentinel-test:d').catch((error: Error) => error.message), { timeout: 15_000 })
      .toBe(String(acknowledged))
  })

  it('promotes the replica when the master is killed, and the killed server comes back as a replica', async () => {
    const client = connect()
    await client.set('sentinel-test:c', 'kept')
    expect(await client.call('WAIT', '1', '5000')).toBe(1)
    const { killed, newMaster } = await sentinel.killMaster()
    expect(killed.port).not.toBe(newMaster)
    await expect.poll(() => client.get('sentinel-test:c').catch((error: Error) => error.message), { timeout: 15_000 }).toBe('kept')
    await killed.restart()
    const role = async () => (await import('../redis-server')).redisCli(killed.port, ['ROLE'])
    await expect.poll(role, { timeout: 20_000 }).toMatch(/^slave/)
  })
})
