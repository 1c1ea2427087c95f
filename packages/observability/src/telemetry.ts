import {
  type Attributes,
  type Counter,
  type Histogram,
  type Meter,
  type MeterProvider,
  metrics,
  type ObservableResult,
  ProxyTracerProvider,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api'

const SCOPE = '@tessera/observability'

/** The API's no-op tracer provider: what the global proxy delegates to while no SDK is registered. */
const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate()

/** The buckets OpenTelemetry's database conventions recommend for durations in seconds. */
export const DURATION_BUCKETS_S = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10]

/** How many samples {@link SampleBuffer} keeps before it records them. */
const BUFFERED_SAMPLES = 256

/**
 * Samples of the synchronous instruments, kept for a moment and recorded together. Recording one sample into an SDK
 * runs a long path (its attributes hashed, a series found, the aggregation updated); recorded one statement at a time,
 * between the driver's, the kernel's and the server's work, that path runs with cold CPU caches and costs several times
 * what it costs in a tight loop. So samples are recorded in runs: when the buffer is full, at the start of every
 * collection (the SDK runs the observable callbacks, where it is flushed, before it reads the synchronous instruments),
 * and at `uninstrument()`. Only used with a real meter: the API's no-op instruments cost nothing to call directly.
 */
class SampleBuffer {
  private readonly targets: Array<Histogram | Counter | undefined> = []
  private readonly values = new Float64Array(BUFFERED_SAMPLES)
  private readonly attributes: Array<Attributes | undefined> = []
  /** 1: `record` (a histogram), 0: `add` (a counter). */
  private readonly records = new Uint8Array(BUFFERED_SAMPLES)
  private length = 0
  /** Set at `uninstrument()`: the samples of operations still in flight are recorded at once (no collection flushes). */
  direct = false

  push(target: Histogram | Counter, isHistogram: boolean, value: number, attributes: Attributes): void {
    const at = this.length
    this.targets[at] = target
    this.values[at] = value
    this.attributes[at] = attributes
    this.records[at] = isHistogram ? 1 : 0
    this.length = at + 1
    if (this.length === BUFFERED_SAMPLES || this.direct) this.flush()
  }

  flush(): void {
    const length = this.length
    if (length === 0) return
    // Emptied first: a sample pushed while flushing (never, but cheaply safe) starts a new run.
    this.length = 0
    for (let i = 0; i < length; i++) {
      const target = this.targets[i]!
      const attributes = this.attributes[i]!
      this.targets[i] = undefined
      this.attributes[i] = undefined
      if (this.records[i] === 1) (target as Histogram).record(this.values[i]!, attributes)
      else (target as Counter).add(this.values[i]!, attributes)
    }
  }
}

/** Every instrument {@link instrument} records on, created on one meter. */
export interface Instruments {
  operationDuration: Histogram
  connectionTimeouts: Counter
  connectionCreateTime: Histogram
  connectionWaitTime: Histogram
  connectionUseTime: Histogram
  transactionDuration: Histogram
  transactionRetries: Counter
  errors: Counter
  cacheRequests: Counter
  breakerTransitions: Counter
  clusterRoutes: Counter
  clusterFailovers: Counter
  dynamoCapacity: Counter
  dynamoDuration: Histogram
}

/** What the observable instruments read at each collection. */
export interface ObservedState {
  observePools(report: (name: string, attributes: Attributes, value: number) => void): void
  observeBreakers(report: (attributes: Attributes, value: number) => void): void
  /** Each replica's last measured lag: seconds and bytes, either undefined when not measured. */
  observeReplicationLag(report: (attributes: Attributes, seconds: number | undefined, bytes: number | undefined) => void): void
}

/**
 * The tracer and the instruments, looked up lazily: with no provider given, the global ones are read at first use,
 * and the meter again until a real one is registered (the API's no-op meter would otherwise stay for good).
 */
export class Telemetry {
  private tracerValue: Tracer | undefined
  private meterProviderSeen: MeterProvider | undefined
  private instrumentsValue: Instruments | undefined
  private settled = false
  private closed = false
  private readonly callbacks: Array<{ meter: Meter; remove: () => void }> = []
  private readonly samples = new SampleBuffer()

