// Installs every package the way a user does (packed tarballs into a fresh npm project, never workspace links)
// and checks each way of loading it: ESM, CommonJS, Jest, an esbuild bundle, and the README examples type-checked
// under the strictest TypeScript settings. Needs `pnpm build` first and the test PostgreSQL running.
// Writes `.reports/smoke.json` shaped like vitest's JSON report, so tooling/report.mjs counts its checks.
import { spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { extractExamples } from './readme-examples.mjs'

const root = new URL('../..', import.meta.url).pathname
const reportPath = join(root, '.reports', 'smoke.json')
// Tools of the smoke project that the workspace does not install itself, pinned so CI is repeatable.
const JEST_VERSION = '30.5.2'
const ESBUILD_VERSION = '0.28.2'

const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'))
const rootManifest = readJson(join(root, 'package.json'))
const packageDirs = readdirSync(join(root, 'packages'))
  .map((name) => join(root, 'packages', name))
  .filter((dir) => !readJson(join(dir, 'package.json')).private)

const results = []
function run(command, args, cwd, env = {}) {
  const child = spawnSync(command, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 600_000 })
  return { ok: child.status === 0, output: `${child.stdout ?? ''}${child.stderr ?? ''}${child.error ? String(child.error) : ''}` }
}
function check(title, command, args, cwd, env) {
  const started = Date.now()
  const { ok, output } = run(command, args, cwd, env)
  results.push({ title, status: ok ? 'passed' : 'failed', duration: Date.now() - started, failureMessages: ok ? [] : [output] })
  console.log(`${ok ? '✓' : '✗'} ${title}`)
  if (!ok) console.log(output)
  return ok
}

const work = mkdtempSync(join(tmpdir(), 'tessera-smoke-'))
const project = join(work, 'project')
const tarballs = join(work, 'tarballs')
try {
  mkdirSync(tarballs)
  cpSync(join(root, 'tooling', 'smoke', 'project'), project, { recursive: true })
  if (preparePackages()) {
    check('ESM: createProvider, int8 as bigint, instanceof within and across copies', process.execPath, ['esm.mjs'], project)
    check('CommonJS: createProvider loads the provider with require; one copy of core', process.execPath, ['cjs.cjs'], project)
    check(
      'Jest (CommonJS mode): createProvider and instanceof',
      process.execPath,
      [join('node_modules', 'jest', 'bin', 'jest.js'), '--ci'],
      project,
    )
    checkBundle()
    checkTypes()
  }
} finally {
  // TESSERA_SMOKE_KEEP=1 leaves the project behind to look into a failure.
  if (process.env.TESSERA_SMOKE_KEEP === '1') console.log(`smoke project kept at ${project}`)
  else rmSync(work, { recursive: true, force: true })
}
writeReport()

function preparePackages() {
  const manifests = packageDirs.map((dir) => readJson(join(dir, 'package.json')))
  for (const dir of packageDirs) {
    if (!check(`pack ${readJson(join(dir, 'package.json')).name}`, 'pnpm', ['pack', '--pack-destination', tarballs], dir)) return false
  }
  const files = readdirSync(tarballs)
  const dependencies = {}
  for (const manifest of manifests) {
    const file = files.find((name) => name === `${manifest.name.replace('@', '').replace('/', '-')}-${manifest.version}.tgz`)
    dependencies[manifest.name] = `file:${join(tarballs, file)}`
  }
  const devOf = (dir) => readJson(join(root, 'packages', dir, 'package.json')).devDependencies
  Object.assign(dependencies, {
    pg: devOf('provider-pg').pg,
    postgres: devOf('provider-postgresjs').postgres,
    ioredis: devOf('cache').ioredis,
    kysely: devOf('kysely').kysely,
    // The observability README's examples use the OpenTelemetry API, SDK and Prometheus exporter.
    '@opentelemetry/api': devOf('observability')['@opentelemetry/api'],
    '@opentelemetry/sdk-trace-base': devOf('observability')['@opentelemetry/sdk-trace-base'],
    '@opentelemetry/sdk-metrics': devOf('observability')['@opentelemetry/sdk-metrics'],
    '@opentelemetry/exporter-prometheus': devOf('observability')['@opentelemetry/exporter-prometheus'],
  })
  const manifest = {
    name: 'tessera-install-smoke',
    private: true,
    type: 'module',
    dependencies,
    devDependencies: {
      '@types/node': rootManifest.devDependencies['@types/node'],
      '@types/pg': devOf('provider-pg')['@types/pg'],
      esbuild: ESBUILD_VERSION,
      jest: JEST_VERSION,
      typescript: rootManifest.devDependencies.typescript,
    },
    // Every internal range resolves to the tarball, as it would to the one published version.
    overrides: Object.fromEntries(manifests.map((m) => [m.name, `$${m.name}`])),
  }
  writeFileSync(join(project, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`)
  return check('npm install of the packed tarballs', 'npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], project)
}

function checkBundle() {
  const outDir = join(work, 'bundle')
  const built = check(
    'esbuild bundle (CommonJS, node)',
    join('node_modules', '.bin', 'esbuild'),
    [
      'bundle-entry.cjs',
      '--bundle',
      '--platform=node',
      '--format=cjs',
      '--external:pg-native',
      `--outfile=${join(outDir, 'bundle.cjs')}`,
      '--log-level=error',
    ],
    project,
  )
  if (!built) return
  check('esbuild bundle run outside node_modules: hint names registerDriver, then works', process.execPath, ['bundle.cjs'], outDir)
}

function checkTypes() {
  const examples = join(project, 'readme-examples')
  mkdirSync(examples, { recursive: true })
  for (const { file, code } of extractExamples(root)) writeFileSync(join(examples, file), code)
  const tsc = join('node_modules', 'typescript', 'bin', 'tsc')
  check(
    'README examples type-check under strictest TypeScript (nodenext)',
    process.execPath,
    [tsc, '-p', 'tsconfig.strictest.json'],
    project,
  )
  check('README examples type-check under strictest TypeScript (bundler)', process.execPath, [tsc, '-p', 'tsconfig.bundler.json'], project)
}

function writeReport() {
  const failed = results.filter((r) => r.status === 'failed').length
  const report = {
    numPassedTests: results.length - failed,
    numFailedTests: failed,
    numPendingTests: 0,
    numTodoTests: 0,
    success: failed === 0 && results.length > 0,
    testResults: [{ name: 'install smoke', status: failed === 0 ? 'passed' : 'failed', assertionResults: results }],
  }
  mkdirSync(join(root, '.reports'), { recursive: true })
  writeFileSync(reportPath, `${JSON.stringify(report, null, 2)}\n`)
  console.log(`install smoke: ${report.numPassedTests} passed, ${failed} failed`)
  process.exitCode = failed === 0 ? 0 : 1
}
