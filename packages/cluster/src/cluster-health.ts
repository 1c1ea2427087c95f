import type { HealthReport, PoolStats } from '@tessera/core'
import type { ClusterNode } from './cluster-node'

/**
 * The cluster's health from what the last probes found: `up` when every node is up and within the lag limits,
 * `degraded` when some are not, `down` without a primary. One check per node.
 */
export function clusterHealth(nodes: readonly ClusterNode[], primary: ClusterNode | undefined): HealthReport {
  const checks: Record<string, HealthReport> = {}
  for (const node of nodes) {
    checks[node.name] = {
      status: node.state === 'up' ? (node.overLag ? 'degraded' : 'up') : 'down',
      latencyMs: node.latencyMs,
      details: { role: node.role, state: node.state, lagBytes: node.lagBytes, lagMs: node.lagMs },
      ...(node.lastError === undefined ? {} : { error: node.lastError }),
    }
  }
  const allUp = Object.values(checks).every((check) => check.status === 'up')
  return {
    status: primary === undefined ? 'down' : allUp ? 'up' : 'degraded',
    details: { primary: primary?.name },
    checks,
  }
}

/** The nodes' pool statistics summed, with each node's own under `nodes`. */
export function clusterStats(nodes: readonly ClusterNode[]): PoolStats {
  const total: PoolStats = { size: 0, idle: 0, inUse: 0, pending: 0, max: 0, created: 0, destroyed: 0, timeouts: 0 }
  const perNode: Record<string, PoolStats> = {}
  for (const node of nodes) {
    const stats = node.provider.stats()
    perNode[node.name] = stats
    total.size += stats.size
    total.idle += stats.idle
    total.inUse += stats.inUse
    total.pending += stats.pending
    total.max += stats.max
    total.created += stats.created
    total.destroyed += stats.destroyed
    total.timeouts += stats.timeouts
  }
  total.nodes = perNode
  return total
}