  constructor(
    private readonly tracerProvider: TracerProvider | undefined,
    private readonly meterProvider: MeterProvider | undefined,
    private readonly state: ObservedState,
  ) {}

  get tracer(): Tracer {
    if (this.tracerValue === undefined) this.tracerValue = (this.tracerProvider ?? trace.getTracerProvider()).getTracer(SCOPE)
    return this.tracerValue
  }

  /**
   * Whether spans can be recorded: false only while no provider was given and no SDK is registered globally (the API's
   * no-op tracer then makes spans that record nothing, so an operation with no parent span can skip making one).
   */
  get tracing(): boolean {
    if (this.tracerProvider !== undefined) return true
    const global = trace.getTracerProvider() as { getDelegate?: () => TracerProvider }
    return typeof global.getDelegate !== 'function' || global.getDelegate() !== NOOP_TRACER_PROVIDER
  }

  get instruments(): Instruments {
    // Settled: a provider was given, or a real global one was found (only the API's no-op one is ever replaced).
    // Settled, or closed (operations in flight at uninstrument() record on what they started with, adding no callbacks).
    if (this.settled || (this.closed && this.instrumentsValue !== undefined)) return this.instrumentsValue!
    const provider = this.meterProvider ?? metrics.getMeterProvider()
    // The API's no-op provider has no forceFlush(); an SDK's has (the metrics API gives no other way to tell them apart).
    if (this.meterProvider !== undefined || typeof (provider as { forceFlush?: unknown }).forceFlush === 'function') this.settled = true
    if (this.instrumentsValue === undefined || provider !== this.meterProviderSeen) {
      this.meterProviderSeen = provider
      this.removeCallbacks()
      this.instrumentsValue = this.create(provider.getMeter(SCOPE))
    }
    return this.instrumentsValue
  }

  /** Records the buffered samples, then stops the observable instruments' callbacks. */
  close(): void {
    this.closed = true
    this.samples.direct = true
    this.removeCallbacks()
  }

  private removeCallbacks(): void {
    this.samples.flush()
    for (const { remove } of this.callbacks.splice(0)) remove()
  }

