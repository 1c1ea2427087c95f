import {
  type BatchOptions,
  type BatchQuery,
  ConfigError,
  ConnectionError,
  type CopyFromStream,
  type CopyOptions,
  type CopyToStream,
  createProvider,
  type HealthReport,
  isConnectionLoss,
  type ListenOptions,
  type MultiQueryOptions,
  type Notification,
  type PoolStats,
  type Provider,
  ProviderClosedError,
  type QueryOptions,
  type QueryResult,
  ReadOnlyTransactionError,
  type ReservedConnection,
  type ReserveOptions,
  type Row,
  type SqlInput,
  type StreamOptions,
  type Subscription,
  TesseraError,
  type Transaction,
  type TransactionOptions,
  TransactionResolutionUnknownError,
  toQueryConfig,
} from '@tessera/core'
import { NoPrimaryError, NoReplicaAvailableError } from './cluster-errors'
import { type ClusterEventListener, ClusterEvents } from './cluster-events'
import { clusterHealth, clusterStats } from './cluster-health'
import { ClusterNode, type ClusterNodeStatus } from './cluster-node'
import { type ClusterOptions, type ResolvedClusterOptions, type Route, validateClusterOptions } from './cluster-options'
import { formatLsn, type Lsn, parseConsistencyToken, parseLsn } from './lsn'
import { NodeMonitor } from './node-monitor'
import { listenOnPrimary } from './primary-subscription'
import { laterOf, type SessionScope, sessionStorage } from './read-your-writes'
import { chooseReplica } from './replica-choice'
import { isRoutableRead } from './routing-classifier'
import { type Tenancy, tenancy } from './tenancy'
import type { TenantScope } from './tenant-scope'

/** Per-call options of a cluster query: a provider's, plus where it goes and what it must see. */
export interface ClusterQueryOptions extends QueryOptions {
  /** Send it to the primary or to a replica, whatever the classifier says. Default: the classifier decides. */
  route?: Route | undefined
  /** A token from `cluster.consistencyToken()`: the read goes only to a node that has replayed past it. Default: none. */
  after?: string | undefined
}

/** Transaction options of a cluster: `readOnly: true` runs the whole transaction on one replica. */
export interface ClusterTransactionOptions extends TransactionOptions {
  /** For a read-only transaction: a token it must see, as {@link ClusterQueryOptions.after}. */
  after?: string | undefined
}

/** A `Provider` over a primary and its replicas. */
export interface Cluster extends Provider {
  query<R = Row>(sql: SqlInput<R>, params?: readonly unknown[], options?: ClusterQueryOptions): Promise<QueryResult<R>>
  transaction<T>(fn: (tx: Transaction) => Promise<T>, options?: ClusterTransactionOptions): Promise<T>
  /** The same cluster, every statement sent to the primary (and waiting for one during a failover). */
  readonly primary: Provider
  /** The same cluster, every statement sent to a replica (or the fallback), whatever the classifier says. */
  readonly replicas: Provider
  /**
   * Runs `fn` in a read-your-writes scope (AsyncLocalStorage): after a write or commit in it, its reads go only to
   * a replica that has replayed past that write, else to the primary.
   */
  session<T>(fn: () => Promise<T>): Promise<T>
  /**
   * A token naming the primary's WAL position now (in a session: the session's last write). Pass it as
   * `{ after: token }`, e.g. from the request that wrote to the one that reads, so the read sees the write.
   */
  consistencyToken(options?: { signal?: AbortSignal | undefined }): Promise<string>
  /** What the cluster knows about each node now. */
  nodes(): ClusterNodeStatus[]
  /** Listens to node and failover events; returns a function that stops listening. */
  on(listener: ClusterEventListener): () => void
  /** Runs a health check of every node now. */
  refresh(): Promise<void>
  /**
   * A scope that runs every statement for `tenantId`, by the `tenancy` option's strategy, routed like any other
   * statement (a tenant's reads on replicas). Throws `ConfigError` when the cluster has no `tenancy` option, and the
   * tenancy's errors for a bad id. `close()` closes the tenancy too.
   */
  forTenant(tenantId: string): TenantScope
}

