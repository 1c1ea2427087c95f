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
export type { Cluster, ClusterQueryOptions, ClusterTransactionOptions } from './create-cluster'
export { createCluster } from './create-cluster'
export { isRoutableRead } from './routing-classifier'
