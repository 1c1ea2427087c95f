import { type ListenOptions, type Notification, type Subscription, TesseraError } from '@tessera/core'
import type { ClusterEvent, ClusterEvents } from './cluster-events'
import type { ClusterNode } from './cluster-node'

/**
 * LISTEN on the primary `node`; when another node becomes primary the channel is listened to on it, the old
 * subscription is dropped and `onRestored` is called. Notifications sent in between are missed (as with any lost
 * LISTEN connection); a failed move is reported to `onLost`.
 */
export async function listenOnPrimary(
  node: ClusterNode,
  currentPrimary: () => ClusterNode | undefined,
  events: ClusterEvents,
  channel: string,
  onNotify: (notification: Notification) => void,
  options: ListenOptions | undefined,
): Promise<Subscription> {
  let listeningOn = node
  let current = await node.provider.listen(channel, onNotify, options)
  let active = true
  const stop = events.on((event: ClusterEvent) => {
    if (!active || event.kind !== 'failover' || event.to === undefined || event.to === listeningOn.name) return
    const next = currentPrimary()
    if (next === undefined) return
    const previous = current
    listeningOn = next
    next.provider.listen(channel, onNotify, options).then(
      (subscription) => {
        if (!active) {
          subscription.unlisten().catch(() => {})
          return
        }
        current = subscription
        previous.unlisten().catch(() => {})
        options?.onRestored?.()
      },
      (error: unknown) => {
        const lost = error instanceof TesseraError ? error : new TesseraError(String(error), { code: 'CLUSTER_LISTEN_LOST', cause: error })
        options?.onLost?.(lost)
      },
    )
  })
  return {
    channel,
    async unlisten() {
      active = false
      stop()
      await current.unlisten()
    },
  }
}
