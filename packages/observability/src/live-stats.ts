import type { Attributes } from '@opentelemetry/api'
import type { BreakerState } from '@tessera/core'
import type { SlowQueryReport } from './options'

/** One pool as the channels describe it. */
export interface PoolState {
  name: string
  attributes: Attributes
  /** Open connections. */
  size: number
  used: number
  /** Acquires started and not finished. */
  pending: number
  max: number
  min: number
  /** Recent waits for a connection, ms (the last 512). */
  waitsMs: number[]
}

/** What the dashboard shows about statements of one pool. */
export interface QueryCounters {
  count: number
  errors: number
  /** Recent durations, ms (the last 512). */
  durationsMs: number[]
}

/** A point-in-time view of everything {@link LiveStats} holds, as the dashboard's JSON. */
export interface LiveSnapshot {
  at: number
  pools: Array<{ name: string; size: number; used: number; idle: number; pending: number; max: number; waitP99Ms: number }>
  queries: { count: number; errors: number; p50Ms: number; p99Ms: number }
  slowQueries: SlowQueryReport[]
  caches: Array<{ cache: string; hits: number; misses: number; stale: number; hitRatio: number; byTier: Record<string, number> }>
  breakers: Array<{ breaker: string; state: BreakerState; changes: number }>
  cluster: { routes: Record<string, number>; failovers: number; lastFailover: string | undefined }
}

const RECENT = 512
const SLOW_KEPT = 20

/** Keeps the last {@link RECENT} values: a ring once full (no shifting on the hot path). */
function pushRecent(list: number[] & { next?: number }, value: number): void {
  if (list.length < RECENT) {
    list.push(value)
    return
  }
  const at = list.next ?? 0
  list[at] = value
  list.next = (at + 1) % RECENT
}

/** The p-th percentile (0..100) of `values`, nearest rank; 0 for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length))
  return sorted[rank - 1] as number
}

/**
 * In-process counters kept next to the OpenTelemetry instruments, for what a process serves about itself (the
 * dashboard, `/ready` details) without reading metrics back from an SDK. Bounded: recent samples only.
 */
export class LiveStats {
  readonly pools = new Map<string, PoolState>()
  readonly queries: QueryCounters = { count: 0, errors: 0, durationsMs: [] }
  readonly slowQueries: SlowQueryReport[] = []
  readonly caches = new Map<string, { hits: number; misses: number; stale: number; byTier: Record<string, number> }>()
  readonly breakers = new Map<string, { state: BreakerState; changes: number }>()
  readonly cluster = { routes: {} as Record<string, number>, failovers: 0, lastFailover: undefined as string | undefined }

  pool(name: string, attributes: () => Attributes): PoolState {
    let state = this.pools.get(name)
    if (state === undefined) {
      state = { name, attributes: attributes(), size: 0, used: 0, pending: 0, max: 0, min: 0, waitsMs: [] }
      this.pools.set(name, state)
    }
    return state
  }

  recordWait(pool: PoolState, waitMs: number): void {
    pushRecent(pool.waitsMs, waitMs)
  }

  recordQuery(durationMs: number, failed: boolean): void {
    this.queries.count++
    if (failed) this.queries.errors++
    pushRecent(this.queries.durationsMs, durationMs)
  }

  recordSlow(report: SlowQueryReport): void {
    if (this.slowQueries.length >= SLOW_KEPT) this.slowQueries.shift()
    this.slowQueries.push(report)
  }

  recordCache(cache: string, result: 'hit' | 'miss' | 'stale', tier: string | undefined): void {
    let counters = this.caches.get(cache)
    if (counters === undefined) {
      counters = { hits: 0, misses: 0, stale: 0, byTier: {} }
      this.caches.set(cache, counters)
    }
    if (result === 'hit') counters.hits++
    else if (result === 'miss') counters.misses++
    else counters.stale++
    if (tier !== undefined) counters.byTier[tier] = (counters.byTier[tier] ?? 0) + 1
  }

  recordBreaker(breaker: string, state: BreakerState): void {
    const known = this.breakers.get(breaker)
    if (known === undefined) this.breakers.set(breaker, { state, changes: 1 })
    else {
      known.state = state
      known.changes++
    }
  }

  snapshot(): LiveSnapshot {
    return {
      at: Date.now(),
      pools: [...this.pools.values()].map((pool) => ({
        name: pool.name,
        size: pool.size,
        used: pool.used,
        idle: Math.max(0, pool.size - pool.used),
        pending: pool.pending,
        max: pool.max,
        waitP99Ms: percentile(pool.waitsMs, 99),
      })),
      queries: {
        count: this.queries.count,
        errors: this.queries.errors,
        p50Ms: percentile(this.queries.durationsMs, 50),
        p99Ms: percentile(this.queries.durationsMs, 99),
      },
      slowQueries: [...this.slowQueries],
      caches: [...this.caches].map(([cache, counters]) => ({
        cache,
        ...counters,
        byTier: { ...counters.byTier },
        hitRatio:
          counters.hits + counters.misses + counters.stale === 0
            ? 0
            : (counters.hits + counters.stale) / (counters.hits + counters.misses + counters.stale),
      })),
      breakers: [...this.breakers].map(([breaker, value]) => ({ breaker, ...value })),
      cluster: { routes: { ...this.cluster.routes }, failovers: this.cluster.failovers, lastFailover: this.cluster.lastFailover },
    }
  }
}
