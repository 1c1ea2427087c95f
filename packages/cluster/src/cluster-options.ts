import { ConfigError, describeValue, type Provider } from '@tessera/core'
import type { ClusterEventListener } from './cluster-events'
import type { TenancyOptions } from './tenancy'

/** How a read picks among the fit replicas. */
export type ReplicaStrategy = 'least-busy' | 'round-robin' | 'random' | 'latency'

/** Where a statement goes: the primary, or a replica. */
export type Route = 'primary' | 'replica'

/** A node given as a provider you created (any driver). */
export interface ClusterProviderNode {
  /** Unique among the nodes; shown in events, errors and stats. */
  name: string
  provider: Provider
}

/** A node given as a connection string; the cluster creates its provider with core's `createProvider`. */
export interface ClusterUrlNode {
  name: string
  /** A libpq connection URI for this node. */
  url: string
}

export type ClusterNodeOptions = ClusterProviderNode | ClusterUrlNode

/** Options of {@link createCluster}. */
export interface ClusterOptions {
  /**
   * The nodes, as providers or connection strings. Roles are not configured: each node's role is discovered with
   * `pg_is_in_recovery()` at start and on every health check. Required, at least one, names unique.
   */
  nodes: readonly ClusterNodeOptions[]
  /** Names this cluster in events and diagnostics messages. Default: none. */
  name?: string | undefined
  /**
   * Tenancy for `cluster.forTenant(id)`: the same options as `tenancy(provider, options)`, over this cluster, so a
   * tenant's reads go to replicas and its writes to the primary. Default: none (`forTenant` throws `ConfigError`).
   */
  tenancy?: TenancyOptions | undefined
  /** The driver for nodes given as `url` (`'pg'` or `'postgres.js'`). Required when a node has a `url`. */
  driver?: string | undefined
  /** Options for every provider created from a `url` (pool size, timeouts…), passed to `createProvider`. Default: `{}`. */
  providerOptions?: Record<string, unknown> | undefined
  /** How reads pick a replica. Default: `'least-busy'` (fewest in flight, ties broken by lower latency). */
  strategy?: ReplicaStrategy | undefined
  /** A replica more than this many ms behind gets no reads. Default: none. */
  maxLagMs?: number | undefined
  /** A replica more than this many bytes of WAL behind gets no reads. Default: none. */
  maxLagBytes?: number | undefined
  /**
   * What a read does when no replica is fit: `'primary'` runs it on the primary, `'error'` rejects it with
   * `NoReplicaAvailableError`. Default: `'primary'`.
   */
  fallback?: 'primary' | 'error' | undefined
  healthCheck?: HealthCheckOptions | undefined
  failover?: FailoverOptions | undefined
  readYourWrites?: ReadYourWritesOptions | undefined
  /** Called with every cluster event (also available through `cluster.on`). Default: none. */
  onEvent?: ClusterEventListener | undefined
}

/** How nodes are watched. */
export interface HealthCheckOptions {
  /** Every node's role, WAL position and lag are read this often, ms. Default: `1000`. */
  intervalMs?: number | undefined
  /** A probe that takes longer fails, ms. Default: `2000`. */
  timeoutMs?: number | undefined
  /** Longest wait between two probes of an ejected node (the wait doubles from `intervalMs`), ms. Default: `10000`. */
  maxBackoffMs?: number | undefined
}

/** How the cluster behaves while it has no primary. */
export interface FailoverOptions {
  /** How long a write that was never sent waits for a new primary, ms. Default: `10000`. */
  waitMs?: number | undefined
  /** While there is no primary, every node is probed this often, ms. Default: `200`. */
  probeIntervalMs?: number | undefined
}

/** Read-your-writes inside `cluster.session()` and with `{ after: token }`. */
export interface ReadYourWritesOptions {
  /**
   * How long a read waits for a replica to replay past the scope's position before it goes to the primary, ms.
   * `0` goes to the primary at once. Default: `0`.
   */
  waitMs?: number | undefined
}

/** The options with every default applied. */
export interface ResolvedClusterOptions {
  name: string | undefined
  strategy: ReplicaStrategy
  maxLagMs: number | undefined
  maxLagBytes: number | undefined
  fallback: 'primary' | 'error'
  healthIntervalMs: number
  healthTimeoutMs: number
  maxBackoffMs: number
  failoverWaitMs: number
  failoverProbeIntervalMs: number
  readYourWritesWaitMs: number
  tenancy: TenancyOptions | undefined
}

const STRATEGIES: readonly ReplicaStrategy[] = ['least-busy', 'round-robin', 'random', 'latency']

