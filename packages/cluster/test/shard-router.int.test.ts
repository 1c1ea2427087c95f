import { isTesseraError, type Provider, sql } from '@tessera/core'
import { beforeAll, describe, expect, it } from 'vitest'
import { createShardRouter, FanOutError, type Shard } from '../src/index'
import { DRIVERS, uniqueName, urlWith, useServer } from './tenancy-support'

describe('shard router over three real databases (pg, postgres.js, pg)', () => {
  const server = useServer(DRIVERS[0]!)

  const databases: string[] = []
  beforeAll(async () => {
    for (let i = 0; i < 3; i++) databases.push(await server.database(`shard${i}`))
  })

  /** Providers on the three shard databases (drivers alternate), each with a table of this test's own. */
  async function threeShards(): Promise<{ shards: Shard[]; table: string }> {
    const table = uniqueName('accounts')
    const shards: Shard[] = []
    for (let i = 0; i < 3; i++) {
      const driver = DRIVERS[i % 2]!
      const provider: Provider = driver.create({ connectionString: urlWith({ database: databases[i]! }), pool: { max: 2 } })
      await provider.query(`CREATE TABLE ${table} (id text PRIMARY KEY, shard text NOT NULL)`)
      shards.push({ name: `s${i}`, provider })
    }
    return { shards, table }
  }

  it('writes land on the key’s shard, and fanOut reads every shard concurrently', async () => {
    const { shards, table } = await threeShards()
    try {
      for (const strategy of ['jump', 'rendezvous', 'ring'] as const) {
        const router = createShardRouter({ shards, strategy })
        for (const shard of shards) await shard.provider.query(`TRUNCATE ${table}`)
        const keys = Array.from({ length: 150 }, (_, i) => `${strategy}:${i}`)
        await Promise.all(
          keys.map((key) => {
            const shard = router.forKey(key)
            return shard.provider.query(`INSERT INTO ${table} (id, shard) VALUES ($1, $2)`, [key, shard.name])
          }),
        )
        const counted = await router.fanOut<{ shard: string; total: number }>(
          `SELECT $1::text AS shard, count(*)::int AS total FROM ${table}`,
          ['-'],
        )
        expect(counted.complete).toBe(true)
        expect(counted.errors).toEqual([])
        expect(counted.results.map((entry) => entry.shard)).toEqual(['s0', 's1', 's2'])
        for (const entry of counted.results) {
          const expected = keys.filter((key) => router.forKey(key).name === entry.shard).length
          expect(entry.result.rows[0]!.total).toBe(expected)
        }
        // Every row is on the shard its key routes to.
        const all = await router.fanOut<{ id: string; shard: string }>(`SELECT id, shard FROM ${table}`)
        const rows = all.rows()
        expect(rows).toHaveLength(keys.length)
        for (const row of rows) expect(router.forKey(row.id).name).toBe(row.shard)
      }
    } finally {
      await Promise.all(shards.map((shard) => shard.provider.close()))
    }
  })

  it('a failing shard is reported beside the others’ results, and rows() refuses the partial answer', async () => {
    const { shards, table } = await threeShards()
    try {
      await shards[1]!.provider.query(`DROP TABLE ${table}`)
      const router = createShardRouter({ shards })
      const outcome = await router.fanOut(`SELECT count(*)::int AS total FROM ${table}`)
      expect(outcome.complete).toBe(false)
      expect(outcome.results.map((entry) => entry.shard)).toEqual(['s0', 's2'])
      expect(outcome.errors).toHaveLength(1)
      expect(outcome.errors[0]!.shard).toBe('s1')
      expect(outcome.errors[0]!.error).toMatchObject({ code: '42P01' })
      expect(() => outcome.rows()).toThrow(FanOutError)
      expect(() => outcome.rows()).toThrow(/1 of 3 shards failed \(s1\)/)
    } finally {
      await Promise.all(shards.map((shard) => shard.provider.close()))
    }
  })

  it('an unreachable shard (a database that does not exist) and a closed shard fail alone', async () => {
    const { shards } = await threeShards()
    const missing = DRIVERS[1]!.create({ connectionString: urlWith({ database: 'tessera_no_such_database' }), pool: { max: 1 } })
    try {
      await shards[2]!.provider.close()
      const router = createShardRouter({ shards: [shards[0]!, { name: 'missing', provider: missing }, shards[2]!] })
      const outcome = await router.fanOut('SELECT 1 AS one', [], { timeoutMs: 10_000 })
      expect(outcome.results.map((entry) => entry.shard)).toEqual(['s0'])
      expect(outcome.errors.map((entry) => entry.shard)).toEqual(['missing', 's2'])
      for (const failure of outcome.errors) expect(isTesseraError(failure.error)).toBe(true)
      expect(outcome.errors[0]!.error).toMatchObject({ code: '3D000' })
    } finally {
      await missing.close()
      await Promise.all(shards.map((shard) => shard.provider.close()))
    }
  })

  it('a timeout cancels the statement on every shard and reports each', async () => {
    const { shards } = await threeShards()
    try {
      const router = createShardRouter({ shards, strategy: 'jump' })
      const outcome = await router.fanOut('SELECT pg_sleep(30)', [], { timeoutMs: 200 })
      expect(outcome.results).toEqual([])
      expect(outcome.errors.map((entry) => entry.shard)).toEqual(['s0', 's1', 's2'])
      for (const failure of outcome.errors) expect(isTesseraError(failure.error)).toBe(true)
      // Every shard still answers afterwards: nothing was left running or leaked.
      const after = await router.fanOut<{ one: number }>('SELECT 1 AS one')
      expect(after.rows()).toEqual([{ one: 1 }, { one: 1 }, { one: 1 }])
      const busy = await server
        .admin()
        .query<{ total: number }>(
          sql`SELECT count(*)::int AS total FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(30)%' AND state = 'active' AND datname = ANY(${databases}::text[])`,
        )
      expect(busy.rows[0]!.total).toBe(0)
    } finally {
      await Promise.all(shards.map((shard) => shard.provider.close()))
    }
  })

  it('fanOut to an unknown shard name is an UnknownShardError before any statement runs', async () => {
    const { shards } = await threeShards()
    try {
      const router = createShardRouter({ shards })
      await expect(router.fanOut('SELECT 1', [], { shards: ['s0', 'nope'] })).rejects.toThrow(/unknown shard "nope"/)
      const only = await router.fanOut<{ one: number }>('SELECT 1 AS one', [], { shards: ['s2'] })
      expect(only.results.map((entry) => entry.shard)).toEqual(['s2'])
    } finally {
      await Promise.all(shards.map((shard) => shard.provider.close()))
    }
  })
})
