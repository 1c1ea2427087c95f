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
  private readonly callbacks: Array<{ meter: Meter; remove: () => void }> = []

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
    if (this.settled) return this.instrumentsValue!
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

  /** Stops the observable instruments' callbacks. */
  close(): void {
    this.removeCallbacks()
  }

  private removeCallbacks(): void {
    for (const { remove } of this.callbacks.splice(0)) remove()
  }

  private create(meter: Meter): Instruments {
    const seconds = (name: string, description: string) =>
      meter.createHistogram(name, { unit: 's', description, advice: { explicitBucketBoundaries: DURATION_BUCKETS_S } })
    const state = this.state
    const poolGauge = (name: string, description: string, pick: string) => {
      const gauge = meter.createObservableUpDownCounter(name, { unit: '{connection}', description })
      const callback = (result: ObservableResult) =>
        state.observePools((metric, attributes, value) => {
          if (metric === pick) result.observe(value, attributes)
        })
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
    const pendingCallback = (result: ObservableResult) =>
      state.observePools((metric, attributes, value) => {
        if (metric === 'pending_requests') result.observe(value, attributes)
      })
    pending.addCallback(pendingCallback)
    this.callbacks.push({ meter, remove: () => pending.removeCallback(pendingCallback) })
    const breakerState = meter.createObservableGauge('tessera.breaker.state', {
      description: 'A circuit breaker: 0 closed, 1 half-open, 2 open.',
    })
    const breakerCallback = (result: ObservableResult) => state.observeBreakers((attributes, value) => result.observe(value, attributes))
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
    const lagSecondsCallback = (result: ObservableResult) => lagCallback(result, 'seconds')
    const lagBytesCallback = (result: ObservableResult) => lagCallback(result, 'bytes')
    lagSeconds.addCallback(lagSecondsCallback)
    lagBytes.addCallback(lagBytesCallback)
    this.callbacks.push({ meter, remove: () => lagSeconds.removeCallback(lagSecondsCallback) })
    this.callbacks.push({ meter, remove: () => lagBytes.removeCallback(lagBytesCallback) })

    return {
      operationDuration: seconds('db.client.operation.duration', 'Duration of database client operations.'),
      connectionTimeouts: meter.createCounter('db.client.connection.timeouts', {
        unit: '{timeout}',
        description: 'Acquires that gave up waiting for a connection.',
      }),
      connectionCreateTime: seconds('db.client.connection.create_time', 'Time it took to open a connection.'),
      connectionWaitTime: seconds('db.client.connection.wait_time', 'Time waited for a connection from the pool.'),
      connectionUseTime: seconds('db.client.connection.use_time', 'Time a connection was held before being given back.'),
      transactionDuration: seconds('tessera.db.transaction.duration', 'Duration of transactions, BEGIN to COMMIT or ROLLBACK.'),
      transactionRetries: meter.createCounter('tessera.db.transaction.retries', {
        unit: '{retry}',
        description: 'Transaction attempts after the first.',
      }),
      errors: meter.createCounter('tessera.db.client.errors', { unit: '{error}', description: 'Failed operations, by error.type.' }),
      cacheRequests: meter.createCounter('tessera.cache.requests', {
        unit: '{request}',
        description: 'Cache reads, by result (hit, miss, stale) and tier (l1, l2, origin).',
      }),
      breakerTransitions: meter.createCounter('tessera.breaker.transitions', {
        unit: '{transition}',
        description: 'Circuit breaker state changes, by the state entered.',
      }),
      clusterRoutes: meter.createCounter('tessera.cluster.routes', {
        unit: '{statement}',
        description: 'Statements routed, by node, role and reason.',
      }),
      clusterFailovers: meter.createCounter('tessera.cluster.failovers', { unit: '{failover}', description: 'Primary changes or losses.' }),
      dynamoCapacity: meter.createCounter('tessera.dynamodb.consumed_capacity', {
        unit: '{capacity_unit}',
        description: 'DynamoDB capacity units consumed, by table and command.',
      }),
      dynamoDuration: seconds('tessera.dynamodb.operation.duration', 'Duration of DynamoDB commands.'),
    }
  }
}
