import { describe, expect, it, vi } from 'vitest'
import {
  ConfigError,
  type ConnectionInfo,
  composeHooks,
  type ErrorContext,
  type Hooks,
  type QueryContext,
  type QueryResult,
  TesseraError,
  TimeoutError,
  type TransactionContext,
} from '../src/index'

function queryContext(overrides: Partial<QueryContext> = {}): QueryContext {
  return {
    sql: 'select 1',
    params: [],
    options: {},
    driver: 'fake',
    operation: 'query',
    transaction: false,
    attempt: 1,
    meta: {},
    ...overrides,
  }
}

function result(command = 'SELECT', rowCount = 1): QueryResult {
  return { rows: [{ one: 1 }], rowCount, command, fields: [] }
}

function connection(): ConnectionInfo {
  return { driver: 'fake', processId: 42, meta: {} }
}

const transactionContext: TransactionContext = { driver: 'fake', options: {}, attempt: 1, meta: {} }
const errorContext: ErrorContext = { operation: 'query', sql: 'select 1', driver: 'fake' }

describe('composeHooks: onQuery', () => {
  it('runs hooks outermost first, in registration order, and unwinds in reverse', async () => {
    const calls: string[] = []
    const tracer = (name: string): Hooks => ({
      async onQuery(_ctx, next) {
        calls.push(`${name}:before`)
        const value = await next()
        calls.push(`${name}:after`)
        return value
      },
    })
    const hooks = composeHooks([tracer('outer'), tracer('inner')])
    await hooks.query(queryContext(), async () => {
      calls.push('final')
      return result()
    })
    expect(calls).toEqual(['outer:before', 'inner:before', 'final', 'inner:after', 'outer:after'])
  })

  it('passes a context changed by an outer hook to the inner hooks and to the driver', async () => {
    const seenByInner: string[] = []
    const hooks = composeHooks([
      { onQuery: (ctx, next) => next({ ...ctx, sql: `/* app */ ${ctx.sql}`, meta: { ...ctx.meta, tenant: 't1' } }) },
      {
        onQuery(ctx, next) {
          seenByInner.push(ctx.sql)
          return next()
        },
      },
    ])
    const final = vi.fn(async (_ctx: QueryContext) => result())
    await hooks.query(queryContext(), final)
    expect(seenByInner).toEqual(['/* app */ select 1'])
    expect(final).toHaveBeenCalledTimes(1)
    expect(final.mock.calls[0]?.[0]).toMatchObject({ sql: '/* app */ select 1', meta: { tenant: 't1' } })
  })

  it('lets a hook short-circuit with its own result without reaching the driver', async () => {
    const cached = result('SELECT', 7)
    const inner = vi.fn((ctx: QueryContext, next: (ctx?: QueryContext) => Promise<QueryResult>) => next(ctx))
    const final = vi.fn(async () => result())
    const hooks = composeHooks([{ onQuery: async () => cached }, { onQuery: inner }])
    await expect(hooks.query(queryContext(), final)).resolves.toBe(cached)
    expect(inner).not.toHaveBeenCalled()
    expect(final).not.toHaveBeenCalled()
  })

  it('retries when a hook calls next again after a failure', async () => {
    const attempts: number[] = []
    const retry: Hooks = {
      async onQuery(ctx, next) {
        try {
          return await next()
        } catch {
          return next({ ...ctx, attempt: ctx.attempt + 1 })
        }
      },
    }
    const hooks = composeHooks([retry])
    const value = await hooks.query(queryContext(), async (ctx) => {
      attempts.push(ctx.attempt)
      if (ctx.attempt === 1) throw new TimeoutError({ operation: 'query', timeoutMs: 10 })
      return result('SELECT', 3)
    })
    expect(attempts).toEqual([1, 2])
    expect(value.rowCount).toBe(3)
  })

  it('rejects with the error a hook throws, synchronously or not, and stays usable afterwards', async () => {
    const boom = new Error('hook refused')
    let refuse = true
    const hooks = composeHooks([
      {
        // Not async on purpose: a synchronous throw must still become a rejection.
        onQuery(ctx, next) {
          if (refuse) throw boom
          return next(ctx)
        },
      },
    ])
    const final = vi.fn(async () => result())
    const pending = hooks.query(queryContext(), final)
    expect(pending).toBeInstanceOf(Promise)
    await expect(pending).rejects.toBe(boom)
    expect(final).not.toHaveBeenCalled()

    refuse = false
    await expect(hooks.query(queryContext(), final)).resolves.toMatchObject({ rowCount: 1 })
  })

  it('lets an outer hook see and handle the rejection of an inner hook', async () => {
    const seen: unknown[] = []
    const fallback = result('SELECT', 0)
    const hooks = composeHooks([
      {
        async onQuery(_ctx, next) {
          try {
            return await next()
          } catch (error) {
            seen.push(error)
            return fallback
          }
        },
      },
      {
        async onQuery() {
          throw new TesseraError('inner refused', { code: 'REFUSED' })
        },
      },
    ])
    await expect(hooks.query(queryContext(), async () => result())).resolves.toBe(fallback)
    expect(seen).toHaveLength(1)
    expect((seen[0] as TesseraError).code).toBe('REFUSED')
  })

  it('calls the driver directly, exactly once, when no query hook is registered', async () => {
    const hooks = composeHooks([{ onConnect() {} }])
    expect(hooks.hasQueryHooks).toBe(false)
    const expected = Promise.resolve(result())
    const final = vi.fn((_ctx: QueryContext) => expected)
    const ctx = queryContext()
    // Same promise object: nothing was wrapped around the driver call.
    expect(hooks.query(ctx, final)).toBe(expected)
    expect(final).toHaveBeenCalledTimes(1)
    expect(final).toHaveBeenCalledWith(ctx)
  })

  it('keeps `this` for hooks written as class methods', async () => {
    class Counter implements Hooks {
      count = 0
      async onQuery(_ctx: QueryContext, next: (ctx?: QueryContext) => Promise<QueryResult>) {
        this.count++
        return next()
      }
    }
    const counter = new Counter()
    const hooks = composeHooks([counter])
    await hooks.query(queryContext(), async () => result())
    await hooks.query(queryContext(), async () => result())
    expect(counter.count).toBe(2)
  })
})