const DRIVER = 'cluster'
const POSITION_SQL = 'SELECT pg_current_wal_insert_lsn()::text AS lsn'
const REPLAY_SQL = 'SELECT pg_last_wal_replay_lsn()::text AS lsn'
const REPLAY_POLL_MS = 10

/**
 * Creates a cluster over a primary and its streaming replicas: one `Provider` that sends writes, DDL, LISTEN/NOTIFY,
 * transactions that are not `readOnly` and every statement core's classifier cannot prove read-only to the primary,
 * and reads to a healthy replica within the lag limits. Roles are discovered (`pg_is_in_recovery()`), never
 * configured. Resolves once every node has been probed once; nodes that did not answer are reported in
 * `cluster.nodes()` and events, and re-probed with backoff. Rejects only when no node answers at all.
 *
 * @example
 * const cluster = await createCluster({
 *   driver: 'pg',
 *   nodes: [{ name: 'a', url: 'postgres://db-a/app' }, { name: 'b', url: 'postgres://db-b/app' }],
 * })
 * await cluster.query('INSERT INTO t VALUES (1)')     // the primary
 * await cluster.query('SELECT * FROM t')              // a replica
 */
export async function createCluster(options: ClusterOptions): Promise<Cluster> {
  const resolved = validateClusterOptions(options)
  const events = new ClusterEvents(resolved.name, options.onEvent)
  const nodes: ClusterNode[] = []
  const created: Provider[] = []
  try {
    for (const node of options.nodes) {
      if ('provider' in node && node.provider !== undefined) {
        nodes.push(new ClusterNode(node.name, node.provider))
        continue
      }
      const url = (node as { url: string }).url
      const provider = await createProvider({
        ...(options.providerOptions ?? {}),
        driver: options.driver as string,
        connectionString: url,
      } as Parameters<typeof createProvider>[0])
      created.push(provider)
      nodes.push(new ClusterNode(node.name, provider))
    }
  } catch (error) {
    await Promise.all(created.map((provider) => provider.close().catch(() => {})))
    throw error
  }
  const monitor = new NodeMonitor(nodes, resolved, events)
  await monitor.start()
  if (nodes.every((node) => node.state === 'down')) {
    monitor.close()
    await Promise.all(nodes.map((node) => node.provider.close().catch(() => {})))
    const reasons = nodes.map((node) => `${node.name}: ${node.lastError}`).join('; ')
    throw new ConnectionError({ message: `no node of the cluster answered (${reasons})`, retryable: true })
  }
  try {
    return new ClusterRouter(nodes, monitor, events, resolved).cluster
  } catch (error) {
    // Bad tenancy options: nothing stays open.
    monitor.close()
    await Promise.all(created.map((provider) => provider.close().catch(() => {})))
    throw error
  }
}

/** How a write runs on a provider; a transaction calls `onEntered` when its function starts. */
type WriteRun<T> = (target: Provider, onEntered: <U>(fn: () => Promise<U>) => Promise<U>) => Promise<T>

/** What one routed call needs to know. */
interface Routing {
  route: Route | undefined
  after: Lsn | undefined
  signal: AbortSignal | undefined
}

class ClusterRouter {
  readonly cluster: Cluster
  private closed = false
  private tenancy: Tenancy | undefined
  private closing: Promise<void> | undefined
  private counter = 0

  constructor(
    private readonly nodes: readonly ClusterNode[],
    private readonly monitor: NodeMonitor,
    private readonly events: ClusterEvents,
    private readonly options: ResolvedClusterOptions,
  ) {
    const primaryView = this.view('primary')
    const replicaView = this.view('replica')
    this.cluster = Object.assign(this.view(undefined), {
      primary: primaryView,
      replicas: replicaView,
      session<T>(fn: () => Promise<T>): Promise<T> {
        const outer = sessionStorage.getStore()
        // A nested session shares the outer one's position.
        if (outer !== undefined) return fn()
        return sessionStorage.run({ position: undefined, wroteSincePosition: false }, fn)
      },
      consistencyToken: (tokenOptions?: { signal?: AbortSignal | undefined }) => this.consistencyToken(tokenOptions?.signal),
      nodes: () => nodes.map((node) => node.status()),
      on: (listener: ClusterEventListener) => events.on(listener),
      refresh: () => monitor.probeRound(true),
      forTenant: (tenantId: string) => this.tenants().forTenant(tenantId),
    }) as Cluster
    // Made now so that bad tenancy options fail createCluster, not the first forTenant().
    if (options.tenancy !== undefined) this.tenancy = tenancy(this.cluster, options.tenancy)
  }

