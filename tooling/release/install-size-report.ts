import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import type { Combination } from './combinations'
import type { InstalledSize } from './installed-size'

/** One combination's measurement; `size` is undefined when its install failed. */
export interface InstallSizeRow {
  combination: Combination
  size?: InstalledSize | undefined
  seconds?: number | undefined
  versions: Record<string, string>
}

/** The input of {@link writeInstallSizeReport}. */
export interface InstallSizeReport {
  rows: readonly InstallSizeRow[]
}

const megabytes = (bytes: number) => (bytes / 1_000_000).toFixed(1)

/**
 * Writes the installed size of every combination the release test installed (benchmarks/results/install-size.md),
 * from the run that just happened: node_modules of a fresh npm project holding only what that user needs.
 */
export function writeInstallSizeReport(file: string, { rows }: InstallSizeReport): void {
  const npmVersion = execFileSync('npm', ['--version'], { encoding: 'utf8' }).trim()
  const lines = [
    '# Installed size of each combination',
    '',
    'Written by the release test (`pnpm test:release`, tooling/release) from its last run: every package published with',
    '`changeset publish` to a Verdaccio on loopback, then each combination installed with `npm install` into a fresh',
    'project outside the workspace. Size is the sum of file sizes under `node_modules` (type-only packages such as',
    '`@types/pg` left out); "Tessera" is the part taken by `@tessera/*`. Install time includes the shared npm cache',
    'being warm or not and a loaded machine: read it as an order of magnitude only.',
    '',
    `Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC · Node ${process.version} · npm ${npmVersion} · ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}) · ${Math.round(totalmem() / 2 ** 30)} GiB, shared with other work`,
    '',
    '| combination | installed versions | packages | node_modules (MB) | of it Tessera (MB) | npm install (s) |',
    '|---|---|---:|---:|---:|---:|',
  ]
  for (const { combination, size, seconds, versions } of rows) {
    if (size === undefined) {
      lines.push(`| ${combination.title} | not installed: its install failed in this run | | | | |`)
      continue
    }
    const installed = Object.entries(versions)
      .map(([name, version]) => `${name}@${version}`)
      .join(', ')
    lines.push(
      `| ${combination.title} | ${installed} | ${size.packages} | ${megabytes(size.bytes)} | ${megabytes(size.tesseraBytes)} | ${seconds?.toFixed(0) ?? ''} |`,
    )
  }
  lines.push('')
  writeFileSync(file, lines.join('\n'))
}
