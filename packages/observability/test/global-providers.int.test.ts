import { metrics, trace } from '@opentelemetry/api'
import { createPgProvider } from '@tessera/provider-pg'
import { afterAll, describe, expect, it } from 'vitest'
import { instrument } from '../src/index'
import { createSdk, PG_URL } from './support'

// This file registers global providers: it runs in a process of its own (vitest isolates files).
const provider = createPgProvider({ connectionString: PG_URL, pool: { max: 2 } })
const instrumentation = instrument({ sqlCommenter: true, slowQueryMs: 0 })
const withHooks = createPgProvider({ connectionString: PG_URL, pool: { max: 1 }, hooks: [instrumentation.hooks] })

afterAll(async () => {
  instrumentation.uninstrument()
  await Promise.all([provider.close(), withHooks.close()])
})

describe('instrument() with the global providers', () => {
  it('throws nothing and changes nothing while no SDK is registered', async () => {
    expect((await provider.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
    await expect(provider.query('SELECT * FROM no_such_table_global')).rejects.toMatchObject({ code: '42P01' })
    await provider.transaction((tx) => tx.query('SELECT 2'))
    // No valid span: the commenter leaves the statement as it is.
    expect((await withHooks.query<{ q: string }>('SELECT current_query() AS q')).rows[0]!.q).toBe('SELECT current_query() AS q')
    expect(instrumentation.traceFields()).toEqual({})
    // The in-process numbers the dashboard reads still count.
    expect(instrumentation.snapshot().queries.count).toBeGreaterThanOrEqual(3)
    expect(instrumentation.snapshot().slowQueries[0]?.traceId).toBeUndefined()
    // Without an SDK no context is made for a statement, and its pool wait is still its own.
    expect(instrumentation.snapshot().slowQueries[0]?.poolWaitMs).toBeGreaterThan(0)
  })

  it('records into an SDK registered after instrument(): the meter and tracer are looked up lazily', async () => {
    const sdk = createSdk()
    trace.setGlobalTracerProvider(sdk.tracerProvider)
    metrics.setGlobalMeterProvider(sdk.meterProvider)
    await provider.query('SELECT 3')
    expect(sdk.spans().map((span) => span.name)).toContain('SELECT')
    const points = await sdk.points('db.client.operation.duration')
    expect(points.reduce((sum, point) => sum + (point.value as { count: number }).count, 0)).toBe(1)
    await sdk.shutdown()
  })
})
