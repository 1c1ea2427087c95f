// Run by process-exit.test.ts in a child process: a pool with idle resources, live timers of every kind
// (reaper, lifetime, leak detection) and nothing else to do. The process must exit on its own.
import { createPool } from '../src/index'

const pool = createPool({
  create: async () => ({ opened: Date.now() }),
  destroy: () => {},
  min: 2,
  max: 4,
  idleTimeoutMs: 60_000,
  maxLifetimeMs: 3_600_000,
  leakDetectionMs: 60_000,
})
const held = await pool.acquire()
pool.release(held)
await pool.acquire()
// One resource is still lent (its leak timer running) and one is idle.
console.log(`ready ${JSON.stringify({ size: pool.stats().size, inUse: pool.stats().inUse })}`)
