// ESM: core and the pg provider loaded with `import`, one copy of core; an error also passes `instanceof` against
// the CommonJS copy of core loaded beside it.
import { createRequire } from 'node:module'
import * as core from '@tessera/core'
import checks from './checks.cjs'

const error = await checks.checkCreateProvider(core)
await checks.checkInt8AsNumber(core)
const cjsCore = createRequire(import.meta.url)('@tessera/core')
if (cjsCore.UniqueViolationError === core.UniqueViolationError) throw new Error('expected a separate CommonJS copy of core')
if (!(error instanceof cjsCore.UniqueViolationError)) throw new Error('instanceof across the ESM and CommonJS copies failed')
if (error instanceof cjsCore.CheckViolationError) throw new Error('instanceof across copies matched a sibling class')
console.log('esm: ok')