  private create(meter: Meter): Instruments {
    // With a real meter, samples go through the buffer (see SampleBuffer); the API's no-op ones are called directly.
    const buffered = this.settled
    const samples = this.samples
    const histogram = (instrument: Histogram): Histogram =>
      buffered ? { record: (value, attributes) => samples.push(instrument, true, value, attributes ?? {}) } : instrument
    const counter = (instrument: Counter): Counter =>
      buffered ? { add: (value, attributes) => samples.push(instrument, false, value, attributes ?? {}) } : instrument
    const seconds = (name: string, description: string) =>
      histogram(meter.createHistogram(name, { unit: 's', description, advice: { explicitBucketBoundaries: DURATION_BUCKETS_S } }))
    // Every observable callback records the buffered samples first: the SDK runs them before it reads the synchronous
    // instruments, so a collection sees every sample taken before it.
    const flushing =
      (callback: (result: ObservableResult) => void) =>
      (result: ObservableResult): void => {
        samples.flush()
        callback(result)
      }
    const state = this.state
    const poolGauge = (name: string, description: string, pick: string) => {
      const gauge = meter.createObservableUpDownCounter(name, { unit: '{connection}', description })
      const callback = flushing((result: ObservableResult) =>
        state.observePools((metric, attributes, value) => {
          if (metric === pick) result.observe(value, attributes)
        }),
      )
      gauge.addCallback(callback)
      this.callbacks.push({ meter, remove: () => gauge.removeCallback(callback) })
    }
    poolGauge('db.client.connection.count', 'Connections open, by state (idle, used).', 'count')
    poolGauge('db.client.connection.max', 'The most connections the pool opens.', 'max')
    poolGauge('db.client.connection.idle.max', 'The most idle connections the pool keeps.', 'idle.max')
    poolGauge('db.client.connection.idle.min', 'The fewest idle connections the pool keeps.', 'idle.min')
    const pending = meter.createObservableUpDownCounter('db.client.connection.pending_requests', {
      unit: '{request}',
      description: 'Callers waiting for a connection.',
    })
    const pendingCallback = flushing((result: ObservableResult) =>
      state.observePools((metric, attributes, value) => {
        if (metric === 'pending_requests') result.observe(value, attributes)
      }),
    )
    pending.addCallback(pendingCallback)
    this.callbacks.push({ meter, remove: () => pending.removeCallback(pendingCallback) })
    const breakerState = meter.createObservableGauge('tessera.breaker.state', {
      description: 'A circuit breaker: 0 closed, 1 half-open, 2 open.',
    })
    const breakerCallback = flushing((result: ObservableResult) =>
      state.observeBreakers((attributes, value) => result.observe(value, attributes)),
    )
    breakerState.addCallback(breakerCallback)
    this.callbacks.push({ meter, remove: () => breakerState.removeCallback(breakerCallback) })
    const lagSeconds = meter.createObservableGauge('tessera.cluster.replication.lag', {
      unit: 's',
      description: "A replica's replay lag behind the primary in time, at the cluster's last health check.",
    })
    const lagBytes = meter.createObservableGauge('tessera.cluster.replication.lag_bytes', {
      unit: 'By',
      description: "A replica's replay lag behind the primary's WAL insert position, at the cluster's last health check.",
    })
    const lagCallback = (result: ObservableResult, pick: 'seconds' | 'bytes') =>
      state.observeReplicationLag((attributes, seconds, bytes) => {
        const value = pick === 'seconds' ? seconds : bytes
        if (value !== undefined) result.observe(value, attributes)
      })
    const lagSecondsCallback = flushing((result: ObservableResult) => lagCallback(result, 'seconds'))
    const lagBytesCallback = flushing((result: ObservableResult) => lagCallback(result, 'bytes'))
    lagSeconds.addCallback(lagSecondsCallback)
    lagBytes.addCallback(lagBytesCallback)
    this.callbacks.push({ meter, remove: () => lagSeconds.removeCallback(lagSecondsCallback) })
    this.callbacks.push({ meter, remove: () => lagBytes.removeCallback(lagBytesCallback) })

    return {
      operationDuration: seconds('db.client.operation.duration', 'Duration of database client operations.'),
      connectionTimeouts: counter(
        meter.createCounter('db.client.connection.timeouts', {
          unit: '{timeout}',
          description: 'Acquires that gave up waiting for a connection.',
        }),
      ),
      connectionCreateTime: seconds('db.client.connection.create_time', 'Time it took to open a connection.'),
      connectionWaitTime: seconds('db.client.connection.wait_time', 'Time waited for a connection from the pool.'),
      connectionUseTime: seconds('db.client.connection.use_time', 'Time a connection was held before being given back.'),
      transactionDuration: seconds('tessera.db.transaction.duration', 'Duration of transactions, BEGIN to COMMIT or ROLLBACK.'),
      transactionRetries: counter(
        meter.createCounter('tessera.db.transaction.retries', {
          unit: '{retry}',
          description: 'Transaction attempts after the first.',
        }),
      ),
      errors: counter(
        meter.createCounter('tessera.db.client.errors', { unit: '{error}', description: 'Failed operations, by error.type.' }),
      ),
      cacheRequests: counter(
        meter.createCounter('tessera.cache.requests', {
          unit: '{request}',
          description: 'Cache reads, by result (hit, miss, stale) and tier (l1, l2, origin).',
        }),
      ),
      breakerTransitions: counter(
        meter.createCounter('tessera.breaker.transitions', {
          unit: '{transition}',
          description: 'Circuit breaker state changes, by the state entered.',
        }),
      ),
      clusterRoutes: counter(
        meter.createCounter('tessera.cluster.routes', {
          unit: '{statement}',
          description: 'Statements routed, by node, role and reason.',
        }),
      ),
      clusterFailovers: counter(
        meter.createCounter('tessera.cluster.failovers', { unit: '{failover}', description: 'Primary changes or losses.' }),
      ),
      dynamoCapacity: counter(
        meter.createCounter('tessera.dynamodb.consumed_capacity', {
          unit: '{capacity_unit}',
          description: 'DynamoDB capacity units consumed, by table and command.',
        }),
      ),
      dynamoDuration: seconds('tessera.dynamodb.operation.duration', 'Duration of DynamoDB commands.'),
    }
  }
}
