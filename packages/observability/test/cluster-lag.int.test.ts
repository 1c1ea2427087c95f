import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics'
import { type Cluster, createCluster } from '@tessera/cluster'
import type { Provider } from '@tessera/core'
import { createPgProvider } from '@tessera/provider-pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type PgReplication, startPgReplication } from '../../../tooling/test-services/pg-replication'
import { instrument } from '../src/index'
import { createSdk, uniqueName, waitFor } from './support'

const sdk = createSdk()

/**
 * A delta reader: each collection holds only the series observed in it. (A cumulative reader keeps exporting a gauge's
 * last value after its callback stops observing it: the SDK's choice, so absence is checked here.)
 */
class DeltaReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.DELTA })
  }
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}
const reader = new DeltaReader()
const meterProvider = new MeterProvider({ readers: [reader] })
let set: PgReplication
let cluster: Cluster | undefined
const providers: Provider[] = []

beforeAll(async () => {
  set = await startPgReplication({ replicas: 1 })
}, 180_000)

afterAll(async () => {
  await cluster?.close()
  await Promise.all(providers.map((provider) => provider.close({ timeoutMs: 5_000 })))
  await sdk.shutdown()
  await meterProvider.shutdown()
  await set?.stop()
}, 60_000)

/** The lag gauges' values for one node: seconds and bytes, undefined when not reported. */
async function lagOf(node: string, clusterName: string): Promise<{ seconds: number | undefined; bytes: number | undefined }> {
  const { resourceMetrics } = await reader.collect()
  const pick = (metric: string) => {
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const found of scope.metrics) {
        if (found.descriptor.name !== metric) continue
        const point = found.dataPoints.find(
          (p) => p.attributes['tessera.cluster.node'] === node && p.attributes['tessera.cluster.name'] === clusterName,
        )
        if (point !== undefined) return point.value as number
      }
    }
    return undefined
  }
  return { seconds: pick('tessera.cluster.replication.lag'), bytes: pick('tessera.cluster.replication.lag_bytes') }
}

describe('cluster replication lag', () => {
  it('reports each replica lag per health check as gauges: growing while replay is paused, back to 0 after, gone once it is down', async () => {
    const instrumentation = instrument({ tracerProvider: sdk.tracerProvider, meterProvider })
    const name = uniqueName('obs_cluster')
    try {
      cluster = await createCluster({
        name,
        nodes: set.nodes.map((node) => {
          const provider = createPgProvider({ connectionString: node.url, pool: { max: 2 } })
          providers.push(provider)
          return { name: node.name, provider }
        }),
        healthCheck: { intervalMs: 100 },
      })
      const db = cluster
      // Measured from the first health checks: a replica in sync lags by nothing.
      await waitFor(async () => (await lagOf('replica1', name)).bytes !== undefined, 'a first lag sample', 30_000)
      expect(await lagOf('primary', name)).toEqual({ seconds: undefined, bytes: undefined })

      const table = uniqueName('obs_lag')
      await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY, note text)`, [], { route: 'primary' })
      await set.waitForReplicas()
      await set.pauseReplay(set.replicas[0]!)
      try {
        await db.query(`INSERT INTO ${table} SELECT g, repeat('x', 200) FROM generate_series(1, 500) g`, [], { route: 'primary' })
        await waitFor(
          async () => {
            const lag = await lagOf('replica1', name)
            return (lag.bytes ?? 0) > 10_000 && (lag.seconds ?? 0) > 0.2
          },
          'the lag to grow while replay is paused',
          30_000,
        )
      } finally {
        await set.resumeReplay(set.replicas[0]!)
      }
      await waitFor(async () => (await lagOf('replica1', name)).bytes === 0, 'the lag to go back to 0 after replay resumed', 30_000)
      expect((await lagOf('replica1', name)).seconds).toBe(0)
      await db.query(`DROP TABLE ${table}`, [], { route: 'primary' })
      // A replica that stops answering is ejected: its lag is no longer reported (rather than its last value).
      await set.stopNode(set.replicas[0]!)
      await waitFor(
        async () => {
          const lag = await lagOf('replica1', name)
          return lag.bytes === undefined && lag.seconds === undefined
        },
        'the stopped replica to leave the lag gauges',
        30_000,
      )
    } finally {
      instrumentation.uninstrument()
    }
  }, 120_000)
})
