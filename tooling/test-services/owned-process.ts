import { type ChildProcess, execFileSync, spawn } from 'node:child_process'

/** Options of {@link spawnOwnedProcess}. */
export interface OwnedProcessOptions {
  command: string
  args: readonly string[]
  /** OS user to run as when this process is root: servers such as PgBouncer refuse to run as root. */
  runAsWhenRoot?: string | undefined
}

/** How a process ended: its exit code, or the signal that ended it, or why it never started. */
export interface ProcessExit {
  code: number | null
  signal: NodeJS.Signals | null
  error?: Error | undefined
}

/** A child process this test process owns: it stops with {@link OwnedProcess.stop}, or at the latest when we exit. */
export interface OwnedProcess {
  readonly pid: number | undefined
  /** Whether the process has not exited yet. */
  readonly running: boolean
  /** Settles once the process has exited (or failed to start). */
  readonly exited: Promise<ProcessExit>
  /** Sends SIGTERM, then SIGKILL if it is still running after `graceMs` (default 5000); resolves once it has exited. */
  stop(options?: { graceMs?: number }): Promise<ProcessExit>
}

const owned = new Set<ChildProcess>()
let exitHookInstalled = false

/**
 * Starts `command` so that it can never outlive this process: the kernel sends it SIGTERM when its parent dies
 * (`setpriv --pdeathsig`, which also covers a worker killed with SIGKILL), and a `process.on('exit')` hook stops the
 * ones still running at a normal exit. The child is unref'd, so a forgotten handle never keeps a test run alive.
 * Its output is discarded; servers should log to a file.
 */
export function spawnOwnedProcess(options: OwnedProcessOptions): OwnedProcess {
  installExitHook()
  const setprivArgs: string[] = []
  const user = process.getuid?.() === 0 ? options.runAsWhenRoot : undefined
  // Credentials first: changing the uid clears the parent-death signal, so it is set after the switch.
  if (user !== undefined) setprivArgs.push('--reuid', user, '--regid', String(osUser(user).gid), '--init-groups')
  setprivArgs.push('--pdeathsig', 'TERM', '--', options.command, ...options.args)

  const child = spawn('setpriv', setprivArgs, { stdio: 'ignore' })
  owned.add(child)
  child.unref()
  let running = true
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('error', (error) => {
      running = false
      owned.delete(child)
      resolve({ code: null, signal: null, error })
    })
    child.once('exit', (code, signal) => {
      running = false
      owned.delete(child)
      resolve({ code, signal })
    })
  })

  return {
    pid: child.pid,
    get running() {
      return running
    },
    exited,
    async stop({ graceMs = 5_000 } = {}) {
      if (!running) return exited
      // Hold the event loop open until the exit is observed.
      child.ref()
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      try {
        return await exited
      } finally {
        clearTimeout(timer)
      }
    },
  }
}

/** Numeric ids of an OS user, e.g. to hand it a directory before starting a process as that user. */
export function osUser(name: string): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim())
  return { uid: id('-u'), gid: id('-g') }
}

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on('exit', () => {
    for (const child of owned) child.kill('SIGTERM')
  })
}

/**
 * Polls `probe` every `intervalMs` until it resolves (the server answers): resolves with undefined then, or with why
 * not once the process exits or `timeoutMs` runs out (`what` names the probe in that message, with its last error).
 */
export async function waitUntilServing(
  child: OwnedProcess,
  probe: () => Promise<void>,
  { what, timeoutMs, intervalMs }: { what: string; timeoutMs: number; intervalMs: number },
): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs
  let lastError = ''
  while (Date.now() < deadline) {
    if (!child.running) {
      const exit = await child.exited
      return exit.error ? `cannot start it: ${exit.error.message}` : `it exited (code ${exit.code}, signal ${exit.signal})`
    }
    try {
      await probe()
      return undefined
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error)
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
  return `${what} within ${timeoutMs} ms (${lastError})`
}
