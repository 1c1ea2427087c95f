// Shared with provider-pg through @tessera/core; re-exported so existing imports keep working.
export { batchIndexOf, isReadStatement, isRetryableRead, ProviderClosedError, TransactionEndedError } from '@tessera/core'
export type { PostgresJsProvider } from './create-postgres-js-provider'
export { createPostgresJsProvider } from './create-postgres-js-provider'
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
