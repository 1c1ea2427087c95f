import { existsSync, lstatSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

/** What a project's node_modules holds. */
export interface InstalledSize {
  /** Sum of the file sizes (not disk blocks) under node_modules. */
  bytes: number
  /** Installed packages, nested ones included. */
  packages: number
  /** Of `bytes`, what the `@tessera/*` packages take. */
  tesseraBytes: number
}

/**
 * Measures `projectDir/node_modules`, leaving out the packages named in `exclude` (type packages a TypeScript user
 * adds on top of what runs, e.g. `@types/pg`). Symbolic links count as nothing: npm makes them only for `.bin`.
 */
export function installedSize(projectDir: string, exclude: readonly string[] = []): InstalledSize {
  const root = join(projectDir, 'node_modules')
  const excluded = new Set(exclude.map((name) => join(root, name)))
  const size: InstalledSize = { bytes: 0, packages: 0, tesseraBytes: 0 }
  walkModules(root, excluded, size)
  return size
}

/** Walks a node_modules folder: each entry is a package, a scope of packages, or npm's own files. */
function walkModules(modules: string, excluded: ReadonlySet<string>, size: InstalledSize): void {
  if (!existsSync(modules)) return
  for (const entry of readdirSync(modules, { withFileTypes: true })) {
    const path = join(modules, entry.name)
    if (excluded.has(path) || entry.isSymbolicLink()) continue
    if (entry.name.startsWith('@') && entry.isDirectory()) {
      walkModules(path, excluded, size)
      continue
    }
    if (!entry.isDirectory()) {
      size.bytes += lstatSync(path).size
      continue
    }
    const bytes = walkPackage(path, excluded, size)
    if (existsSync(join(path, 'package.json'))) size.packages++
    size.bytes += bytes
    if (path.includes(`${join('node_modules', '@tessera')}/`)) size.tesseraBytes += bytes
  }
}

/** Bytes of one package's own files; its nested node_modules is walked as packages of their own. */
function walkPackage(dir: string, excluded: ReadonlySet<string>, size: InstalledSize): number {
  let bytes = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isSymbolicLink()) continue
    if (entry.isDirectory()) {
      if (entry.name === 'node_modules') walkModules(path, excluded, size)
      else bytes += walkPackage(path, excluded, size)
    } else {
      bytes += lstatSync(path).size
    }
  }
  return bytes
}
