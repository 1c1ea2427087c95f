import { fileURLToPath } from 'node:url'
import { packageTests } from '../../tooling/vitest.shared.ts'

// One DynamoDB Local (Java) for the whole run, besides the usual service check.
export default packageTests('dynamo', {
  globalSetup: [
    fileURLToPath(new URL('../../tooling/test-services/global-setup.ts', import.meta.url)),
    fileURLToPath(new URL('../../tooling/test-services/dynamodb-global-setup.ts', import.meta.url)),
  ],
  testTimeout: 60_000,
})
