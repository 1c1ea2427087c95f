import { performance } from 'node:perf_hooks'
import { UNAVAILABLE, type Unavailable } from './l2-tier'

/**
 * The Redis time one cache operation may spend: `l2.timeoutMs` in all, however many commands it sends (a miss
 * reads the entry, maybe the tag versions, the lock, and writes back). Each command's wait is taken from what is
 * left; once Redis has failed or the budget is spent, the rest of the operation skips Redis (L1 and the factory
 * still answer).
 */
export class OperationBudget {
  private spentMs = 0

  constructor(private readonly limitMs: number) {}

  /** Whether Redis may still be asked within this operation. */
  get isSpent(): boolean {
    return this.spentMs >= this.limitMs
  }

  /** Counts a call made outside {@link run} (the first read, kept inline on the hit path). */
  spend(ms: number, failed: boolean): void {
    this.spentMs = failed ? this.limitMs : this.spentMs + ms
  }

  /**
   * Runs one L2 call within what is left. The L2 tier's own timeout still bounds the command; when less than that
   * is left, the operation stops waiting at the budget's end (the command's late answer is ignored).
   */
  async run<T>(call: () => Promise<T | Unavailable>): Promise<T | Unavailable> {
    const leftMs = this.limitMs - this.spentMs
    if (leftMs <= 0) return UNAVAILABLE
    const started = performance.now()
    const pending = call()
    const result = leftMs >= this.limitMs ? await pending : await raceTimer(pending, leftMs)
    this.spend(performance.now() - started, result === UNAVAILABLE)
    return result
  }
}

function raceTimer<T>(pending: Promise<T | Unavailable>, ms: number): Promise<T | Unavailable> {
  let timer: NodeJS.Timeout | undefined
  const expiry = new Promise<Unavailable>((resolve) => {
    timer = setTimeout(() => resolve(UNAVAILABLE), Math.max(1, Math.ceil(ms)))
  })
  return Promise.race([pending, expiry]).finally(() => clearTimeout(timer))
}
