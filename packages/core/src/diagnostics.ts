import { type Channel, channel, type TracingChannel, tracingChannel } from 'node:diagnostics_channel'
import type { QueryOperation } from './hooks'

/**
 * The `node:diagnostics_channel` names every Tessera package publishes on. Nothing is published, and nothing
 * is allocated, while a channel has no subscriber.
 *
 * Operations that take time (`query`, `transaction`, `batch`, `stream`, `connect`, `poolAcquire`, `cacheGet`,
 * `cacheSet`, `cacheDelete`, `dynamoCommand`, `migration`) are published on a tracing channel: subscribe with
 * `tracingChannel(name)`, which delivers `start`, `end`, `asyncStart`, `asyncEnd` and `error` with the same
 * message object, to which Node adds `result` or `error`. Point events (`poolRelease`, `poolCreate`,
 * `poolDestroy`, `poolTimeout`, `poolLeak`, `cacheBus`, `clusterRoute`, `clusterFailover`, `clusterNode`, `breakerState`)
 * are published on a plain channel: subscribe with `diagnostics_channel.subscribe(name, fn)`.
 *
 * @example
 * import diagnostics_channel from 'node:diagnostics_channel'
 * import { CHANNELS, type QueryMessage } from '@tessera/core'
 *
 * diagnostics_channel.tracingChannel<unknown, QueryMessage>(CHANNELS.query).subscribe({
 *   start(message) { console.log('running', message.sql) },
 *   end() {},
 *   asyncStart() {},
 *   asyncEnd(message) { console.log('done', message.result?.rowCount) },
 *   error(message) { console.error('failed', message.error) },
 * })
 * diagnostics_channel.subscribe(CHANNELS.poolLeak, (message) => console.warn('leak', message))
 */
export const CHANNELS = {
  query: 'tessera:query',
  transaction: 'tessera:transaction',
  batch: 'tessera:batch',
  stream: 'tessera:stream',
  connect: 'tessera:connect',
  poolAcquire: 'tessera:pool:acquire',
  poolRelease: 'tessera:pool:release',
  poolCreate: 'tessera:pool:create',
  poolDestroy: 'tessera:pool:destroy',
  poolTimeout: 'tessera:pool:timeout',
  poolLeak: 'tessera:pool:leak',
  cacheGet: 'tessera:cache:get',
  cacheSet: 'tessera:cache:set',
  cacheDelete: 'tessera:cache:delete',
  cacheBus: 'tessera:cache:bus',
  clusterRoute: 'tessera:cluster:route',
  clusterFailover: 'tessera:cluster:failover',
  clusterNode: 'tessera:cluster:node',
  dynamoCommand: 'tessera:dynamo:command',
  migration: 'tessera:schema:migration',
  breakerState: 'tessera:breaker:state',
} as const

/** Any Tessera channel name. */
export type ChannelName = (typeof CHANNELS)[keyof typeof CHANNELS]

/** Fields Node adds to a traced message: `result` when the operation resolved, `error` when it failed. */
export interface TracedOutcome<R> {
  result?: R | undefined
  error?: unknown
}

/** `tessera:query` (traced): one statement run by a provider. */
export interface QueryMessage extends TracedOutcome<{ rowCount: number; command: string }> {
  sql: string
  /** Omitted unless the provider was told to include parameters (they may hold personal data). */
  params?: readonly unknown[] | undefined
  driver: string
  operation: QueryOperation
  /** The database name (`db.namespace` in OpenTelemetry's conventions). */
  database?: string | undefined
  /** The first server's host name, IP address or socket directory (`server.address`). */
  host?: string | undefined
  /** The first server's port (`server.port`). */
  port?: number | undefined
  /** The provider's pool name, its `name` option (`db.client.connection.pool.name`). */
  pool?: string | undefined
  /** Whether the statement ran inside a transaction. */
  transaction?: boolean | undefined
}

/** `tessera:transaction` (traced): one transaction, from BEGIN to COMMIT or ROLLBACK. */
export interface TransactionMessage extends TracedOutcome<unknown> {
  driver: string
  database?: string | undefined
  /** As in {@link QueryMessage}. */
  host?: string | undefined
  /** As in {@link QueryMessage}. */
  port?: number | undefined
  /** As in {@link QueryMessage}. */
  pool?: string | undefined
  isolation?: 'read committed' | 'repeatable read' | 'serializable' | undefined
  readOnly?: boolean | undefined
  /** 1 on the first try. */
  attempt: number
}

