import { DeadlockError, ReadOnlyTransactionError, SerializationFailureError, type Transaction } from '@tessera/core'
import type pg from 'pg'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { adminClient, closeAll, testProvider, uniqueName } from './helpers'

const schema = uniqueName('pgtx')
let admin: pg.Client
const db = testProvider(uniqueName('tx'))

beforeAll(async () => {
  admin = await adminClient()
  await admin.query(`CREATE SCHEMA ${schema}`)
  await admin.query(`CREATE TABLE ${schema}.items (id int PRIMARY KEY, n int NOT NULL DEFAULT 0)`)
})

beforeEach(async () => {
  await admin.query(`TRUNCATE ${schema}.items`)
})

afterAll(async () => {
  await closeAll()
  await admin.query(`DROP SCHEMA ${schema} CASCADE`)
  await admin.end()
})

async function ids(): Promise<number[]> {
  const { rows } = await admin.query(`SELECT id FROM ${schema}.items ORDER BY id`)
  return rows.map((row) => row.id)
}

describe('transaction', () => {
  it('commits when the function resolves and returns its value', async () => {
    const value = await db.transaction(async (tx) => {
      await tx.query(`INSERT INTO ${schema}.items (id) VALUES ($1)`, [1])
      return 'done'
    })
    expect(value).toBe('done')
    expect(await ids()).toEqual([1])
    expect(db.stats().inUse).toBe(0)
  })

  it('rolls back when the function throws and rethrows its error', async () => {
    const failure = new Error('boom')
    const error = await db
      .transaction(async (tx) => {
        await tx.query(`INSERT INTO ${schema}.items (id) VALUES ($1)`, [1])
        throw failure
      })
      .catch((e) => e)
    expect(error).toBe(failure)
    expect(await ids()).toEqual([])
    expect(db.stats().inUse).toBe(0)
  })

  it('begins with the requested isolation level and access mode in one statement', async () => {
    const settings = await db.transaction(
      async (tx) =>
        (await tx.query("SELECT current_setting('transaction_isolation') AS iso, current_setting('transaction_read_only') AS ro")).rows[0],
      { isolation: 'serializable', readOnly: true, deferrable: true },
    )
    expect(settings).toEqual({ iso: 'serializable', ro: 'on' })
    await expect(
      db.transaction((tx) => tx.query(`INSERT INTO ${schema}.items (id) VALUES (9)`), { readOnly: true }),
    ).rejects.toBeInstanceOf(ReadOnlyTransactionError)
  })

  it('retries the whole function on a serialization failure and commits once', async () => {
    await admin.query(`INSERT INTO ${schema}.items (id, n) VALUES (1, 0), (2, 0)`)
    let attempts = 0
    let release!: () => void
    const bothRead = new Promise<void>((resolve) => (release = resolve))
    let reads = 0
    // Two serializable transactions each read both rows, then write one: a classic write skew, one must fail.
    const run = (id: number) =>
      db.transaction(
        async (tx) => {
          attempts++
          await tx.query(`SELECT sum(n) FROM ${schema}.items`)
          if (++reads === 2) release()
          await bothRead
          await tx.query(`UPDATE ${schema}.items SET n = n + 1 WHERE id = $1`, [id])
        },
        { isolation: 'serializable', retry: 3 },
      )
    await Promise.all([run(1), run(2)])
    expect(attempts).toBe(3)
    const { rows } = await admin.query(`SELECT n FROM ${schema}.items ORDER BY id`)
    expect(rows).toEqual([{ n: 1 }, { n: 1 }])
  })

  it('does not retry without the retry option', async () => {
    await admin.query(`INSERT INTO ${schema}.items (id, n) VALUES (1, 0), (2, 0)`)
    let release!: () => void
    const bothRead = new Promise<void>((resolve) => (release = resolve))
    let reads = 0
    const run = (id: number) =>
      db.transaction(
        async (tx) => {
          await tx.query(`SELECT sum(n) FROM ${schema}.items`)
          if (++reads === 2) release()
          await bothRead
          await tx.query(`UPDATE ${schema}.items SET n = n + 1 WHERE id = $1`, [id])
        },
        { isolation: 'serializable' },
      )
    const outcomes = await Promise.allSettled([run(1), run(2)])
    const failures = outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason)
    expect(failures).toHaveLength(1)
    expect(failures[0]).toBeInstanceOf(SerializationFailureError)
  })

  it('nests savepoints: an inner failure rolls back only the inner work', async () => {
    await db.transaction(async (tx) => {
      await tx.query(`INSERT INTO ${schema}.items (id) VALUES (1)`)
      await tx.savepoint(async (sp) => {
        await sp.query(`INSERT INTO ${schema}.items (id) VALUES (2)`)
        await sp
          .savepoint(async (inner) => {
            await inner.query(`INSERT INTO ${schema}.items (id) VALUES (3)`)
            await inner.query(`INSERT INTO ${schema}.items (id) VALUES (3)`)
          })
          .catch(() => {})
      })
      await tx
        .savepoint(async (sp) => {
          await sp.query(`INSERT INTO ${schema}.items (id) VALUES (4)`)
          throw new Error('undo 4')
        })
        .catch(() => {})
    })
    expect(await ids()).toEqual([1, 2])
  })

  it('throws TRANSACTION_ENDED when a transaction object is used after it ended', async () => {
    let leaked: Transaction | undefined
    await db.transaction(async (tx) => {
      leaked = tx
    })
    await expect(leaked!.query('SELECT 1')).rejects.toMatchObject({ code: 'TRANSACTION_ENDED' })
  })

  it('refuses to report success when a failed statement was swallowed inside the function', async () => {
    const error = await db
      .transaction(async (tx) => {
        await tx.query(`INSERT INTO ${schema}.items (id) VALUES (1)`)
        await tx.query('SELECT * FROM missing_table_xyz').catch(() => {})
      })
      .catch((e) => e)
    expect(error).toMatchObject({ code: '25P02' })
    expect(await ids()).toEqual([])
  })

  it('reports a deadlock as DeadlockError and releases both connections', async () => {
    await admin.query(`INSERT INTO ${schema}.items (id, n) VALUES (1, 0), (2, 0)`)
    let release!: () => void
    const bothLocked = new Promise<void>((resolve) => (release = resolve))
    let locked = 0
    const run = (first: number, second: number) =>
      db.transaction(async (tx) => {
        await tx.query(`UPDATE ${schema}.items SET n = n + 1 WHERE id = $1`, [first])
        if (++locked === 2) release()
        await bothLocked
        await tx.query(`UPDATE ${schema}.items SET n = n + 1 WHERE id = $1`, [second])
      })
    const outcomes = await Promise.allSettled([run(1, 2), run(2, 1)])
    const failures = outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason)
    expect(failures).toHaveLength(1)
    expect(failures[0]).toBeInstanceOf(DeadlockError)
    expect(db.stats().inUse).toBe(0)
  })
})
