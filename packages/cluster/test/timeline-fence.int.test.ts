import { registerDriver } from '@tessera/core'
import { createPgProvider } from '@tessera/provider-pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { endpointOf } from '../../../tooling/test-services/endpoint'
import { uniqueName } from '../../../tooling/test-services/env'
import { type PgReplication, startPgReplication } from '../../../tooling/test-services/pg-replication'
import { startTcpProxy, type TcpProxy } from '../../../tooling/test-services/tcp-proxy'
import { type ClusterEvent, createCluster, NoPrimaryError } from '../src/index'

registerDriver('pg', createPgProvider, { replace: true })

let set: PgReplication
let proxy: TcpProxy | undefined

// Its own servers: the test promotes a replica and brings the old primary back as a second primary.
beforeAll(async () => {
  set = await startPgReplication()
}, 180_000)

afterAll(async () => {
  await proxy?.close()
  await set?.stop()
}, 60_000)

async function until(condition: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

describe('a cluster created while the promoted primary is out of its reach', () => {
  it('fences the old primary when a replica streams a later timeline: a write fails unsent, reads go on', async () => {
    const [replica1, replica2] = set.replicas
    if (replica1 === undefined || replica2 === undefined) throw new Error('two replicas expected')
    const table = uniqueName('diverged')
    const setup = await createCluster({ driver: 'pg', nodes: [{ name: 'primary', url: set.primary.url }] })
    await setup.query(`CREATE TABLE ${table} (id int)`)
    await setup.close()

    // replica2 cascades from replica1, so it follows replica1 onto its new timeline when replica1 is promoted.
    await set.follow(replica2, replica1)
    const streamsFrom = (port: number) => async () => {
      const probe = await createCluster({ driver: 'pg', nodes: [{ name: 'r', url: replica2.url }], fallback: 'error' })
      try {
        const { rows } = await probe.replicas.query<{ port: number | null }>('SELECT sender_port AS port FROM pg_stat_wal_receiver')
        return rows[0]?.port === port
      } finally {
        await probe.close()
      }
    }
    await until(streamsFrom(replica1.port))
    await set.stopNode(set.primary, 'fast')
    await set.promote(replica1)
    // The old primary comes back as a primary of its own, on the old timeline.
    await set.startNode(set.primary)

    // The application reaches replica1, the new primary, only through a proxy that now drops everything.
    proxy = await startTcpProxy({ target: endpointOf(replica1.url) })
    proxy.setMode('reset')
    const seen: ClusterEvent[] = []
    const cluster = await createCluster({
      driver: 'pg',
      providerOptions: { pool: { max: 2 }, connectTimeoutMs: 1_000 },
      nodes: [
        { name: 'old-primary', url: set.primary.url },
        { name: 'new-primary', url: proxy.url(replica1.url) },
        { name: 'replica2', url: replica2.url },
      ],
      healthCheck: { intervalMs: 250 },
      failover: { waitMs: 1_000 },
      onEvent: (event) => seen.push(event),
    })
    try {
      // replica2 may need a moment to stream the new timeline after the promotion.
      await until(async () => cluster.nodes().find((node) => node.name === 'old-primary')?.state === 'fenced', 30_000)
      const nodes = Object.fromEntries(cluster.nodes().map((node) => [node.name, node]))
      expect(nodes['replica2']).toMatchObject({ role: 'replica', state: 'up', timeline: 2 })
      expect(nodes['old-primary']).toMatchObject({ role: 'primary', state: 'fenced', timeline: 1 })
      expect(nodes['new-primary']?.state).toBe('down')

      const error = await cluster.query(`INSERT INTO ${table} VALUES (1)`).catch((caught: unknown) => caught)
      expect(error).toBeInstanceOf(NoPrimaryError)
      // Nothing reached the old primary.
      const direct = await createCluster({ driver: 'pg', nodes: [{ name: 'p', url: set.primary.url }] })
      try {
        expect((await direct.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows).toEqual([{ n: 0 }])
      } finally {
        await direct.close()
      }
      // Reads keep going on replica2.
      expect((await cluster.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows).toEqual([{ n: 0 }])

      // Once the new primary is reachable, it becomes the primary and the write runs there.
      proxy.setMode('pass')
      await until(async () => cluster.nodes().find((node) => node.name === 'new-primary')?.role === 'primary', 30_000)
      await cluster.query(`INSERT INTO ${table} VALUES (2)`)
      expect((await cluster.primary.query<{ port: number }>('SELECT inet_server_port() AS port')).rows[0]?.port).toBe(replica1.port)
      const fenced = seen.find((event) => event.kind === 'node' && event.event === 'fenced')
      expect(String((fenced as { error?: unknown } | undefined)?.error)).toMatch(
        /old-primary claims to be primary on timeline 1, but (replica2|new-primary) is on timeline 2/,
      )
    } finally {
      await cluster.close()
    }
  }, 180_000)
})