  /** A provider whose every call is routed, with `forced` overriding the classifier. */
  private view(forced: Route | undefined): Cluster {
    const router = this
    const provider = {
      driver: DRIVER,
      get maxParameters() {
        return Math.min(...router.nodes.map((node) => node.provider.maxParameters ?? 65535))
      },
      query<R = Row>(sql: SqlInput<R>, params?: readonly unknown[], queryOptions?: ClusterQueryOptions): Promise<QueryResult<R>> {
        try {
          const routing = router.routing(forced, queryOptions?.route, queryOptions?.after, queryOptions?.signal)
          const text = typeof sql === 'string' ? sql : toQueryConfig(sql).text
          const providerOptions = queryOptions === undefined ? undefined : withoutRouting(queryOptions)
          const run = (target: Provider) => target.query<R>(sql, params, providerOptions)
          return router.routeStatement(text, routing, run)
        } catch (error) {
          return Promise.reject(error)
        }
      },
      async queryMulti(sql: SqlInput, multiOptions?: MultiQueryOptions): Promise<QueryResult[]> {
        const text = typeof sql === 'string' ? sql : toQueryConfig(sql).text
        const routing = router.routing(forced, undefined, undefined, multiOptions?.signal)
        return router.routeStatement(text, routing, (target) => target.queryMulti(sql, multiOptions))
      },
      async batch(queries: readonly BatchQuery[], batchOptions?: BatchOptions): Promise<QueryResult[]> {
        const routing = router.routing(forced, undefined, undefined, batchOptions?.signal)
        const isRead =
          routing.route === 'replica' ||
          (routing.route === undefined &&
            Array.isArray(queries) &&
            queries.length > 0 &&
            queries.every((query) => isRoutableRead(textOf(query.sql))))
        const run = (target: Provider) => target.batch(queries, batchOptions)
        return isRead ? router.read(run, routing, routing.route !== 'replica') : router.write(run, routing, 'statement')
      },
      stream<R = Row>(sql: SqlInput<R>, params?: readonly unknown[], streamOptions?: StreamOptions): AsyncIterable<R> {
        const text = typeof sql === 'string' ? sql : toQueryConfig(sql).text
        const routing = router.routing(forced, undefined, undefined, streamOptions?.signal)
        return router.routeStream(text, routing, (target) => target.stream<R>(sql, params, streamOptions))
      },
      async transaction<T>(fn: (tx: Transaction) => Promise<T>, txOptions?: ClusterTransactionOptions): Promise<T> {
        const routing = router.routing(forced, undefined, txOptions?.after, txOptions?.signal)
        const providerOptions = txOptions === undefined ? undefined : withoutAfter(txOptions)
        if (txOptions?.readOnly === true && routing.route !== 'primary') {
          // Read-only from BEGIN to COMMIT: one replica holds it all.
          return router.read((target) => target.transaction(fn, providerOptions), routing, false)
        }
        return router.write(
          (target, onEntered) => target.transaction((tx) => onEntered(() => fn(tx)), providerOptions),
          routing,
          'transaction',
        )
      },
      async connection<T>(fn: (connection: ReservedConnection) => Promise<T>, reserveOptions?: ReserveOptions): Promise<T> {
        const routing = router.routing(forced, undefined, undefined, reserveOptions?.signal)
        if (routing.route === 'replica') return router.read((target) => target.connection(fn, reserveOptions), routing, false)
        return router.write(
          (target, onEntered) => target.connection((held) => onEntered(() => fn(held)), reserveOptions),
          routing,
          'transaction',
        )
      },
      copyFrom(sql: SqlInput, copyOptions?: CopyOptions): CopyFromStream {
        return router.nodeNow('primary').provider.copyFrom(sql, copyOptions)
      },
      copyTo(sql: SqlInput, copyOptions?: CopyOptions): CopyToStream {
        return router.nodeNow(forced === 'replica' ? 'replica' : 'primary').provider.copyTo(sql, copyOptions)
      },
      listen(channel: string, onNotify: (notification: Notification) => void, listenOptions?: ListenOptions): Promise<Subscription> {
        return router.listen(channel, onNotify, listenOptions)
      },
      async notify(channel: string, payload?: string): Promise<void> {
        const routing = router.routing(forced === 'replica' ? undefined : forced, 'primary', undefined, undefined)
        return router.write((target) => target.notify(channel, payload), routing, 'statement')
      },
      health: () => router.health(),
      stats: () => router.stats(),
      close: (closeOptions?: { timeoutMs?: number | undefined }) => router.close(closeOptions),
      [Symbol.asyncDispose]: () => router.close(),
    }
    return provider as unknown as Cluster
  }

