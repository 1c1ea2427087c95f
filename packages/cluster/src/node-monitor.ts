import { AbortError } from '@tessera/core'
import type { ClusterEvents } from './cluster-events'
import type { ClusterNode, ProbeResult } from './cluster-node'
import type { ResolvedClusterOptions } from './cluster-options'

/**
 * Watches the nodes: probes each one every health interval (an ejected one with exponential backoff), learns roles,
 * WAL positions and lag, chooses the primary (the higher timeline when two claim it; the other is fenced off), and
 * lets writes wait for a primary while there is none. It never promotes anyone.
 */
export class NodeMonitor {
  primary: ClusterNode | undefined
  private primaryLostAt: number | undefined
  /** The primary before the current loss, named as `from` when a new one is found. */
  private lostPrimary: string | undefined
  private readonly waiters = new Set<() => void>()
  private timer: ReturnType<typeof setTimeout> | undefined
  private round: Promise<void> | undefined
  /** The highest timeline any primary has shown: a node claiming the role on a lower one never gets it again. */
  private highestTimeline = 0
  /** The node that showed {@link highestTimeline}. */
  private highestTimelineFrom: string | undefined
  private closed = false

  constructor(
    private readonly nodes: readonly ClusterNode[],
    private readonly options: ResolvedClusterOptions,
    private readonly events: ClusterEvents,
  ) {}

  /** The first round: every node probed once; then the periodic checks start. */
  async start(): Promise<void> {
    await this.probeRound(true)
    this.schedule()
  }

  /** Probes now (every node when `all`), without waiting for the next tick. */
  probeRound(all = false): Promise<void> {
    this.round ??= this.runRound(all).finally(() => {
      this.round = undefined
    })
    return this.round
  }

  /** A statement on `node` lost its connection: eject it now and look again at once. */
  nodeFailed(node: ClusterNode, error: unknown): void {
    if (this.closed) return
    this.markDown(node, error)
    this.kick()
  }

  /** The primary refused a write as read-only (25006): it was demoted; find the primary again. */
  primaryDemoted(node: ClusterNode): void {
    if (this.primary !== node) return
    node.role = 'unknown'
    this.losePrimary('primary-demoted', undefined)
    this.kick()
  }

