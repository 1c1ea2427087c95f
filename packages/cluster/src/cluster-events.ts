import {
  CHANNELS,
  type ClusterFailoverMessage,
  type ClusterNodeMessage,
  type ClusterRouteMessage,
  hasSubscribers,
  publish,
} from '@tessera/core'

/** One event of a cluster: a node's change (`kind: 'node'`) or a change of primary (`kind: 'failover'`). */
export type ClusterEvent = ({ kind: 'node' } & ClusterNodeMessage) | ({ kind: 'failover' } & ClusterFailoverMessage)

export type ClusterEventListener = (event: ClusterEvent) => void

/**
 * Delivers cluster events to `cluster.on` listeners, the `onEvent` option and the `tessera:cluster:node` /
 * `tessera:cluster:failover` diagnostics channels. A listener that throws is ignored: events never break routing.
 */
export class ClusterEvents {
  private readonly listeners = new Set<ClusterEventListener>()

  constructor(
    private readonly cluster: string | undefined,
    onEvent: ClusterEventListener | undefined,
  ) {
    if (onEvent !== undefined) this.listeners.add(onEvent)
  }

  on(listener: ClusterEventListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  node(message: Omit<ClusterNodeMessage, 'cluster'>): void {
    const full: ClusterNodeMessage = { cluster: this.cluster, ...message }
    if (hasSubscribers(CHANNELS.clusterNode)) publish(CHANNELS.clusterNode, full)
    this.emit({ kind: 'node', ...full })
  }

  failover(message: Omit<ClusterFailoverMessage, 'cluster'>): void {
    const full: ClusterFailoverMessage = { cluster: this.cluster, ...message }
    if (hasSubscribers(CHANNELS.clusterFailover)) publish(CHANNELS.clusterFailover, full)
    this.emit({ kind: 'failover', ...full })
  }

  /**
   * Publishes a replica's lag at a health check (`event: 'lag'`) on `tessera:cluster:node` only, and only when it has
   * subscribers: a per-check measurement for gauges, not an event for `cluster.on` listeners.
   */
  lag(node: string, lagBytes: number | undefined, lagMs: number | undefined): void {
    if (!hasSubscribers(CHANNELS.clusterNode)) return
    const message: ClusterNodeMessage = { cluster: this.cluster, node, event: 'lag', role: 'replica', lagBytes, lagMs }
    publish(CHANNELS.clusterNode, message)
  }

  /** Publishes where a statement went, only when `tessera:cluster:route` has subscribers. */
  route(target: string, role: 'primary' | 'replica', reason: string): void {
    if (!hasSubscribers(CHANNELS.clusterRoute)) return
    const message: ClusterRouteMessage = { cluster: this.cluster, target, role, reason }
    publish(CHANNELS.clusterRoute, message)
  }

  private emit(event: ClusterEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event)
      } catch {
        // A listener's bug must not break health checks or routing.
      }
    }
  }
}
