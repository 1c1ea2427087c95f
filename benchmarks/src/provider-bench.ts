// The scenarios both provider benchmarks run: the same statements, pool size, concurrency and sampling, so their
// reports compare. Each benchmark supplies the cases (raw driver, provider, provider with hooks) for one scenario.
import type { Hooks } from '@tessera/core'
import { type Case, consume, type GroupResult, sampleCases, summarize } from './harness'

export const PG_URL = process.env.TESSERA_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
export const POOL_SIZE = 8
const IN_FLIGHT = [1, 8, 64] as const
// Each scenario runs in EPOCHS epochs of OPTIONS.rounds rounds (150 in all), every epoch on fresh pools. Why: how
// fast one pool's connections are depends on where the kernel runs their backends and their loopback sockets, and
// that stays fixed for a connection's life. On a 2-core machine one case drew 15 % more kernel time per query than
// another for a whole process (whichever case it was, pg.Pool included), so one set of pools per run moved the
// SELECT 1 × 64 ratios by ±0.15 between runs. Five sets average that out; opening them is not timed.
const EPOCHS = 5
const OPTIONS = { opsPerSample: 20, rounds: 30, warmupRounds: 5 }

const STATEMENTS = {
  'SELECT 1': { text: 'SELECT 1 AS one', params: [] as unknown[] },
  '100 rows': { text: "SELECT g AS id, 'name ' || g AS name, now() AS at FROM generate_series(1, 100) g", params: [] as unknown[] },
  '1 parameter': { text: 'SELECT $1::int + 1 AS n', params: [41] as unknown[] },
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

/** The contenders of one benchmark on fresh pools: the cases of a scenario, and how to close their pools. */
export interface Contenders {
  cases(text: string, params: unknown[], n: number): Case[]
  close(): Promise<unknown>
}

/**
 * Runs every statement at every concurrency (the parameterised one at 8 only). Each scenario takes its samples in
 * {@link EPOCHS} epochs, each on contenders from a fresh `open()`, closed before the next epoch.
 */
export async function runProviderScenarios(open: () => Contenders): Promise<GroupResult[]> {
  const groups: GroupResult[] = []
  for (const [label, { text, params }] of Object.entries(STATEMENTS)) {
    const concurrency = label === '1 parameter' ? [8] : IN_FLIGHT
    for (const n of concurrency) {
      let names: string[] = []
      const times: number[][] = []
      for (let epoch = 0; epoch < EPOCHS; epoch++) {
        const contenders = open()
        try {
          const cases = contenders.cases(text, params, n)
          names = cases.map((c) => c.name)
          const sampled = await sampleCases(cases, OPTIONS)
          for (const [i, samples] of sampled.entries()) (times[i] ??= []).push(...samples)
        } finally {
          await contenders.close()
        }
      }
      groups.push(summarize(`${label}, ${n} in flight (pool of ${POOL_SIZE})`, names, times, OPTIONS.opsPerSample))
    }
  }
  return groups
}
