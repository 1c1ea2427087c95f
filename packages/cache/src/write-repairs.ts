import { createHash } from 'node:crypto'
import { DELETE_MARKER_TTL_MS, newDeleteMarker } from './cache-entry'
import type { ErrorReporter } from './error-reporter'
import type { InvalidationBus } from './invalidation-bus'
import type { L1Tier } from './l1-tier'
import { type L2Tier, UNAVAILABLE } from './l2-tier'
import type { Counters } from './stats'

/** At most this many keys wait for a repair; past it the oldest is forgotten (counted and reported). */
export const MAX_PENDING_REPAIRS = 10_000
/** How often the repair is tried while keys wait for it and Redis answers (ms). */
export const REPAIR_INTERVAL_MS = 100
/** Keys repaired in parallel per round. */
const REPAIR_BATCH = 64

// Replaces the key with a delete marker unless it holds what a later, acknowledged write stored (sha1 of it).
const MARK_UNLESS_CONFIRMED = `local current = redis.call('get', KEYS[1])
if ARGV[1] ~= '' and current and redis.sha1hex(current) == ARGV[1] then return 0 end
redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`

/** A Redis write of one key, as sent: the key in this cache and in Redis, and the text. */
export interface SentWrite {
  fk: string
  redisKey: string
  text: string
  ttlMs: number
}

interface PendingRepair {
  redisKey: string
  /** sha1 of what a later acknowledged write of the key stored, if any: the repair leaves that alone. */
  confirmedHash: string | undefined
}

/**
 * Writes whose outcome in Redis is unknown (timed out, failed, or not sent because Redis was away) leave the key in
 * an unknown state: Redis may hold the value the write meant to replace, or the write may land late. Each such key
 * is remembered (deduplicated, bounded) and, once Redis answers again, replaced by a delete marker, unless a later
 * acknowledged write of the key is what Redis holds; then the other instances are told to drop their copies.
 * Until then this instance does not trust what Redis holds for the key.
 */
export class WriteRepairs {
  private readonly pending = new Map<string, PendingRepair>()
  private timer: NodeJS.Timeout | undefined
  private isRepairing = false
  private isClosed = false

  constructor(
    private readonly l2: L2Tier,
    private readonly l1: L1Tier | undefined,
    private readonly bus: InvalidationBus,
    private readonly counters: Counters,
    private readonly report: ErrorReporter,
    private readonly namespace: string,
  ) {}

  /** Keys waiting for a repair. */
  get size(): number {
    return this.pending.size
  }

  /** Whether what Redis holds for `fk` may be a value that was replaced or deleted here. */
  isSuspect(fk: string): boolean {
    return this.pending.size !== 0 && this.pending.has(fk)
  }

  /** These writes may or may not have landed. */
  remember(writes: readonly SentWrite[]): void {
    if (this.isClosed) return
    for (const write of writes) {
      // Re-inserted at the end: the newest failures are the last to be forgotten.
      this.pending.delete(write.fk)
      this.pending.set(write.fk, { redisKey: write.redisKey, confirmedHash: undefined })
    }
    let dropped = 0
    for (const fk of this.pending.keys()) {
      if (this.pending.size <= MAX_PENDING_REPAIRS) break
      this.pending.delete(fk)
      dropped++
    }
    if (dropped > 0) {
      this.counters.repairsDropped += dropped
      const error = new Error(`${dropped} keys with an unknown write were forgotten (more than ${MAX_PENDING_REPAIRS} waited for a repair)`)
      this.report(error, { operation: 'l2', namespace: this.namespace })
    }
    this.schedule()
  }

  /** These writes were acknowledged: a repair of their keys must not remove them (only an older write landing late). */
  confirm(writes: readonly SentWrite[]): void {
    if (this.pending.size === 0) return
    for (const write of writes) {
      const entry = this.pending.get(write.fk)
      if (entry !== undefined) entry.confirmedHash = createHash('sha1').update(write.text).digest('hex')
    }
  }

  close(): void {
    this.isClosed = true
    clearTimeout(this.timer)
    this.timer = undefined
  }

  private schedule(): void {
    if (this.timer !== undefined || this.isClosed || this.pending.size === 0) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.repair()
    }, REPAIR_INTERVAL_MS)
    this.timer.unref()
  }

  private async repair(): Promise<void> {
    if (this.isRepairing || this.isClosed) return
    this.isRepairing = true
    try {
      while (this.pending.size > 0 && this.l2.isUsable && !this.isClosed) {
        const batch = [...this.pending].slice(0, REPAIR_BATCH)
        const outcomes = await Promise.all(
          batch.map(([, entry]) =>
            this.l2.eval(
              'EVAL repair',
              MARK_UNLESS_CONFIRMED,
              entry.redisKey,
              entry.confirmedHash ?? '',
              newDeleteMarker(),
              String(DELETE_MARKER_TTL_MS),
            ),
          ),
        )
        const marked: string[] = []
        let isInterrupted = false
        outcomes.forEach((outcome, i) => {
          const [fk, entry] = batch[i]!
          if (outcome === UNAVAILABLE) {
            isInterrupted = true
            return
          }
          // A newer failure of the key while this ran stays pending (a new entry object).
          if (this.pending.get(fk) === entry) this.pending.delete(fk)
          this.counters.repairs++
          if (Number(outcome) === 1) {
            this.l1?.delete(fk)
            marked.push(fk)
          }
        })
        if (marked.length > 0) await this.bus.send({ k: marked })
        if (isInterrupted) break
      }
    } finally {
      this.isRepairing = false
      this.schedule()
    }
  }
}
