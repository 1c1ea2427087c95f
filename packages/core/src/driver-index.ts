// `@tessera/core/driver`: what driver authors need to put a database driver under Tessera's one provider.
// Users import from `@tessera/core`; nothing here is needed to use a provider.

export type { CancelTarget } from './cancel-request'
export { sendCancelRequest } from './cancel-request'
export { cancellableStatement } from './cancellable-statement'
export type { ConnectAttempt, ConnectedTarget, SessionState, TargetConnector } from './connection-targets'
export { attemptsFor, connectFirstTarget, SESSION_STATE_SQL, sessionMismatch, sessionStateOf } from './connection-targets'
export type { DriverCopyIn, DriverCopyOut } from './copy-seam'
export type { CopyLease } from './copy-streams'
export { createCopyFromStream, createCopyToStream, poolLease } from './copy-streams'
export type { DriverProviderOptions } from './create-driver-provider'
export { createDriverProvider, HEALTH_DEADLINE_MS } from './create-driver-provider'
export type {
  Driver,
  DriverConnection,
  DriverContext,
  DriverPool,
  DriverProperties,
  ListenerConnection,
  ListenerEvents,
  RunOptions,
  SerializedParams,
  TransactionStatus,
} from './driver'
export type { ListenConnection, ListenSupervisorOptions } from './listen-supervisor'
export { ListenSupervisor } from './listen-supervisor'
export type { DriverPortal } from './portal-seam'
export type { ProviderOptionsSpec, ResolvedProviderOptions } from './provider-options'
export { createNoticeHandler, PROVIDER_POOL_DEFAULTS, resolveProviderOptions, toNotice } from './provider-options'
export type { RuntimeOptions, Statement } from './provider-runtime'
export { isReusable, outcomeUnknown, ProviderRuntime } from './provider-runtime'
export { RESET_SESSION_SQL, runReserved } from './reserved-connection'
export { untaggedRowCount } from './row-count'
export { beginStatement } from './transaction-runner'
export { mayChangeTransactionState, maySeparateStatements } from './transaction-state'
export type { WaitPercentiles } from './wait-reservoir'
export { WaitReservoir } from './wait-reservoir'
