import { registerDriver, TransactionResolutionUnknownError } from '@tessera/core'
import { createPgProvider } from '@tessera/provider-pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { uniqueName } from '../../../tooling/test-services/env'
import { type PgReplication, startPgReplication } from '../../../tooling/test-services/pg-replication'
import { type Cluster, type ClusterEvent, createCluster, NoPrimaryError } from '../src/index'

registerDriver('pg', createPgProvider, { replace: true })

let set: PgReplication
let db: Cluster | undefined

// This file gets its own servers: the test below crashes the primary and promotes a replica. replica1 is a
// synchronous standby: with asynchronous replication a commit acknowledged just before the crash may never reach
// the replica that is promoted, which no client can prevent.
beforeAll(async () => {
  set = await startPgReplication({ synchronousStandby: 'replica1' })
}, 180_000)

afterAll(async () => {
  await db?.close()
  await set?.stop()
}, 60_000)

async function until(condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('failover', () => {
  it('finds the promoted replica under a write loop: no write lost or applied twice, reads keep going, the old primary is fenced', async () => {
    const cluster = await createCluster({
      driver: 'pg',
      providerOptions: { pool: { max: 4 }, connectTimeoutMs: 2_000 },
      nodes: set.nodes.map((node) => ({ name: node.name, url: node.url })),
      healthCheck: { intervalMs: 250 },
      failover: { waitMs: 60_000 },
    })
    db = cluster
    const seen: ClusterEvent[] = []
    cluster.on((event) => seen.push(event))
    const table = uniqueName('writes')
    await cluster.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`)
    await set.waitForReplicas()

    let nextId = 0
    let stop = false
    const ok: number[] = []
    const unknown: number[] = []
    const failed: unknown[] = []
    const readFailures: unknown[] = []
    let reads = 0
    let firstOkAfterStop: number | undefined
    let stoppedAt: number | undefined
    const writer = async () => {
      while (!stop) {
        const id = ++nextId
        try {
          await cluster.query(`INSERT INTO ${table} VALUES ($1)`, [id])
          ok.push(id)
          if (stoppedAt !== undefined && firstOkAfterStop === undefined) firstOkAfterStop = Date.now() - stoppedAt
        } catch (error) {
          if (error instanceof TransactionResolutionUnknownError) unknown.push(id)
          else failed.push(error)
        }
      }
    }
    const reader = async () => {
      while (!stop) {
        try {
          await cluster.query('SELECT 1')
          reads++
        } catch (error) {
          readFailures.push(error)
        }
      }
    }
    const notifications: string[] = []
    let restored = 0
    const subscription = await cluster.listen('failover_news', (notification) => notifications.push(notification.payload), {
      onRestored: () => restored++,
    })
    const workers = [writer(), writer(), writer(), writer(), reader(), reader()]
    await until(() => ok.length >= 50)
    const [promoted, other] = set.replicas
    if (promoted === undefined || other === undefined) throw new Error('two replicas expected')
    await set.stopNode(set.primary, 'immediate')
    // Timed from the moment the crash is complete: writes acknowledged before it are on the old primary.
    stoppedAt = Date.now()
    const readsAtStop = reads
    await set.promote(promoted)
    await until(() => firstOkAfterStop !== undefined)
    const okAtFailover = ok.length
    await until(() => ok.length >= okAtFailover + 50 && reads > readsAtStop + 50)

    // The old primary comes back, still a primary on the old timeline: two claim the role.
    await set.startNode(set.primary)
    await until(() => seen.some((event) => event.kind === 'node' && event.event === 'fenced'))
    stop = true
    await Promise.all(workers)
    // LISTEN moved to the new primary: a NOTIFY through the cluster (on the new primary) arrives.
    await until(() => restored > 0)
    await cluster.notify('failover_news', 'after')
    await until(() => notifications.includes('after'))
    await subscription.unlisten()

    const rows = await cluster.primary.query<{ id: number }>(`SELECT id FROM ${table}`)
    const present = new Set(rows.rows.map((row) => row.id))
    expect(present.size).toBe(rows.rows.length)
    // Every write reported ok is there; every row is a write that was reported ok or whose outcome was unknown.
    expect(ok.filter((id) => !present.has(id))).toEqual([])
    const accounted = new Set([...ok, ...unknown])
    expect([...present].filter((id) => !accounted.has(id))).toEqual([])
    // No write failed otherwise (none waited past failover.waitMs, none was sent twice and hit the primary key).
    expect(failed).toEqual([])
    expect(readFailures).toEqual([])
    expect(seen).toContainEqual(
      expect.objectContaining({ kind: 'failover', from: 'primary', to: promoted.name, reason: 'primary-changed' }),
    )
    expect(seen).toContainEqual(expect.objectContaining({ kind: 'node', event: 'fenced', node: 'primary' }))
    const where = await cluster.primary.query<{ port: number }>('SELECT inet_server_port() AS port')
    expect(where.rows[0]?.port).toBe(promoted.port)
    expect(cluster.nodes().find((node) => node.name === 'primary')?.state).toBe('fenced')
    console.info(
      `failover: ${ok.length} writes ok, ${unknown.length} with unknown outcome (${unknown.filter((id) => present.has(id)).length} applied), first write on the new primary ${firstOkAfterStop} ms after the crash`,
    )
  }, 180_000)

  // Runs on what the test above left: replica1 the primary on timeline 2, the old primary back on timeline 1.
  it('never hands the primary role to a node left on an older timeline: a write fails with NoPrimaryError, unsent', async () => {
    const [promoted] = set.replicas
    if (promoted === undefined) throw new Error('no replica')
    const cluster = await createCluster({
      driver: 'pg',
      providerOptions: { pool: { max: 2 }, connectTimeoutMs: 2_000 },
      nodes: set.nodes.map((node) => ({ name: node.name, url: node.url })),
      healthCheck: { intervalMs: 250 },
      failover: { waitMs: 1_500 },
    })
    try {
      expect(cluster.nodes().map((node) => [node.name, node.state])).toEqual([
        ['primary', 'fenced'],
        ['replica1', 'up'],
        ['replica2', 'up'],
      ])
      const table = uniqueName('after')
      await cluster.query(`CREATE TABLE ${table} (id int)`)
      await set.stopNode(promoted, 'immediate')
      const error = await cluster.query(`INSERT INTO ${table} VALUES (1)`).catch((caught: unknown) => caught)
      // The connection to replica1 may die with the write in flight (unknown outcome) or before it (then it waits).
      if (!(error instanceof TransactionResolutionUnknownError)) {
        expect(error).toBeInstanceOf(NoPrimaryError)
        expect(error).toMatchObject({ retryable: true, code: '08006' })
        expect((error as Error).message).toMatch(/no primary found within \d+ ms .*primary: fenced primary.*the statement was not sent/)
      }
      const second = await cluster.query(`INSERT INTO ${table} VALUES (2)`).catch((caught: unknown) => caught)
      expect(second).toBeInstanceOf(NoPrimaryError)
      // Reads keep going on the replica that is still up.
      expect((await cluster.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
    } finally {
      await cluster.close()
    }
  }, 120_000)
})
