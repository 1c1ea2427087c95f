import { pathToFileURL } from 'node:url'
import { usageError } from './cli-error'
import type { DynamoConfig } from './define-config'
import type { ResolvedConfig } from './load-config'

/** Imports an optional peer, or resolves to undefined when it is not installed. */
export async function importOptional<T>(name: string): Promise<T | undefined> {
  try {
    return (await import(name)) as T
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') return undefined
    throw error
  }
}

/** The parts of `@aws-sdk/client-dynamodb` the CLI uses. */
export interface DynamoSdk {
  DynamoDBClient: new (
    config: Record<string, unknown>,
  ) => { send(command: unknown, options?: { abortSignal?: AbortSignal | undefined }): Promise<Record<string, unknown>>; destroy(): void }
  ListTablesCommand: new (input: { Limit: number }) => unknown
  DescribeTableCommand: new (input: { TableName: string }) => unknown
  DescribeTimeToLiveCommand: new (input: { TableName: string }) => unknown
  ScanCommand: new (input: { TableName: string; Limit: number }) => unknown
}

/** A DynamoDB client of the config's settings; `@aws-sdk/client-dynamodb` missing is a usage error saying what to install. */
export async function createDynamoClient(config: DynamoConfig | undefined, maxAttempts = 3) {
  const sdk = await importOptional<DynamoSdk>('@aws-sdk/client-dynamodb')
  if (sdk === undefined) throw usageError('@aws-sdk/client-dynamodb is not installed: npm install @aws-sdk/client-dynamodb')
  const client = new sdk.DynamoDBClient({
    ...(config?.endpoint === undefined ? {} : { endpoint: config.endpoint }),
    region: config?.region ?? process.env.AWS_REGION ?? 'us-east-1',
    ...(config?.credentials === undefined ? {} : { credentials: config.credentials }),
    maxAttempts,
  })
  return { sdk, client }
}

/** `@tessera/dynamo` as the project has it (resolved from the config's folder), else the CLI's optional peer. */
export async function projectDynamo(config: ResolvedConfig): Promise<Record<string, unknown>> {
  try {
    return (await config.loader.import('@tessera/dynamo')) as Record<string, unknown>
  } catch {
    const own = await importOptional<Record<string, unknown>>('@tessera/dynamo')
    if (own === undefined) throw usageError('@tessera/dynamo is not installed: npm install @tessera/dynamo')
    return own
  }
}

/** Loads a module (TypeScript too) the way the config was loaded. */
export async function loadModule(config: ResolvedConfig, path: string): Promise<Record<string, unknown>> {
  try {
    return (await config.loader.import(pathToFileURL(path).href)) as Record<string, unknown>
  } catch (error) {
    throw usageError(`cannot load ${path}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`, error)
  }
}
