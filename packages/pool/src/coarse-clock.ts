/**
 * A clock for bookkeeping that may be a little behind: wait and hold times, idle stamps, lifetime checks.
 *
 * Why: on machines without a fast clock source, `Date.now()` costs about 100 ns, several times the cost of a
 * whole acquire + release. A reading returns the cached time until the event loop turns (an unref'd immediate
 * invalidates it) or until 256 readings were served from it, whichever comes first, so it is at most one
 * macrotask (or a few hundred readings) behind. Deadlines use {@link CoarseClock.fresh} instead.
 */
export class CoarseClock {
  private cached = 0
  private budget = 0
  private isRefreshScheduled = false
  private readonly invalidate = (): void => {
    this.isRefreshScheduled = false
    this.budget = 0
  }

  /** The cached time, refreshed at most once per event-loop turn (or per 256 readings). */
  now(): number {
    if (this.budget > 0) {
      this.budget--
      return this.cached
    }
    return this.fresh()
  }

  /** The exact time; also refreshes the cache, so that later {@link now} readings never go below it. */
  fresh(): number {
    const now = Date.now()
    this.cached = now
    this.budget = 256
    if (!this.isRefreshScheduled) {
      this.isRefreshScheduled = true
      setImmediate(this.invalidate).unref()
    }
    return now
  }
}