/**
 * `tessera:batch` (traced): one `provider.batch([...])`, from the wait for its connection to its last statement's
 * reply (and COMMIT when atomic). Each statement is also published on `tessera:query` (operation `'batch'`) inside
 * it, so a subscriber that binds a context to `start` sees the statements as the batch's children. Published after
 * the batch's input was checked: a batch refused for bad input, or an empty one, publishes nothing.
 */
export interface BatchMessage extends TracedOutcome<unknown> {
  driver: string
  /** Each statement's text, in order (as sent: after `sql` tags were compiled). */
  statements: readonly string[]
  /** Whether the batch runs in one transaction (`atomic: true`). */
  atomic: boolean
  /** As in {@link QueryMessage}. */
  database?: string | undefined
  /** As in {@link QueryMessage}. */
  host?: string | undefined
  /** As in {@link QueryMessage}. */
  port?: number | undefined
  /** As in {@link QueryMessage}. */
  pool?: string | undefined
}

/**
 * `tessera:stream` (traced): one `provider.stream(...)` from its opening (the cursor or portal, published on
 * `tessera:query` with operation `'stream'` inside it) until it ended: read to the end, stopped early by its consumer
 * (`break`, a throw in the loop body, an aborted signal) or failed. Its `start`/`end` surround the opening only (rows
 * are read at the consumer's pace, outside it); `asyncStart`/`asyncEnd` (after `error` on failure) come when the
 * stream ended. Published when iteration starts, after the options were checked.
 */
export interface StreamMessage extends TracedOutcome<unknown> {
  sql: string
  /** As in {@link QueryMessage}: only with `diagnosticsIncludeParams`. */
  params?: readonly unknown[] | undefined
  driver: string
  /** Rows handed to the consumer so far; final at `asyncEnd`. */
  rows: number
  /** Set at the end: `true` when every row was read, `false` when the stream stopped early or failed. */
  completed?: boolean | undefined
  /** As in {@link QueryMessage}. */
  database?: string | undefined
  /** As in {@link QueryMessage}. */
  host?: string | undefined
  /** As in {@link QueryMessage}. */
  port?: number | undefined
  /** As in {@link QueryMessage}. */
  pool?: string | undefined
}

/** `tessera:connect` (traced): opening one driver connection. */
export interface ConnectMessage extends TracedOutcome<unknown> {
  driver: string
  host?: string | undefined
  port?: number | undefined
  database?: string | undefined
  /** The provider's pool name, as in {@link QueryMessage}. */
  pool?: string | undefined
  /** The backend PID, once known. */
  processId?: number | undefined
}

/** `tessera:pool:acquire` (traced): a caller waiting for a resource. */
export interface PoolAcquireMessage extends TracedOutcome<unknown> {
  /** The pool's name. */
  pool: string
  size: number
  inUse: number
  pending: number
  max: number
  /** The pool's `min`: connections it keeps open even when idle. */
  min?: number | undefined
}

/** `tessera:pool:release` (published): a resource returned to its pool. */
export interface PoolReleaseMessage {
  pool: string
  /** How long the caller held it, ms. */
  heldMs: number
  /** Whether it was destroyed instead of being kept (it failed, or the pool is draining). */
  destroyed: boolean
}

/** `tessera:pool:create` (published): the pool opened a new resource, or failed to. */
export interface PoolCreateMessage {
  pool: string
  /** Pool size after the creation. */
  size: number
  durationMs?: number | undefined
  error?: unknown
}

/** `tessera:pool:destroy` (published): the pool closed a resource. */
export interface PoolDestroyMessage {
  pool: string
  reason: 'idle' | 'lifetime' | 'invalid' | 'error' | 'drain'
  size: number
}

/** `tessera:pool:timeout` (published): an acquire gave up waiting. */
export interface PoolTimeoutMessage {
  pool: string
  waitedMs: number
  inUse: number
  max: number
  pending: number
}

/** `tessera:pool:leak` (published): a resource held longer than the leak threshold. */
export interface PoolLeakMessage {
  pool: string
  heldMs: number
  /** Where the holder acquired it, when stack capture is on. */
  stack?: string | undefined
}

/** Which tier of a multi-level cache answered. */
export type CacheTier = 'l1' | 'l2' | 'origin'

