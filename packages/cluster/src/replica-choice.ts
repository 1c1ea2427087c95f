import type { ClusterNode } from './cluster-node'
import type { ReplicaStrategy } from './cluster-options'

/** Picks one of `candidates` (never empty) by the strategy; `counter` drives round-robin. */
export function chooseReplica(strategy: ReplicaStrategy, candidates: readonly ClusterNode[], counter: number): ClusterNode {
  if (candidates.length === 1) return candidates[0] as ClusterNode
  switch (strategy) {
    case 'round-robin':
      return candidates[counter % candidates.length] as ClusterNode
    case 'random':
      return candidates[Math.floor(Math.random() * candidates.length)] as ClusterNode
    case 'latency':
      return lowest(candidates, (node) => node.latencyMs ?? 0)
    case 'least-busy':
      // Fewest in flight, weighted by latency: a node twice as slow counts as twice as busy. Ties rotate.
      return lowest(candidates, (node) => (node.inFlight + 1) * Math.max(node.latencyMs ?? 1, 0.05), counter)
  }
}

function lowest(candidates: readonly ClusterNode[], cost: (node: ClusterNode) => number, rotate = 0): ClusterNode {
  const start = rotate % candidates.length
  let best = candidates[start] as ClusterNode
  let bestCost = cost(best)
  for (let offset = 1; offset < candidates.length; offset++) {
    const node = candidates[(start + offset) % candidates.length] as ClusterNode
    const nodeCost = cost(node)
    if (nodeCost < bestCost) {
      best = node
      bestCost = nodeCost
    }
  }
  return best
}
