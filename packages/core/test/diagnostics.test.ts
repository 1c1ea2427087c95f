import { AsyncLocalStorage } from 'node:async_hooks'
import diagnosticsChannel from 'node:diagnostics_channel'
import { afterEach, describe, expect, it } from 'vitest'
import {
  addTraceScope,
  CHANNELS,
  hasSubscribers,
  hasTraceSubscribers,
  openTrace,
  type PoolLeakMessage,
  publish,
  type QueryMessage,
  type QueryResult,
  type StreamMessage,
  traced,
} from '../src/index'

type Event = [kind: string, message: unknown]

const cleanups: (() => void)[] = []
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup()
})

/** Subscribes to every event of a tracing channel the way a user would, recording what arrives. */
function recordTrace(name: string): Event[] {
  const events: Event[] = []
  const subscribers = {
    start: (message: object) => events.push(['start', { ...message }]),
    end: (message: object) => events.push(['end', { ...message }]),
    asyncStart: (message: object) => events.push(['asyncStart', { ...message }]),
    asyncEnd: (message: object) => events.push(['asyncEnd', { ...message }]),
    error: (message: object) => events.push(['error', { ...message }]),
  }
  const channel = diagnosticsChannel.tracingChannel<unknown, object>(name)
  channel.subscribe(subscribers)
  cleanups.push(() => channel.unsubscribe(subscribers))
  return events
}

const queryResult: QueryResult = { rows: [{ n: 1 }], rowCount: 1, command: 'SELECT', fields: [] }

function queryMessage(): QueryMessage {
  return { sql: 'select $1::int as n', driver: 'fake', operation: 'query' }
}

