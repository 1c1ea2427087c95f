// What @tessera/observability costs a provider: the same statements on @tessera/provider-pg with no instrumentation,
// with instrument() and no SDK registered (the OpenTelemetry API's no-op tracer and meter), and with instrument() and
// the real SDK (spans to an in-memory exporter, metrics to a reader). Side by side, the same statements on a raw
// pg.Pool with and without @opentelemetry/instrumentation-pg and the same SDK: the overhead each adds to its own
// baseline is what is compared. Goals: SDK ≥ 0.85 of none, API only ≥ 0.97, our overhead lower than instrumentation-pg's.
//
// Subscribing is process-wide, so each case switches the instrumentation it needs on the first (untimed) call of its
// sample, and every case's sample runs under its own setting only. An application instruments once; here each sample
// begins with a switch, and the statements right after one run on code the JIT must settle again (measured: about 2 ms
// of client CPU per switch for ours, 1.3 ms for instrumentation-pg), so samples are long (1,000 statements) to keep
// that out of the steady-state numbers.
//
// Spans go through a SimpleSpanProcessor (each span exported as it ends: what tests use) and, in a second case, a
// BatchSpanProcessor (spans queued and exported in batches: what production uses), the same two for both libraries.
import { subscribe, tracingChannel, unsubscribe } from 'node:diagnostics_channel'
import { createRequire } from 'node:module'
import { loadavg } from 'node:os'
import { context, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { registerInstrumentations } from '@opentelemetry/instrumentation'
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg'
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { CHANNELS, publish, traced } from '@tessera/core'
import { type Instrumentation, instrument } from '@tessera/observability'
import { createPgProvider } from '@tessera/provider-pg'
import { compare, consume, type GroupResult, writeReport } from './harness'
import { type CorePinning, pinClientAndServer } from './pin-cores'

const PG_URL = process.env.TESSERA_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

class Reader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE })
  }
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

const exporter = new InMemorySpanExporter()
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
const batchExporter = new InMemorySpanExporter()
const batchTracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(batchExporter)] })
const meterProvider = new MeterProvider({ readers: [new Reader()] })

// instrumentation-pg patches pg when it is required: register it first, then load pg through require.
const pgInstrumentation = new PgInstrumentation()
registerInstrumentations({ instrumentations: [pgInstrumentation], tracerProvider, meterProvider })
pgInstrumentation.disable()
const require = createRequire(import.meta.url)
const pg = require('pg') as typeof import('pg')

type Mode = 'none' | 'bare' | 'api only' | 'sdk' | 'sdk batch' | 'instrumentation-pg' | 'instrumentation-pg batch'
let mode: Mode = 'none'
let current: Pick<Instrumentation, 'uninstrument'> | undefined

/** Do-nothing subscribers on the channels instrument() watches for a statement: what core's publishing costs alone. */
function bareSubscribers(): Pick<Instrumentation, 'uninstrument'> {
  const handlers = { start() {}, end() {}, asyncStart() {}, asyncEnd() {}, error() {} }
  const noop = () => {}
  const traced = [CHANNELS.query, CHANNELS.poolAcquire].map((name) => tracingChannel(name))
  for (const tracing of traced) tracing.subscribe(handlers)
  subscribe(CHANNELS.poolRelease, noop)
  return {
    uninstrument() {
      for (const tracing of traced) tracing.unsubscribe(handlers)
      unsubscribe(CHANNELS.poolRelease, noop)
    },
  }
}

function use(wanted: Mode): void {
  if (mode === wanted) return
  current?.uninstrument()
  current = undefined
  if (mode === 'instrumentation-pg' || mode === 'instrumentation-pg batch') pgInstrumentation.disable()
  exporter.reset()
  batchExporter.reset()
  if (wanted === 'bare') current = bareSubscribers()
  if (wanted === 'api only') current = instrument()
  if (wanted === 'sdk') current = instrument({ tracerProvider, meterProvider })
  if (wanted === 'sdk batch') current = instrument({ tracerProvider: batchTracerProvider, meterProvider })
  if (wanted === 'instrumentation-pg' || wanted === 'instrumentation-pg batch') {
    pgInstrumentation.setTracerProvider(wanted === 'instrumentation-pg' ? tracerProvider : batchTracerProvider)
    pgInstrumentation.enable()
  }
  mode = wanted
}

