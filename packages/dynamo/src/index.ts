export type { AuditEvent, AuditHook, AuditOptions } from './audited-client'
export { auditedClient } from './audited-client'
export type { BatchGetKey, BatchGetOptions, BatchGetResult, BatchGetTableOptions, UnprocessedGet } from './batch-get'
export { BATCH_GET_LIMIT, batchGet } from './batch-get'
export type { BatchIncompleteDetails, BatchMiss, BatchOutcomeReason } from './batch-incomplete-error'
export { BatchIncompleteError } from './batch-incomplete-error'
export type { BatchProgress, BatchWriteEntry, BatchWriteOptions, BatchWriteResult, UnprocessedWrite } from './batch-write'
export { BATCH_WRITE_LIMIT, batchWrite } from './batch-write'
export type { ConsumedCapacitySummary, DynamoCommandContext, DynamoHooks, ModelOperation, PreparedRequest } from './command-runner'
export type { Condition, NumberComparison, Operators } from './conditions'
export type { Dynamo, DynamoOptions, DynamoStats } from './create-dynamo'
export { createDynamo } from './create-dynamo'
export type { DataMigration, DataMigrationContext, MigrateDataOptions, MigrateDataResult } from './data-migrations'
export { migrateData } from './data-migrations'
export type {
  AnyModel,
  FieldMeta,
  FieldName,
  Fields,
  IndexMeta,
  IndexNameOf,
  IndexSpec,
  Insert,
  InsertOf,
  Item,
  ItemOf,
  Key,
  KeyOf,
  KeySpec,
  Model,
  ModelOptions,
} from './define-model'
export { defineModel } from './define-model'
export type { DmsAttribute, DmsAttributeType, DmsDocument, DmsIndex, DmsModel } from './dms'
export { parseDms, tableDefinitionFromDms } from './dms'
export { formatRfc3339Nano, isDmsEmpty, ttlEpochSeconds } from './dms-encoding'
export type { DynamoClientLike, DynamoSendOptions, ResolvedRetryBudget, RetryBudgetOptions } from './dynamo-client-like'
export type { DynamoIoErrorCode } from './dynamo-errors'
export { awsErrorName, DynamoInputError, DynamoRequestError, isThrottlingError, isTransientError } from './dynamo-errors'
export type {
  EnsureTableOptions,
  EnsureTableResult,
  GlobalIndexDefinition,
  IndexProjection,
  KeyAttribute,
  LocalIndexDefinition,
  TableChange,
  TableDefinition,
} from './ensure-table'
export { ensureTable } from './ensure-table'
export { ConditionFailedError, CursorError, ItemNotFoundError } from './errors'
export type { ExplainOptions, Explanation, Pricing } from './explain'
export type { ExpressionCacheStats } from './expression-cache'
export type { DataKey, FieldEncryptor, FieldEncryptorOptions, KeyProvider, LocalKeyProviderOptions } from './field-encryption'
export { createFieldEncryptor, createLocalKeyProvider, encryptionContext } from './field-encryption'
export type { AnyField, Field, FieldKind, FieldRole } from './fields'
export { field } from './fields'
export { itemSizeBytes, MAX_ITEM_BYTES } from './item-size'
export type { AttributeMap } from './key-identity'
export { keyIdentity } from './key-identity'
export type { KeyTemplate, TemplateVars } from './key-template'
export type { ModelBatchGetOptions, ModelBatchGetResult, ModelBatchWrite, ModelBatchWriteResult } from './model-batch'
export type {
  CreateOptions,
  DeleteOptions,
  GetOptions,
  KeyWithVersion,
  ModelClient,
  ModelParams,
  ModelSealedParams,
  PutOptions,
} from './model-client'
export type { ModelEncryptionOptions } from './model-encryption'
export type { ModelStreamHandler, ModelStreamRouter, ModelStreamRouterOptions } from './model-stream-router'
export type {
  ModelTransactions,
  TransactGetOperation,
  TransactGetResult,
  TransactOperation,
  TransactResult,
  TransactUpdateBuilder,
} from './model-transaction'
export type { QueryBuilder, ReadOptions } from './query-builder'
export type { Page } from './read-pages'
export type { ScanBuilder } from './scan-builder'
export type {
  DecodedStreamRecord,
  DecodeStreamRecordOptions,
  StreamBatchResult,
  StreamHandler,
  StreamRecordLike,
  StreamRecordType,
  StreamRouter,
  StreamRouterOptions,
} from './stream-record'
export { createStreamRouter, decodeStreamRecord } from './stream-record'
export type { TenantScope, TenantScopeOptions } from './tenant-scope'
export { createTenantScope, tenantGuardedClient } from './tenant-scope'
export type { TransactGetOptions, TransactWriteOperation, TransactWriteOptions, TransactWriteResult, WrittenOperation } from './transact'
export { TRANSACT_LIMIT, transactGet, transactWrite } from './transact'
export type { CancellationReason, TransactOperationType } from './transaction-canceled-error'
export { TransactionCanceledError } from './transaction-canceled-error'
export type { UpdateBuilder, UpdateReturning } from './update-builder'