  private routing(
    forced: Route | undefined,
    route: Route | undefined,
    after: string | undefined,
    signal: AbortSignal | undefined,
  ): Routing {
    if (this.closed) throw new ProviderClosedError('a cluster call', DRIVER)
    const chosen = forced ?? route
    if (chosen !== undefined && chosen !== 'primary' && chosen !== 'replica') {
      throw new TesseraError(`route is ${JSON.stringify(chosen)}; accepted: 'primary', 'replica'`, { code: 'CLUSTER_BAD_ROUTE' })
    }
    return { route: chosen, after: after === undefined ? undefined : parseConsistencyToken(after), signal }
  }

  private routeStatement<T>(text: string, routing: Routing, run: (target: Provider) => Promise<T>): Promise<T> {
    if (routing.route === 'replica') return this.read(run, routing, false)
    if (routing.route === undefined && isRoutableRead(text)) return this.read(run, routing, true)
    return this.write(run, routing, 'statement')
  }

  private async *routeStream<R>(text: string, routing: Routing, open: (target: Provider) => AsyncIterable<R>): AsyncIterable<R> {
    const isProvenRead = routing.route === undefined && isRoutableRead(text)
    const isRead = routing.route === 'replica' || isProvenRead
    const choice = isRead ? await this.readTarget(routing) : { node: await this.primaryFor(routing), reason: 'write' }
    let node = choice.node
    let reason = choice.reason
    // A proven read whose connection is lost before its first row runs once more on another node, as `read` does;
    // after a row it cannot (the caller would see rows twice), and the error is the caller's.
    for (let attempt = 0; ; attempt++) {
      const current = node
      this.events.route(current.name, current === this.monitor.primary ? 'primary' : 'replica', reason)
      current.inFlight++
      let yielded = false
      try {
        for await (const row of open(current.provider)) {
          yielded = true
          yield row
        }
        return
      } catch (error) {
        if (!isConnectionLoss(error)) throw error
        this.monitor.nodeFailed(current, error)
        if (!isProvenRead || yielded || attempt > 0) throw error
        const second = await this.retryTarget(current, routing)
        if (second === undefined) throw error
        node = second.node
        reason = second.reason
      } finally {
        current.inFlight--
      }
    }
  }

  /** Runs a read on a fit replica (or the fallback); a proven read cut by a lost connection runs once more elsewhere. */
  private read<T>(run: (target: Provider) => Promise<T>, routing: Routing, isProvenRead: boolean): Promise<T> {
    const plain = this.plainReadTarget(routing)
    if (plain === undefined) return this.readAfterWait(run, routing, isProvenRead)
    const attempt = this.runOn(plain.node, plain.reason, run)
    if (!isProvenRead) return attempt
    return attempt.catch((error: unknown) => this.retryRead(error, plain.node, run, routing))
  }

  private async readAfterWait<T>(run: (target: Provider) => Promise<T>, routing: Routing, isProvenRead: boolean): Promise<T> {
    const first = await this.readTarget(routing)
    try {
      return await this.runOn(first.node, first.reason, run)
    } catch (error) {
      if (!isProvenRead) throw error
      return this.retryRead(error, first.node, run, routing)
    }
  }

  /** A read that lost its connection runs once more, on another node; any other error is the caller's. */
  private async retryRead<T>(error: unknown, failed: ClusterNode, run: (target: Provider) => Promise<T>, routing: Routing): Promise<T> {
    if (!isConnectionLoss(error)) throw error
    const second = await this.retryTarget(failed, routing)
    if (second === undefined) throw error
    return this.runOn(second.node, second.reason, run)
  }

