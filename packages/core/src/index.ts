// Contracts
export type {
  BatchOptions,
  BatchQuery,
  FieldInfo,
  HealthReport,
  HealthStatus,
  IsolationLevel,
  ListenOptions,
  Logger,
  Notification,
  PoolStats,
  Provider,
  Queryable,
  QueryOptions,
  QueryResult,
  Row,
  SqlInput,
  StreamOptions,
  Subscription,
  Transaction,
  TransactionOptions,
} from './contracts'

// Errors
export type { PoolTimeoutDetails, TesseraErrorOptions, ValidationIssue } from './errors'
export {
  AbortError,
  CircuitOpenError,
  ConfigError,
  ConversionError,
  describeValue,
  isTesseraError,
  NotFoundError,
  OptimisticLockError,
  PoolTimeoutError,
  TesseraError,
  TimeoutError,
  ValidationError,
} from './errors'

// BEGIN pg-errors (database errors, SQLSTATE table, mapPgError)
// END pg-errors

// BEGIN sql (the sql tagged template)
// END sql

// BEGIN retry + circuit-breaker
// END retry + circuit-breaker

// BEGIN hooks + diagnostics + create-provider
// END hooks + diagnostics + create-provider
