import { UniqueViolationError } from '@tessera/core'
import pg from 'pg'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { batchIndexOf, type PgClientConfig, type PgClientConstructor, type PgQueryConfig } from '../src/index'
import { adminClient, backendsOf, closeAll, testProvider, uniqueName } from './helpers'

const schema = uniqueName('pgbs')
let admin: pg.Client

type Callback = (error: Error | null, result?: unknown) => void
type QueryFn = (textOrConfig: string | PgQueryConfig, values: unknown, callback: Callback) => unknown

/** A client whose BEGIN fails on the client side with `message`, every other statement running as usual. */
function failingBeginClient(message: string) {
  return class FailingBeginClient extends pg.Client {
    constructor(config: PgClientConfig) {
      super(config as pg.ClientConfig)
      const query = this.query.bind(this) as unknown as QueryFn
      Object.assign(this, {
        query: (textOrConfig: string | PgQueryConfig, values: unknown, callback: Callback) =>
          textOrConfig === 'BEGIN' ? callback(new Error(message)) : query(textOrConfig, values, callback),
      })
    }
  }
}

/** A pg.Client that records the statements it is given and how many were queued before the first one finished. */
const recorded = { log: [] as string[], maxQueued: 0 }
class RecordingClient extends pg.Client {
  constructor(config: PgClientConfig) {
    super(config as pg.ClientConfig)
    const query = this.query.bind(this) as unknown as QueryFn
    let queued = 0
    Object.assign(this, {
      query(textOrConfig: string | PgQueryConfig, values: unknown, callback: Callback) {
        recorded.log.push(typeof textOrConfig === 'string' ? textOrConfig : textOrConfig.text)
        queued++
        recorded.maxQueued = Math.max(recorded.maxQueued, queued)
        return query(textOrConfig, values, (error, result) => {
          queued--
          callback(error, result)
        })
      },
    })
  }
}

beforeAll(async () => {
  admin = await adminClient()
  await admin.query(`CREATE SCHEMA ${schema}`)
  await admin.query(`CREATE TABLE ${schema}.t (id int PRIMARY KEY)`)
})

beforeEach(async () => {
  await admin.query(`TRUNCATE ${schema}.t`)
  recorded.log = []
  recorded.maxQueued = 0
})

afterAll(async () => {
  await closeAll()
  await admin.query(`DROP SCHEMA ${schema} CASCADE`)
  await admin.end()
})

async function ids(): Promise<number[]> {
  const { rows } = await admin.query(`SELECT id FROM ${schema}.t ORDER BY id`)
  return rows.map((row) => row.id)
}