describe('traced', () => {
  it('tells a tracing subscriber start, end, asyncStart and asyncEnd with the message and the result', async () => {
    const events = recordTrace(CHANNELS.query)
    const message = queryMessage()
    await expect(traced(CHANNELS.query, message, async () => queryResult)).resolves.toBe(queryResult)

    expect(events.map(([kind]) => kind)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd'])
    expect(events[0]?.[1]).toEqual({ sql: 'select $1::int as n', driver: 'fake', operation: 'query' })
    expect(events[3]?.[1]).toMatchObject({ sql: 'select $1::int as n', result: { rowCount: 1, command: 'SELECT' } })
    expect(message.result).toBe(queryResult)
  })

  it('publishes error events and passes the rejection through unchanged', async () => {
    const events = recordTrace(CHANNELS.query)
    const failure = new Error('relation "missing" does not exist')
    await expect(traced(CHANNELS.query, queryMessage(), async () => Promise.reject(failure))).rejects.toBe(failure)

    expect(events.map(([kind]) => kind)).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd'])
    expect(events[2]?.[1]).toMatchObject({ sql: 'select $1::int as n', error: failure })
  })

  it('just runs the operation when nobody subscribes', async () => {
    expect(hasTraceSubscribers(CHANNELS.transaction)).toBe(false)
    const message = { driver: 'fake', attempt: 1 }
    let runs = 0
    const value = await traced(CHANNELS.transaction, message, async () => {
      runs++
      return 'committed'
    })
    expect(value).toBe('committed')
    expect(runs).toBe(1)
    // Nothing was traced, so Node never wrote the outcome into the message.
    expect(message).toEqual({ driver: 'fake', attempt: 1 })
  })

  it('returns the operation promise itself when nobody subscribes', () => {
    const pending = Promise.resolve(queryResult)
    expect(traced(CHANNELS.query, queryMessage(), () => pending)).toBe(pending)
  })

  it('sees a subscriber that arrives after the first traced call', async () => {
    await traced(CHANNELS.dynamoCommand, { command: 'GetItem' }, async () => 'first')
    const events = recordTrace(CHANNELS.dynamoCommand)
    expect(hasTraceSubscribers(CHANNELS.dynamoCommand)).toBe(true)
    await traced(CHANNELS.dynamoCommand, { command: 'PutItem', table: 'users' }, async () => 'second')
    expect(events[0]).toEqual(['start', { command: 'PutItem', table: 'users' }])
  })
})

describe('openTrace', () => {
  function streamMessage(): StreamMessage {
    return { sql: 'select * from t', driver: 'fake', rows: 0 }
  }

  it('returns nothing, and publishes nothing, when nobody subscribes', () => {
    expect(hasTraceSubscribers(CHANNELS.stream)).toBe(false)
    expect(openTrace(CHANNELS.stream, streamMessage())).toBeUndefined()
  })

  it('publishes start and end around run, asyncStart and asyncEnd at finish, once', async () => {
    const events = recordTrace(CHANNELS.stream)
    const message = streamMessage()
    const trace = openTrace(CHANNELS.stream, message)!
    await expect(trace.run(async () => 'opened')).resolves.toBe('opened')
    expect(events.map(([kind]) => kind)).toEqual(['start', 'end'])
    message.rows = 3
    message.completed = true
    trace.finish()
    trace.finish()
    expect(events.map(([kind]) => kind)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd'])
    expect(events[3]?.[1]).toEqual({ sql: 'select * from t', driver: 'fake', rows: 3, completed: true })
  })

  it('publishes error with the failure, and runs the opening in the store bound to start', async () => {
    const events = recordTrace(CHANNELS.stream)
    const store = new AsyncLocalStorage<string>()
    const start = diagnosticsChannel.tracingChannel(CHANNELS.stream).start
    start.bindStore(store, (message) => `inside ${(message as StreamMessage).sql}`)
    cleanups.push(() => start.unbindStore(store))
    const trace = openTrace(CHANNELS.stream, streamMessage())!
    const seen = await trace.run(async () => {
      await new Promise((resolve) => setImmediate(resolve))
      return store.getStore()
    })
    expect(seen).toBe('inside select * from t')
    expect(store.getStore()).toBeUndefined()
    const failure = new Error('cursor lost')
    trace.finish({ error: failure })
    expect(events.map(([kind]) => kind)).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd'])
    expect(events[2]?.[1]).toMatchObject({ error: failure })
  })
})

describe('addTraceScope', () => {
  it('runs traced operations inside the scopes, outermost first, before start; removed, it runs no more', async () => {
    const events = recordTrace(CHANNELS.query)
    const store = new AsyncLocalStorage<string[]>()
    const seen: string[] = []
    const outer = addTraceScope(CHANNELS.query, (message, run) => {
      seen.push(`outer ${(message as QueryMessage).sql} before ${events.length} events`)
      return store.run(['outer'], run)
    })
    const inner = addTraceScope(CHANNELS.query, (_message, run) => store.run([...(store.getStore() ?? []), 'inner'], run))
    cleanups.push(outer, inner)
    const inside = await traced(CHANNELS.query, queryMessage(), async () => {
      await new Promise((resolve) => setImmediate(resolve))
      return store.getStore()
    })
    expect(inside).toEqual(['outer', 'inner'])
    expect(seen).toEqual(['outer select $1::int as n before 0 events'])
    expect(store.getStore()).toBeUndefined()
    outer()
    outer()
    inner()
    await traced(CHANNELS.query, queryMessage(), async () => queryResult)
    expect(seen).toHaveLength(1)
    expect(events.map(([kind]) => kind)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd', 'start', 'end', 'asyncStart', 'asyncEnd'])
  })

  it('runs the opening of an openTrace operation inside the scope, and nothing while nobody subscribes', async () => {
    const store = new AsyncLocalStorage<string>()
    const remove = addTraceScope(CHANNELS.stream, (_message, run) => store.run('scoped', run))
    cleanups.push(remove)
    expect(openTrace(CHANNELS.stream, { sql: 'select 1', driver: 'fake', rows: 0 })).toBeUndefined()
    recordTrace(CHANNELS.stream)
    const trace = openTrace(CHANNELS.stream, { sql: 'select 1', driver: 'fake', rows: 0 })!
    expect(await trace.run(async () => store.getStore())).toBe('scoped')
    trace.finish()
  })
})

describe('publish', () => {
  it('delivers a point event to a channel subscriber', () => {
    const received: unknown[] = []
    const onMessage = (message: unknown) => received.push(message)
    diagnosticsChannel.subscribe(CHANNELS.poolLeak, onMessage)
    cleanups.push(() => diagnosticsChannel.unsubscribe(CHANNELS.poolLeak, onMessage))

    const leak: PoolLeakMessage = { pool: 'main', heldMs: 30_000, stack: 'at handler (app.ts:10)' }
    expect(hasSubscribers(CHANNELS.poolLeak)).toBe(true)
    publish(CHANNELS.poolLeak, leak)
    expect(received).toEqual([leak])
  })

  it('does nothing when nobody subscribes', () => {
    expect(hasSubscribers(CHANNELS.breakerState)).toBe(false)
    expect(() => publish(CHANNELS.breakerState, { breaker: 'redis', from: 'closed', to: 'open', failures: 5 })).not.toThrow()
  })
})

describe('CHANNELS', () => {
  it('names every channel tessera:<area>[:<event>] with no duplicates', () => {
    const names = Object.values(CHANNELS)
    expect(new Set(names).size).toBe(names.length)
    for (const name of names) expect(name).toMatch(/^tessera:[a-z]+(:[a-z]+)?$/)
  })
})