  /** Where a read cut on `failed` runs once more: another fit node, or undefined when the only choice is `failed`. */
  private async retryTarget(failed: ClusterNode, routing: Routing): Promise<{ node: ClusterNode; reason: string } | undefined> {
    const second = await this.readTarget(routing)
    if (second.node === failed) return undefined
    return { node: second.node, reason: `${second.reason} (retry after ${failed.name} failed)` }
  }

  /**
   * Runs a write on the primary. A write never sent (no primary, no connection could be made, the node turned out
   * to be a replica) waits up to `failover.waitMs` for a primary and runs there; a write whose outcome is unknown is
   * never sent again. A transaction is only run again when it failed before its function was called.
   */
  private write<T>(run: WriteRun<T>, routing: Routing, kind: 'statement' | 'transaction'): Promise<T> {
    const primary = this.monitor.primary
    if (primary === undefined || primary.state !== 'up') return this.writeAfterWait(run, routing, kind, Date.now())
    const started = Date.now()
    let entered = false
    const onEntered = <U>(fn: () => Promise<U>): Promise<U> => {
      entered = true
      return fn()
    }
    return this.runOn(primary, 'write', (target) => run(target, onEntered)).then(
      (result) => {
        this.wrote()
        return result
      },
      (error: unknown) => {
        if (!this.wasNeverSent(error, primary, kind, entered, started)) throw error
        return this.writeAfterWait(run, routing, kind, started)
      },
    )
  }

  /** {@link write} once the first try found no primary or could not send: waits for one, tries until sent or out of time. */
  private async writeAfterWait<T>(run: WriteRun<T>, routing: Routing, kind: 'statement' | 'transaction', started: number): Promise<T> {
    for (;;) {
      const node = await this.primaryFor(routing, started)
      let entered = false
      const onEntered = <U>(fn: () => Promise<U>): Promise<U> => {
        entered = true
        return fn()
      }
      try {
        const result = await this.runOn(node, 'write', (target) => run(target, onEntered))
        this.wrote()
        return result
      } catch (error) {
        if (!this.wasNeverSent(error, node, kind, entered, started)) throw error
      }
    }
  }

  /**
   * Whether a failed write certainly did not run, so it may wait for a primary and run there: the node refused it as
   * read-only (it was demoted), or its connection was lost or never made and core did not report an unknown outcome
   * (core turns a write cut after it was sent into `TransactionResolutionUnknownError`; what remains is a failed
   * connect, "the database system is shutting down", or a read, which core would retry too). A transaction is only
   * run again when it failed before its function ran. False once `failover.waitMs` is spent, and after close().
   */
  private wasNeverSent(error: unknown, node: ClusterNode, kind: 'statement' | 'transaction', entered: boolean, started: number): boolean {
    if (error instanceof ReadOnlyTransactionError) this.monitor.primaryDemoted(node)
    const neverSent =
      (error instanceof ReadOnlyTransactionError && kind === 'statement') ||
      (isConnectionLoss(error) && !(error instanceof TransactionResolutionUnknownError) && (kind === 'statement' || !entered))
    return neverSent && !this.closed && Date.now() - started < this.options.failoverWaitMs
  }

  /** Runs on `node`, counting it in flight and in the latency average; a lost connection ejects the node. */
  private runOn<T>(node: ClusterNode, reason: string, run: (target: Provider) => Promise<T>): Promise<T> {
    this.events.route(node.name, node === this.monitor.primary ? 'primary' : 'replica', reason)
    node.inFlight++
    const started = performance.now()
    let running: Promise<T>
    try {
      running = run(node.provider)
    } catch (error) {
      running = Promise.reject(error)
    }
    // Plain handlers rather than async/await: this is on every statement's path, and each await is a microtask.
    return running.then(
      (result) => {
        node.inFlight--
        node.observeLatency(performance.now() - started)
        return result
      },
      (error: unknown) => {
        node.inFlight--
        if (isConnectionLoss(error)) this.monitor.nodeFailed(node, error)
        throw error
      },
    )
  }

