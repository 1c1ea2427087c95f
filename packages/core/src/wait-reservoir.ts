/** Percentiles of recent waits (ms), as `stats()` reports them. */
export interface WaitPercentiles {
  p50: number
  p99: number
  max: number
}

/**
 * A fixed-size ring of the most recent wait times. Recording is one typed-array write (no allocation
 * on the acquire path); the sort happens only when someone asks for percentiles.
 */
export class WaitReservoir {
  private readonly samples: Float64Array
  private next = 0
  private filled = 0

  constructor(capacity = 1024) {
    this.samples = new Float64Array(capacity)
  }

  record(ms: number): void {
    this.samples[this.next] = ms
    this.next = this.next + 1 === this.samples.length ? 0 : this.next + 1
    if (this.filled < this.samples.length) this.filled++
  }

  percentiles(): WaitPercentiles {
    if (this.filled === 0) return { p50: 0, p99: 0, max: 0 }
    const sorted = this.samples.slice(0, this.filled).sort()
    return { p50: pick(sorted, 0.5), p99: pick(sorted, 0.99), max: sorted[sorted.length - 1] ?? 0 }
  }
}

function pick(sorted: Float64Array, fraction: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))
  return sorted[index] ?? 0
}
