export type { AuditEvent, AuditHook, AuditOptions } from './audited-client'
export { auditedClient } from './audited-client'
export type { BatchGetKey, BatchGetOptions, BatchGetResult, BatchGetTableOptions, UnprocessedGet } from './batch-get'
export { BATCH_GET_LIMIT, batchGet } from './batch-get'
export type { BatchIncompleteDetails, BatchMiss, BatchOutcomeReason } from './batch-incomplete-error'
export { BatchIncompleteError } from './batch-incomplete-error'
export type { BatchProgress, BatchWriteEntry, BatchWriteOptions, BatchWriteResult, UnprocessedWrite } from './batch-write'
export { BATCH_WRITE_LIMIT, batchWrite } from './batch-write'
export type { DataMigration, DataMigrationContext, MigrateDataOptions, MigrateDataResult } from './data-migrations'
export { migrateData } from './data-migrations'
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
export type { DataKey, FieldEncryptor, FieldEncryptorOptions, KeyProvider, LocalKeyProviderOptions } from './field-encryption'
export { createFieldEncryptor, createLocalKeyProvider, encryptionContext } from './field-encryption'
export { hello } from './hello'
export type { AttributeMap } from './key-identity'
export { keyIdentity } from './key-identity'
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