  /** Resolves with the primary once there is one, or undefined after `timeoutMs`. */
  async waitForPrimary(timeoutMs: number, signal: AbortSignal | undefined): Promise<ClusterNode | undefined> {
    if (this.primary !== undefined) return this.primary
    if (timeoutMs <= 0 || this.closed) return undefined
    signal?.throwIfAborted()
    this.kick()
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        this.waiters.delete(done)
        resolve()
      }
      const onAbort = () => {
        done()
        reject(new AbortError('the wait for a primary', { cause: signal?.reason }))
      }
      const timer = setTimeout(done, timeoutMs)
      timer.unref?.()
      this.waiters.add(done)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
    return this.primary
  }

  close(): void {
    this.closed = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    for (const wake of [...this.waiters]) wake()
  }

  private kick(): void {
    if (this.closed) return
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    void this.probeRound(this.primary === undefined).then(() => this.schedule())
  }

  private schedule(): void {
    if (this.closed) return
    if (this.timer !== undefined) clearTimeout(this.timer)
    const wait = this.primary === undefined ? this.options.failoverProbeIntervalMs : this.options.healthIntervalMs
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.probeRound(this.primary === undefined).then(() => this.schedule())
    }, wait)
    this.timer.unref?.()
  }

  private async runRound(all: boolean): Promise<void> {
    const now = Date.now()
    const due = this.nodes.filter((node) => all || node.state !== 'down' || now >= node.nextProbeAt)
    const results = await Promise.all(due.map((node) => node.probe(this.options.healthTimeoutMs)))
    if (this.closed) return
    due.forEach((node, index) => {
      const result = results[index] as ProbeResult | Error
      if (result instanceof Error) this.markDown(node, result)
      else this.markUp(node, result)
    })
    this.choosePrimary()
    this.measureLag()
  }

  private markDown(node: ClusterNode, error: unknown): void {
    node.failures++
    node.lastError = error instanceof Error ? error.message : String(error)
    const backoff = Math.min(this.options.maxBackoffMs, this.options.healthIntervalMs * 2 ** Math.min(node.failures - 1, 20))
    node.nextProbeAt = Date.now() + backoff * (0.75 + Math.random() * 0.5)
    // A node that never answered is reported once, at its first failure.
    if (node.state === 'down' && (node.downSince !== undefined || node.failures > 1)) return
    node.state = 'down'
    node.downSince = Date.now()
    this.events.node({
      node: node.name,
      event: node.role === 'replica' ? 'ejected' : 'down',
      role: node.role,
      failures: node.failures,
      error,
    })
    if (this.primary === node) this.losePrimary('primary-lost', error)
  }

  private markUp(node: ClusterNode, probe: ProbeResult): void {
    const previousRole = node.role
    node.role = probe.inRecovery ? 'replica' : 'primary'
    node.lsn = probe.lsn
    node.timeline = probe.timeline
    node.lagMs = probe.inRecovery ? probe.lagMs : 0
    node.failures = 0
    node.lastError = undefined
    if (previousRole !== 'unknown' && previousRole !== node.role) {
      this.events.node({ node: node.name, event: 'role-changed', role: node.role, previousRole })
      if (this.primary === node) this.losePrimary('primary-demoted', undefined)
    }
    if (node.state === 'fenced' && node.role === 'replica') node.state = 'up'
    if (node.state !== 'down') return
    node.state = 'up'
    const downForMs = node.downSince === undefined ? undefined : Date.now() - node.downSince
    this.events.node({ node: node.name, event: node.hasBeenUp ? 'readmitted' : 'up', role: node.role, downForMs })
    node.hasBeenUp = true
    node.downSince = undefined
  }

  private losePrimary(reason: string, error: unknown): void {
    const lost = this.primary
    if (lost === undefined) return
    this.primary = undefined
    this.primaryLostAt = Date.now()
    this.lostPrimary = lost.name
    this.events.failover({ from: lost.name, reason, error })
  }

  private choosePrimary(): void {
    const claimants = this.nodes.filter((node) => node.state !== 'down' && node.role === 'primary')
    // Every timeline seen counts, a replica's too: a replica streams its upstream's timeline, so one streaming a
    // later timeline than a claimant's follows a primary promoted after it. That catches an old primary restarted
    // after its replica was promoted even in a cluster created while the promoted node is out of its reach.
    for (const node of this.nodes) {
      if (node.state === 'down' || node.role === 'unknown' || node.timeline === undefined) continue
      if (node.timeline > this.highestTimeline) {
        this.highestTimeline = node.timeline
        this.highestTimelineFrom = node.name
      }
    }
    // A primary left behind on an older timeline has diverged: fence it, even when it is the only claimant.
    for (const node of claimants)
      if ((node.timeline ?? 0) < this.highestTimeline) this.fence(node, this.highestTimeline, this.highestTimelineFrom)
    const eligible = claimants.filter((node) => node.state !== 'fenced')
    if (eligible.length === 0) {
      if (this.primary !== undefined) this.losePrimary('primary-lost', undefined)
      return
    }
    // Two on the same (highest) timeline: keep the current primary, else the first in the nodes' order.
    const chosen = eligible.find((node) => node === this.primary) ?? (eligible[0] as ClusterNode)
    for (const node of eligible) if (node !== chosen) this.fence(node, chosen.timeline ?? 0, chosen.name)
    if (chosen === this.primary) return
    const from = this.primary?.name ?? this.lostPrimary
    const downForMs = this.primaryLostAt === undefined ? undefined : Date.now() - this.primaryLostAt
    this.primary = chosen
    this.primaryLostAt = undefined
    this.lostPrimary = undefined
    this.events.failover({
      from,
      to: chosen.name,
      reason: from === undefined && downForMs === undefined ? 'primary-found' : 'primary-changed',
      downForMs,
    })
    for (const wake of [...this.waiters]) wake()
  }

  private fence(node: ClusterNode, timeline: number, shownBy: string | undefined): void {
    if (node.state === 'fenced') return
    node.state = 'fenced'
    if (this.primary === node) this.losePrimary('primary-fenced', undefined)
    this.events.node({
      node: node.name,
      event: 'fenced',
      role: node.role,
      error: new Error(
        `${node.name} claims to be primary on timeline ${node.timeline ?? '?'}, but ${shownBy ?? 'another node'} is on timeline ${timeline}`,
      ),
    })
  }

  private measureLag(): void {
    const primaryLsn = this.primary?.lsn
    for (const node of this.nodes) {
      if (node.role !== 'replica' || node.state === 'down') continue
      node.lagBytes = primaryLsn === undefined || node.lsn === undefined ? undefined : Math.max(0, Number(primaryLsn - node.lsn))
      const over =
        (this.options.maxLagBytes !== undefined && node.lagBytes !== undefined && node.lagBytes > this.options.maxLagBytes) ||
        (this.options.maxLagMs !== undefined && node.lagMs !== undefined && node.lagMs > this.options.maxLagMs)
      this.events.lag(node.name, node.lagBytes, node.lagMs)
      if (over === node.overLag) continue
      node.overLag = over
      this.events.node({
        node: node.name,
        event: over ? 'lag-over-threshold' : 'lag-recovered',
        role: node.role,
        lagBytes: node.lagBytes,
        lagMs: node.lagMs,
      })
    }
  }
}