async function run(): Promise<GroupResult[]> {
  const admin = new pg.Pool({ connectionString: PG_URL, max: 1 })
  pinning = await pinClientAndServer((text) => admin.query(text))
  await admin.end()
  const provider = createPgProvider({ connectionString: PG_URL, pool: { max: 1 }, applicationName: 'tessera-bench-obs' })
  const raw = new pg.Pool({ connectionString: PG_URL, max: 1, application_name: 'tessera-bench-obs-raw' })
  const sql = 'SELECT $1::int AS id, $2::text AS name'
  const params = [42, 'Ada']
  const onProvider = (wanted: Mode) => async () => {
    use(wanted)
    consume(await provider.query(sql, params))
  }
  const onRaw = (wanted: Mode) => async () => {
    use(wanted)
    consume(await raw.query(sql, params))
  }
  const options = { opsPerSample: 1_000, rounds: 20, warmupRounds: 3 }
  const tessera = await compare(
    'provider-pg query(): no instrumentation vs instrument()',
    [
      { name: 'provider-pg, none', fn: onProvider('none') },
      { name: 'provider-pg + do-nothing subscribers (core publishing alone)', fn: onProvider('bare') },
      { name: 'provider-pg + instrument(), API only (no SDK)', fn: onProvider('api only') },
      { name: 'provider-pg + instrument() + SDK (in-memory exporter)', fn: onProvider('sdk') },
      { name: 'provider-pg + instrument() + SDK, batch span processor', fn: onProvider('sdk batch') },
    ],
    options,
  )
  const rawGroup = await compare(
    'raw pg.Pool query(): none vs @opentelemetry/instrumentation-pg',
    [
      { name: 'pg.Pool, none', fn: onRaw('none') },
      { name: 'pg.Pool + instrumentation-pg + SDK (in-memory exporter)', fn: onRaw('instrumentation-pg') },
      { name: 'pg.Pool + instrumentation-pg + SDK, batch span processor', fn: onRaw('instrumentation-pg batch') },
    ],
    options,
  )
  use('none')
  await Promise.all([provider.close(), raw.end()])
  // The same messages a provider publishes for one pooled statement (query, pool acquire, pool release), with no I/O:
  // what the instrumentation itself costs per statement, without the database's noise.
  const result = { rowCount: 1, command: 'SELECT' }
  const pool = '127.0.0.1:5432/test'
  const statement = (wanted: Mode) => () => {
    use(wanted)
    const message = {
      sql,
      driver: 'pg',
      operation: 'query' as const,
      database: 'test',
      host: '127.0.0.1',
      port: 5432,
      pool,
      transaction: false,
    }
    return traced(CHANNELS.query, message, async () => {
      await traced(CHANNELS.poolAcquire, { pool, size: 1, inUse: 0, pending: 0, max: 1, min: 0 }, async () => 1)
      publish(CHANNELS.poolRelease, { pool, heldMs: 1, destroyed: false })
      return result
    })
  }
  const channelsOnly = await compare(
    'the messages of one statement, no I/O: none vs instrument()',
    [
      { name: 'no subscriber', fn: statement('none') },
      { name: 'do-nothing subscribers', fn: statement('bare') },
      { name: 'instrument(), API only (no SDK)', fn: statement('api only') },
      { name: 'instrument() + SDK (in-memory exporter)', fn: statement('sdk') },
    ],
    { opsPerSample: 1_000, rounds: 60, warmupRounds: 10 },
  )
  use('none')
  // The SQL commenter: statements inside an active span, without and with the traceparent comment (which sends them
  // unprepared). Last, because it needs a context manager, whose promise hooks would slow every case above.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  const commenter = instrument({ tracerProvider, meterProvider, sqlCommenter: true, watch: ['pool'] })
  const prepared = createPgProvider({ connectionString: PG_URL, pool: { max: 1 }, applicationName: 'tessera-bench-obs-prepared' })
  const commented = createPgProvider({ connectionString: PG_URL, pool: { max: 1 }, hooks: [commenter.hooks] })
  // Fixed tags only: the text stays the same for every call, so the statement stays prepared.
  const tagger = instrument({ sqlCommenter: { traceparent: false, tags: { application: 'bench' } }, watch: [] })
  const tagged = createPgProvider({ connectionString: PG_URL, pool: { max: 1 }, hooks: [tagger.hooks] })
  const span = tracerProvider.getTracer('bench').startSpan('request')
  const inRequest = trace.setSpan(context.active(), span)
  const commenterGroup = await compare(
    'SQL commenter: the same statement inside a request span',
    [
      { name: 'provider-pg, prepared, no comment', fn: () => context.with(inRequest, () => prepared.query(sql, params)) },
      {
        name: 'provider-pg, unprepared, no comment',
        fn: () => context.with(inRequest, () => prepared.query(sql, params, { prepare: false })),
      },
      { name: 'provider-pg + sqlCommenter (comment, unprepared)', fn: () => context.with(inRequest, () => commented.query(sql, params)) },
      {
        name: "provider-pg + sqlCommenter tags only (/*application='bench'*/, prepared)",
        fn: () => context.with(inRequest, () => tagged.query(sql, params)),
      },
    ],
    options,
  )
  span.end()
  commenter.uninstrument()
  tagger.uninstrument()
  await Promise.all([prepared.close(), commented.close(), tagged.close()])
  pinning?.restore()
  return [tessera, rawGroup, channelsOnly, commenterGroup]
}

