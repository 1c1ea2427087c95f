import { AbortError, QueryCanceledError, TimeoutError } from '@tessera/core'
import { describe, expect, it } from 'vitest'
import { backendsOf, eventually, testProvider, uniqueName, useAdminClient } from './helpers'

const admin = useAdminClient()

async function sleepingBackends(app: string): Promise<number> {
  return (await backendsOf(admin, app)).filter((backend) => backend.state === 'active' && backend.query.includes('pg_sleep')).length
}

describe('cancellation', () => {
  it('aborting the signal cancels the statement on the server and rejects with AbortError caused by QueryCanceledError', async () => {
    const app = uniqueName('cancel')
    const db = testProvider(app)
    const controller = new AbortController()
    const running = db.query('SELECT pg_sleep(30)', [], { signal: controller.signal })
    await eventually(async () => (await sleepingBackends(app)) === 1)
    controller.abort()
    const error = await running.catch((e) => e)
    expect(error).toBeInstanceOf(AbortError)
    expect(error.cause).toBeInstanceOf(QueryCanceledError)
    // The server stopped the statement (its backend is no longer sleeping), read once it has reported so.
    await eventually(async () => (await sleepingBackends(app)) === 0)
    // The connection stays usable for the next caller.
    await expect(db.query('SELECT 1 AS ok')).resolves.toMatchObject({ rows: [{ ok: 1 }] })
  })

  it('timeoutMs cancels the statement on the server and rejects with TimeoutError caused by QueryCanceledError', async () => {
    const app = uniqueName('timeout')
    const db = testProvider(app)
    const error = await db.query('SELECT pg_sleep(30)', [], { timeoutMs: 100 }).catch((e) => e)
    expect(error).toBeInstanceOf(TimeoutError)
    expect(error.cause).toBeInstanceOf(QueryCanceledError)
    // The server stopped the statement (its backend is no longer sleeping), read once it has reported so.
    await eventually(async () => (await sleepingBackends(app)) === 0)
  })

  it('cancels a statement inside a transaction, which then rolls back', async () => {
    const app = uniqueName('txcancel')
    const db = testProvider(app)
    const error = await db
      .transaction(async (tx) => {
        await tx.query('SELECT 1')
        await tx.query('SELECT pg_sleep(30)', [], { timeoutMs: 100 })
      })
      .catch((e) => e)
    expect(error).toBeInstanceOf(TimeoutError)
    expect(await sleepingBackends(app)).toBe(0)
    const states = (await backendsOf(admin, app)).map((backend) => backend.state)
    expect(states.every((state) => state === 'idle')).toBe(true)
  })

  it('rejects an already-aborted signal without taking a connection', async () => {
    const db = testProvider(uniqueName('aborted'))
    const error = await db.query('SELECT 1', [], { signal: AbortSignal.abort() }).catch((e) => e)
    expect(error).toBeInstanceOf(AbortError)
    expect(db.stats().created).toBe(0)
    expect(db.stats().size).toBe(0)
  })
})
