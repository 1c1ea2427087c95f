import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type PgReplication, startPgReplication } from '../pg-replication'

let set: PgReplication

beforeAll(async () => {
  set = await startPgReplication()
}, 180_000)

afterAll(async () => {
  await set?.stop()
}, 60_000)

async function query(url: string, text: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url })
  client.on('error', () => {})
  await client.connect()
  try {
    return (await client.query(text)).rows
  } finally {
    await client.end()
  }
}

describe('startPgReplication', () => {
  it('starts a primary and two replicas that stream its writes', async () => {
    expect(set.nodes.map((node) => node.name)).toEqual(['primary', 'replica1', 'replica2'])
    expect((await query(set.primary.url, 'SELECT pg_is_in_recovery() AS r'))[0]?.r).toBe(false)
    await query(set.primary.url, 'CREATE TABLE streamed (id int); INSERT INTO streamed VALUES (42)')
    await set.waitForReplicas()
    for (const replica of set.replicas) {
      expect((await query(replica.url, 'SELECT pg_is_in_recovery() AS r'))[0]?.r).toBe(true)
      expect(await query(replica.url, 'SELECT id FROM streamed')).toEqual([{ id: 42 }])
    }
  }, 120_000)

  it('holds a replica back with pauseReplay and lets it catch up with resumeReplay', async () => {
    const [replica] = set.replicas
    if (!replica) throw new Error('no replica')
    await query(set.primary.url, 'CREATE TABLE paused (id int)')
    await set.waitForReplicas()
    await set.pauseReplay(replica)
    await query(set.primary.url, 'INSERT INTO paused VALUES (1)')
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(await query(replica.url, 'SELECT id FROM paused')).toEqual([])
    await set.resumeReplay(replica)
    await set.waitForReplicas()
    expect(await query(replica.url, 'SELECT id FROM paused')).toEqual([{ id: 1 }])
  }, 120_000)

  it('stops and restarts a node, promotes a replica and points the other one at it', async () => {
    const [first, second] = set.replicas
    if (!first || !second) throw new Error('two replicas expected')
    await set.stopNode(second, 'fast')
    expect(second.running).toBe(false)
    await expect(query(second.url, 'SELECT 1')).rejects.toThrow()
    await set.startNode(second)
    expect(await query(second.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }])

    await query(set.primary.url, 'CREATE TABLE promoted (id int); INSERT INTO promoted VALUES (1)')
    await set.waitForReplicas()
    await set.stopNode(set.primary, 'immediate')
    await set.promote(first)
    expect((await query(first.url, 'SELECT pg_is_in_recovery() AS r'))[0]?.r).toBe(false)
    await query(first.url, 'INSERT INTO promoted VALUES (2)')
    await set.follow(second, first)
    await set.waitForReplicas({ primary: first })
    expect(await query(second.url, 'SELECT id FROM promoted ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }])
  }, 180_000)
})

describe('startPgReplication({ synchronousStandby })', () => {
  it('makes the primary wait for that replica at every commit', async () => {
    const synchronous = await startPgReplication({ replicas: 1, synchronousStandby: 'replica1' })
    try {
      const [replica] = synchronous.replicas
      if (!replica) throw new Error('no replica')
      const rows = await query(synchronous.primary.url, 'SELECT application_name, sync_state FROM pg_stat_replication')
      expect(rows).toEqual([{ application_name: 'replica1', sync_state: 'sync' }])
      // A commit acknowledged by the primary is already on the replica's disk; replayed a moment later.
      await query(synchronous.primary.url, 'CREATE TABLE synced (id int); INSERT INTO synced VALUES (1)')
      await synchronous.waitForReplicas()
      expect(await query(replica.url, 'SELECT id FROM synced')).toEqual([{ id: 1 }])
      // A replica does not wait for anyone once promoted.
      expect(await query(replica.url, 'SHOW synchronous_standby_names')).toEqual([{ synchronous_standby_names: '' }])
    } finally {
      await synchronous.stop()
    }
  }, 180_000)
})
