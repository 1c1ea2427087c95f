import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DYNAMODB_URL_ENV, type DynamoDbLocal, startDynamoDbLocal, startVerdaccio, type Verdaccio } from '../../test-services/index'
import { type Combination, combinations } from '../combinations'
import { writeInstallSizeReport } from '../install-size-report'
import { type InstalledSize, installedSize } from '../installed-size'
import { peerRangeProblem, readManifests } from '../peer-ranges.mjs'
import { copyWorkspace, repositoryRoot, run, workspaceBin } from '../workspace-copy'

// The release path end to end: the repository (a copy, already built) gets its pending changesets applied and is
// published with `changeset publish` to a Verdaccio on loopback; then each combination a user would install goes
// into a fresh npm project outside the workspace, `@tessera/*` from Verdaccio (a scoped registry in the project's
// .npmrc) and everything else from npm's default registry, and runs there: ESM, CommonJS, types.

/** How many fresh projects npm installs at once (they share npm's cache). */
const INSTALL_CONCURRENCY = 3
const tsc = join(repositoryRoot, 'node_modules', 'typescript', 'bin', 'tsc')
const typeRoots = join(repositoryRoot, 'node_modules', '@types')

interface Installed {
  dir: string
  ok: boolean
  output: string
  seconds: number
  size?: InstalledSize | undefined
  versions: Record<string, string>
}

let copy: string | undefined
let work: string | undefined
let registry: Verdaccio | undefined
let dynamoDbLocal: DynamoDbLocal | undefined
let dynamoDbLocalError: unknown
/** The environment every smoke script and command runs with: the endpoints of the servers the test started. */
const smokeEnv: Record<string, string> = { NO_COLOR: '1', AWS_EC2_METADATA_DISABLED: 'true' }
let published: { ok: boolean; output: string } = { ok: false, output: 'not run' }
let versions = new Map<string, string>()
const installs = new Map<string, Installed>()

const phases: string[] = []
let phaseStarted = Date.now()
function phase(name: string): void {
  phases.push(`${name} ${((Date.now() - phaseStarted) / 1000).toFixed(1)} s`)
  phaseStarted = Date.now()
}

beforeAll(async () => {
  copy = await copyWorkspace({ withBuild: true })
  phase('copy')
  work = mkdtempSync(join(tmpdir(), 'tessera-release-projects-'))
  const versioned = await run('pnpm', ['run', 'version-packages'], {
    cwd: copy,
    env: { PATH: `${workspaceBin}:${process.env.PATH ?? ''}` },
  })
  if (versioned.code !== 0) throw new Error(`version-packages failed:\n${versioned.output}`)
  // pnpm publish reads each workspace dependency's version from node_modules to write `workspace:^` as a real range.
  const linked = await run('pnpm', ['install', '--offline', '--frozen-lockfile', '--ignore-scripts', '--reporter=silent'], { cwd: copy })
  if (linked.code !== 0) throw new Error(`pnpm install in the copy failed:\n${linked.output}`)
  phase('version and link')
  versions = new Map(
    readManifests(copy)
      .filter(({ manifest }) => manifest.private !== true)
      .map(({ manifest }) => [manifest.name, manifest.version]),
  )

  registry = await startVerdaccio()
  phase('verdaccio')
  const host = registry.url.replace(/^http:/, '')
  writeFileSync(join(copy, '.npmrc'), `${host}:_authToken=${registry.token}\n@tessera:registry=${registry.url}\n`)
  const publish = await run(join(workspaceBin, 'changeset'), ['publish', '--no-git-tag'], {
    cwd: copy,
    env: { 'npm_config_@tessera:registry': registry.url },
    timeoutMs: 600_000,
  })
  published = { ok: publish.code === 0, output: publish.output }
  phase('publish')
  if (!published.ok) return

  // DynamoDB Local (a JVM) starts while npm installs: TESSERA_DYNAMODB_URL names one already running instead.
  const needsDynamo = combinations.some((combination) => combination.services?.includes('dynamodb'))
  const given = process.env[DYNAMODB_URL_ENV]
  const dynamoStarting =
    needsDynamo && !given
      ? startDynamoDbLocal().catch((error: unknown) => {
          dynamoDbLocalError = error
          return undefined
        })
      : undefined
  const queue = [...combinations]
  const worker = async () => {
    for (let combination = queue.shift(); combination !== undefined; combination = queue.shift()) {
      installs.set(combination.key, await install(combination))
    }
  }
  await Promise.all(Array.from({ length: INSTALL_CONCURRENCY }, worker))
  phase('installs')
  dynamoDbLocal = await dynamoStarting
  const dynamoUrl = dynamoDbLocal?.endpoint ?? given
  if (dynamoUrl !== undefined) smokeEnv.TESSERA_DYNAMODB_URL = dynamoUrl
  await Promise.all([typeCheckAll('nodenext'), typeCheckAll('bundler')])
  phase('type checks')
  console.log(`release path: ${phases.join(', ')}`)
})

