import { spawn } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

/** The repository this file belongs to. */
export const repositoryRoot = new URL('../..', import.meta.url).pathname

/** The workspace's own tool binaries (`changeset`, `tsc`), for commands run in a copy that has no node_modules. */
export const workspaceBin = join(repositoryRoot, 'node_modules', '.bin')

/** Options of {@link copyWorkspace}. */
export interface CopyWorkspaceOptions {
  /** Copy each package's `dist/` too, so the copy can be published without building. Default false. */
  withBuild?: boolean | undefined
}

/**
 * Copies the repository's files (tracked and not ignored, as `git ls-files` lists them) into a new temporary
 * directory and returns it, so `changeset version` and `changeset publish` can run on the copy and never touch this
 * checkout, its manifests or its tags. No node_modules: commands find the workspace's binaries through
 * {@link workspaceBin}.
 */
export async function copyWorkspace({ withBuild = false }: CopyWorkspaceOptions = {}): Promise<string> {
  const copy = mkdtempSync(join(tmpdir(), 'tessera-release-'))
  const listed = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repositoryRoot })
  if (listed.code !== 0) throw new Error(`git ls-files failed: ${listed.output}`)
  for (const file of listed.stdout.split('\0').filter(Boolean)) {
    const source = join(repositoryRoot, file)
    // A file deleted in the work tree but still tracked is listed too.
    if (!existsSync(source)) continue
    mkdirSync(dirname(join(copy, file)), { recursive: true })
    cpSync(source, join(copy, file))
  }
  if (withBuild) {
    for (const name of readdirSync(join(repositoryRoot, 'packages'))) {
      const dist = join(repositoryRoot, 'packages', name, 'dist')
      if (!existsSync(dist)) throw new Error(`packages/${name}/dist is missing: run pnpm build first`)
      cpSync(dist, join(copy, 'packages', name, 'dist'), { recursive: true })
    }
  }
  return copy
}

/** What {@link run} returns. */
export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
  /** stdout and stderr together, for failure messages. */
  output: string
}

/** Options of {@link run}. */
export interface RunOptions {
  cwd: string
  env?: Record<string, string | undefined> | undefined
  /** Killed (SIGKILL) after this long. Default 300000. */
  timeoutMs?: number | undefined
}

/**
 * Runs a command to its end without a shell and returns its exit code and output. The environment is this
 * process's, less the `npm_*` variables that pnpm sets for the script running the tests (they would make a nested
 * npm or pnpm act on this workspace's settings), plus `env`.
 */
export function run(command: string, args: readonly string[], { cwd, env = {}, timeoutMs = 300_000 }: RunOptions): Promise<RunResult> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('npm_')))
  const child = spawn(command, args, { cwd, env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk
    output += chunk
  })
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk
    output += chunk
  })
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('error', (error) => {
      clearTimeout(timer)
      resolve({ code: null, stdout, stderr, output: `${output}${error.message}` })
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      const ending = signal === null ? '' : `\n(ended by ${signal}${signal === 'SIGKILL' ? `, after ${timeoutMs} ms` : ''})`
      resolve({ code, stdout, stderr, output: `${output}${ending}` })
    })
  })
}
