import { defineConfig } from 'tsup'
import { packageBuild } from '../../tooling/tsup.base.ts'

// Two entries sharing one copy of every module (splitting), so an error class thrown through
// `@tessera/dynamo/testing` is the very class users import from `@tessera/dynamo`.
export default defineConfig(packageBuild({ entry: { index: 'src/index.ts', testing: 'src/testing.ts' }, splitting: true }))