describe('composeHooks: onTransaction', () => {
  it('wraps the transaction in registration order and returns its result', async () => {
    const calls: string[] = []
    const tracer = (name: string): Hooks => ({
      async onTransaction(_ctx, next) {
        calls.push(`${name}:begin`)
        const value = await next()
        calls.push(`${name}:end`)
        return value
      },
    })
    const hooks = composeHooks([tracer('outer'), tracer('inner')])
    const value = await hooks.transaction(transactionContext, async () => {
      calls.push('body')
      return 'committed'
    })
    expect(value).toBe('committed')
    expect(calls).toEqual(['outer:begin', 'inner:begin', 'body', 'inner:end', 'outer:end'])
  })

  it('runs the transaction directly when no transaction hook is registered', async () => {
    const hooks = composeHooks([])
    const expected = Promise.resolve(5)
    expect(hooks.hasTransactionHooks).toBe(false)
    expect(hooks.transaction(transactionContext, () => expected)).toBe(expected)
  })
})

describe('composeHooks: connection hooks', () => {
  it('runs connect, acquire and release hooks in order, awaiting each async hook', async () => {
    const calls: string[] = []
    const slow = (label: string) => async () => {
      await new Promise((resolve) => setTimeout(resolve, 5))
      calls.push(label)
    }
    const hooks = composeHooks([
      { onConnect: slow('connect:1'), onAcquire: slow('acquire:1'), onRelease: slow('release:1') },
      {
        onConnect: () => void calls.push('connect:2'),
        onAcquire: () => void calls.push('acquire:2'),
        onRelease: () => void calls.push('release:2'),
      },
    ])
    const conn = connection()
    await hooks.connect(conn)
    await hooks.acquire(conn)
    await hooks.release(conn)
    expect(calls).toEqual(['connect:1', 'connect:2', 'acquire:1', 'acquire:2', 'release:1', 'release:2'])
  })

  it('fails the acquire with the first hook error and skips the later acquire hooks', async () => {
    const later = vi.fn()
    const refused = new Error('connection is read-only')
    const hooks = composeHooks([
      {
        onAcquire() {
          throw refused
        },
      },
      { onAcquire: later },
    ])
    await expect(hooks.acquire(connection())).rejects.toBe(refused)
    expect(later).not.toHaveBeenCalled()
  })

  it('runs every release hook even when one fails, then rejects with the first error', async () => {
    const later = vi.fn()
    const first = new Error('first')
    const hooks = composeHooks([
      {
        async onRelease() {
          throw first
        },
      },
      {
        onRelease() {
          throw new Error('second')
        },
      },
      { onRelease: later },
    ])
    await expect(hooks.release(connection())).rejects.toBe(first)
    expect(later).toHaveBeenCalledTimes(1)
  })

  it('resolves at once and reports no hooks when none are registered', async () => {
    const hooks = composeHooks([])
    expect([hooks.hasConnectHooks, hooks.hasAcquireHooks, hooks.hasReleaseHooks, hooks.hasErrorHooks]).toEqual([false, false, false, false])
    await expect(hooks.connect(connection())).resolves.toBeUndefined()
    await expect(hooks.acquire(connection())).resolves.toBeUndefined()
    await expect(hooks.release(connection())).resolves.toBeUndefined()
  })
})