  /** The primary, waiting for one (up to what is left of `failover.waitMs`) while there is none. */
  private async primaryFor(routing: Routing, started = Date.now()): Promise<ClusterNode> {
    const primary = this.monitor.primary
    if (primary !== undefined && primary.state === 'up') return primary
    const left = this.options.failoverWaitMs - (Date.now() - started)
    const found = await this.monitor.waitForPrimary(left, routing.signal)
    if (found !== undefined) return found
    if (this.closed) throw new ProviderClosedError('a cluster call', DRIVER)
    throw new NoPrimaryError(Date.now() - started, Object.fromEntries(this.nodes.map((node) => [node.name, describeNode(node)])))
  }

  /**
   * The common case without a wait: no read-your-writes position to honour, and a fit replica (or, with no replica
   * fit and `fallback: 'primary'`, a primary) at hand. Undefined sends the read through {@link readTarget}.
   */
  private plainReadTarget(routing: Routing): { node: ClusterNode; reason: string } | undefined {
    if (routing.after !== undefined || sessionStorage.getStore() !== undefined) return undefined
    let fit: ClusterNode[] | undefined
    let anyLagging = false
    for (const node of this.nodes) {
      if (node.role !== 'replica' || node.state !== 'up') continue
      if (node.overLag) {
        anyLagging = true
        continue
      }
      fit ??= []
      fit.push(node)
    }
    if (fit !== undefined) return { node: chooseReplica(this.options.strategy, fit, this.counter++), reason: 'read' }
    const primary = this.monitor.primary
    if (this.options.fallback !== 'primary' || primary === undefined || primary.state !== 'up') return undefined
    return { node: primary, reason: anyLagging ? 'lag' : 'fallback' }
  }

  /** Where a read goes: a fit replica that has replayed the scope's position, else the fallback. */
  private async readTarget(routing: Routing): Promise<{ node: ClusterNode; reason: string }> {
    const position = laterOf(routing.after, await this.scopePosition(routing.signal))
    const reasons: Record<string, string> = {}
    const fit = this.nodes.filter((node) => {
      if (node.role !== 'replica') return false
      if (node.state !== 'up') reasons[node.name] = node.state
      else if (node.overLag) reasons[node.name] = `lag ${node.lagBytes ?? '?'} bytes / ${Math.round(node.lagMs ?? 0)} ms over the limit`
      return node.state === 'up' && !node.overLag
    })
    if (fit.length > 0 && position !== undefined) {
      const caughtUp = fit.filter((node) => node.lsn !== undefined && node.lsn >= position)
      if (caughtUp.length > 0) return { node: chooseReplica(this.options.strategy, caughtUp, this.counter++), reason: 'read-your-writes' }
      const waited = await this.waitForReplay(chooseReplica(this.options.strategy, fit, this.counter++), position, routing.signal)
      if (waited !== undefined) return { node: waited, reason: 'read-your-writes' }
      return { node: await this.primaryFor(routing), reason: 'read-your-writes' }
    }
    if (fit.length > 0) return { node: chooseReplica(this.options.strategy, fit, this.counter++), reason: 'read' }
    if (this.options.fallback === 'error' && routing.route !== 'primary') throw new NoReplicaAvailableError(reasons)
    const anyLagging = Object.values(reasons).some((reason) => reason.startsWith('lag'))
    return { node: await this.primaryFor(routing), reason: anyLagging ? 'lag' : 'fallback' }
  }

  /** Polls one replica's replay position until it passes `position`, for up to `readYourWrites.waitMs`. */
  private async waitForReplay(node: ClusterNode, position: Lsn, signal: AbortSignal | undefined): Promise<ClusterNode | undefined> {
    const deadline = Date.now() + this.options.readYourWritesWaitMs
    while (Date.now() < deadline) {
      signal?.throwIfAborted()
      try {
        const result = await node.provider.query<{ lsn: string | null }>(REPLAY_SQL, [], {
          retry: false,
          timeoutMs: this.options.healthTimeoutMs,
        })
        const lsn = parseLsn(result.rows[0]?.lsn)
        if (lsn !== undefined) node.lsn = laterOf(node.lsn, lsn)
        if (lsn !== undefined && lsn >= position) return node
      } catch {
        return undefined
      }
      await new Promise((resolve) => setTimeout(resolve, REPLAY_POLL_MS))
    }
    return undefined
  }

