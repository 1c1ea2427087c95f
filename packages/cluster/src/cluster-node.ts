import type { Provider } from '@tessera/core'
import { formatLsn, type Lsn, parseLsn } from './lsn'

/** A node's role as last discovered. */
export type NodeRole = 'primary' | 'replica' | 'unknown'

/**
 * Whether a node takes traffic: `up`; `down` (never answered, or stopped answering: ejected, re-probed with
 * backoff); `fenced` (claims to be primary on a lower timeline than the chosen primary: gets nothing).
 */
export type NodeState = 'up' | 'down' | 'fenced'

/** A snapshot of one node, as `cluster.nodes()` returns it. */
export interface ClusterNodeStatus {
  name: string
  role: NodeRole
  state: NodeState
  /** Statements running on it through the cluster now. */
  inFlight: number
  /** Moving average (EWMA, α = 0.2) of its statements' latency, ms; undefined before the first. */
  latencyMs: number | undefined
  /** WAL bytes behind the primary, at the last health check (replicas). */
  lagBytes: number | undefined
  /** Ms behind the primary at the last health check (replicas; 0 when it has replayed all it received). */
  lagMs: number | undefined
  /** Its WAL position at the last health check: replay position of a replica, insert position of a primary. */
  lsn: string | undefined
  /**
   * Its timeline at the last health check: a primary's current one; a replica's is the timeline its WAL receiver is
   * streaming (undefined while it streams from no one, or when the user may not read `pg_stat_wal_receiver`).
   */
  timeline: number | undefined
  /** Consecutive failed probes or queries. */
  failures: number
  /** The last error that took it down. */
  lastError: string | undefined
}

/** What one health probe read. */
export interface ProbeResult {
  inRecovery: boolean
  lsn: Lsn | undefined
  timeline: number | undefined
  lagMs: number
}

/**
 * One statement for both roles: the role, the WAL position (replay position on a replica, insert position on a
 * primary, which is never behind a committed write), the timeline (a primary's from the name of its current WAL
 * file: `pg_control_checkpoint()` lags until the first checkpoint after a promotion; a replica's is the one its WAL
 * receiver streams, null when none runs or the user lacks `pg_read_all_stats`) and the replica's lag in time
 * (0 when it has replayed everything it received, else the age of the last replayed transaction).
 */
const PROBE_SQL = `SELECT pg_is_in_recovery() AS in_recovery,
  (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_insert_lsn() END)::text AS lsn,
  CASE WHEN pg_is_in_recovery() THEN (SELECT received_tli FROM pg_stat_wal_receiver LIMIT 1)
    ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END AS timeline,
  CASE WHEN NOT pg_is_in_recovery() THEN 0
    WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
    ELSE COALESCE(extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000, 0) END::float8 AS lag_ms`

const EWMA_WEIGHT = 0.2

/** A node of a cluster: its provider and what the cluster knows about it. */
export class ClusterNode {
  role: NodeRole = 'unknown'
  state: NodeState = 'down'
  inFlight = 0
  latencyMs: number | undefined
  lagBytes: number | undefined
  lagMs: number | undefined
  lsn: Lsn | undefined
  timeline: number | undefined
  failures = 0
  lastError: string | undefined
  /** Whether it ever answered a probe: its first answer is `up`, later ones after an outage `readmitted`. */
  hasBeenUp = false
  /** When it went down (for `downForMs` in events). */
  downSince: number | undefined
  /** When the next probe of a down node is due. */
  nextProbeAt = 0
  /** Whether it was over the lag limits at the last check. */
  overLag = false
  probing: Promise<ProbeResult | Error> | undefined

  constructor(
    readonly name: string,
    readonly provider: Provider,
  ) {}

  /** Runs the probe once; resolves with what it read or the error (never rejects). */
  probe(timeoutMs: number): Promise<ProbeResult | Error> {
    this.probing ??= this.provider
      .query<{ in_recovery: boolean; lsn: string | null; timeline: number | null; lag_ms: number | null }>(PROBE_SQL, [], {
        timeoutMs,
        retry: false,
        prepare: false,
      })
      .then(
        (result): ProbeResult | Error => {
          const row = result.rows[0]
          if (row === undefined) return new Error('the health probe returned no row')
          return {
            inRecovery: row.in_recovery === true,
            lsn: parseLsn(row.lsn),
            timeline: row.timeline === null ? undefined : Number(row.timeline),
            lagMs: Number(row.lag_ms ?? 0),
          }
        },
        (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
      )
      .finally(() => {
        this.probing = undefined
      })
    return this.probing
  }

  /** Records one statement's latency in the moving average. */
  observeLatency(ms: number): void {
    this.latencyMs = this.latencyMs === undefined ? ms : this.latencyMs + EWMA_WEIGHT * (ms - this.latencyMs)
  }

  status(): ClusterNodeStatus {
    return {
      name: this.name,
      role: this.role,
      state: this.state,
      inFlight: this.inFlight,
      latencyMs: this.latencyMs,
      lagBytes: this.lagBytes,
      lagMs: this.lagMs,
      lsn: this.lsn === undefined ? undefined : formatLsn(this.lsn),
      timeline: this.timeline,
      failures: this.failures,
      lastError: this.lastError,
    }
  }
}