afterAll(async () => {
  await registry?.stop()
  await dynamoDbLocal?.stop()
  if (copy) rmSync(copy, { recursive: true, force: true })
  if (work) rmSync(work, { recursive: true, force: true })
  if (installs.size === combinations.length && [...installs.values()].every((installed) => installed.ok)) {
    writeInstallSizeReport(join(repositoryRoot, 'benchmarks', 'results', 'install-size.md'), {
      rows: combinations.map((combination) => {
        const installed = installs.get(combination.key)
        return {
          combination,
          size: installed?.size,
          seconds: installed?.seconds,
          versions: installed?.versions ?? {},
        }
      }),
    })
  }
})

async function install(combination: Combination): Promise<Installed> {
  if (!registry || !work) throw new Error('no registry')
  const dir = join(work, combination.key)
  mkdirSync(dir)
  const tessera = Object.fromEntries(combination.tessera.map((name) => [name, `^${versionOf(name)}`]))
  const types = combination.typeDependencies?.() ?? {}
  const manifest = {
    name: `tessera-release-${combination.key}`,
    private: true,
    type: 'module',
    dependencies: { ...tessera, ...combination.dependencies() },
    devDependencies: types,
  }
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`)
  // Only @tessera comes from Verdaccio: the user's own registry settings stay in force for the rest.
  writeFileSync(join(dir, '.npmrc'), `@tessera:registry=${registry.url}\n`)
  if (combination.esm !== undefined) writeFileSync(join(dir, 'smoke.mjs'), combination.esm)
  if (combination.cjs !== undefined) writeFileSync(join(dir, 'smoke.cjs'), combination.cjs)
  const started = Date.now()
  const result = await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, timeoutMs: 600_000 })
  const seconds = (Date.now() - started) / 1000
  const ok = result.code === 0
  const size = ok ? installedSize(dir, Object.keys(types)) : undefined
  return { dir, ok, output: result.output, seconds, size, versions: installedVersions(dir, combination) }
}

function versionOf(name: string): string {
  const version = versions.get(name)
  if (version === undefined) throw new Error(`${name} is not a public package of the workspace`)
  return version
}

type Resolution = 'nodenext' | 'bundler'
const typeChecks = new Map<Resolution, { code: number | null; output: string }>()

/**
 * Type-checks the smoke scripts of every installed project in one tsc run per resolution mode (checkJs; each file
 * resolves its imports from its own project's node_modules): one run loads @types/node once instead of once per
 * project, which is most of tsc's time. Errors are told apart by the project folder that starts their path.
 */
async function typeCheckAll(resolution: Resolution): Promise<void> {
  if (!work) throw new Error('no work directory')
  const files = combinations.flatMap((combination) => [
    ...(combination.esm !== undefined ? [`${combination.key}/smoke.mjs`] : []),
    ...(combination.cjs !== undefined ? [`${combination.key}/smoke.cjs`] : []),
  ])
  const compilerOptions = {
    target: 'ES2022',
    lib: ['ES2023'],
    module: resolution === 'nodenext' ? 'nodenext' : 'preserve',
    moduleResolution: resolution,
    moduleDetection: 'force',
    strict: true,
    allowJs: true,
    checkJs: true,
    noEmit: true,
    // The installed packages' own declarations are checked strictly by the install smoke (tooling/smoke); here what
    // matters is how a user's code resolves and sees them.
    skipLibCheck: true,
    types: ['node'],
    typeRoots: [typeRoots],
  }
  const config = `tsconfig.${resolution}.json`
  writeFileSync(join(work, config), `${JSON.stringify({ compilerOptions, files }, null, 2)}\n`)
  const result = await run(process.execPath, [tsc, '-p', config, '--pretty', 'false'], { cwd: work })
  typeChecks.set(resolution, { code: result.code, output: result.output })
}

/** The tsc errors of one project, and those that belong to no project (a broken config fails every project). */
function typeErrors(resolution: Resolution, combination: Combination): string[] {
  const result = typeChecks.get(resolution)
  if (!result) return [`tsc (${resolution}) did not run`]
  const lines = result.output.split('\n').filter((line) => line.includes('error TS'))
  const keys = combinations.map((item) => `${item.key}/`)
  const errors = lines.filter((line) => line.startsWith(`${combination.key}/`) || !keys.some((key) => line.startsWith(key)))
  if (result.code !== 0 && lines.length === 0) errors.push(result.output)
  return errors
}

function installedVersions(dir: string, combination: Combination): Record<string, string> {
  const names = [...combination.tessera, ...Object.keys(combination.dependencies())]
  return Object.fromEntries(names.map((name) => [name, readVersion(dir, name) ?? '?']))
}

function readVersion(dir: string, name: string): string | undefined {
  const file = join(dir, 'node_modules', name, 'package.json')
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version : undefined
}

function installed(combination: Combination): Installed {
  expect(published.ok, published.output).toBe(true)
  const result = installs.get(combination.key)
  if (!result) throw new Error(`${combination.key} was not installed`)
  expect(result.ok, result.output).toBe(true)
  return result
}

/** The servers a combination's smoke scripts need did start. */
function expectServices(combination: Combination): void {
  if (combination.services?.includes('dynamodb')) {
    expect(dynamoDbLocalError, 'DynamoDB Local did not start').toBeUndefined()
    expect(smokeEnv.TESSERA_DYNAMODB_URL, 'no DynamoDB Local endpoint').toBeDefined()
  }
}

async function expectRuns(
  command: string,
  args: readonly string[],
  cwd: string,
  expected: readonly string[],
  env: Record<string, string> = {},
): Promise<void> {
  const result = await run(command, args, { cwd, env: { ...smokeEnv, ...env } })
  expect(result.code, result.output).toBe(0)
  for (const text of expected) expect(result.output).toContain(text)
}

describe('changeset publish to a Verdaccio on loopback', () => {
  it('publishes every public package at its version, with workspace ranges written as real ones', async () => {
    expect(published.ok, published.output).toBe(true)
    if (!registry) throw new Error('no registry')
    for (const [name, version] of versions) {
      const response = await fetch(new URL(name.replace('/', '%2f'), registry.url))
      expect(response.status, name).toBe(200)
      const packument = (await response.json()) as {
        'dist-tags': Record<string, string>
        versions: Record<string, { dependencies?: Record<string, string>; peerDependencies?: Record<string, string> }>
      }
      expect(packument['dist-tags'].latest, name).toBe(version)
      for (const [dependency, range] of Object.entries(packument.versions[version]?.dependencies ?? {})) {
        expect(range, `${name} → ${dependency}`).not.toMatch(/^workspace:/)
        if (versions.has(dependency)) expect(range, `${name} → ${dependency}`).toBe(`^${versions.get(dependency)}`)
      }
      // Peer ranges on siblings are published as written: bounded, and holding the sibling's published version.
      for (const [peer, range] of Object.entries(packument.versions[version]?.peerDependencies ?? {})) {
        const peerVersion = versions.get(peer)
        if (peerVersion !== undefined) expect(peerRangeProblem(range, peerVersion), `${name} → ${peer}`).toBeUndefined()
      }
    }
    // A package that is not there is a 404, never fetched from elsewhere: the registry has no uplinks.
    expect((await fetch(new URL('left-pad', registry.url))).status).toBe(404)
  })
})

for (const combination of combinations) {
  describe(`fresh project: ${combination.title}`, () => {
    it('installs from the two registries, one copy of each @tessera package', () => {
      const { dir } = installed(combination)
      for (const name of combination.tessera) expect(readVersion(dir, name), name).toBe(versionOf(name))
      if (combination.expectMajor) {
        const [name, major] = combination.expectMajor
        expect(readVersion(dir, name)?.split('.')[0], name).toBe(String(major))
      }
      const lock = readFileSync(join(dir, 'package-lock.json'), 'utf8')
      expect(lock).not.toMatch(/node_modules\/@tessera\/[^"]+\/node_modules\/@tessera\//)
    })

    it.skipIf(combination.esm === undefined)('runs its ESM smoke script', async () => {
      expectServices(combination)
      await expectRuns(process.execPath, ['smoke.mjs'], installed(combination).dir, ['esm:'])
    })

    it.skipIf(combination.cjs === undefined)('runs its CommonJS smoke script', async () => {
      expectServices(combination)
      await expectRuns(process.execPath, ['smoke.cjs'], installed(combination).dir, ['cjs:'])
    })

    for (const resolution of ['nodenext', 'bundler'] as const) {
      it.skipIf(combination.esm === undefined && combination.cjs === undefined)(`type-checks under moduleResolution ${resolution}`, () => {
        installed(combination)
        expect(typeErrors(resolution, combination)).toEqual([])
      })
    }

    for (const bin of combination.bin ?? []) {
      it(`runs npx ${bin.args.join(' ')}`, async () => {
        await expectRuns('npx', ['--no', ...bin.args], installed(combination).dir, bin.expect, bin.env)
      })
    }
  })
}