describe('composeHooks: onError', () => {
  it('tells every onError hook in order with the error and its context', () => {
    const seen: string[] = []
    const error = new TesseraError('bad', { code: 'BAD' })
    const hooks = composeHooks([
      { onError: (e, ctx) => void seen.push(`1:${e.code}:${ctx.operation}`) },
      { onError: (e, ctx) => void seen.push(`2:${e.code}:${ctx.sql}`) },
    ])
    hooks.error(error, errorContext)
    expect(seen).toEqual(['1:BAD:query', '2:BAD:select 1'])
  })

  it('swallows an onError hook that throws or rejects, and still tells the others', async () => {
    const later = vi.fn()
    const unhandled = vi.fn()
    process.on('unhandledRejection', unhandled)
    try {
      const hooks = composeHooks([
        {
          onError() {
            throw new Error('observer bug')
          },
        },
        { onError: async () => Promise.reject(new Error('async observer bug')) },
        { onError: later },
      ])
      const original = new TesseraError('original', { code: 'ORIGINAL' })
      expect(() => hooks.error(original, errorContext)).not.toThrow()
      expect(later).toHaveBeenCalledWith(original, errorContext)
      await new Promise((resolve) => setTimeout(resolve, 10))
      expect(unhandled).not.toHaveBeenCalled()
    } finally {
      process.off('unhandledRejection', unhandled)
    }
  })
})

describe('composeHooks: validation', () => {
  it('lists every malformed hook at once', () => {
    const bad = [{ onQuery: 'not a function' }, null, { onQeury: async () => result() }] as unknown as Hooks[]
    let thrown: unknown
    try {
      composeHooks(bad)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(ConfigError)
    const problems = (thrown as ConfigError).problems
    expect(problems).toHaveLength(3)
    expect(problems[0]).toContain('hooks[0].onQuery is "not a function"')
    expect(problems[1]).toContain('hooks[1] is null')
    expect(problems[2]).toContain('unknown hook "onQeury"')
  })

  it('accepts hook objects carrying their own helper properties', () => {
    const hooks = composeHooks([{ onQuery: (ctx, next) => next(ctx), once: true, options: {} } as Hooks])
    expect(hooks.hasQueryHooks).toBe(true)
  })
})
