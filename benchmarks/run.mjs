// `pnpm bench` runs every benchmark; `pnpm bench <name>` runs src/<name>.bench.ts only.
// Benchmarks import the *built* packages (no source condition): run `pnpm build` first. Then report.mjs rebuilds
// results/README.md and the SVG charts from results/*.json.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

const here = new URL('.', import.meta.url).pathname
const all = readdirSync(join(here, 'src'))
  .filter((file) => file.endsWith('.bench.ts'))
  .map((file) => file.replace(/\.bench\.ts$/, ''))
  .sort()
const wanted = process.argv.slice(2)
const unknown = wanted.filter((name) => !all.includes(name))
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(', ')}; available: ${all.join(', ')}`)
  process.exit(2)
}
for (const pkg of wanted.length > 0 ? wanted : all) {
  const dist = join(here, '..', 'packages', pkg, 'dist')
  if (existsSync(join(here, '..', 'packages', pkg)) && !existsSync(dist)) {
    console.error(`packages/${pkg} is not built: run \`pnpm build\` first`)
    process.exit(2)
  }
}
let failed = 0
for (const name of wanted.length > 0 ? wanted : all) {
  console.log(`\n# ${name}`)
  const result = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(here, 'src', `${name}.bench.ts`)], {
    stdio: 'inherit',
    cwd: here,
  })
  if (result.status !== 0) failed++
}
// results/README.md and the charts, from every scenario's JSON (this run's and earlier ones').
const report = spawnSync(process.execPath, [join(here, 'report.mjs')], { stdio: 'inherit', cwd: here })
if (report.status !== 0) failed++
process.exit(failed > 0 ? 1 : 0)