/** Checks every option before any connection is made; a `ConfigError` lists every problem at once. */
export function validateClusterOptions(options: ClusterOptions): ResolvedClusterOptions {
  const subject = 'createCluster options'
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(`options are ${describeValue(options)}; expected an object such as { nodes: [...] }`, { subject })
  }
  const problems: string[] = []
  const nodes: unknown = options.nodes
  if (!Array.isArray(nodes) || nodes.length === 0) {
    problems.push(`nodes is ${describeValue(nodes)}; expected a non-empty array of { name, provider } or { name, url }`)
  } else {
    const seen = new Set<string>()
    nodes.forEach((node: unknown, index) => {
      const entry = node as Partial<ClusterProviderNode & ClusterUrlNode> | null
      if (typeof entry !== 'object' || entry === null) {
        problems.push(`nodes[${index}] is ${describeValue(node)}; expected { name, provider } or { name, url }`)
        return
      }
      if (typeof entry.name !== 'string' || entry.name === '') {
        problems.push(`nodes[${index}].name is ${describeValue(entry.name)}; expected a non-empty string`)
      } else if (seen.has(entry.name)) {
        problems.push(`nodes[${index}].name ${JSON.stringify(entry.name)} is used by another node; names must be unique`)
      } else {
        seen.add(entry.name)
      }
      const hasProvider = entry.provider !== undefined
      const hasUrl = entry.url !== undefined
      if (hasProvider === hasUrl) {
        problems.push(`nodes[${index}] has ${hasProvider ? 'both provider and url' : 'neither provider nor url'}; give exactly one`)
      } else if (hasUrl && (typeof entry.url !== 'string' || entry.url === '')) {
        problems.push(`nodes[${index}].url is ${describeValue(entry.url)}; expected a connection string`)
      } else if (hasUrl && (typeof options.driver !== 'string' || options.driver === '')) {
        problems.push(`nodes[${index}] has a url, so driver is required (got ${describeValue(options.driver)}); e.g. driver: 'pg'`)
      } else if (hasProvider && typeof (entry.provider as Provider | null)?.query !== 'function') {
        problems.push(`nodes[${index}].provider is ${describeValue(entry.provider)}; expected a Provider`)
      }
    })
  }
  if (options.strategy !== undefined && !STRATEGIES.includes(options.strategy)) {
    problems.push(`strategy is ${describeValue(options.strategy)}; accepted: ${STRATEGIES.map((s) => `'${s}'`).join(', ')}`)
  }
  if (options.fallback !== undefined && options.fallback !== 'primary' && options.fallback !== 'error') {
    problems.push(`fallback is ${describeValue(options.fallback)}; accepted: 'primary', 'error'`)
  }
  const number = (path: string, value: unknown, min: number, fallback: number | undefined) => {
    if (value === undefined) return fallback
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
      problems.push(`${path} is ${describeValue(value)}; expected a number >= ${min}`)
      return fallback
    }
    return value
  }
  const resolved: ResolvedClusterOptions = {
    name: options.name,
    strategy: options.strategy ?? 'least-busy',
    maxLagMs: number('maxLagMs', options.maxLagMs, 0, undefined),
    maxLagBytes: number('maxLagBytes', options.maxLagBytes, 0, undefined),
    fallback: options.fallback ?? 'primary',
    healthIntervalMs: number('healthCheck.intervalMs', options.healthCheck?.intervalMs, 10, 1_000) as number,
    healthTimeoutMs: number('healthCheck.timeoutMs', options.healthCheck?.timeoutMs, 1, 2_000) as number,
    maxBackoffMs: number('healthCheck.maxBackoffMs', options.healthCheck?.maxBackoffMs, 10, 10_000) as number,
    failoverWaitMs: number('failover.waitMs', options.failover?.waitMs, 0, 10_000) as number,
    failoverProbeIntervalMs: number('failover.probeIntervalMs', options.failover?.probeIntervalMs, 10, 200) as number,
    readYourWritesWaitMs: number('readYourWrites.waitMs', options.readYourWrites?.waitMs, 0, 0) as number,
    tenancy: options.tenancy,
  }
  if (options.tenancy !== undefined && (typeof options.tenancy !== 'object' || options.tenancy === null)) {
    problems.push(`tenancy is ${describeValue(options.tenancy)}; expected tenancy options such as { strategy: 'schema' }`)
  }
  if (options.name !== undefined && typeof options.name !== 'string')
    problems.push(`name is ${describeValue(options.name)}; expected a string`)
  if (options.onEvent !== undefined && typeof options.onEvent !== 'function') {
    problems.push(`onEvent is ${describeValue(options.onEvent)}; expected a function`)
  }
  if (problems.length > 0) throw new ConfigError(problems, { subject })
  return resolved
}
