import { ConnectionError, TesseraError } from '@tessera/core'

/**
 * No replica was fit for a read (all down, ejected or over the lag limits) and `fallback` is `'error'`. Retryable: a
 * replica may be fit again after the next health check. `reasons` says, per replica, why it was skipped.
 */
export class NoReplicaAvailableError extends TesseraError {
  readonly reasons: Readonly<Record<string, string>>
  constructor(reasons: Record<string, string>) {
    const list = Object.entries(reasons).map(([name, reason]) => `${name}: ${reason}`)
    super(`no replica can take the read (${list.length === 0 ? 'the cluster has no replica' : list.join('; ')}) and fallback is 'error'`, {
      code: 'CLUSTER_NO_REPLICA',
      retryable: true,
    })
    this.reasons = reasons
  }
}

/**
 * No node claimed to be the primary within `failover.waitMs`. The write was never sent, so running it again is safe:
 * a `ConnectionError` (08006), retryable.
 */
export class NoPrimaryError extends ConnectionError {
  readonly waitedMs: number
  constructor(waitedMs: number, nodes: Record<string, string>) {
    const list = Object.entries(nodes).map(([name, state]) => `${name}: ${state}`)
    super({
      code: '08006',
      message: `no primary found within ${waitedMs} ms (${list.join('; ')}); the statement was not sent`,
      retryable: true,
    })
    this.waitedMs = waitedMs
  }
}
