// Internal peer ranges (`@tessera/core: ">=0.0.0 <1.0.0"`) keep an upper bound across releases.
//
// `changeset version` rewrites a peer range only when the new version falls outside it (our config sets
// onlyUpdatePeerDependentsWhenOutOfRange), and then it writes `>=1.0.0`: the operator of the old range and the new
// version, with the upper bound dropped, so a package would claim to work with every future major of core. Run after
// `changeset version` (the root `version-packages` script does), this puts the bound back: `>=1.0.0 <2.0.0`.
// `node tooling/release/peer-ranges.mjs` fixes the manifests; tooling/check-packages.mjs reports any range still wrong.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** The one shape an internal peer range has: `>=A.B.C <D.0.0`. */
const BOUNDED = /^>=(\d+)\.(\d+)\.(\d+) <(\d+)\.0\.0$/
/** What changesets writes when a release leaves the range: `>=A.B.C`, unbounded. */
const UNBOUNDED = /^>=(\d+)\.(\d+)\.(\d+)$/

/** `>=A.B.C` → `>=A.B.C <(A+1).0.0`; any other range unchanged. */
export function boundRange(range) {
  const match = UNBOUNDED.exec(range)
  if (!match) return range
  return `${range} <${Number(match[1]) + 1}.0.0`
}

function compare(a, b) {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] - b[i]
  return 0
}

/**
 * Why `range` is not a good internal peer range for a workspace package now at `version`, or undefined when it is:
 * it must read `>=A.B.C <D.0.0` and contain `version`. `*` (core's optional provider peers) is accepted.
 */
export function peerRangeProblem(range, version) {
  if (range === '*') return undefined
  const match = BOUNDED.exec(range)
  if (!match) return `"${range}" is not of the form ">=A.B.C <D.0.0" (after changeset version, run node tooling/release/peer-ranges.mjs)`
  const [major, minor, patch] = version.split('.').map(Number)
  const current = [major, minor, patch]
  const low = [Number(match[1]), Number(match[2]), Number(match[3])]
  const high = [Number(match[4]), 0, 0]
  if (compare(current, low) < 0 || compare(current, high) >= 0) return `"${range}" does not contain the workspace version ${version}`
  return undefined
}

/** Reads every package manifest under `root/packages`, returning `{ dir, manifest }` pairs. */
export function readManifests(root) {
  return readdirSync(join(root, 'packages'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(root, 'packages', entry.name))
    .flatMap((dir) => {
      try {
        return [{ dir, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }]
      } catch {
        return []
      }
    })
}

/** Bounds every unbounded internal peer range under `root/packages`; returns the `package: dep old → new` changes. */
export function boundPeerRanges(root) {
  const manifests = readManifests(root)
  const internal = new Set(manifests.map(({ manifest }) => manifest.name))
  const changes = []
  for (const { dir, manifest } of manifests) {
    let changed = false
    for (const [name, range] of Object.entries(manifest.peerDependencies ?? {})) {
      if (!internal.has(name)) continue
      const bounded = boundRange(range)
      if (bounded === range) continue
      manifest.peerDependencies[name] = bounded
      changes.push(`${manifest.name}: ${name} ${range} → ${bounded}`)
      changed = true
    }
    if (changed) writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`)
  }
  return changes
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = process.cwd()
  for (const change of boundPeerRanges(root)) console.log(change)
}
