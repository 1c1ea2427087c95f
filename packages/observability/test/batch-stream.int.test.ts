import { SpanStatusCode } from '@opentelemetry/api'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { CHANNELS, hasTraceSubscribers, type Provider } from '@tessera/core'
import { createPgProvider } from '@tessera/provider-pg'
import { createPostgresJsProvider } from '@tessera/provider-postgresjs'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { instrument } from '../src/index'
import { createSdk, PG_URL, uniqueName } from './support'

const sdk = createSdk()
const providers: Provider[] = []
const cleanups: Array<() => unknown> = []

function open(driver: 'pg' | 'postgres.js'): Provider {
  const options = { connectionString: PG_URL, pool: { max: 2 } }
  const provider = driver === 'pg' ? createPgProvider(options) : createPostgresJsProvider(options)
  providers.push(provider)
  return provider
}

function instrumented() {
  const instrumentation = instrument({ tracerProvider: sdk.tracerProvider, meterProvider: sdk.meterProvider })
  cleanups.push(() => instrumentation.uninstrument())
  return instrumentation
}

async function table(provider: Provider): Promise<string> {
  const name = uniqueName('obs_batch')
  await provider.query(`CREATE TABLE ${name} (id int PRIMARY KEY, name text)`)
  cleanups.push(() => provider.query(`DROP TABLE IF EXISTS ${name}`))
  return name
}

const childrenOf = (parent: ReadableSpan) =>
  sdk.spans().filter((span) => span.parentSpanContext?.spanId === parent.spanContext().spanId && span.name !== 'connect')

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  sdk.reset()
})

afterAll(async () => {
  await Promise.all(providers.map((provider) => provider.close({ timeoutMs: 5_000 })))
  await sdk.shutdown()
})

describe.each(['pg', 'postgres.js'] as const)('batches and streams on %s', (driver) => {
  it('makes one BATCH span whose children are its statements', async () => {
    const provider = open(driver)
    const name = await table(provider)
    instrumented()
    sdk.reset()
    await provider.batch(
      [1, 2, 3].map((id) => ({ sql: `INSERT INTO ${name} (id, name) VALUES ($1, 'x')`, params: [id] })),
      { atomic: true },
    )
    const batch = sdk.spans().filter((span) => span.attributes['tessera.db.call'] === 'batch' && span.name.startsWith('BATCH'))
    expect(batch).toHaveLength(1)
    const span = batch[0]!
    expect(span.name).toBe(`BATCH INSERT ${name}`)
    expect(span.status.code).not.toBe(SpanStatusCode.ERROR)
    expect(span.attributes).toMatchObject({
      'db.system.name': 'postgresql',
      'db.operation.name': 'BATCH INSERT',
      'db.collection.name': name,
      'db.operation.batch.size': 3,
      'tessera.db.batch.atomic': true,
    })
    const children = childrenOf(span)
    expect(children.map((child) => child.name)).toEqual([`INSERT ${name}`, `INSERT ${name}`, `INSERT ${name}`])
    for (const child of children) expect(child.spanContext().traceId).toBe(span.spanContext().traceId)
  })

  it('names a mixed batch BATCH and marks a failed one with the error and its SQLSTATE', async () => {
    const provider = open(driver)
    const name = await table(provider)
    instrumented()
    sdk.reset()
    const failure = await provider
      .batch([
        { sql: `INSERT INTO ${name} (id, name) VALUES (1, 'a')` },
        { sql: `SELECT name FROM ${name}` },
        { sql: `INSERT INTO ${name} (id, name) VALUES (1, 'again')` },
      ])
      .catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(Error)
    const span = sdk.spans().find((s) => s.name === 'BATCH')!
    expect(span.attributes).toMatchObject({ 'db.operation.name': 'BATCH', 'db.operation.batch.size': 3, 'tessera.db.batch.atomic': false })
    expect(span.attributes['db.collection.name']).toBe(name)
    expect(span.status.code).toBe(SpanStatusCode.ERROR)
    expect(span.attributes['error.type']).toBe((failure as Error).name)
    expect(span.attributes['db.response.status_code']).toBe('23505')
    expect(childrenOf(span)).toHaveLength(3)
  })

  it('makes one span for a stream read to the end, with its opening as child and the rows counted', async () => {
    const provider = open(driver)
    const name = await table(provider)
    await provider.query(`INSERT INTO ${name} SELECT g, 'n' || g FROM generate_series(1, 25) g`)
    instrumented()
    sdk.reset()
    let read = 0
    for await (const _row of provider.stream(`SELECT id FROM ${name} ORDER BY id`, [], { batchSize: 10 })) read++
    expect(read).toBe(25)
    const streams = sdk.spans().filter((span) => span.name === `STREAM SELECT ${name}`)
    expect(streams).toHaveLength(1)
    const span = streams[0]!
    expect(span.attributes).toMatchObject({
      'db.operation.name': 'SELECT',
      'db.collection.name': name,
      'db.query.text': `SELECT id FROM ${name} ORDER BY id`,
      'db.response.returned_rows': 25,
      'tessera.db.stream.completed': true,
      'tessera.db.call': 'stream',
    })
    expect(childrenOf(span).map((child) => child.name)).toEqual([`SELECT ${name}`])
  })

  it('ends the stream span when the consumer stops early, and on failure with the error', async () => {
    const provider = open(driver)
    const name = await table(provider)
    await provider.query(`INSERT INTO ${name} SELECT g, 'n' FROM generate_series(1, 30) g`)
    instrumented()
    sdk.reset()
    let read = 0
    for await (const _row of provider.stream(`SELECT id FROM ${name}`, [], { batchSize: 10 })) {
      if (++read === 12) break
    }
    const stopped = sdk.spans().find((span) => span.name === `STREAM SELECT ${name}`)!
    expect(stopped.attributes['db.response.returned_rows']).toBe(12)
    expect(stopped.attributes['tessera.db.stream.completed']).toBe(false)
    expect(stopped.status.code).not.toBe(SpanStatusCode.ERROR)

    sdk.reset()
    const failure = await (async () => {
      for await (const _row of provider.stream(`SELECT id / (id - 5) FROM ${name} ORDER BY id`, [], { batchSize: 2 })) {
        // reads until the division by zero
      }
    })().catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(Error)
    const failed = sdk.spans().find((span) => span.name.startsWith('STREAM SELECT'))!
    expect(failed.status.code).toBe(SpanStatusCode.ERROR)
    expect(failed.attributes['db.response.status_code']).toBe('22012')
    expect(failed.attributes['tessera.db.stream.completed']).toBe(false)
  })
})

describe('batch and stream channels', () => {
  it('are not subscribed once uninstrumented, and a batch then still runs', async () => {
    const instrumentation = instrumented()
    expect(hasTraceSubscribers(CHANNELS.batch)).toBe(true)
    expect(hasTraceSubscribers(CHANNELS.stream)).toBe(true)
    instrumentation.uninstrument()
    expect(hasTraceSubscribers(CHANNELS.batch)).toBe(false)
    expect(hasTraceSubscribers(CHANNELS.stream)).toBe(false)
    const provider = open('pg')
    sdk.reset()
    await expect(provider.batch([{ sql: 'SELECT 1' }, { sql: 'SELECT 2' }])).resolves.toHaveLength(2)
    expect(sdk.spans().filter((span) => span.name.startsWith('BATCH'))).toEqual([])
  })
})