  /** The session's position, fetched from the primary once after each write in it. */
  private async scopePosition(signal: AbortSignal | undefined): Promise<Lsn | undefined> {
    const scope = sessionStorage.getStore()
    if (scope === undefined) return undefined
    if (scope.wroteSincePosition) await this.fetchPosition(scope, signal)
    return scope.position
  }

  private async fetchPosition(scope: SessionScope | undefined, signal: AbortSignal | undefined): Promise<Lsn> {
    const node = await this.primaryFor({ route: 'primary', after: undefined, signal })
    const result = await node.provider.query<{ lsn: string }>(POSITION_SQL, [], { signal })
    const lsn = parseLsn(result.rows[0]?.lsn)
    if (lsn === undefined) throw new TesseraError(`the primary ${node.name} returned no WAL position`, { code: 'CLUSTER_NO_POSITION' })
    if (scope !== undefined) {
      scope.position = laterOf(scope.position, lsn)
      scope.wroteSincePosition = false
    }
    return lsn
  }

  private wrote(): void {
    const scope = sessionStorage.getStore()
    if (scope !== undefined) scope.wroteSincePosition = true
  }

  private async consistencyToken(signal: AbortSignal | undefined): Promise<string> {
    if (this.closed) throw new ProviderClosedError('consistencyToken()', DRIVER)
    const scope = sessionStorage.getStore()
    if (scope !== undefined && !scope.wroteSincePosition && scope.position !== undefined) return formatLsn(scope.position)
    return formatLsn(await this.fetchPosition(scope, signal))
  }

  /** A node for a call that must return synchronously (COPY streams): no waiting for a failover. */
  private nodeNow(route: Route): ClusterNode {
    if (this.closed) throw new ProviderClosedError('a cluster call', DRIVER)
    if (route === 'replica') {
      const fit = this.nodes.filter((node) => node.role === 'replica' && node.state === 'up' && !node.overLag)
      if (fit.length > 0) return chooseReplica(this.options.strategy, fit, this.counter++)
    }
    const primary = this.monitor.primary
    if (primary === undefined) throw new NoPrimaryError(0, Object.fromEntries(this.nodes.map((node) => [node.name, describeNode(node)])))
    return primary
  }

  /** LISTEN on the primary; after a failover the channel is listened to again on the new primary. */
  private async listen(
    channel: string,
    onNotify: (notification: Notification) => void,
    options: ListenOptions | undefined,
  ): Promise<Subscription> {
    const routing = this.routing('primary', undefined, undefined, options?.signal)
    const node = await this.primaryFor(routing)
    return listenOnPrimary(node, () => this.monitor.primary, this.events, channel, onNotify, options)
  }

  private async health(): Promise<HealthReport> {
    await this.monitor.probeRound(true)
    return clusterHealth(this.nodes, this.monitor.primary)
  }

  private stats(): PoolStats {
    return clusterStats(this.nodes)
  }

  /** The cluster's tenancy, made on first use. */
  /** The cluster's tenancy (made with the cluster); after close() its scopes refuse calls. */
  private tenants(): Tenancy {
    if (this.tenancy === undefined) {
      throw new ConfigError("forTenant() needs the cluster's tenancy option, e.g. createCluster({ …, tenancy: { strategy: 'schema' } })", {
        subject: 'createCluster options',
      })
    }
    return this.tenancy
  }

  private close(options?: { timeoutMs?: number | undefined }): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true
      await this.tenancy?.close(options)
      this.monitor.close()
      await Promise.all(this.nodes.map((node) => node.provider.close(options)))
    })()
    return this.closing
  }
}

function describeNode(node: ClusterNode): string {
  return node.state === 'down' ? `down (${node.lastError ?? 'no answer'})` : `${node.state} ${node.role}`
}

function textOf(sql: SqlInput): string {
  return typeof sql === 'string' ? sql : toQueryConfig(sql).text
}

function withoutRouting(options: ClusterQueryOptions): QueryOptions {
  if (options.route === undefined && options.after === undefined) return options
  const { route: _route, after: _after, ...rest } = options
  return rest
}

function withoutAfter(options: ClusterTransactionOptions): TransactionOptions {
  if (options.after === undefined) return options
  const { after: _after, ...rest } = options
  return rest
}
