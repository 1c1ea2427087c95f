import { packageTests } from '../vitest.shared.ts'

// Not in the root vitest projects: the registry test installs several fresh npm projects, so CI runs it once as its
// own step (.ci/run), not once per Node version. Run it with `pnpm test:release`.
export default packageTests('release', { testTimeout: 300_000, hookTimeout: 600_000 })
