import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { DYNAMODB_URL_ENV, dynamoDbLocalClientConfig } from '../../../tooling/test-services/dynamodb-local'

/** The DynamoDB Local of this test run (started by the project's global setup). */
export function dynamoDbLocalEndpoint(): string {
  const endpoint = process.env[DYNAMODB_URL_ENV]
  if (!endpoint) throw new Error(`${DYNAMODB_URL_ENV} is not set: the dynamo project's global setup starts DynamoDB Local`)
  return endpoint
}

/** A client of this run's DynamoDB Local: 127.0.0.1 only, dummy credentials, no retries hidden from the tests. */
export function localClient(): DynamoDBClient {
  return new DynamoDBClient({ ...dynamoDbLocalClientConfig(dynamoDbLocalEndpoint()), maxAttempts: 1 })
}
