import { DYNAMODB_URL_ENV, type DynamoDbLocal, startDynamoDbLocal } from './dynamodb-local'

let local: DynamoDbLocal | undefined

/**
 * Vitest global setup for projects that test against DynamoDB: one DynamoDB Local for the whole run (a JVM is too
 * heavy to start per test file), its endpoint in `TESSERA_DYNAMODB_URL` for the workers. When that variable is
 * already set, the DynamoDB Local it names is used and nothing is started.
 */
export async function setup(): Promise<void> {
  process.env.AWS_EC2_METADATA_DISABLED = 'true'
  if (process.env[DYNAMODB_URL_ENV]) return
  local = await startDynamoDbLocal()
  process.env[DYNAMODB_URL_ENV] = local.endpoint
}

export async function teardown(): Promise<void> {
  if (local === undefined) return
  delete process.env[DYNAMODB_URL_ENV]
  await local.stop()
  local = undefined
}
