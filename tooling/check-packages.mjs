// Runs publint and @arethetypeswrong/cli on every built package, and checks our own manifest policy. Fails on any problem.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import semver from 'semver'
import { optionalWithoutUndefined } from './optional-properties.mjs'
import { peerRangeProblem, readManifests } from './release/peer-ranges.mjs'

const root = new URL('..', import.meta.url).pathname
const only = process.argv.slice(2)
const packages = readdirSync(join(root, 'packages')).filter((name) => {
  if (only.length > 0 && !only.includes(name)) return false
  return existsSync(join(root, 'packages', name, 'package.json'))
})

const rootLicense = readFileSync(join(root, 'LICENSE'), 'utf8')
const workspaceVersions = new Map(readManifests(root).map(({ manifest }) => [manifest.name, manifest.version]))

/**
 * What publint does not know about our own policy (README "Versions"): the license and changelog ship, the manifest
 * says where the source lives, and `@tessera/core` is a peer of every other package so one install has one core.
 */
function policyProblems(name, dir, manifest) {
  const problems = []
  const license = join(dir, 'LICENSE')
  if (!existsSync(license) || readFileSync(license, 'utf8') !== rootLicense)
    problems.push('LICENSE is missing or differs from the root LICENSE')
  for (const file of ['LICENSE', 'CHANGELOG.md', 'README.md']) {
    if (!manifest.files?.includes(file)) problems.push(`"files" lacks ${file}`)
  }
  if (manifest.repository?.directory !== `packages/${name}`) problems.push(`repository.directory is not "packages/${name}"`)
  // Users on exactOptionalPropertyTypes can pass `undefined` to every optional property only if it says so.
  const distDir = join(dir, 'dist')
  for (const file of existsSync(distDir) ? readdirSync(distDir).filter((f) => f.endsWith('.d.ts') || f.endsWith('.d.cts')) : []) {
    for (const { line, name: property } of optionalWithoutUndefined(file, readFileSync(join(distDir, file), 'utf8'))) {
      problems.push(`dist/${file}:${line}: ${property}?: lacks | undefined (write ?: T | undefined)`)
    }
  }
  // A peer range on a sibling stays bounded and contains the sibling's version, across `changeset version` too.
  for (const [peer, range] of Object.entries(manifest.peerDependencies ?? {})) {
    const version = workspaceVersions.get(peer)
    const problem = version === undefined ? undefined : peerRangeProblem(range, version)
    if (problem !== undefined) problems.push(`peer ${peer}: ${problem}`)
  }
  for (const problem of untestedPeerMajors(manifest)) problems.push(problem)
  if (manifest.name === '@tessera/core') {
    for (const provider of ['@tessera/provider-pg', '@tessera/provider-postgresjs']) {
      if (manifest.peerDependenciesMeta?.[provider]?.optional !== true) problems.push(`${provider} is not an optional peer dependency`)
    }
    return problems
  }
  if (manifest.dependencies?.['@tessera/core'] !== undefined) problems.push('@tessera/core is a dependency; it must be a peer dependency')
  if (manifest.peerDependencies?.['@tessera/core'] === undefined) problems.push('@tessera/core is not a peer dependency')
  if (!manifest.devDependencies?.['@tessera/core']?.startsWith('workspace:'))
    problems.push('@tessera/core is not a workspace devDependency')
  return problems
}

/**
 * A third-party peer range names every major the package's tests install (a devDependency of the same name, or an
 * alias such as `postgres4: npm:postgres@^4.2.0`): a user on that major must not get a peer warning.
 */
function untestedPeerMajors(manifest) {
  const problems = []
  for (const [key, devRange] of Object.entries(manifest.devDependencies ?? {})) {
    const alias = /^npm:((?:@[^/]+\/)?[^@]+)@(.+)$/.exec(devRange)
    const name = alias ? alias[1] : key
    const peerRange = manifest.peerDependencies?.[name]
    if (peerRange === undefined || workspaceVersions.has(name)) continue
    // The lowest version the tests may install must satisfy the peer range (for 0.x, the minor is the "major").
    const tested = semver.validRange(alias ? alias[2] : devRange) ? semver.minVersion(alias ? alias[2] : devRange) : null
    if (tested === null) continue
    if (!semver.satisfies(tested, peerRange))
      problems.push(`peer ${name} "${peerRange}" leaves out ${tested.version}, which the tests install (${key}: ${devRange})`)
  }
  return problems
}

let failures = 0
for (const name of packages) {
  const dir = join(root, 'packages', name)
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  if (manifest.private) continue
  const problems = policyProblems(name, dir, manifest)
  if (problems.length > 0) {
    failures++
    console.error(`✗ policy ${manifest.name}\n${problems.map((problem) => `  - ${problem}`).join('\n')}`)
  } else {
    console.log(`✓ policy ${manifest.name}`)
  }
  for (const [tool, args] of [
    ['publint', ['exec', 'publint', '--strict', dir]],
    ['attw', ['exec', 'attw', '--pack', dir, '--format', 'table-flipped']],
  ]) {
    try {
      execFileSync('pnpm', args, { cwd: root, stdio: 'pipe', encoding: 'utf8' })
      console.log(`✓ ${tool} ${manifest.name}`)
    } catch (error) {
      failures++
      console.error(`✗ ${tool} ${manifest.name}\n${error.stdout ?? ''}${error.stderr ?? ''}`)
    }
  }
}
if (failures > 0) {
  console.error(`${failures} package check(s) failed`)
  process.exit(1)
}
