import { context } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { AggregationTemporality, type DataPoint, MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'

export { PG_URL, REDIS_URL, uniqueName } from '../../../tooling/test-services/env'

/** A metric reader the test collects from on demand. */
class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE })
  }
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

let contextManagerSet = false

/** The real SDK with in-memory exporters: what spans ended, what the metrics hold now. */
export function createSdk() {
  if (!contextManagerSet) {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
    contextManagerSet = true
  }
  const exporter = new InMemorySpanExporter()
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const reader = new TestReader()
  const meterProvider = new MeterProvider({ readers: [reader] })
  return {
    tracerProvider,
    meterProvider,
    spans: (): ReadableSpan[] => exporter.getFinishedSpans(),
    reset: () => exporter.reset(),
    async metrics(): Promise<ResourceMetrics> {
      const { resourceMetrics } = await reader.collect()
      return resourceMetrics
    },
    /** The data points of one metric, by name. */
    async points(name: string): Promise<Array<DataPoint<unknown>>> {
      const { resourceMetrics } = await reader.collect()
      const points: Array<DataPoint<unknown>> = []
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const metric of scope.metrics)
          if (metric.descriptor.name === name) points.push(...(metric.dataPoints as Array<DataPoint<unknown>>))
      }
      return points
    },
    async shutdown() {
      await tracerProvider.shutdown()
      await meterProvider.shutdown()
    },
  }
}

/** Waits until `check` is true, polling (never a fixed sleep as the assertion). */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
