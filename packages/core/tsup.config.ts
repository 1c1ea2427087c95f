import { defineConfig } from 'tsup'
import { packageBuild } from '../../tooling/tsup.base.ts'

// Two entries sharing one copy of every module (splitting), so an error class thrown through `@tessera/core/driver`
// is the very class users import from `@tessera/core`.
export default defineConfig(packageBuild({ entry: { index: 'src/index.ts', driver: 'src/driver-index.ts' }, splitting: true }))
