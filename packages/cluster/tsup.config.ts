import { defineConfig } from 'tsup'
import { packageBuild } from '../../tooling/tsup.base.ts'

export default defineConfig(packageBuild())
