import { AbortError, sql, TimeoutError } from '@tessera/core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createSchemaSql, defineEntity, integer, repository, text } from '../src/index'
import { issuePaths, PROVIDERS, uniqueName, useProviderWithSchemas } from './providers'

const schema = uniqueName('call')

const Plain = defineEntity('CallPlain', { id: integer().primaryKey(), name: text() }, { schema, table: 'plain' })
const Hooked = defineEntity(
  'CallHooked',
  { id: integer().primaryKey(), name: text() },
  {
    schema,
    table: 'plain',
    // A hook makes update() open a transaction, so a timeout there must roll it back.
    hooks: { beforeUpdate: (patch) => patch },
  },
)

describe.each(PROVIDERS)('signal and timeoutMs on $name', (factory) => {
  const setup = useProviderWithSchemas(factory, 'call')
  const applicationName = uniqueName('callrepo')

  beforeAll(async () => {
    await setup.db.query(sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`)
    for (const statement of createSchemaSql([Plain])) await setup.db.query(statement)
  })
  afterAll(async () => {
    await setup.db.query(sql`DROP SCHEMA IF EXISTS ${sql.id(schema)} CASCADE`)
  })
  beforeEach(async () => {
    await setup.db.query(sql`TRUNCATE ${sql.id([schema, 'plain'])}`)
    await repository(Plain, setup.db).insertMany([
      { id: 1, name: 'a' },
      { id: 2, name: 'b' },
    ])
  })

  /** Runs `fn` while another connection holds a lock on row 1, then lets go. */
  async function whileLocked(fn: () => Promise<void>): Promise<void> {
    const holder = setup.open({ pool: { max: 1 } })
    let release: () => void = () => {}
    const released = new Promise<void>((resolve) => {
      release = resolve
    })
    let locked: () => void = () => {}
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve
    })
    const holding = holder.transaction(async (tx) => {
      await tx.query(sql`SELECT 1 FROM ${sql.id([schema, 'plain'])} WHERE id = 1 FOR UPDATE`)
      locked()
      await released
    })
    await isLocked
    try {
      await fn()
    } finally {
      release()
      await holding
    }
  }

  async function openTransactions(): Promise<number> {
    const { rows } = await setup.db.query<{ n: number }>(
      sql`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = ${applicationName} AND state LIKE 'idle in transaction%'`,
    )
    return rows[0]?.n ?? -1
  }

  it('a timeout on a slow statement is the provider TimeoutError, and the transaction it opened is rolled back', async () => {
    const db = setup.open({ applicationName, pool: { max: 1 } })
    const hooked = repository(Hooked, db)
    await whileLocked(async () => {
      const started = Date.now()
      const error = await hooked.update(1, { name: 'x' }, { timeoutMs: 300 }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(TimeoutError)
      expect(Date.now() - started).toBeLessThan(5_000)
      expect(await openTransactions()).toBe(0)
      // The same (one-connection) pool serves the next call: nothing was left checked out or mid-transaction.
      expect((await hooked.findById(2, { timeoutMs: 2_000 }))?.name).toBe('b')
    })
    expect((await repository(Plain, setup.db).findById(1))?.name).toBe('a')
  })

  it('a timeout on a read outside a transaction and an abort by signal reject with typed errors', async () => {
    const plain = repository(Plain, setup.open({ applicationName, pool: { max: 1 } }))
    await whileLocked(async () => {
      await expect(plain.findById(1, { lock: 'update', timeoutMs: 200 })).rejects.toBeInstanceOf(TimeoutError)
      const controller = new AbortController()
      setTimeout(() => controller.abort(), 150)
      await expect(plain.deleteMany({ id: 1 }, { signal: controller.signal })).rejects.toBeInstanceOf(AbortError)
      await expect(plain.updateMany({ id: 1 }, { name: 'y' }, { timeoutMs: 200, returning: true })).rejects.toBeInstanceOf(TimeoutError)
      expect(await openTransactions()).toBe(0)
    })
    expect(await plain.count({}, { timeoutMs: 5_000 })).toBe(2)
  })

  it('passes signal and timeoutMs to every statement of a call that needs a few', async () => {
    const plain = repository(Plain, setup.db)
    const controller = new AbortController()
    const rows = await plain.insertMany(
      Array.from({ length: 3 }, (_, i) => ({ id: 10 + i, name: `n${i}` })),
      { signal: controller.signal, timeoutMs: 5_000 },
    )
    expect(rows).toHaveLength(3)
    expect(await plain.aggregate({ aggregates: { n: { count: '*' } }, timeoutMs: 5_000 })).toEqual([{ n: 5 }])
    controller.abort()
    await expect(plain.findMany({ signal: controller.signal })).rejects.toBeInstanceOf(AbortError)
  })

  it('refuses a timeout that is not a positive number', async () => {
    const plain = repository(Plain, setup.db)
    expect(await issuePaths(plain.findMany({ timeoutMs: -1 }))).toEqual(['timeoutMs'])
    expect(await issuePaths(plain.insert({ id: 5, name: 'x' }, { timeoutMs: Number.NaN }))).toEqual(['timeoutMs'])
  })
})