let pinning: CorePinning | undefined

const loadBefore = loadavg()[0]!
const groups = await run()
const ratio = (group: GroupResult, index: number) => group.results[index]!.ratio
const cpu = (group: GroupResult, index: number) => group.results[index]!.cpuUsPerOp
/**
 * The median over rounds of the client CPU a case adds to its baseline per operation, each round's case and baseline
 * samples taken side by side: steadier than the totals on a shared machine, whose speed swings between regimes.
 */
function addedCpuMedian(group: GroupResult, index: number): number {
  const base = group.samples[0]!.cpuUs
  const added = group.samples[index]!.cpuUs.map((cpuUs, round) => (cpuUs - base[round]!) / group.opsPerSample).sort((a, b) => a - b)
  return added[Math.floor(added.length / 2)] ?? 0
}
/**
 * The median over rounds of the wall time a case adds to its baseline per operation (each round's two samples side by
 * side). Ratios compare overheads against different baselines (a raw pg.Pool statement takes longer than a provider-pg
 * one here), so the same added time reads as a smaller share of the slower one: the added time is the fair comparison.
 */
function addedWallMedian(group: GroupResult, index: number): number {
  const base = group.samples[0]!.ms
  const added = group.samples[index]!.ms.map((ms, round) => ((ms - base[round]!) * 1_000) / group.opsPerSample).sort((a, b) => a - b)
  return added[Math.floor(added.length / 2)] ?? 0
}
const [tessera, raw, channelsOnly, commenterGroup] = groups as [GroupResult, GroupResult, GroupResult, GroupResult]
writeReport(
  'observability',
  '`@tessera/observability` on `@tessera/provider-pg` against the same statements on a raw `pg.Pool` with `@opentelemetry/instrumentation-pg` (0.76), each against its own uninstrumented baseline, one connection each, one statement at a time (`SELECT $1::int, $2::text`).',
  groups,
  [
    `instrument() + SDK: ${ratio(tessera, 3).toFixed(3)} of none with a simple span processor, ${ratio(tessera, 4).toFixed(3)} with a batch span processor (goal ≥ 0.85); API only: ${ratio(tessera, 2).toFixed(3)} (goal ≥ 0.97).`,
    `instrumentation-pg + SDK: ${ratio(raw, 1).toFixed(3)} of raw pg.Pool (simple), ${ratio(raw, 2).toFixed(3)} (batch). Overhead: ours ${((1 - ratio(tessera, 3)) * 100).toFixed(1)} % / ${((1 - ratio(tessera, 4)) * 100).toFixed(1)} %, theirs ${((1 - ratio(raw, 1)) * 100).toFixed(1)} % / ${((1 - ratio(raw, 2)) * 100).toFixed(1)} % (simple / batch; goal: ours lower).`,
    `Wall time added per statement, median over rounds: ours ${addedWallMedian(tessera, 3).toFixed(1)} µs with the SDK (${addedWallMedian(tessera, 4).toFixed(1)} µs batch), ${addedWallMedian(tessera, 2).toFixed(1)} µs API only, ${addedWallMedian(tessera, 1).toFixed(1)} µs for core's publishing alone; instrumentation-pg ${addedWallMedian(raw, 1).toFixed(1)} µs (${addedWallMedian(raw, 2).toFixed(1)} µs batch).`,
    `Client CPU added per statement: ours ${(cpu(tessera, 3) - cpu(tessera, 0)).toFixed(1)} µs with the SDK, ${(cpu(tessera, 2) - cpu(tessera, 0)).toFixed(1)} µs API only; instrumentation-pg ${(cpu(raw, 1) - cpu(raw, 0)).toFixed(1)} µs.`,
    `Client CPU added per statement, median over rounds: ours ${addedCpuMedian(tessera, 3).toFixed(1)} µs with the SDK (${addedCpuMedian(tessera, 4).toFixed(1)} µs batch), ${addedCpuMedian(tessera, 2).toFixed(1)} µs API only, ${addedCpuMedian(tessera, 1).toFixed(1)} µs for core's publishing alone; instrumentation-pg ${addedCpuMedian(raw, 1).toFixed(1)} µs (${addedCpuMedian(raw, 2).toFixed(1)} µs batch).`,
    `Without I/O (the messages of one statement published by hand): instrument() costs ${(cpu(channelsOnly, 2) - cpu(channelsOnly, 0)).toFixed(2)} µs of client CPU per statement with the API only and ${(cpu(channelsOnly, 3) - cpu(channelsOnly, 0)).toFixed(2)} µs with the SDK (span, attributes, three histogram samples); do-nothing subscribers cost ${(cpu(channelsOnly, 1) - cpu(channelsOnly, 0)).toFixed(2)} µs.`,
    `SQL commenter: ${ratio(commenterGroup, 2).toFixed(3)} of the same statement prepared and uncommented, ${(cpu(commenterGroup, 2) - cpu(commenterGroup, 0)).toFixed(1)} µs client CPU per statement; going unprepared alone (no comment, no hooks): ${ratio(commenterGroup, 1).toFixed(3)}, ${(cpu(commenterGroup, 1) - cpu(commenterGroup, 0)).toFixed(1)} µs; so the comment and the hook themselves: ${(cpu(commenterGroup, 2) - cpu(commenterGroup, 1)).toFixed(1)} µs. With fixed tags only (the statement stays prepared): ${ratio(commenterGroup, 3).toFixed(3)}, ${(cpu(commenterGroup, 3) - cpu(commenterGroup, 0)).toFixed(1)} µs.`,
    `Core's own publishing to do-nothing subscribers (query, pool acquire and release channels): ${ratio(tessera, 1).toFixed(3)} of none, ${(cpu(tessera, 1) - cpu(tessera, 0)).toFixed(1)} µs client CPU per statement; instrument() adds its work on top of that floor.`,
    "No context manager is registered in this process (the API-only case must have no SDK at all), so neither side propagates context here; with the Node SDK's AsyncLocalStorage context manager both pay its promise hooks on every await as well.",
    "Both record a span per statement and the db.client.operation.duration histogram through the same SDK providers; ours also records the pool wait and use histograms per statement and keeps the dashboard counters. Most of the SDK case is the SDK itself: hashing each histogram sample's attributes, creating and exporting the span, and the garbage they leave (a CPU profile of the no-I/O case shows it).",
    `Client and server share one 2-core machine (load average ${loadBefore.toFixed(1)} when the run began, ${loadavg()[0]!.toFixed(1)} at its end${loadBefore < 1 && loadavg()[0]! < 1.5 ? ': quiet' : ': other jobs were running'}); cores ${pinning?.description ?? 'not pinned'}. Ops/s and ratios swing between runs; client CPU / op is the steadier number.`,
  ],
)
process.exit(0)
