// Shared with provider-postgresjs through @tessera/core; re-exported so existing imports keep working.
export { batchIndexOf, isReadStatement, isRetryableRead, ProviderClosedError, TransactionEndedError } from '@tessera/core'
export type { PgProvider } from './create-pg-provider'
export { createPgProvider } from './create-pg-provider'
export type { PgPoolOptions, PgProviderOptions } from './options'
export type {
  PgClientConfig,
  PgClientConstructor,
  PgClientLike,
  PgFieldDescription,
  PgNoticeMessage,
  PgNotificationMessage,
  PgQueryConfig,
  PgRawResult,
} from './pg-client'
