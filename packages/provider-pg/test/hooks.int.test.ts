import diagnostics_channel from 'node:diagnostics_channel'
import {
  CHANNELS,
  type ConnectionInfo,
  type ErrorContext,
  type Hooks,
  type QueryContext,
  type TesseraError,
  type TransactionContext,
  UndefinedTableError,
} from '@tessera/core'
import { afterAll, describe, expect, it } from 'vitest'
import { closeAll, testProvider, uniqueName } from './helpers'

afterAll(async () => {
  await closeAll()
})

function recordingHooks() {
  const seen = {
    queries: [] as QueryContext[],
    transactions: [] as TransactionContext[],
    connects: [] as ConnectionInfo[],
    acquires: [] as ConnectionInfo[],
    releases: [] as ConnectionInfo[],
    errors: [] as { error: TesseraError; ctx: ErrorContext }[],
  }
  const hooks: Hooks = {
    async onQuery(ctx, next) {
      seen.queries.push(ctx)
      return next()
    },
    async onTransaction(ctx, next) {
      seen.transactions.push(ctx)
      return next()
    },
    onConnect: (info) => void seen.connects.push(info),
    onAcquire: (info) => void seen.acquires.push(info),
    onRelease: (info) => void seen.releases.push(info),
    onError: (error, ctx) => void seen.errors.push({ error, ctx }),
  }
  return { seen, hooks }
}

describe('hooks', () => {
  it('onConnect, onAcquire and onRelease fire with the connection, onQuery with the statement', async () => {
    const { seen, hooks } = recordingHooks()
    const db = testProvider(uniqueName('hooks'), { hooks, pool: { max: 1 } })
    await db.query('SELECT $1::int AS n', [7])
    await new Promise((resolve) => setImmediate(resolve))
    expect(seen.connects).toHaveLength(1)
    expect(seen.connects[0]).toMatchObject({ driver: 'pg', processId: expect.any(Number) })
    expect(seen.acquires).toHaveLength(1)
    expect(seen.acquires[0]).toBe(seen.connects[0])
    expect(seen.releases).toHaveLength(1)
    expect(seen.queries[0]).toMatchObject({
      sql: 'SELECT $1::int AS n',
      params: [7],
      driver: 'pg',
      operation: 'query',
      transaction: false,
      attempt: 1,
    })
  })

  it('a throwing onAcquire fails the call and gives the connection back', async () => {
    let refuse = true
    const db = testProvider(uniqueName('hooks'), {
      pool: { max: 1 },
      hooks: {
        onAcquire() {
          if (refuse) throw new Error('not now')
        },
      },
    })
    await expect(db.query('SELECT 1')).rejects.toThrow('not now')
    expect(db.stats()).toMatchObject({ inUse: 0, idle: 1 })
    refuse = false
    await expect(db.query('SELECT 1 AS ok')).resolves.toMatchObject({ rows: [{ ok: 1 }] })
  })

  it('onQuery can rewrite and short-circuit statements', async () => {
    const db = testProvider(uniqueName('hooks'), {
      hooks: {
        async onQuery(ctx, next) {
          if (ctx.sql === 'cached') return { rows: [{ from: 'cache' }], rowCount: 1, command: 'SELECT', fields: [] }
          return next({ ...ctx, sql: ctx.sql.replace('41', '42') })
        },
      },
    })
    expect((await db.query('cached')).rows).toEqual([{ from: 'cache' }])
    expect(db.stats().created).toBe(0)
    expect((await db.query('SELECT 41 AS n')).rows).toEqual([{ n: 42 }])
  })

  it('onTransaction wraps the transaction; statements inside are marked transaction: true; batch and stream statements are hooked', async () => {
    const { seen, hooks } = recordingHooks()
    const db = testProvider(uniqueName('hooks'), { hooks })
    await db.transaction((tx) => tx.query('SELECT 1'), { isolation: 'repeatable read' })
    expect(seen.transactions).toHaveLength(1)
    expect(seen.transactions[0]).toMatchObject({ driver: 'pg', attempt: 1, options: { isolation: 'repeatable read' } })
    expect(seen.queries.at(-1)).toMatchObject({ sql: 'SELECT 1', transaction: true })
    await db.batch([{ sql: 'SELECT 2' }, { sql: 'SELECT 3' }])
    expect(seen.queries.slice(-2).map((q) => [q.sql, q.operation])).toEqual([
      ['SELECT 2', 'batch'],
      ['SELECT 3', 'batch'],
    ])
    for await (const _ of db.stream('SELECT 4')) break
    expect(seen.queries.at(-1)).toMatchObject({ sql: 'SELECT 4', operation: 'stream' })
  })

  it('onError hears every error a caller receives, once, with its context', async () => {
    const { seen, hooks } = recordingHooks()
    const db = testProvider(uniqueName('hooks'), { hooks })
    const error = await db.query('SELECT * FROM no_table_abc').catch((e) => e)
    expect(error).toBeInstanceOf(UndefinedTableError)
    expect(seen.errors).toHaveLength(1)
    expect(seen.errors[0]!.error).toBe(error)
    expect(seen.errors[0]!.ctx).toMatchObject({ operation: 'query', sql: 'SELECT * FROM no_table_abc', driver: 'pg' })
    await db.transaction((tx) => tx.query('SELECT * FROM no_table_abc')).catch(() => {})
    expect(seen.errors).toHaveLength(2)
  })
})

