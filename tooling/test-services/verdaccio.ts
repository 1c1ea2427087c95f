import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './free-port'
import { type OwnedProcess, spawnOwnedProcess, waitUntilServing } from './owned-process'

/**
 * The Verdaccio release the tests run. 6.8.0 is the newest that runs on Node 20 (6.10 wants Node 22). Installed on
 * first use into `.ci/.verdaccio/<version>` (gitignored), like the Node binaries of `.ci/run`, so the workspace's
 * own dependencies stay free of a registry server's 300 packages.
 */
export const VERDACCIO_VERSION = '6.8.0'

/** Options of {@link startVerdaccio}. */
export interface VerdaccioOptions {
  /** Where to install Verdaccio when it is not there yet. Default: `.ci/.verdaccio/<version>` in the repository. */
  installDir?: string | undefined
}

/** A Verdaccio registry of this test run on 127.0.0.1, with no uplinks: it serves only what was published to it. */
export interface Verdaccio {
  /** `http://127.0.0.1:<port>/`, ending in a slash as npm writes registry URLs. */
  readonly url: string
  readonly port: number
  /** An auth token of the one user that may publish (`tessera`), for `//127.0.0.1:<port>/:_authToken=`. */
  readonly token: string
  /** Verdaccio's log, to read when a publish or an install fails. Removed by `stop()`. */
  readonly logFile: string
  /** Stops Verdaccio and removes its storage. Idempotent. */
  stop(): Promise<void>
}

const READY_TIMEOUT_MS = 60_000
const PORT_ATTEMPTS = 3
const USER = 'tessera'
const repositoryRoot = new URL('../..', import.meta.url).pathname

/**
 * Starts Verdaccio on a free port of 127.0.0.1 with its storage in a temporary directory and no uplinks (so a
 * package it does not hold is a 404, never fetched from elsewhere), creates the user that may publish, and returns
 * its handle once it answers `/-/ping`. Anyone may read; only that user may publish. It is stopped by `stop()`, at
 * the latest when this process exits. Installs Verdaccio with npm on first use (about a minute).
 */
export async function startVerdaccio(options: VerdaccioOptions = {}): Promise<Verdaccio> {
  const bin = ensureInstalled(options.installDir ?? join(repositoryRoot, '.ci', '.verdaccio', VERDACCIO_VERSION))
  let lastFailure = ''
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const port = await freePort()
    const dir = mkdtempSync(join(tmpdir(), 'tessera-verdaccio-'))
    const config = writeConfig(dir, port)
    const child = spawnOwnedProcess({ command: process.execPath, args: [bin, '--config', config, '--listen', `127.0.0.1:${port}`] })
    const url = `http://127.0.0.1:${port}/`
    const failure = await waitUntilReady(url, child)
    if (failure === undefined) {
      try {
        const token = await addUser(url)
        return handle({ url, port, token, logFile: join(dir, 'verdaccio.log') }, child, dir)
      } catch (error) {
        await child.stop()
        rmSync(dir, { recursive: true, force: true })
        throw error
      }
    }
    await child.stop()
    lastFailure = `${failure}\n${logTail(dir)}`
    rmSync(dir, { recursive: true, force: true })
    if (!lastFailure.includes('EADDRINUSE')) break
  }
  throw new Error(`verdaccio did not start: ${lastFailure}`)
}

function handle(info: Omit<Verdaccio, 'stop'>, child: OwnedProcess, dir: string): Verdaccio {
  let stopping: Promise<void> | undefined
  return {
    ...info,
    stop() {
      stopping ??= child.stop().then(() => rmSync(dir, { recursive: true, force: true }))
      return stopping
    },
  }
}

/** Returns the path of Verdaccio's bin script, installing the pinned version first when it is missing. */
function ensureInstalled(installDir: string): string {
  const bin = join(installDir, 'node_modules', 'verdaccio', 'bin', 'verdaccio')
  if (existsSync(bin)) return bin
  // Installed beside the target and renamed into place, so a run cut short never leaves half an install behind.
  const staging = `${installDir}.installing-${process.pid}`
  rmSync(staging, { recursive: true, force: true })
  mkdirSync(staging, { recursive: true })
  try {
    execFileSync(
      'npm',
      [
        'install',
        '--no-save',
        '--no-package-lock',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        '--prefix',
        staging,
        `verdaccio@${VERDACCIO_VERSION}`,
      ],
      { stdio: 'pipe', timeout: 600_000 },
    )
    if (!existsSync(bin)) {
      rmSync(installDir, { recursive: true, force: true })
      renameSync(staging, installDir)
    }
  } finally {
    rmSync(staging, { recursive: true, force: true })
  }
  return bin
}

function writeConfig(dir: string, port: number): string {
  // No `uplinks` and no `proxy`: the registry holds only what the test publishes.
  const yaml = [
    `storage: ${JSON.stringify(join(dir, 'storage'))}`,
    'auth:',
    '  htpasswd:',
    `    file: ${JSON.stringify(join(dir, 'htpasswd'))}`,
    '    max_users: 1',
    'packages:',
    "  '**':",
    '    access: $all',
    '    publish: $authenticated',
    '    unpublish: $authenticated',
    'web:',
    '  enable: false',
    'max_body_size: 100mb',
    `listen: 127.0.0.1:${port}`,
    `log: { type: file, path: ${JSON.stringify(join(dir, 'verdaccio.log'))}, level: warn }`,
    '',
  ].join('\n')
  const file = join(dir, 'config.yaml')
  writeFileSync(file, yaml)
  return file
}

/** Resolves with undefined once `/-/ping` answers, or with why not once the process exits or time runs out. */
function waitUntilReady(url: string, child: OwnedProcess): Promise<string | undefined> {
  return waitUntilServing(
    child,
    async () => {
      const response = await fetch(new URL('-/ping', url), { signal: AbortSignal.timeout(2_000) })
      if (!response.ok) throw new Error(`HTTP ${response.status}`)
    },
    { what: '/-/ping did not answer', timeoutMs: READY_TIMEOUT_MS, intervalMs: 200 },
  )
}

/** Creates the publishing user the way `npm adduser` does, and returns its token. */
async function addUser(url: string): Promise<string> {
  const response = await fetch(new URL(`-/user/org.couchdb.user:${USER}`, url), {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: USER, password: `${USER}-${process.pid}`, type: 'user', roles: [] }),
    signal: AbortSignal.timeout(30_000),
  })
  const body = (await response.json()) as { token?: unknown; error?: unknown }
  if (!response.ok || typeof body.token !== 'string') {
    throw new Error(`verdaccio refused to create the user: HTTP ${response.status} ${JSON.stringify(body)}`)
  }
  return body.token
}

function logTail(dir: string): string {
  try {
    return readFileSync(join(dir, 'verdaccio.log'), 'utf8').split('\n').slice(-10).join('\n')
  } catch {
    return '(no log)'
  }
}
