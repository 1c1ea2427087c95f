// The scenarios both provider benchmarks run: the same statements, pool size, concurrency and sampling, so their
// reports compare. Each benchmark supplies the contenders (raw driver, provider, provider with hooks); every contender
// runs every scenario the same way.
import type { Hooks, Provider } from '@tessera/core'
import { type Case, type CaseSamples, consume, type GroupResult, sampleCases, summarize } from './harness'

export const PG_URL = process.env.TESSERA_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
export const POOL_SIZE = 10
// Each scenario runs in EPOCHS epochs of its rounds, every epoch on fresh pools. Why: how fast one pool's connections
// are depends on where the kernel runs their backends and their loopback sockets, and that stays fixed for a
// connection's life. On a 2-core machine one case drew 15 % more kernel time per query than another for a whole
// process (whichever case it was, pg.Pool included), so one set of pools per run moved the SELECT 1 × 64 ratios by
// ±0.15 between runs. Five sets average that out; opening them is not timed.
const EPOCHS = 5
const OPTIONS = { opsPerSample: 20, rounds: 30, warmupRounds: 5 }
/** For scenarios whose one statement takes milliseconds: fewer operations per sample, same number of samples. */
const HEAVY_OPTIONS = { opsPerSample: 4, rounds: 30, warmupRounds: 3 }

/** Statements in the transaction scenario's body, between its BEGIN and COMMIT. */
export const TRANSACTION_STATEMENTS = 3

const BULK_ROWS = 500
/** 1,000 parameters: 500 rows of (int, text) in one VALUES list. */
const BULK_TEXT = `SELECT count(*)::int AS n FROM (VALUES ${Array.from({ length: BULK_ROWS }, (_, i) => `($${2 * i + 1}::int, $${2 * i + 2}::text)`).join(', ')}) AS v(id, name)`
const BULK_PARAMS = Array.from({ length: BULK_ROWS }, (_, i) => [i, `name ${i}`]).flat()

// Ten columns of types both drivers parse to the same JavaScript values (no int8, numeric or date, whose defaults
// differ between pg-types, postgres.js and the converter), so the row cost compared is the provider's own.
const WIDE_TEXT = `SELECT g AS id, g * 2 AS a, g % 7 AS b, 'name ' || g AS name, md5(g::text) AS hash, 'x' AS tag,
  g % 2 = 0 AS even, g / 3.0::float8 AS ratio, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second' AS at,
  g::float4 AS f FROM generate_series(1, 1000) g`

/** One scenario: a statement (or a transaction of statements) run `inFlight` at a time. */
export interface Scenario {
  label: string
  kind: 'statement' | 'transaction'
  text: string
  params: readonly unknown[]
  inFlight: readonly number[]
  /** Statements each call sends (a transaction's BEGIN and COMMIT included): divides CPU overhead per statement. */
  statementsPerCall: number
  /** Rows each statement returns: divides CPU overhead per row. */
  rowsPerStatement: number
  options: typeof OPTIONS
}

export const SCENARIOS: readonly Scenario[] = [
  statement('SELECT 1', 'SELECT 1 AS one', [], [1, 8, 32], 1),
  statement('100 rows', "SELECT g AS id, 'name ' || g AS name, now() AS at FROM generate_series(1, 100) g", [], [1, 8, 32], 100),
  statement('1 parameter', 'SELECT $1::int + 1 AS n', [41], [8], 1),
  {
    label: `transaction of ${TRANSACTION_STATEMENTS} statements (1 parameter each)`,
    kind: 'transaction',
    text: 'SELECT $1::int + 1 AS n',
    params: [41],
    inFlight: [8],
    statementsPerCall: TRANSACTION_STATEMENTS + 2,
    rowsPerStatement: 1,
    options: OPTIONS,
  },
  { ...statement('1,000 rows × 10 columns', WIDE_TEXT, [], [1], 1_000), options: HEAVY_OPTIONS },
  { ...statement(`${(2 * BULK_ROWS).toLocaleString('en-US')} parameters`, BULK_TEXT, BULK_PARAMS, [1], 1), options: HEAVY_OPTIONS },
]

function statement(label: string, text: string, params: readonly unknown[], inFlight: readonly number[], rows: number): Scenario {
  return { label, kind: 'statement', text, params, inFlight, statementsPerCall: 1, rowsPerStatement: rows, options: OPTIONS }
}

const noOp: Hooks = {
  onQuery(_ctx, next) {
    return next()
  },
}

/** Five no-op `onQuery` hooks: the cost of the hook chain itself. */
export function fiveNoOpHooks(): Hooks[] {
  return [noOp, { ...noOp }, { ...noOp }, { ...noOp }, { ...noOp }]
}