describe('diagnostics', () => {
  it('publishes tessera:query, tessera:connect and tessera:pool:acquire to real subscribers', async () => {
    const events: string[] = []
    const queryMessages: Record<string, unknown>[] = []
    const subscriber = (name: string) => ({
      start(message: unknown) {
        events.push(`${name}:start`)
        if (name === 'query') queryMessages.push(message as Record<string, unknown>)
      },
      end() {},
      asyncStart() {},
      asyncEnd() {
        events.push(`${name}:end`)
      },
      error() {
        events.push(`${name}:error`)
      },
    })
    const subscriptions = [
      [CHANNELS.query, subscriber('query')],
      [CHANNELS.connect, subscriber('connect')],
      [CHANNELS.poolAcquire, subscriber('acquire')],
    ] as const
    for (const [name, handlers] of subscriptions) diagnostics_channel.tracingChannel(name).subscribe(handlers)
    try {
      const db = testProvider(uniqueName('diag'))
      await db.query('SELECT $1::text AS secret', ['hidden'])
      await db.query('SELECT nope FROM nowhere').catch(() => {})
      expect(events.filter((e) => e.startsWith('connect'))).toEqual(['connect:start', 'connect:end'])
      expect(events.filter((e) => e.startsWith('acquire:start'))).toHaveLength(2)
      expect(events.filter((e) => e.startsWith('query'))).toEqual(['query:start', 'query:end', 'query:start', 'query:error', 'query:end'])
      expect(queryMessages[0]).toMatchObject({ sql: 'SELECT $1::text AS secret', driver: 'pg', operation: 'query', transaction: false })
      expect(queryMessages[0]).not.toHaveProperty('params')
    } finally {
      for (const [name, handlers] of subscriptions) diagnostics_channel.tracingChannel(name).unsubscribe(handlers)
    }
  })

  it('never puts a parameter value on tessera:query through the error of a value that cannot be sent', async () => {
    const published: string[] = []
    const handlers = {
      start(message: unknown) {
        published.push(JSON.stringify(message))
      },
      end() {},
      asyncStart() {},
      asyncEnd() {},
      error(message: unknown) {
        const error = (message as { error?: { message?: string } }).error
        published.push(String(error?.message))
      },
    }
    const channel = diagnostics_channel.tracingChannel(CHANNELS.query)
    channel.subscribe(handlers)
    try {
      const db = testProvider(uniqueName('diag'))
      // A JSON parameter holding NaN cannot be sent; its error names the value.
      const secret = { email: 'private@example.com', score: Number.NaN }
      const failures = await Promise.all([
        db.query('SELECT $1::jsonb AS doc', [secret]).catch((e) => e),
        db.transaction((tx) => tx.query('SELECT $1::jsonb AS doc', [secret])).catch((e) => e),
        db.batch([{ sql: 'SELECT $1::jsonb AS doc', params: [secret] }]).catch((e) => e),
        (async () => {
          for await (const _row of db.stream('SELECT $1::jsonb AS doc', [secret]));
        })().catch((e) => e),
      ])
      for (const failure of failures) expect(failure).toMatchObject({ code: 'CONVERSION_FAILED' })
      expect(published.join('\n')).not.toContain('private@example.com')
      expect(db.stats().inUse).toBe(0)
    } finally {
      channel.unsubscribe(handlers)
    }
  })
})