describe('batch', () => {
  it('returns one result per statement, in order, with every statement queued before the first completes', async () => {
    const db = testProvider(uniqueName('batch'), { Client: RecordingClient as unknown as PgClientConstructor })
    const results = await db.batch([
      { sql: `INSERT INTO ${schema}.t (id) VALUES ($1)`, params: [1] },
      { sql: `INSERT INTO ${schema}.t (id) VALUES ($1)`, params: [2] },
      { sql: `SELECT count(*)::int AS n FROM ${schema}.t` },
    ])
    expect(results.map((r) => r.command)).toEqual(['INSERT', 'INSERT', 'SELECT'])
    expect(results[2]!.rows).toEqual([{ n: 2 }])
    expect(recorded.maxQueued).toBe(3)
  })

  it('atomic: a failing statement rolls every statement back', async () => {
    const db = testProvider(uniqueName('batch'))
    const error = await db
      .batch(
        [
          { sql: `INSERT INTO ${schema}.t (id) VALUES ($1)`, params: [1] },
          { sql: `INSERT INTO ${schema}.t (id) VALUES ($1)`, params: [1] },
          { sql: `INSERT INTO ${schema}.t (id) VALUES ($1)`, params: [3] },
        ],
        { atomic: true },
      )
      .catch((e) => e)
    expect(error).toBeInstanceOf(UniqueViolationError)
    expect(batchIndexOf(error)).toBe(1)
    expect(await ids()).toEqual([])
    expect(db.stats().inUse).toBe(0)
  })

  it('non-atomic: rejects with the first error and its index; the other statements are committed', async () => {
    const db = testProvider(uniqueName('batch'))
    const error = await db
      .batch([
        { sql: `INSERT INTO ${schema}.t (id) VALUES ($1)`, params: [1] },
        { sql: `INSERT INTO ${schema}.t (id) VALUES ($1)`, params: [1] },
        { sql: `INSERT INTO ${schema}.t (id) VALUES ($1)`, params: [3] },
      ])
      .catch((e) => e)
    expect(error).toBeInstanceOf(UniqueViolationError)
    expect(batchIndexOf(error)).toBe(1)
    expect(await ids()).toEqual([1, 3])
  })

  it('atomic: a BEGIN that fails before the statements settle rejects the batch without an unhandled rejection', async () => {
    // BEGIN fails on the client at once; the statements queued behind it settle only when the server answers.
    const FailingBeginClient = failingBeginClient('BEGIN refused')
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    try {
      const db = testProvider(uniqueName('batch'), { Client: FailingBeginClient as unknown as PgClientConstructor })
      const error = await db.batch([{ sql: `SELECT pg_sleep(0.05), $1::int AS n`, params: [1] }], { atomic: true }).catch((e) => e)
      expect(error).toMatchObject({ message: expect.stringContaining('BEGIN refused') })
      await new Promise((resolve) => setTimeout(resolve, 20))
      expect(unhandled).toEqual([])
      expect(db.stats().inUse).toBe(0)
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })

  it('atomic and cancellable: when BEGIN fails no statement runs, so nothing commits on its own', async () => {
    // A cancel request landing on BEGIN is the way BEGIN fails on a healthy connection. Pipelined statements
    // behind a failed BEGIN would each commit in their own implicit transaction.
    const FailingBeginClient = failingBeginClient('BEGIN canceled')
    const db = testProvider(uniqueName('batch'), { Client: FailingBeginClient as unknown as PgClientConstructor })
    const error = await db
      .batch(
        [
          { sql: `INSERT INTO ${schema}.t (id) VALUES ($1)`, params: [1] },
          { sql: `INSERT INTO ${schema}.t (id) VALUES ($1)`, params: [2] },
        ],
        { atomic: true, timeoutMs: 5_000 },
      )
      .catch((e) => e)
    expect(error).toMatchObject({ message: expect.stringContaining('BEGIN canceled') })
    expect(await ids()).toEqual([])
  })

  it('atomic with hooks still commits all or nothing', async () => {
    const db = testProvider(uniqueName('batch'), { hooks: { onQuery: async (_ctx, next) => next() } })
    await db.batch(
      [
        { sql: `INSERT INTO ${schema}.t (id) VALUES ($1)`, params: [1] },
        { sql: `INSERT INTO ${schema}.t (id) VALUES ($1)`, params: [2] },
      ],
      { atomic: true },
    )
    await expect(
      db.batch(
        [
          { sql: `INSERT INTO ${schema}.t (id) VALUES ($1)`, params: [3] },
          { sql: `INSERT INTO ${schema}.t (id) VALUES ($1)`, params: [1] },
        ],
        { atomic: true },
      ),
    ).rejects.toBeInstanceOf(UniqueViolationError)
    expect(await ids()).toEqual([1, 2])
  })
})

describe('stream', () => {
  it('yields every row in order through a cursor', async () => {
    const db = testProvider(uniqueName('stream'))
    const seen: number[] = []
    for await (const row of db.stream<{ g: number }>('SELECT g FROM generate_series(1, $1::int) g', [250], { batchSize: 40 }))
      seen.push(row.g)
    expect(seen).toEqual(Array.from({ length: 250 }, (_, i) => i + 1))
    expect(db.stats().inUse).toBe(0)
  })

  it('fetches the next batch only when the consumer asks for it', async () => {
    const db = testProvider(uniqueName('stream'), { Client: RecordingClient as unknown as PgClientConstructor })
    const iterator = db.stream('SELECT g FROM generate_series(1, 1000) g', [], { batchSize: 10 })[Symbol.asyncIterator]()
    for (let i = 0; i < 10; i++) await iterator.next()
    expect(recorded.log.filter((text) => text.startsWith('FETCH'))).toHaveLength(1)
    await iterator.next()
    expect(recorded.log.filter((text) => text.startsWith('FETCH'))).toHaveLength(2)
    await iterator.return?.()
  })

  it('breaking out early closes the cursor and returns the connection', async () => {
    const app = uniqueName('stream')
    const db = testProvider(app, { pool: { max: 1 } })
    let count = 0
    for await (const _row of db.stream('SELECT g FROM generate_series(1, 100000) g', [], { batchSize: 50 })) {
      if (++count === 5) break
    }
    expect(db.stats()).toMatchObject({ inUse: 0, idle: 1 })
    const [backend] = await backendsOf(admin, app)
    expect(backend?.state).toBe('idle')
    // Same connection (max 1): no cursor is left open on it.
    const { rows } = await db.query('SELECT count(*)::int AS n FROM pg_cursors')
    expect(rows).toEqual([{ n: 0 }])
  })

  it('a hook that retries the opening after a failure gets the rows and leaves no connection held', async () => {
    const db = testProvider(uniqueName('stream'), {
      pool: { max: 1, acquireTimeoutMs: 2_000 },
      hooks: {
        async onQuery(ctx, next) {
          try {
            return await next()
          } catch {
            return next({ ...ctx, sql: 'SELECT g FROM generate_series(1, 3) g' })
          }
        },
      },
    })
    const seen: number[] = []
    for await (const row of db.stream<{ g: number }>('SELECT g FROM no_such_table_here g')) seen.push(row.g)
    expect(seen).toEqual([1, 2, 3])
    expect(db.stats()).toMatchObject({ inUse: 0, size: 1 })
  })

  it('a throw in the loop body rolls the cursor back and rethrows', async () => {
    const db = testProvider(uniqueName('stream'), { pool: { max: 1 } })
    const failure = new Error('consumer failed')
    const error = await (async () => {
      for await (const _row of db.stream('SELECT g FROM generate_series(1, 1000) g')) throw failure
    })().catch((e) => e)
    expect(error).toBe(failure)
    expect(db.stats().inUse).toBe(0)
    const { rows } = await db.query('SELECT count(*)::int AS n FROM pg_cursors')
    expect(rows).toEqual([{ n: 0 }])
  })
})
