// Core declares the provider packages as optional peers so that a user's install links them where core can load
// them (pnpm without hoisting). Inside this workspace, pnpm would try to fetch those unpublished packages from the
// registry to satisfy the optional peers (it resolves an optional peer that any project depends on), so the
// workspace's own install reads core's manifest without them. Published manifests keep them.
function readPackage(manifest) {
  if (manifest.name === '@tessera/core' && manifest.peerDependencies !== undefined) {
    for (const name of ['@tessera/provider-pg', '@tessera/provider-postgresjs']) {
      delete manifest.peerDependencies[name]
      if (manifest.peerDependenciesMeta !== undefined) delete manifest.peerDependenciesMeta[name]
    }
  }
  return manifest
}

module.exports = { hooks: { readPackage } }
