// `node tooling/new-package.mjs <name> "<description>"` creates packages/<name> from tooling/template.
import { cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const [name, description = `Tessera ${process.argv[2]}.`] = process.argv.slice(2)
if (!name || !/^[a-z][a-z0-9-]*$/.test(name)) {
  console.error('usage: node tooling/new-package.mjs <kebab-case-name> "<description>"')
  process.exit(2)
}
const root = new URL('..', import.meta.url).pathname
const target = join(root, 'packages', name)
if (existsSync(target)) {
  console.error(`packages/${name} already exists`)
  process.exit(2)
}
cpSync(join(root, 'tooling', 'template'), target, { recursive: true })
function fill(dir) {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry)
    if (statSync(path).isDirectory()) fill(path)
    else writeFileSync(path, readFileSync(path, 'utf8').replaceAll('__NAME__', name).replaceAll('__DESCRIPTION__', description))
  }
}
fill(target)
// Every package ships the repository's license (pnpm check-packages compares them).
cpSync(join(root, 'LICENSE'), join(target, 'LICENSE'))
console.log(`created packages/${name}: run pnpm install`)
