export type { BatchGetKey, BatchGetOptions, BatchGetResult, BatchGetTableOptions, UnprocessedGet } from './batch-get'
export { BATCH_GET_LIMIT, batchGet } from './batch-get'
export type { BatchIncompleteDetails, BatchMiss, BatchOutcomeReason } from './batch-incomplete-error'
export { BatchIncompleteError } from './batch-incomplete-error'
export type { BatchProgress, BatchWriteEntry, BatchWriteOptions, BatchWriteResult, UnprocessedWrite } from './batch-write'
export { BATCH_WRITE_LIMIT, batchWrite } from './batch-write'
export type { ConsumedCapacitySummary, ModelOperation, PreparedRequest } from './command-runner'
export type { Condition, NumberComparison, Operators } from './conditions'
export type { Dynamo, DynamoOptions, DynamoStats } from './create-dynamo'
export { createDynamo } from './create-dynamo'
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
export type { DynamoClientLike, ResolvedRetryBudget, RetryBudgetOptions } from './dynamo-client-like'
export type { DynamoIoErrorCode } from './dynamo-errors'
export { awsErrorName, DynamoInputError, DynamoRequestError, isThrottlingError, isTransientError } from './dynamo-errors'
export { ConditionFailedError, CursorError, ItemNotFoundError } from './errors'
export type { ExplainOptions, Explanation, Pricing } from './explain'
export type { ExpressionCacheStats } from './expression-cache'
export type { AnyField, Field, FieldKind, FieldRole } from './fields'
export { field } from './fields'
export { itemSizeBytes, MAX_ITEM_BYTES } from './item-codec'
export type { AttributeMap } from './key-identity'
export { keyIdentity } from './key-identity'
export type { KeyTemplate, TemplateVars } from './key-template'
export type { CreateOptions, DeleteOptions, GetOptions, KeyWithVersion, ModelClient, ModelParams, PutOptions } from './model-client'
export type { QueryBuilder, ReadOptions } from './query-builder'
export type { Page } from './read-pages'
export type { ScanBuilder } from './scan-builder'
export type { UpdateBuilder, UpdateReturning } from './update-builder'
