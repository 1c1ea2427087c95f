// The test kit: `@tessera/dynamo/testing`. DynamoDB Local for users' tests, and unique tables per test.
export type { DynamoDbLocal, DynamoDbLocalClientConfig, DynamoDbLocalOptions, LocalProcess, LocalProcessSpawner } from './dynamodb-local'
export {
  answersListTables,
  DYNAMODB_LOCAL_CREDENTIALS,
  DYNAMODB_LOCAL_REGION,
  dynamoDbLocalClientConfig,
  dynamoDbLocalJar,
  startDynamoDbLocal,
} from './dynamodb-local'
export type { TestTables, TestTablesOptions } from './test-tables'
export { createTestTables } from './test-tables'
