export type { PgProvider } from './create-pg-provider'
export { createPgProvider } from './create-pg-provider'
export { batchIndexOf, ProviderClosedError, TransactionEndedError } from './errors'
export type { PgPoolOptions, PgProviderOptions } from './options'
export type {
  PgClientConfig,
  PgClientConstructor,
  PgClientLike,
  PgFieldDescription,
  PgNotificationMessage,
  PgQueryConfig,
  PgRawResult,
} from './pg-client'
export { isRetryableRead } from './pg-engine'
export { isReadStatement } from './statement'
