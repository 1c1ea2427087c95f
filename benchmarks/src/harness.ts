import { writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { performance } from 'node:perf_hooks'

/** One contender: `fn` is one operation. Sync or async. */
export interface Case {
  name: string
  fn: () => unknown
}

export interface CompareOptions {
  /** Operations per timed sample. Many for nanosecond work, 1 for I/O. Default: 1000. */
  opsPerSample?: number
  /** Timed rounds; in each, every case runs one sample, in rotating order. Default: 200. */
  rounds?: number
  /** Untimed rounds first, so the JIT settles. Default: 20. */
  warmupRounds?: number
}

export interface CaseResult {
  name: string
  opsPerSec: number
  /** Per-operation time of a sample, ns: median and 99th percentile over samples. */
  p50Ns: number
  p99Ns: number
  /** ops/s of this case ÷ ops/s of the baseline (the first case). */
  ratio: number
}

export interface GroupResult {
  title: string
  opsPerSample: number
  results: CaseResult[]
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index] ?? 0
}

async function sample(fn: () => unknown, ops: number): Promise<number> {
  const first = fn()
  const isAsync = first instanceof Promise
  if (isAsync) await first
  // The first call above is untimed; time `ops` more.
  const start = performance.now()
  if (isAsync) {
    for (let i = 0; i < ops; i++) await fn()
  } else {
    for (let i = 0; i < ops; i++) fn()
  }
  return performance.now() - start
}

/**
 * Runs the cases side by side in one process: rounds interleave the cases (rotating who goes
 * first) so that drift in the machine's speed hits every case alike. The first case is the baseline.
 */
export async function compare(title: string, cases: Case[], options: CompareOptions = {}): Promise<GroupResult> {
  const times = await sampleCases(cases, options)
  return summarize(
    title,
    cases.map((c) => c.name),
    times,
    options.opsPerSample ?? 1_000,
  )
}

/** The timed part of {@link compare}: each case's sample times (ms per sample), in case order, not summarised. */
export async function sampleCases(cases: Case[], options: CompareOptions = {}): Promise<number[][]> {
  const ops = options.opsPerSample ?? 1_000
  const rounds = options.rounds ?? 200
  const warmup = options.warmupRounds ?? 20
  const times: number[][] = cases.map(() => [])
  for (let round = 0; round < warmup + rounds; round++) {
    for (let k = 0; k < cases.length; k++) {
      const index = (round + k) % cases.length
      const elapsed = await sample(cases[index]!.fn, ops)
      if (round >= warmup) times[index]!.push(elapsed)
    }
  }
  return times
}

/**
 * Turns sample times (ms per sample of `opsPerSample` operations, one array per case, the baseline first) into a
 * printed {@link GroupResult}. For samples gathered by several {@link sampleCases} calls, concatenated per case.
 */
export function summarize(title: string, names: string[], times: number[][], opsPerSample: number): GroupResult {
  const results = names.map((name, i) => {
    const samples = times[i] ?? []
    const total = samples.reduce((a, b) => a + b, 0)
    const perOp = samples.map((ms) => (ms * 1e6) / opsPerSample).sort((a, b) => a - b)
    return {
      name,
      opsPerSec: (samples.length * opsPerSample * 1000) / total,
      p50Ns: percentile(perOp, 50),
      p99Ns: percentile(perOp, 99),
      ratio: 1,
    }
  })
  const base = results[0]!.opsPerSec
  for (const r of results) r.ratio = r.opsPerSec / base
  const group = { title, opsPerSample, results }
  printGroup(group)
  return group
}

function formatNs(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`
  return `${ns.toFixed(1)} ns`
}

function formatOps(ops: number): string {
  return Math.round(ops).toLocaleString('en-US')
}

function groupTable(group: GroupResult): string {
  const lines = [`### ${group.title}`, '', '| case | ops/s | p50 / op | p99 / op | ratio to baseline |', '|---|---:|---:|---:|---:|']
  for (const [i, r] of group.results.entries()) {
    const label = i === 0 ? `${r.name} (baseline)` : r.name
    lines.push(`| ${label} | ${formatOps(r.opsPerSec)} | ${formatNs(r.p50Ns)} | ${formatNs(r.p99Ns)} | ${r.ratio.toFixed(2)} |`)
  }
  return lines.join('\n')
}

function printGroup(group: GroupResult): void {
  console.log(`\n${groupTable(group)}`)
}

/** The machine line every report carries, so numbers are never read without their context. */
export function machineLine(): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU'
  return `Node ${process.version}, ${cpu}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, ${process.platform}-${process.arch}, ${new Date().toISOString()}`
}

/** Writes `benchmarks/results/<scenario>.md`: the groups, how samples were taken, the machine line. */
export function writeReport(scenario: string, intro: string, groups: GroupResult[], notes: string[] = []): void {
  const body = [
    `# Benchmark: ${scenario}`,
    '',
    intro,
    '',
    `Machine: ${machineLine()}`,
    '',
    'Each case runs in the same process, interleaved round by round with its baseline. ops/s is total operations ÷ total timed',
    'time; p50/p99 are over samples of a fixed number of operations (per-operation time of each sample). Ratio = ops/s ÷ baseline ops/s',
    '(above 1 is faster than the baseline).',
    '',
    ...groups.map(groupTable).flatMap((t) => [t, '']),
    ...(notes.length > 0 ? ['## Notes', '', ...notes.map((n) => `- ${n}`), ''] : []),
  ].join('\n')
  const path = new URL(`../results/${scenario}.md`, import.meta.url)
  writeFileSync(path, body)
  console.log(`\nwrote benchmarks/results/${scenario}.md`)
}

/** Keeps a value alive so the JIT cannot drop the work that made it. */
export let sink: unknown
export function consume(value: unknown): void {
  sink = value
}
