export type { PostgresJsProvider } from './create-postgres-js-provider'
export { createPostgresJsProvider } from './create-postgres-js-provider'
export { isRetryableRead } from './engine'
export { batchIndexOf, ProviderClosedError, TransactionEndedError } from './errors'
export type { PostgresJsProviderOptions } from './options'
export type {
  PostgresJsBackend,
  PostgresJsColumn,
  PostgresJsFactory,
  PostgresJsNotice,
  PostgresJsOptions,
  PostgresJsQuery,
  PostgresJsQueryable,
  PostgresJsReserved,
  PostgresJsResult,
  PostgresJsSql,
  PostgresJsTypeEntry,
  PostgresJsUnsafeOptions,
} from './postgres-js-client'
export { isReadStatement } from './statement'
