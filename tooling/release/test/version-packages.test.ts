import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { peerRangeProblem, readManifests } from '../peer-ranges.mjs'
import { copyWorkspace, run, workspaceBin } from '../workspace-copy'

interface Manifest {
  name: string
  version: string
  private?: boolean
  dependencies?: Record<string, string>
  devDependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
}

const copies: string[] = []
afterEach(() => {
  for (const copy of copies.splice(0)) rmSync(copy, { recursive: true, force: true })
})

const withWorkspaceBin = { PATH: `${workspaceBin}:${process.env.PATH ?? ''}` }

/** A copy of the repository after its first release: every pending changeset consumed, as on the registry. */
async function releasedCopy(): Promise<string> {
  const copy = await copyWorkspace()
  copies.push(copy)
  await versionPackages(copy)
  return copy
}

/** Runs the root `version-packages` script in `copy`, as a maintainer would. */
async function versionPackages(copy: string): Promise<void> {
  const result = await run('pnpm', ['run', 'version-packages'], { cwd: copy, env: withWorkspaceBin })
  expect(result.code, result.output).toBe(0)
}

function manifests(copy: string): Map<string, Manifest> {
  return new Map(readManifests(copy).map(({ manifest }: { manifest: Manifest }) => [manifest.name, manifest]))
}

function addChangeset(copy: string, id: string, bumps: Record<string, 'patch' | 'minor' | 'major'>, summary: string): void {
  const frontmatter = Object.entries(bumps).map(([name, bump]) => `"${name}": ${bump}`)
  writeFileSync(join(copy, '.changeset', `${id}.md`), ['---', ...frontmatter, '---', '', summary, ''].join('\n'))
}

/** `name → [before, after]` for every package whose version changed. */
function bumped(before: Map<string, Manifest>, after: Map<string, Manifest>): Record<string, [string, string]> {
  const changes: Record<string, [string, string]> = {}
  for (const [name, manifest] of after) {
    const previous = before.get(name)?.version
    if (previous !== undefined && previous !== manifest.version) changes[name] = [previous, manifest.version]
  }
  return changes
}

function changelog(copy: string, packageDir: string): string {
  const file = join(copy, 'packages', packageDir, 'CHANGELOG.md')
  return existsSync(file) ? readFileSync(file, 'utf8') : ''
}

function nextMinor(version: string): string {
  const [major, minor] = version.split('.').map(Number)
  return `${major}.${(minor ?? 0) + 1}.0`
}

function nextPatch(version: string): string {
  const [major, minor, patch] = version.split('.').map(Number)
  return `${major}.${minor}.${(patch ?? 0) + 1}`
}

/** Every internal peer range is bounded and contains the sibling's current version. */
function expectPeerRangesValid(after: Map<string, Manifest>): void {
  for (const manifest of after.values()) {
    for (const [peer, range] of Object.entries(manifest.peerDependencies ?? {})) {
      const sibling = after.get(peer)
      if (sibling === undefined) continue
      expect(peerRangeProblem(range, sibling.version), `${manifest.name} → ${peer}`).toBeUndefined()
    }
  }
}

describe('pnpm version-packages on a copy of the repository', () => {
  it('bumps the package a changeset names and the packages that depend on it, with changelogs, and nothing else', async () => {
    const copy = await releasedCopy()
    const before = manifests(copy)
    addChangeset(copy, 'converter-change', { '@tessera/converter': 'minor' }, 'A new codec option.')
    await versionPackages(copy)
    const after = manifests(copy)

    const converter = before.get('@tessera/converter')?.version ?? ''
    // Dependants through `dependencies` (the range `workspace:^` publishes as `^0.x` no longer holds the new minor).
    const dependants = [...before.values()].filter((m) => !m.private && m.dependencies?.['@tessera/converter'] !== undefined)
    expect(dependants.map((m) => m.name)).toContain('@tessera/provider-pg')
    const expected: Record<string, [string, string]> = { '@tessera/converter': [converter, nextMinor(converter)] }
    for (const dependant of dependants) expected[dependant.name] = [dependant.version, nextPatch(dependant.version)]
    expect(bumped(before, after)).toEqual(expected)

    expect(changelog(copy, 'converter')).toMatch(new RegExp(`## ${nextMinor(converter)}\\s+### Minor Changes\\s+- A new codec option\\.`))
    expect(changelog(copy, 'provider-pg')).toContain(`- @tessera/converter@${nextMinor(converter)}`)
    // A package that was not bumped got no changelog entry.
    expect(changelog(copy, 'cache')).not.toContain(nextMinor(converter))
    // Internal dependencies stay on the workspace protocol; pnpm writes the real range when it publishes.
    expect(after.get('@tessera/provider-pg')?.dependencies?.['@tessera/converter']).toBe('workspace:^')
    expectPeerRangesValid(after)
  })

  it('a minor release of core bumps core alone: every peer range on it still holds the new version', async () => {
    const copy = await releasedCopy()
    const before = manifests(copy)
    addChangeset(copy, 'core-change', { '@tessera/core': 'minor' }, 'A new core helper.')
    await versionPackages(copy)
    const after = manifests(copy)

    const core = before.get('@tessera/core')?.version ?? ''
    expect(bumped(before, after)).toEqual({ '@tessera/core': [core, nextMinor(core)] })
    for (const manifest of after.values()) {
      expect(manifest.peerDependencies?.['@tessera/core'], manifest.name).toBe(
        before.get(manifest.name)?.peerDependencies?.['@tessera/core'],
      )
    }
    expectPeerRangesValid(after)
  })

  it('a major release of core bumps every package that peers on it to a major, and their peer ranges stay bounded', async () => {
    const copy = await releasedCopy()
    const before = manifests(copy)
    addChangeset(copy, 'core-major', { '@tessera/core': 'major' }, 'A breaking core change.')
    await versionPackages(copy)
    const after = manifests(copy)

    for (const [name, manifest] of after) {
      if (manifest.private || manifest.peerDependencies?.['@tessera/core'] === undefined) continue
      const [major] = (before.get(name)?.version ?? '').split('.').map(Number)
      expect(manifest.version, name).toBe(`${(major ?? 0) + 1}.0.0`)
      // changesets alone would write ">=1.0.0"; version-packages bounds it.
      expect(manifest.peerDependencies['@tessera/core'], name).toBe('>=1.0.0 <2.0.0')
    }
    expect(after.get('@tessera/core')?.version).toBe('1.0.0')
    expectPeerRangesValid(after)
  })
})
