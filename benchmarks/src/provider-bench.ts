// The scenarios both provider benchmarks run: the same statements, pool size, concurrency and sampling, so their
// reports compare. Each benchmark supplies the cases (raw driver, provider, provider with hooks) for one scenario.
import type { Hooks } from '@tessera/core'
import { type Case, compare, consume, type GroupResult } from './harness'

export const PG_URL = process.env.TESSERA_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
export const POOL_SIZE = 8
const IN_FLIGHT = [1, 8, 64] as const
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

/** Runs every statement at every concurrency (the parameterised one at 8 only), with the cases `casesFor` gives. */
export async function runProviderScenarios(casesFor: (text: string, params: unknown[], n: number) => Case[]): Promise<GroupResult[]> {
  const groups: GroupResult[] = []
  for (const [label, { text, params }] of Object.entries(STATEMENTS)) {
    const concurrency = label === '1 parameter' ? [8] : IN_FLIGHT
    for (const n of concurrency) {
      groups.push(await compare(`${label}, ${n} in flight (pool of ${POOL_SIZE})`, casesFor(text, params, n), OPTIONS))
    }
  }
  return groups
}
