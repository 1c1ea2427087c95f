import { isTesseraError, ReadOnlyTransactionError, SerializationFailureError, type Transaction } from '@tessera/core'
import { describe, expect } from 'vitest'
import type { ConformanceContext } from './context'
import { deferred, rejectionOf } from './helpers'

/** Commit, rollback, isolation, savepoints, use after end, and retry of real serialization conflicts. */
export function describeTransactions(ctx: ConformanceContext): void {
  describe('transactions', () => {
    const ids = async (table: string) => (await ctx.admin<{ id: number }>(`SELECT id FROM ${table} ORDER BY id`)).map((row) => row.id)

    ctx.test('commits what the function wrote and resolves to what it returned', async () => {
      const { provider } = await ctx.open()
      const table = await ctx.createTable('id int PRIMARY KEY')
      const result = await provider.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${table} (id) VALUES ($1), ($2)`, [1, 2])
        const inside = await tx.query<{ n: bigint }>(`SELECT count(*) AS n FROM ${table}`)
        return inside.rows[0]?.n
      })
      expect(result).toBe(2n)
      expect(await ids(table)).toEqual([1, 2])
    })

    ctx.test('rolls back when the function throws and rejects with that very error', async () => {
      const { provider } = await ctx.open()
      const table = await ctx.createTable('id int PRIMARY KEY')
      const boom = new Error('boom')
      const error = await rejectionOf(
        provider.transaction(async (tx) => {
          await tx.query(`INSERT INTO ${table} (id) VALUES (1)`)
          throw boom
        }),
      )
      expect(error).toBe(boom)
      expect(await ids(table)).toEqual([])
    })

    ctx.test('rolls back when a statement fails and rejects with the mapped database error', async () => {
      const { provider } = await ctx.open()
      const table = await ctx.createTable('id int PRIMARY KEY')
      const error = await rejectionOf(
        provider.transaction(async (tx) => {
          await tx.query(`INSERT INTO ${table} (id) VALUES (1)`)
          await tx.query(`INSERT INTO ${table} (id) VALUES (1)`)
        }),
      )
      expect(isTesseraError(error)).toBe(true)
      expect((error as { code?: string }).code).toBe('23505')
      expect(await ids(table)).toEqual([])
    })

    ctx.test('runs at the default isolation level, read committed, read-write', async () => {
      const { provider } = await ctx.open()
      const settings = await provider.transaction(async (tx) => [
        (await tx.query<{ transaction_isolation: string }>('SHOW transaction_isolation')).rows[0]?.transaction_isolation,
        (await tx.query<{ transaction_read_only: string }>('SHOW transaction_read_only')).rows[0]?.transaction_read_only,
      ])
      expect(settings).toEqual(['read committed', 'off'])
    })

    for (const isolation of ['read committed', 'repeatable read', 'serializable'] as const) {
      ctx.test(`runs at the requested isolation level: ${isolation}`, async () => {
        const { provider } = await ctx.open()
        const level = await provider.transaction(
          async (tx) => (await tx.query<{ transaction_isolation: string }>('SHOW transaction_isolation')).rows[0]?.transaction_isolation,
          { isolation },
        )
        expect(level).toBe(isolation)
      })
    }

    ctx.test('a readOnly transaction is read-only and refuses writes with ReadOnlyTransactionError', async () => {
      const { provider } = await ctx.open()
      const table = await ctx.createTable('id int PRIMARY KEY')
      const readOnly = await provider.transaction(
        async (tx) => (await tx.query<{ transaction_read_only: string }>('SHOW transaction_read_only')).rows[0]?.transaction_read_only,
        { readOnly: true },
      )
      expect(readOnly).toBe('on')
      const error = await rejectionOf(provider.transaction((tx) => tx.query(`INSERT INTO ${table} (id) VALUES (1)`), { readOnly: true }))
      expect(error).toBeInstanceOf(ReadOnlyTransactionError)
      expect(await ids(table)).toEqual([])
    })

    ctx.test('a serializable read-only deferrable transaction is deferrable', async () => {
      const { provider } = await ctx.open()
      const deferrable = await provider.transaction(
        async (tx) => (await tx.query<{ transaction_deferrable: string }>('SHOW transaction_deferrable')).rows[0]?.transaction_deferrable,
        { isolation: 'serializable', readOnly: true, deferrable: true },
      )
      expect(deferrable).toBe('on')
    })

    ctx.test('a failing savepoint is rolled back alone and the outer transaction commits', async () => {
      const { provider } = await ctx.open()
      const table = await ctx.createTable('id int PRIMARY KEY')
      const boom = new Error('inner failure')
      await provider.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${table} (id) VALUES (1)`)
        const error = await rejectionOf(
          tx.savepoint(async (inner) => {
            await inner.query(`INSERT INTO ${table} (id) VALUES (2)`)
            throw boom
          }),
        )
        expect(error).toBe(boom)
        await tx.query(`INSERT INTO ${table} (id) VALUES (3)`)
      })
      expect(await ids(table)).toEqual([1, 3])
    })

    ctx.test('a savepoint whose statement fails leaves the outer transaction usable', async () => {
      const { provider } = await ctx.open()
      const table = await ctx.createTable('id int PRIMARY KEY')
      await provider.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${table} (id) VALUES (1)`)
        const error = await rejectionOf(tx.savepoint((inner) => inner.query(`INSERT INTO ${table} (id) VALUES (1)`)))
        expect((error as { code?: string }).code).toBe('23505')
        await tx.query(`INSERT INTO ${table} (id) VALUES (2)`)
      })
      expect(await ids(table)).toEqual([1, 2])
    })

    ctx.test('a successful savepoint keeps its writes and returns its value', async () => {
      const { provider } = await ctx.open()
      const table = await ctx.createTable('id int PRIMARY KEY')
      const value = await provider.transaction((tx) =>
        tx.savepoint(async (inner) => {
          await inner.query(`INSERT INTO ${table} (id) VALUES (7)`)
          return 'kept'
        }),
      )
      expect(value).toBe('kept')
      expect(await ids(table)).toEqual([7])
    })

    ctx.test('nested savepoints two levels deep roll back only the level that failed', async () => {
      const { provider } = await ctx.open()
      const table = await ctx.createTable('id int PRIMARY KEY')
      await provider.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${table} (id) VALUES (1)`)
        await tx.savepoint(async (level1) => {
          await level1.query(`INSERT INTO ${table} (id) VALUES (2)`)
          await expect(
            level1.savepoint(async (level2) => {
              await level2.query(`INSERT INTO ${table} (id) VALUES (3)`)
              throw new Error('level 2 fails')
            }),
          ).rejects.toThrow('level 2 fails')
          await level1.query(`INSERT INTO ${table} (id) VALUES (4)`)
        })
        await expect(
          tx.savepoint(async (level1) => {
            await level1.query(`INSERT INTO ${table} (id) VALUES (5)`)
            await level1.savepoint((level2) => level2.query(`INSERT INTO ${table} (id) VALUES (6)`))
            throw new Error('level 1 fails after level 2 succeeded')
          }),
        ).rejects.toThrow('level 1 fails')
      })
      expect(await ids(table)).toEqual([1, 2, 4])
    })

    ctx.test('a transaction used after it committed rejects with a TesseraError', async () => {
      const { provider } = await ctx.open()
      let saved: Transaction | undefined
      await provider.transaction(async (tx) => {
        saved = tx
      })
      const error = await rejectionOf(saved!.query('SELECT 1'))
      expect(isTesseraError(error)).toBe(true)
    })

    ctx.test('a transaction used after it rolled back rejects with a TesseraError', async () => {
      const { provider } = await ctx.open()
      const table = await ctx.createTable('id int PRIMARY KEY')
      let saved: Transaction | undefined
      await expect(
        provider.transaction(async (tx) => {
          saved = tx
          throw new Error('roll back')
        }),
      ).rejects.toThrow('roll back')
      const error = await rejectionOf(saved!.query(`INSERT INTO ${table} (id) VALUES (1)`))
      expect(isTesseraError(error)).toBe(true)
      expect(await ids(table)).toEqual([])
    })

    describeSerializationConflicts(ctx)
  })
}

