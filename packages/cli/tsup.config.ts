import { defineConfig } from 'tsup'
import { packageBuild } from '../../tooling/tsup.base.ts'

// The library (defineConfig and types) is dual like every package; the bin is ESM only, with a shebang.
export default defineConfig([
  packageBuild(),
  { ...packageBuild({ entry: { bin: 'src/bin.ts' }, format: ['esm'], dts: false, clean: false }), banner: { js: '#!/usr/bin/env node' } },
])
