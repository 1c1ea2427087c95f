// The user API. What driver authors need is in `@tessera/core/driver`.
export type { CircuitBreaker, CircuitBreakerOptions, CircuitBreakerStats, CircuitState, CircuitStateChange } from './circuit-breaker'
export { createCircuitBreaker } from './circuit-breaker'
export type { Clock, ManualClock, ManualClockOptions } from './clock'
export { createManualClock, systemClock } from './clock'
export type {
  ConnectionEnvironment,
  ConnectionSettings,
  ConnectionTarget,
  SslMode,
  TargetSessionAttrs,
  TlsSettings,
} from './connection-settings'
export {
  DEFAULT_SOCKET_DIRECTORIES,
  describeTarget,
  resolveConnectionSettings,
  SSL_MODES,
  TARGET_SESSION_ATTRS,
} from './connection-settings'
export type { ConnectionStringHost, ConnectionStringParts } from './connection-string'
export { parseConnectionString } from './connection-string'
export type {
  BatchOptions,
  BatchQuery,
  ConnectionOptions,
  FieldInfo,
  HealthReport,
  HealthStatus,
  IsolationLevel,
  ListenOptions,
  Logger,
  MultiQueryable,
  MultiQueryOptions,
  Notice,
  Notification,
  PoolStats,
  Provider,
  ProviderOptions,
  ProviderPoolOptions,
  Queryable,
  QueryOptions,
  QueryResult,
  ReservedConnection,
  ReserveOptions,
  Row,
  SqlInput,
  StreamOptions,
  Subscription,
  TlsOptions,
  Transaction,
  TransactionOptions,
  TypedSqlQuery,
} from './contracts'
export type { CopyFromStream, CopyMethods, CopyOptions, CopyToStream } from './copy-streams'
export type { BuiltInDriver, CreateProviderOptions, DriverFactory, DriverOptions, RegisterDriverOptions } from './create-provider'
export { createProvider, registerDriver, registeredDrivers } from './create-provider'
export type {
  BatchMessage,
  BreakerState,
  BreakerStateMessage,
  CacheBusMessage,
  CacheDeleteMessage,
  CacheGetMessage,
  CacheSetMessage,
  CacheTier,
  ChannelMessages,
  ChannelName,
  ClusterFailoverMessage,
  ClusterNodeEvent,
  ClusterNodeMessage,
  ClusterRouteMessage,
  ConnectMessage,
  DynamoCommandMessage,
  MigrationMessage,
  OpenTrace,
  PoolAcquireMessage,
  PoolCreateMessage,
  PoolDestroyMessage,
  PoolLeakMessage,
  PoolReleaseMessage,
  PoolTimeoutMessage,
  QueryMessage,
  StreamMessage,
  TracedOutcome,
  TraceScope,
  TransactionMessage,
} from './diagnostics'
export { addTraceScope, CHANNELS, hasSubscribers, hasTraceSubscribers, openTrace, publish, traced } from './diagnostics'
export type { BuiltInProviderOptions, DriverOptionsMap } from './driver-options'
// Errors
export type { PoolTimeoutDetails, TesseraErrorOptions, ValidationIssue } from './errors'
export {
  AbortError,
  CircuitOpenError,
  ConfigError,
  ConversionError,
  DataIntegrityError,
  describeValue,
  isTesseraError,
  NotFoundError,
  OptimisticLockError,
  PoolTimeoutError,
  TesseraError,
  TimeoutError,
  ValidationError,
} from './errors'
export type {
  ComposedHooks,
  ConnectionInfo,
  ErrorContext,
  HookOperation,
  Hooks,
  QueryContext,
  QueryFinal,
  QueryNext,
  QueryOperation,
  TransactionContext,
  TransactionNext,
} from './hooks'
export { composeHooks } from './hooks'
export type { DatabaseErrorClassName, DatabaseErrorDetails, MapPgErrorContext, SqlStateEntry, SqlStateInfo } from './pg-errors'
export {
  AdminShutdownError,
  AuthenticationError,
  CannotConnectNowError,
  CheckViolationError,
  ConnectionError,
  CrashShutdownError,
  DatabaseDroppedError,
  DatabaseError,
  DataError,
  DeadlockError,
  DiskFullError,
  DuplicateTableError,
  ExclusionViolationError,
  ForeignKeyViolationError,
  InsufficientPrivilegeError,
  InsufficientResourcesError,
  IntegrityConstraintError,
  InternalError,
  InvalidTransactionStateError,
  isConnectionLoss,
  LockNotAvailableError,
  mapPgError,
  NotNullViolationError,
  ObjectStateError,
  OperatorInterventionError,
  OutOfMemoryError,
  ProgramLimitError,
  QueryCanceledError,
  ReadOnlyTransactionError,
  RestrictViolationError,
  SERVER_ERROR_FIELDS,
  SerializationFailureError,
  SQLSTATE_TABLE,
  SqlSyntaxError,
  SyntaxOrAccessError,
  SystemError,
  sqlStateInfo,
  TLS_FAILED,
  TLS_REFUSED,
  TooManyConnectionsError,
  TransactionResolutionUnknownError,
  TransactionRollbackError,
  UndefinedColumnError,
  UndefinedFunctionError,
  UndefinedTableError,
  UniqueViolationError,
} from './pg-errors'
export { batchIndexOf, ConnectionBusyError, ConnectionReleasedError, ProviderClosedError, TransactionEndedError } from './provider-errors'
export { isCount, isDuration, problemsOf } from './provider-options'
export { many, manyFirst, maybeOne, maybeOneFirst, one, oneFirst } from './result-helpers'
export type { BackoffOptions, ResolvedRetryPolicy, RetryDetails, RetryEvent, RetryPolicy, RetryRuntime } from './retry'
export { backoffDelay, getRetryDetails, isRetryable, resolveRetryPolicy, retry } from './retry'
export type { InferRow, RowSchema, RowSchemaResult } from './row-schema'
export { RowValidationError } from './row-schema'
export type { QueryConfig, SqlQuery, SqlTag } from './sql'
export { assertChannelName, isSqlQuery, quoteIdentifier, SqlError, sql, toQueryConfig } from './sql'
export type { SqlArrayType } from './sql-typed-values'
export { isReadStatement, isRetryableRead } from './statement'
export { checkStatement } from './statement-check'
export type { StatementClassification } from './statement-classifier'
export { classifyStatement } from './statement-classifier'
export type { StatementSummary } from './statement-summary'
export { sanitizeStatement, summarizeStatement } from './statement-summary'
export { isTransactionConflict } from './transaction-runner'
