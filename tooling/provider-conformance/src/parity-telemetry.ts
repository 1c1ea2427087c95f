import { channel, tracingChannel } from 'node:diagnostics_channel'
import { CHANNELS, type ConnectionInfo, type Hooks, isTesseraError, type Provider } from '@tessera/core'
import { uniqueName } from '../../test-services/env'
import { waitFor } from './helpers'

/** Provider-level channels: the ones every provider publishes on. */
const TRACED = [CHANNELS.query, CHANNELS.transaction, CHANNELS.connect, CHANNELS.poolAcquire] as const
const PLAIN = [CHANNELS.poolRelease, CHANNELS.poolCreate, CHANNELS.poolDestroy, CHANNELS.poolTimeout, CHANNELS.poolLeak] as const

/** Values that legitimately differ between two runs (PIDs, timings, channel names): compared by type only. */
const BY_TYPE = new Set(['processId', 'heldMs', 'waitedMs', 'latencyMs', 'durationMs', 'serverVersion', 'driver', 'stack'])

/** A message or context as plain data, with run-specific values replaced by their type and errors by their class. */
export function normalize(value: unknown, key = ''): unknown {
  if (BY_TYPE.has(key)) return value === undefined ? undefined : typeof value
  if (isTesseraError(value)) return { error: value.constructor.name, code: value.code }
  if (value instanceof Error) return { error: 'Error' }
  if (typeof value === 'string') return value.replace(/parity_telemetry_\w+/g, '<channel>')
  if (Array.isArray(value)) return value.map((item) => normalize(item))
  if (value === null || typeof value !== 'object') return value
  // A driver's own objects (a pooled connection in pool messages): only that one is there.
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return 'driver object'
  const out: Record<string, unknown> = {}
  for (const [name, item] of Object.entries(value)) {
    if (typeof item === 'function') continue
    out[name] = normalize(item, name)
  }
  return out
}

/**
 * Runs the same operations (query, a failing query, transaction with a savepoint, batch, stream, listen, notify,
 * health, close) on `provider` and records, in order, every message it publishes on the provider channels and every
 * context its hooks receive, normalised for comparison with another provider's.
 */
export async function recordTelemetry(open: (hooks: Hooks) => Promise<Provider>): Promise<{ events: unknown[]; statsKeys: string[] }> {
  const events: unknown[] = []
  const record = (kind: string) => (message: unknown) => void events.push([kind, normalize(message)])
  const unsubscribe: Array<() => void> = []
  for (const name of TRACED) {
    const handlers = {
      start: record(`${name}:start`),
      end() {},
      asyncStart() {},
      asyncEnd: record(`${name}:end`),
      error: record(`${name}:error`),
    }
    tracingChannel(name).subscribe(handlers)
    unsubscribe.push(() => tracingChannel(name).unsubscribe(handlers))
  }
  for (const name of PLAIN) {
    const handler = record(name)
    channel(name).subscribe(handler)
    unsubscribe.push(() => channel(name).unsubscribe(handler))
  }
  const info = (kind: string) => (connection: ConnectionInfo) => void events.push([kind, normalize(connection)])
  const hooks: Hooks = {
    onQuery: (ctx, next) => {
      events.push(['onQuery', normalize({ ...ctx, meta: undefined })])
      return next()
    },
    onTransaction: (ctx, next) => {
      events.push(['onTransaction', normalize({ ...ctx, meta: undefined })])
      return next()
    },
    onConnect: info('onConnect'),
    onAcquire: info('onAcquire'),
    onRelease: info('onRelease'),
    onError: (error, ctx) => void events.push(['onError', normalize(error), normalize(ctx)]),
  }
  try {
    const provider = await open(hooks)
    await provider.query('SELECT $1::int4 AS v', [1])
    await provider.query('SELECT * FROM no_such_table_parity_telemetry').catch(() => undefined)
    await provider.transaction((tx) => tx.savepoint((inner) => inner.query('SELECT 2 AS w')), { isolation: 'repeatable read' })
    await provider.batch([{ sql: 'SELECT 3 AS b' }, { sql: 'SELECT $1::text AS t', params: ['x'] }], { atomic: true })
    for await (const _row of provider.stream('SELECT 4 AS s')) {
      // drained
    }
    const channelName = uniqueName('parity_telemetry')
    const received: string[] = []
    const subscription = await provider.listen(channelName, (notification) => received.push(notification.payload))
    await provider.notify(channelName, 'hello')
    await waitFor(() => received.length === 1, 'the notification arrives')
    await subscription.unlisten()
    const health = await provider.health()
    events.push(['health', normalize({ ...health, latencyMs: undefined, details: { ...health.details, pool: undefined } })])
    const statsKeys = Object.keys(provider.stats()).sort()
    await provider.close()
    return { events, statsKeys }
  } finally {
    for (const stop of unsubscribe) stop()
  }
}
