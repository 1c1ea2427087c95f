import { fileURLToPath } from 'node:url'
import { defineProject, type UserWorkspaceConfig } from 'vitest/config'

// Only conditions Node itself honours for require() too: vitest hands the server conditions to Node, and an
// `import` or `module` condition there would make `require('pg-pool')` load an ESM build.
const sourceConditions = ['@tessera/source', 'node', 'development|production']

/**
 * The test config every package extends. Sibling packages resolve to their `src/` through the
 * `@tessera/source` export condition, so tests never need a build. Services (PostgreSQL, Redis)
 * are checked once before any test runs by `test-services`.
 */
export function packageTests(name: string, overrides: UserWorkspaceConfig['test'] = {}) {
  return defineProject({
    resolve: { conditions: sourceConditions },
    ssr: { resolve: { conditions: sourceConditions, externalConditions: ['@tessera/source'] } },
    test: {
      name,
      include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
      globalSetup: [fileURLToPath(new URL('./test-services/global-setup.ts', import.meta.url))],
      setupFiles: [fileURLToPath(new URL('./vitest.setup.ts', import.meta.url))],
      testTimeout: 20_000,
      hookTimeout: 60_000,
      typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
      ...overrides,
    },
  })
}