/** One operation: `n` calls of `run` started together and awaited together. */
export function inFlight(n: number, run: () => Promise<unknown>): () => Promise<void> {
  return async () => {
    const pending = new Array<Promise<unknown>>(n)
    for (let i = 0; i < n; i++) pending[i] = run()
    consume(await Promise.all(pending))
  }
}

/** One contender: how it runs one statement, and one transaction of {@link TRANSACTION_STATEMENTS} statements. */
export interface Contender {
  name: string
  query(text: string, params: readonly unknown[]): Promise<unknown>
  transaction(text: string, params: readonly unknown[], statements: number): Promise<unknown>
}

/** The contenders of one benchmark on fresh pools (the baseline first), and how to close their pools. */
/** A Tessera provider as a contender: `query()`, and a `transaction()` running the statement `statements` times. */
export function providerContender(name: string, provider: Provider): Contender {
  return {
    name,
    query: (text, params) => provider.query(text, params),
    transaction: (text, params, statements) =>
      provider.transaction(async (tx) => {
        for (let i = 0; i < statements; i++) await tx.query(text, params)
      }),
  }
}

export interface Contenders {
  contenders: Contender[]
  close(): Promise<unknown>
}

function caseOf(contender: Contender, scenario: Scenario, n: number): Case {
  const { text, params } = scenario
  const run =
    scenario.kind === 'transaction'
      ? () => contender.transaction(text, params, TRANSACTION_STATEMENTS)
      : () => contender.query(text, params)
  return { name: contender.name, fn: inFlight(n, run) }
}

/**
 * Runs every scenario at each of its concurrencies (`only`: the scenarios whose label starts with one of these). Each
 * takes its samples in {@link EPOCHS} epochs, each on contenders from a fresh `open()`, closed before the next epoch.
 */
export async function runProviderScenarios(open: () => Contenders, only: readonly string[] = []): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = []
  const scenarios = only.length === 0 ? SCENARIOS : SCENARIOS.filter((s) => only.some((prefix) => s.label.startsWith(prefix)))
  for (const scenario of scenarios) {
    for (const n of scenario.inFlight) {
      let names: string[] = []
      const samples: CaseSamples[] = []
      for (let epoch = 0; epoch < EPOCHS; epoch++) {
        const { contenders, close } = open()
        try {
          const cases = contenders.map((contender) => caseOf(contender, scenario, n))
          names = cases.map((c) => c.name)
          const sampled = await sampleCases(cases, scenario.options)
          for (const [i, { ms, cpuUs }] of sampled.entries()) {
            const all = (samples[i] ??= { ms: [], cpuUs: [] })
            all.ms.push(...ms)
            all.cpuUs.push(...cpuUs)
          }
        } finally {
          await close()
        }
      }
      const title = `${scenario.label}, ${n} in flight (pool of ${POOL_SIZE})`
      results.push({ scenario, inFlight: n, group: summarize(title, names, samples, scenario.options.opsPerSample) })
    }
  }
  return results
}

/** One table of a report: a scenario at one concurrency. */
export interface ScenarioResult {
  scenario: Scenario
  inFlight: number
  group: GroupResult
}

/**
 * The client CPU each provider case spends beyond `baseline` (a raw driver case of the same group), per statement
 * and, for scenarios returning many rows, per row: one line per group, for a report's notes.
 */
export function cpuOverheadLines(results: readonly ScenarioResult[], baseline: string, providers: readonly string[]): string[] {
  const lines: string[] = []
  for (const { scenario, inFlight: n, group } of results) {
    const raw = group.results.find((r) => r.name === baseline)
    if (raw === undefined) continue
    const statements = n * scenario.statementsPerCall
    const rows = scenario.rowsPerStatement
    const parts = providers.flatMap((name) => {
      const ours = group.results.find((r) => r.name === name)
      if (ours === undefined) return []
      const extraUs = ours.cpuUsPerOp - raw.cpuUsPerOp
      const perRow = rows >= 100 ? `, ${signed((extraUs / statements / rows) * 1e3, 0)} ns per row` : ''
      return [`${name} ${signed(extraUs / statements)} µs per statement${perRow}`]
    })
    lines.push(`${group.title}: ${parts.join('; ')} (client CPU beyond ${baseline}).`)
  }
  return lines
}

function signed(value: number, digits = 2): string {
  return `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(digits)}`
}

/**
 * `TESSERA_BENCH_SCENARIOS='SELECT 1|1,000 rows'` runs only the scenarios whose label starts with one of these, and
 * prints their tables without writing the report (a partial run must not replace the full one).
 */
export function scenarioFilter(): string[] {
  const value = process.env.TESSERA_BENCH_SCENARIOS ?? ''
  return value
    .split('|')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
}
