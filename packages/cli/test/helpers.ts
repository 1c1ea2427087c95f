import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { afterAll } from 'vitest'
import { PG_URL, uniqueName } from '../../../tooling/test-services'

export { PG_URL, uniqueName }

const packageDir = fileURLToPath(new URL('..', import.meta.url))
/** The built bin: the tests run what users run. */
export const BIN = join(packageDir, 'dist', 'bin.js')

/** What a run of the bin printed, and how it ended. */
export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

/** This process's environment without `TESSERA_*`, colour and AWS variables: what a test's bin starts from. */
export function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || key.startsWith('TESSERA_') || key === 'NO_COLOR' || key === 'FORCE_COLOR' || key.startsWith('AWS_')) continue
    env[key] = value
  }
  return env
}

/**
 * Runs `node dist/bin.js …args` in `cwd`, with an environment free of the caller's `TESSERA_*` and colour
 * variables plus `env`, and resolves when it exits (never rejects on a non-zero exit).
 */
export function runTessera(
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string> | undefined; timeoutMs?: number | undefined },
): Promise<RunResult> {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run pnpm build first (the tests run the built bin)`)
  const env = cleanEnv()
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: options.cwd, env: { ...env, ...options.env }, timeout: options.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null
        resolve({ code, stdout, stderr })
      },
    )
  })
}

/** Runs `fn` with a client on the admin (test) database. */
export async function admin<T>(fn: (client: pg.Client) => Promise<T>, url = PG_URL): Promise<T> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

const cleanups: (() => Promise<void> | void)[] = []
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A database of the test's own (dropped after the file's tests); returns its URL. */
export async function ownDatabase(prefix = 'cli'): Promise<string> {
  const name = uniqueName(prefix)
  await admin((client) => client.query(`CREATE DATABASE ${name}`))
  cleanups.push(() => admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined))
  const url = new URL(PG_URL)
  url.pathname = `/${name}`
  return url.toString()
}

/**
 * A project folder of the test's own inside the package (so `@tessera/schema` and `@tessera/core` resolve from it as
 * from a user's project), with the given files; removed after the file's tests.
 */
export function tempProject(files: Record<string, string> = {}): string {
  const dir = join(packageDir, '.tmp', uniqueName('project'))
  mkdirSync(dir, { recursive: true })
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true })
    writeFileSync(join(dir, name), content)
  }
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}
