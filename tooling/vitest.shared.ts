import { fileURLToPath } from 'node:url'
import { defineProject, type UserWorkspaceConfig } from 'vitest/config'

const sourceConditions = ['@tessera/source', 'module', 'node', 'import', 'default', 'development|production']

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
      testTimeout: 20_000,
      hookTimeout: 60_000,
      typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
      ...overrides,
    },
  })
}