/** `tessera:cache:get` (traced): a cache read. */
export interface CacheGetMessage extends TracedOutcome<unknown> {
  cache: string
  /** The key; for `getMany`, the keys joined with `,` (see `keys`). */
  key: string
  /** Every key, for `getMany`. */
  keys?: readonly string[] | undefined
  namespace?: string | undefined
  /** Set by the cache before the operation resolves. */
  hit?: boolean | undefined
  tier?: CacheTier | undefined
  /** Whether a stale (grace) value was served. */
  stale?: boolean | undefined
}

/** `tessera:cache:set` (traced): a cache write. */
export interface CacheSetMessage extends TracedOutcome<unknown> {
  cache: string
  /** The key; for `setMany`, the keys joined with `,` (see `keys`). */
  key: string
  /** Every key, for `setMany`. */
  keys?: readonly string[] | undefined
  namespace?: string | undefined
  ttlMs?: number | undefined
  tags?: readonly string[] | undefined
}

/** `tessera:cache:delete` (traced): removing keys, by key or by tag. */
export interface CacheDeleteMessage extends TracedOutcome<unknown> {
  cache: string
  keys?: readonly string[] | undefined
  tags?: readonly string[] | undefined
  namespace?: string | undefined
}

/** `tessera:cache:bus` (published): an invalidation sent to, or received from, other instances. */
export interface CacheBusMessage {
  cache: string
  direction: 'sent' | 'received'
  keys?: readonly string[] | undefined
  tags?: readonly string[] | undefined
  namespace?: string | undefined
}

/** `tessera:cluster:route` (published): where the cluster sent a statement. */
export interface ClusterRouteMessage {
  /** The cluster's `name` option, when it has one. */
  cluster?: string | undefined
  /** The chosen node's name. */
  target: string
  role: 'primary' | 'replica'
  /** Why: `'write'`, `'read'`, `'read-your-writes'`, `'lag'`, `'fallback'`… */
  reason: string
  shard?: string | undefined
  tenant?: string | undefined
}

/** `tessera:cluster:failover` (published): the primary changed or was lost. */
export interface ClusterFailoverMessage {
  /** The cluster's `name` option, when it has one. */
  cluster?: string | undefined
  /** The node that was primary, if any. */
  from?: string | undefined
  /** The node that is primary now; absent while there is none. */
  to?: string | undefined
  /** `'primary-lost'`, `'primary-changed'`, `'primary-found'`… */
  reason: string
  /** For a new primary: ms since the old one was lost (undefined at start). */
  downForMs?: number | undefined
  error?: unknown
}

/** What happened to a cluster node; see {@link ClusterNodeMessage}. */
export type ClusterNodeEvent =
  | 'up'
  | 'down'
  | 'ejected'
  | 'readmitted'
  | 'role-changed'
  | 'fenced'
  | 'lag-over-threshold'
  | 'lag-recovered'
  | 'lag'

/**
 * `tessera:cluster:node` (published): a node of a cluster came up, went down, was ejected from or re-admitted to
 * reads, changed role (replica ⇄ primary), was fenced off (a second primary on a lower timeline), or went over or
 * back under the lag limits. `'lag'` is published for each replica that answered, at every health check, with its
 * `lagBytes` and `lagMs`, on this channel only (not to the cluster's own event listeners) and only while someone
 * subscribes: it is the feed for a replication-lag gauge.
 */
export interface ClusterNodeMessage {
  /** The cluster's `name` option, when it has one. */
  cluster?: string | undefined
  /** The node's name. */
  node: string
  event: ClusterNodeEvent
  /** The node's role as last discovered (`'unknown'` before its first answer). */
  role: 'primary' | 'replica' | 'unknown'
  /** For `role-changed`: the role before. */
  previousRole?: 'primary' | 'replica' | 'unknown' | undefined
  /** For `readmitted` and `up`: how long the node was out, ms. */
  downForMs?: number | undefined
  /** For `ejected` and `down`: consecutive failed probes or queries. */
  failures?: number | undefined
  /** Replication lag at the event, when measured. */
  lagBytes?: number | undefined
  lagMs?: number | undefined
  /** For `ejected` / `down`: what failed. */
  error?: unknown
}

