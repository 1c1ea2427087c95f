import { fileURLToPath } from 'node:url'
import { packageTests } from '../../tooling/vitest.shared.ts'

// The tests run the built bin against the real PostgreSQL and Redis, and one DynamoDB Local (Java) for the run.
export default packageTests('cli', {
  globalSetup: [
    fileURLToPath(new URL('../../tooling/test-services/global-setup.ts', import.meta.url)),
    fileURLToPath(new URL('../../tooling/test-services/dynamodb-global-setup.ts', import.meta.url)),
  ],
  testTimeout: 120_000,
})
