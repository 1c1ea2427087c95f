import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { join } from 'node:path'
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
  /**
   * This process's CPU time (user + system, all its threads) per operation, µs, over every timed sample: what the
   * operation costs the client, whatever else the machine (a database server on it, other jobs) spends meanwhile.
   */
  cpuUsPerOp: number
}

/** The timed samples of one case: wall time (ms) and this process's CPU time (µs, user + system) of each. */
export interface CaseSamples {
  ms: number[]
  cpuUs: number[]
}

export interface GroupResult {
  title: string
  opsPerSample: number
  results: CaseResult[]
  /**
   * The timed samples behind `results`, one entry per case in the same order; sample i of every case was taken in
   * round i, so `baseline.ms[i] / case.ms[i]` is the case's ratio in that round (the report charts their spread).
   */
  samples: CaseSamples[]
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index] ?? 0
}

async function sample(fn: () => unknown, ops: number): Promise<{ ms: number; cpuUs: number }> {
  const first = fn()
  const isAsync = first instanceof Promise
  if (isAsync) await first
  // The first call above is untimed; time `ops` more.
  const cpuStart = process.cpuUsage()
  const start = performance.now()
  if (isAsync) {
    for (let i = 0; i < ops; i++) await fn()
  } else {
    for (let i = 0; i < ops; i++) fn()
  }
  const ms = performance.now() - start
  const cpu = process.cpuUsage(cpuStart)
  return { ms, cpuUs: cpu.user + cpu.system }
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

/** The timed part of {@link compare}: each case's samples, in case order, not summarised. */
export async function sampleCases(cases: Case[], options: CompareOptions = {}): Promise<CaseSamples[]> {
  const ops = options.opsPerSample ?? 1_000
  const rounds = options.rounds ?? 200
  const warmup = options.warmupRounds ?? 20
  const samples: CaseSamples[] = cases.map(() => ({ ms: [], cpuUs: [] }))
  for (let round = 0; round < warmup + rounds; round++) {
    for (let k = 0; k < cases.length; k++) {
      const index = (round + k) % cases.length
      const { ms, cpuUs } = await sample(cases[index]!.fn, ops)
      if (round < warmup) continue
      samples[index]!.ms.push(ms)
      samples[index]!.cpuUs.push(cpuUs)
    }
  }
  return samples
}

/**
 * Turns samples (of `opsPerSample` operations each, one entry per case, the baseline first) into a printed
 * {@link GroupResult}. For samples gathered by several {@link sampleCases} calls, concatenated per case.
 */
export function summarize(title: string, names: string[], samples: CaseSamples[], opsPerSample: number): GroupResult {
  const results = names.map((name, i) => {
    const { ms, cpuUs } = samples[i] ?? { ms: [], cpuUs: [] }
    const ops = ms.length * opsPerSample
    const perOp = ms.map((sampleMs) => (sampleMs * 1e6) / opsPerSample).sort((a, b) => a - b)
    return {
      name,
      opsPerSec: (ops * 1000) / sum(ms),
      p50Ns: percentile(perOp, 50),
      p99Ns: percentile(perOp, 99),
      ratio: 1,
      cpuUsPerOp: sum(cpuUs) / ops,
    }
  })
  const base = results[0]!.opsPerSec
  for (const r of results) r.ratio = r.opsPerSec / base
  const group = { title, opsPerSample, results, samples }
  printGroup(group)
  return group
}

function sum(values: number[]): number {
  let total = 0
  for (const value of values) total += value
  return total
}

function formatNs(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`
  return `${ns.toFixed(1)} ns`
}

function formatOps(ops: number): string {
  // Bulk operations (a 1M-row COPY) take seconds each: show their fraction rather than 0.
  if (ops < 10) return ops.toFixed(2)
  return Math.round(ops).toLocaleString('en-US')
}

function groupTable(group: GroupResult): string {
  const lines = [
    `### ${group.title}`,
    '',
    '| case | ops/s | p50 / op | p99 / op | ratio to baseline | client CPU / op |',
    '|---|---:|---:|---:|---:|---:|',
  ]
  for (const [i, r] of group.results.entries()) {
    const label = i === 0 ? `${r.name} (baseline)` : r.name
    const cells = [formatOps(r.opsPerSec), formatNs(r.p50Ns), formatNs(r.p99Ns), r.ratio.toFixed(2), formatNs(r.cpuUsPerOp * 1e3)]
    lines.push(`| ${label} | ${cells.join(' | ')} |`)
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

/** The machine a run happened on, as the JSON results record it. */
export interface MachineInfo {
  node: string
  cpu: string
  cores: number
  memoryGiB: number
  platform: string
  /** When the report was written (ISO 8601). */
  date: string
}

function machineInfo(): MachineInfo {
  return {
    node: process.version,
    cpu: cpus()[0]?.model.trim() ?? 'unknown CPU',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    platform: `${process.platform}-${process.arch}`,
    date: new Date().toISOString(),
  }
}

/**
 * The installed version of every dependency of the benchmarks package (the built Tessera packages and the drivers and
 * peers they run against), read from node_modules: what this run measured.
 */
function installedVersions(): Record<string, string> {
  const here = new URL('..', import.meta.url).pathname
  const manifest = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>
    devDependencies?: Record<string, string>
  }
  const versions: Record<string, string> = {}
  for (const name of Object.keys({ ...manifest.dependencies, ...manifest.devDependencies }).sort()) {
    const file = join(here, 'node_modules', name, 'package.json')
    if (existsSync(file)) versions[name] = (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version
  }
  return versions
}

/** `benchmarks/results/<scenario>.json`: what {@link writeReport} measured, with every round, for report.mjs. */
export interface ScenarioResults {
  scenario: string
  intro: string
  notes: string[]
  machine: MachineInfo
  versions: Record<string, string>
  groups: {
    title: string
    opsPerSample: number
    cases: (CaseResult & { samples: CaseSamples })[]
  }[]
}

function writeJson(scenario: string, intro: string, groups: GroupResult[], notes: string[]): void {
  const results: ScenarioResults = {
    scenario,
    intro,
    notes,
    machine: machineInfo(),
    versions: installedVersions(),
    groups: groups.map((group) => ({
      title: group.title,
      opsPerSample: group.opsPerSample,
      cases: group.results.map((result, i) => ({ ...result, samples: group.samples[i] ?? { ms: [], cpuUs: [] } })),
    })),
  }
  writeFileSync(new URL(`../results/${scenario}.json`, import.meta.url), `${JSON.stringify(results)}\n`)
  console.log(`wrote benchmarks/results/${scenario}.json`)
}

/**
 * Writes `benchmarks/results/<scenario>.md` (the groups, how samples were taken, the machine line) and
 * `benchmarks/results/<scenario>.json` (the same with every round's samples and the installed versions), from which
 * `node benchmarks/report.mjs` builds results/README.md and the charts.
 */
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
    '(above 1 is faster than the baseline). Client CPU / op = this process’s CPU time (user + system, all threads, from',
    '`process.cpuUsage()` around each timed sample) ÷ operations: the client’s cost, whatever else the machine spends meanwhile.',
    '',
    ...groups.map(groupTable).flatMap((t) => [t, '']),
    ...(notes.length > 0 ? ['## Notes', '', ...notes.map((n) => `- ${n}`), ''] : []),
  ].join('\n')
  const path = new URL(`../results/${scenario}.md`, import.meta.url)
  writeFileSync(path, body)
  console.log(`\nwrote benchmarks/results/${scenario}.md`)
  writeJson(scenario, intro, groups, notes)
}

/** Keeps a value alive so the JIT cannot drop the work that made it. */
export let sink: unknown
export function consume(value: unknown): void {
  sink = value
}
