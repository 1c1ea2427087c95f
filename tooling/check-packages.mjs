// Runs publint and @arethetypeswrong/cli on every built package. Fails on any problem.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const only = process.argv.slice(2)
const packages = readdirSync(join(root, 'packages')).filter((name) => {
  if (only.length > 0 && !only.includes(name)) return false
  return existsSync(join(root, 'packages', name, 'package.json'))
})

let failures = 0
for (const name of packages) {
  const dir = join(root, 'packages', name)
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  if (manifest.private) continue
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
