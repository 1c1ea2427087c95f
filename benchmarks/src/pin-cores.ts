// Pins the benchmark process to one core and the local PostgreSQL to the other, for the groups whose cases each talk
// to the server over their own connection.
//
// Why: on a 2-core machine the scheduler puts each backend on the client's core or on the other one, and a loopback
// round trip costs ~35 µs in the first case and ~200-400 µs (with ~3× the client CPU, cross-core wake-ups) in the
// second. When a case and its baseline use different connections, where their backends landed decided the ratio
// (identical providers measured 1.00 / 1.75 / 5.23 in one run). Pinned, every backend runs on the other core, as a
// server on another machine would, and the cases are compared under the same conditions.
//
// How: the postmaster's CPU affinity is set (backends forked afterwards inherit it), with `taskset`, which needs the
// right to change the postmaster's affinity (root, or the postgres OS user). When that is not possible (another
// user, a remote server, fewer than 2 cores) nothing is pinned and the result says so. `restore()` gives both back
// every core; backends forked while pinned keep the pin until they end (the benchmark closes its connections).
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'

export interface CorePinning {
  /** What was done, for the report's notes. */
  readonly description: string
  readonly pinned: boolean
  restore(): void
}

export async function pinClientAndServer(query: (sql: string) => Promise<{ rows: Record<string, unknown>[] }>): Promise<CorePinning> {
  const cores = availableParallelism()
  const none = (why: string): CorePinning => ({ description: `not pinned (${why})`, pinned: false, restore() {} })
  if (cores < 2) return none('fewer than 2 cores')
  let postmaster: string
  try {
    const { rows } = await query('SHOW data_directory')
    const dataDirectory = String(rows[0]?.data_directory)
    postmaster = readFileSync(join(dataDirectory, 'postmaster.pid'), 'utf8').split('\n')[0]!.trim()
  } catch (error) {
    return none(`the postmaster was not found: ${(error as Error).message.split('\n')[0]}`)
  }
  const all = `0-${cores - 1}`
  const set = (pid: string, list: string) => execFileSync('taskset', ['-a', '-p', '-c', list, pid], { stdio: 'ignore' })
  try {
    set(postmaster, '1')
    set(String(process.pid), '0')
  } catch (error) {
    try {
      set(postmaster, all)
      set(String(process.pid), all)
    } catch {}
    return none(`taskset failed: ${(error as Error).message.split('\n')[0]}`)
  }
  let restored = false
  const restore = () => {
    if (restored) return
    restored = true
    try {
      set(postmaster, all)
      set(String(process.pid), all)
    } catch {}
  }
  process.once('exit', restore)
  return {
    description:
      'pinned: this process on core 0, the PostgreSQL server (its postmaster, so every backend forked for the group) on core 1, so every round trip crosses cores as it would to another machine',
    pinned: true,
    restore,
  }
}