/** `tessera:dynamo:command` (traced): one DynamoDB command. */
export interface DynamoCommandMessage extends TracedOutcome<unknown> {
  /** `'GetItem'`, `'Query'`, `'TransactWriteItems'`… */
  command: string
  table?: string | undefined
  index?: string | undefined
  consumedCapacity?: number | undefined
}

/** `tessera:schema:migration` (traced): applying or reverting one migration. */
export interface MigrationMessage extends TracedOutcome<unknown> {
  version: string
  name?: string | undefined
  direction: 'up' | 'down'
}

/** A circuit breaker's state. */
export type BreakerState = 'closed' | 'open' | 'half-open'

/** `tessera:breaker:state` (published): a circuit breaker changed state. */
export interface BreakerStateMessage {
  breaker: string
  from: BreakerState
  to: BreakerState
  /** Consecutive failures that led to the change, when opening. */
  failures?: number | undefined
}

/** The message type of each channel. */
export interface ChannelMessages {
  'tessera:query': QueryMessage
  'tessera:transaction': TransactionMessage
  'tessera:batch': BatchMessage
  'tessera:stream': StreamMessage
  'tessera:connect': ConnectMessage
  'tessera:pool:acquire': PoolAcquireMessage
  'tessera:pool:release': PoolReleaseMessage
  'tessera:pool:create': PoolCreateMessage
  'tessera:pool:destroy': PoolDestroyMessage
  'tessera:pool:timeout': PoolTimeoutMessage
  'tessera:pool:leak': PoolLeakMessage
  'tessera:cache:get': CacheGetMessage
  'tessera:cache:set': CacheSetMessage
  'tessera:cache:delete': CacheDeleteMessage
  'tessera:cache:bus': CacheBusMessage
  'tessera:cluster:route': ClusterRouteMessage
  'tessera:cluster:failover': ClusterFailoverMessage
  'tessera:cluster:node': ClusterNodeMessage
  'tessera:dynamo:command': DynamoCommandMessage
  'tessera:schema:migration': MigrationMessage
  'tessera:breaker:state': BreakerStateMessage
}

// One channel object per name, created on first use. Holding them here also keeps Node from collecting a
// channel object between a subscriber's `channel(name)` and our publish (Node holds channels weakly).
const tracingChannels = new Map<string, TracingChannel<unknown, object>>()
const plainChannels = new Map<string, Channel>()

function tracingFor(name: string): TracingChannel<unknown, object> {
  let found = tracingChannels.get(name)
  if (found === undefined) {
    found = tracingChannel<unknown, object>(name)
    tracingChannels.set(name, found)
  }
  return found
}

function plainFor(name: string): Channel {
  let found = plainChannels.get(name)
  if (found === undefined) {
    found = channel(name)
    plainChannels.set(name, found)
  }
  return found
}

/**
 * Runs `run` inside a scope of a subscriber's choosing (see {@link addTraceScope}) and returns what `run` returns. It is
 * called synchronously, in the caller's context, before the channel's `start` is published, and must call `run` once,
 * synchronously, and not throw.
 */
export type TraceScope = <T>(message: object, run: () => T) => T

// One registry per process, shared by every copy of this package (an ESM and a CJS copy, or two versions) as the
// channels themselves are.
const TRACE_SCOPES = Symbol.for('@tessera/core trace scopes v1')
const traceScopes: Map<string, readonly TraceScope[]> = ((globalThis as Record<symbol, unknown>)[TRACE_SCOPES] ??= new Map<
  string,
  readonly TraceScope[]
>()) as Map<string, readonly TraceScope[]>

/**
 * For a subscriber that must run a traced operation inside its own context, so that everything the operation starts
 * (its statements, any other instrumentation under it) sees it: OpenTelemetry's `context.with(ctx, run)`, for one. The
 * scope runs around each operation published on the tracing channel `name` through {@link traced} or
 * {@link openTrace}, while the channel has a subscriber, before `start` (what the scope does first, such as starting a
 * span, is done before the operation runs). Returns the function that removes it. Unlike `start.bindStore`, it needs no
 * handle on the subscriber's `AsyncLocalStorage`.
 *
 * @example
 * const remove = addTraceScope(CHANNELS.query, (message, run) => context.with(contextFor(message), run))
 */