/**
 * The classic write skew: two doctors on call, each transaction reads how many are on call and, seeing two,
 * takes its own doctor off call. Run one after the other, exactly one doctor goes off call; run concurrently
 * at serializable, PostgreSQL must abort one of them.
 */
function describeSerializationConflicts(ctx: ConformanceContext): void {
  async function setUp() {
    const table = await ctx.createTable('id int PRIMARY KEY, on_call boolean NOT NULL')
    await ctx.admin(`INSERT INTO ${table} VALUES (1, true), (2, true)`)
    const bothRead = { count: 0, barrier: deferred() }
    let runs = 0
    /** Takes `doctor` off call if the other one is still on call; true when it did. */
    const goOffCall = (doctor: number) => async (tx: Transaction) => {
      runs += 1
      const onCall = await tx.query<{ n: bigint }>(`SELECT count(*) AS n FROM ${table} WHERE on_call`)
      // Both first attempts read before either writes; a retry finds the barrier already open.
      bothRead.count += 1
      if (bothRead.count === 2) bothRead.barrier.resolve()
      await bothRead.barrier.promise
      if (onCall.rows[0]!.n < 2n) return false
      await tx.query(`UPDATE ${table} SET on_call = false WHERE id = $1`, [doctor])
      return true
    }
    const onCallCount = async () => (await ctx.admin<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE on_call`))[0]?.n
    return { goOffCall, onCallCount, runs: () => runs }
  }

  ctx.test(
    'retries two conflicting serializable transactions until both commit, with the result of running them one after the other',
    async () => {
      const attempts: number[] = []
      const { provider } = await ctx.open({
        hooks: {
          onTransaction: (transactionContext, next) => {
            attempts.push(transactionContext.attempt)
            return next()
          },
        },
      })
      const { goOffCall, onCallCount, runs } = await setUp()
      const options = { isolation: 'serializable', retry: 5 } as const
      const outcomes = await Promise.all([provider.transaction(goOffCall(1), options), provider.transaction(goOffCall(2), options)])
      expect(runs()).toBeGreaterThan(2)
      // Each run goes through onTransaction again, numbered.
      expect(Math.max(...attempts)).toBeGreaterThanOrEqual(2)
      expect(outcomes.filter(Boolean)).toHaveLength(1)
      expect(await onCallCount()).toBe('1')
    },
    30_000,
  )

  ctx.test('does not retry an error that is not a serialization failure or deadlock', async () => {
    const { provider } = await ctx.open()
    const table = await ctx.createTable('id int PRIMARY KEY')
    let runs = 0
    const error = await rejectionOf(
      provider.transaction(
        async (tx) => {
          runs += 1
          await tx.query(`INSERT INTO ${table} (id) VALUES (1), (1)`)
        },
        { isolation: 'serializable', retry: 5 },
      ),
    )
    expect((error as { code?: string }).code).toBe('23505')
    expect(runs).toBe(1)
  })

  ctx.test('without retry, one of two conflicting serializable transactions rejects with SerializationFailureError', async () => {
    const { provider } = await ctx.open()
    const { goOffCall, onCallCount } = await setUp()
    const options = { isolation: 'serializable' } as const
    const settled = await Promise.allSettled([provider.transaction(goOffCall(1), options), provider.transaction(goOffCall(2), options)])
    const rejected = settled.filter((outcome) => outcome.status === 'rejected')
    expect(rejected).toHaveLength(1)
    const error = (rejected[0] as PromiseRejectedResult).reason
    expect(error).toBeInstanceOf(SerializationFailureError)
    expect(error.code).toBe('40001')
    expect(error.retryable).toBe(true)
    expect(await onCallCount()).toBe('1')
  })
}
