import { ConfigError, describeValue, type Logger } from '@tessera/core'
import { createCommandRunner, type DynamoHooks } from './command-runner'
import { createCursorCodec } from './cursor'
import type { AnyModel } from './define-model'
import type { DynamoClientLike } from './dynamo-client-like'
import { type Pricing, resolvePricing } from './explain'
import { createExpressionCache, type ExpressionCacheStats } from './expression-cache'
import { createModelClient, type ModelClient } from './model-client'
import { checkEncryptionOptions, type ModelEncryptionOptions, modelEncryptor } from './model-encryption'
import { createModelStreamRouter, type ModelStreamRouter, type ModelStreamRouterOptions } from './model-stream-router'
import {
  runTransactGet,
  runTransaction,
  type TransactGetOperation,
  type TransactGetResult,
  type TransactOperation,
  type TransactResult,
} from './model-transaction'
import type { TransactGetOptions, TransactWriteOptions } from './transact'

/** Options of {@link createDynamo}. */
export interface DynamoOptions {
  /** An AWS SDK v3 `DynamoDBClient` (or anything with its `send(command, { abortSignal })`). Required. */
  client: DynamoClientLike
  /** Prepended to every model's table name (`'test_'` + `'users'`). Default: `''`. */
  tablePrefix?: string | undefined
  /** Around-hooks: `onCommand(context, next)` wraps every command a model sends. Default: none. */
  hooks?: DynamoHooks | undefined
  /** Receives a debug line for each failed command. Default: none. */
  logger?: Logger | undefined
  /**
   * The HMAC-SHA256 key of query cursors. Default: a random key made once per process, so cursors do not survive a
   * restart and do not work on another instance: give a shared secret (32+ bytes) when they must.
   */
  cursorSecret?: string | Uint8Array | undefined
  /** On-demand prices for `explain()`. Default: 0.125 USD per million read units, 0.625 per million write units. */
  pricing?: Pricing | undefined
  /** Built expressions kept, by operation shape. Default: 1,000. */
  expressionCacheSize?: number | undefined
  /**
   * Field encryption: `{ keyProvider }` makes the data keys of `.encrypted()` fields, which every operation then
   * encrypts on write and decrypts on read. Default: none, and `db.model(M)` of a model with encrypted fields is a
   * `ConfigError` (they are never written as plaintext).
   */
  encryption?: ModelEncryptionOptions | undefined
}

/** What `db.stats()` reports. */
export interface DynamoStats {
  /** Commands sent (each page of a query is one). */
  commands: number
  /** Commands that failed (conditional check failures included). */
  failures: number
  /** Capacity units DynamoDB reported as consumed, when requests asked for it. */
  readCapacityUnits: number
  writeCapacityUnits: number
  expressionCache: ExpressionCacheStats
}

/** A DynamoDB connection with models: what {@link createDynamo} returns. */
export interface Dynamo {
  /** The client commands are sent with. */
  readonly client: DynamoClientLike
  /**
   * The operations of one model. The same client object is returned for the same model. A model with encrypted
   * fields and no `encryption` option is a `ConfigError`.
   */
  model<M extends AnyModel>(model: M): ModelClient<M>
  /** Counters: commands, failures, capacity, expression cache hit ratio. */
  stats(): DynamoStats
  /** The full table name of a model (with `tablePrefix`). */
  tableName(model: AnyModel): string
  /**
   * Runs operations made by `db.model(M).tx.*` as one transaction (up to 100; more is a `DynamoInputError` before
   * sending). A cancellation is a `TransactionCanceledError` naming each operation's reason.
   */
  transact(operations: readonly TransactOperation[], options?: Omit<TransactWriteOptions, 'keyAttributes'>): Promise<TransactResult>
  /**
   * Reads items made by `db.model(M).tx.get(key)` in one serializable snapshot (up to 100). Each item comes back as
   * its model's item, encrypted fields decrypted; a miss is `undefined`.
   */
  transactGet<const T extends readonly TransactGetOperation[]>(operations: T, options?: TransactGetOptions): Promise<TransactGetResult<T>>
  /**
   * A router of the table's stream records to handlers per model (`.on(User, handler)`), by entity marker; each
   * handler gets its model's items, encrypted fields decrypted.
   */
  streamRouter(options?: ModelStreamRouterOptions): ModelStreamRouter
}

/**
 * Creates the entry point of `@tessera/dynamo`.
 *
 * @example
 * import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
 * const db = createDynamo({ client: new DynamoDBClient({}) })
 * const user = await db.model(User).get({ id: '1' })
 */
export function createDynamo(options: DynamoOptions): Dynamo {
  const problems: string[] = []
  if (typeof options?.client?.send !== 'function')
    problems.push(`client must be a DynamoDBClient (something with send()), got ${describeValue(options?.client)}`)
  if (options?.tablePrefix !== undefined && typeof options.tablePrefix !== 'string') problems.push('tablePrefix must be a string')
  const cacheSize = options?.expressionCacheSize ?? 1_000
  if (!Number.isInteger(cacheSize) || cacheSize < 1)
    problems.push(`expressionCacheSize must be an integer >= 1, got ${describeValue(cacheSize)}`)
  const encryptionProblem = checkEncryptionOptions(options?.encryption)
  if (encryptionProblem) problems.push(encryptionProblem)
  if (problems.length > 0) throw new ConfigError(problems, { subject: 'createDynamo options' })
  const cache = createExpressionCache(cacheSize)
  const tablePrefix = options.tablePrefix ?? ''
  const runner = createCommandRunner({ client: options.client, cache, tablePrefix, logger: options.logger, hooks: options.hooks })
  const cursors = createCursorCodec(options.cursorSecret)
  const pricing = resolvePricing(options.pricing)
  const clients = new WeakMap<AnyModel, ModelClient<AnyModel>>()
  const db: Dynamo = {
    client: options.client,
    model<M extends AnyModel>(model: M): ModelClient<M> {
      let client = clients.get(model)
      if (!client) {
        if (typeof model?.name !== 'string' || !model.fieldByName) {
          throw new ConfigError(`expected a model made by defineModel(), got ${describeValue(model)}`)
        }
        const encryptor = modelEncryptor(model, options.encryption)
        client = createModelClient<AnyModel>({ model, runner, cursors, pricing, table: tablePrefix + model.table, encryptor })
        clients.set(model, client)
      }
      return client as unknown as ModelClient<M>
    },
    stats: () => ({ ...runner.counters, expressionCache: cache.stats() }),
    tableName: (model) => tablePrefix + model.table,
    transact: (operations, transactOptions) => runTransaction(options.client, operations, transactOptions),
    transactGet: (operations, getOptions) => runTransactGet(options.client, operations, getOptions),
    streamRouter: (routerOptions) => createModelStreamRouter((model) => db.model(model), routerOptions),
  }
  return db
}
