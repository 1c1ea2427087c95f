import { packageTests } from '../../tooling/vitest.shared.ts'

export default packageTests('cluster')