export function addTraceScope(name: ChannelName, scope: TraceScope): () => void {
  traceScopes.set(name, [...(traceScopes.get(name) ?? []), scope])
  let removed = false
  return () => {
    if (removed) return
    removed = true
    const scopes = [...(traceScopes.get(name) ?? [])]
    const at = scopes.indexOf(scope)
    if (at !== -1) scopes.splice(at, 1)
    if (scopes.length === 0) traceScopes.delete(name)
    else traceScopes.set(name, scopes)
  }
}

function inScopes<T>(scopes: readonly TraceScope[], index: number, message: object, run: () => T): T {
  if (index === scopes.length - 1) return scopes[index]!(message, run)
  if (index === scopes.length) return run()
  return scopes[index]!(message, () => inScopes(scopes, index + 1, message, run))
}

/**
 * Whether anyone listens to the tracing channel `name`. Check it before building an expensive message:
 * `traced` does the same check, but the message object is built by the caller before the call.
 */
export function hasTraceSubscribers(name: ChannelName): boolean {
  return tracingFor(name).hasSubscribers
}

/** Whether anyone listens to the plain channel `name` (see {@link publish}). */
export function hasSubscribers(name: ChannelName): boolean {
  return plainFor(name).hasSubscribers
}

/**
 * Runs `fn` inside the tracing channel `name`: subscribers get `start` and `end` around the synchronous part,
 * then `asyncStart`/`asyncEnd` when the promise settles, plus `error` when it rejects. Node sets
 * `message.result` or `message.error` before those events. With no subscriber this is just `fn()`.
 *
 * `fn`'s promise (its result or rejection) passes through unchanged.
 *
 * @example
 * return traced(CHANNELS.query, { sql, driver: 'pg', operation: 'query' }, () => runOnConnection(sql, params))
 */
export function traced<N extends ChannelName, T>(name: N, message: ChannelMessages[N], fn: () => Promise<T>): Promise<T> {
  const tracing = tracingFor(name)
  if (!tracing.hasSubscribers) return fn()
  const scopes = traceScopes.get(name)
  if (scopes === undefined) return tracing.tracePromise(fn, message)
  return inScopes(scopes, 0, message, () => tracing.tracePromise(fn, message))
}

/**
 * Publishes a point event on the plain channel `name`. Free when nobody subscribes. A subscriber that throws
 * does not reach the caller (Node reports it on `process.nextTick` as an uncaught exception instead).
 */
export function publish<N extends ChannelName>(name: N, message: ChannelMessages[N]): void {
  const plain = plainFor(name)
  if (plain.hasSubscribers) plain.publish(message)
}

/** An operation traced by hand, for one whose end is not one promise (a stream); see {@link openTrace}. */
export interface OpenTrace {
  /**
   * Runs `fn` between `start` and `end`: what it starts (statements, their promises) runs in the context subscribers
   * bound to `start`, so it belongs to this operation. Call it once, before {@link finish}.
   */
  run<T>(fn: () => T): T
  /** Publishes the operation's end: `error` (when `failure` is given, also set as `message.error`), `asyncStart`, `asyncEnd`. */
  finish(failure?: { error: unknown } | undefined): void
}

/**
 * For an operation that ends later than the call that starts it (a stream, read at its consumer's pace): returns a
 * handle that publishes the tracing channel's events by hand, or `undefined` (and nothing is allocated) when nobody
 * subscribes. Subscribers see the same events as with {@link traced}.
 *
 * @example
 * const trace = openTrace(CHANNELS.stream, message)
 * await (trace === undefined ? open() : trace.run(open))
 * // … rows read …
 * trace?.finish()
 */
export function openTrace<N extends ChannelName>(name: N, message: ChannelMessages[N]): OpenTrace | undefined {
  const tracing = tracingFor(name)
  if (!tracing.hasSubscribers) return undefined
  let finished = false
  return {
    run: <T>(fn: () => T): T => {
      const started = () =>
        tracing.start.runStores(message, () => {
          try {
            return fn()
          } finally {
            tracing.end.publish(message)
          }
        })
      const scopes = traceScopes.get(name)
      return scopes === undefined ? started() : inScopes(scopes, 0, message, started)
    },
    finish(failure) {
      if (finished) return
      finished = true
      if (failure !== undefined) {
        ;(message as TracedOutcome<unknown>).error = failure.error
        tracing.error.publish(message)
      }
      tracing.asyncStart.publish(message)
      tracing.asyncEnd.publish(message)
    },
  }
}
