export { NoPrimaryError, NoReplicaAvailableError } from './cluster-errors'
export type { ClusterEvent, ClusterEventListener } from './cluster-events'
export type { ClusterNodeStatus, NodeRole, NodeState } from './cluster-node'
export type {
  ClusterNodeOptions,
  ClusterOptions,
  ClusterProviderNode,
  ClusterUrlNode,
  FailoverOptions,
  HealthCheckOptions,
  ReadYourWritesOptions,
  ReplicaStrategy,
  Route,
} from './cluster-options'
export type { ShardKey } from './consistent-hash'
export type { Cluster, ClusterQueryOptions, ClusterTransactionOptions } from './create-cluster'
export { createCluster } from './create-cluster'
export { isRoutableRead } from './routing-classifier'
export type {
  FanOutOptions,
  FanOutResult,
  RebalancePlan,
  Shard,
  ShardFailure,
  ShardMove,
  ShardResult,
  ShardRouter,
  ShardRouterOptions,
  ShardStrategy,
} from './shard-router'
export { createShardRouter, FanOutError, UnknownShardError } from './shard-router'
export type { Tenancy, TenancyOptions, TenancyStats, TenancyStrategy, TenantDatabaseOptions } from './tenancy'
export { tenancy } from './tenancy'
export type { BulkheadOptions } from './tenant-bulkhead'
export type { TenantDatabasesStats } from './tenant-databases'
export { InvalidTenantIdError, TenancyClosedError, TenantBusyError, UnknownTenantError } from './tenant-errors'
export type { TenantIdRules } from './tenant-id'
export { DEFAULT_TENANT_ID_MAX_LENGTH, DEFAULT_TENANT_ID_PATTERN, validateTenantId } from './tenant-id'
export type { TenantScope } from './tenant-scope'
