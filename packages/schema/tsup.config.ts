import { defineConfig } from 'tsup'
import { packageBuild } from '../../tooling/tsup.base.ts'

// Two entries sharing one copy of every module (splitting): `portable` (ids, validators; no database code) is what
// `@tessera/dynamo` imports, and its classes are the very ones the main entry exports.
export default defineConfig(packageBuild({ entry: { index: 'src/index.ts', portable: 'src/portable.ts' }, splitting: true }))
