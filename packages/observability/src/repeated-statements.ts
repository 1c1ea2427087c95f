import type { RepeatedStatementReport } from './options'

const TRACES_KEPT = 1_000

/**
 * The N+1 detector: counts statement shapes per trace and reports a shape once, when its count passes the threshold.
 * Keeps the most recent {@link TRACES_KEPT} traces.
 */
export class RepeatedStatementDetector {
  private readonly traces = new Map<string, Map<string, number>>()

  constructor(
    private readonly threshold: number,
    private readonly report: (report: RepeatedStatementReport) => void,
  ) {}

  seen(traceId: string, sql: string): void {
    if (this.threshold === 0) return
    let shapes = this.traces.get(traceId)
    if (shapes === undefined) {
      if (this.traces.size >= TRACES_KEPT) this.traces.delete(this.traces.keys().next().value as string)
      shapes = new Map()
      this.traces.set(traceId, shapes)
    }
    const count = (shapes.get(sql) ?? 0) + 1
    shapes.set(sql, count)
    if (count === this.threshold + 1) this.report({ sql, count, traceId })
  }
}
