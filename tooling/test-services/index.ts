/**
 * The services and helpers tests share: the test servers' URLs (`PG_URL`, `REDIS_URL`), unique names, a
 * deferred, free ports, a fault-injecting TCP proxy and a PgBouncer. Every server and process started here is
 * stopped by its handle, and at the latest when the test process exits.
 */
export type { Deferred } from './deferred'
export { deferred } from './deferred'
export {
  answersListTables,
  DYNAMODB_LOCAL_CREDENTIALS,
  DYNAMODB_LOCAL_REGION,
  DYNAMODB_URL_ENV,
  type DynamoDbLocal,
  type DynamoDbLocalClientConfig,
  type DynamoDbLocalOptions,
  dynamoDbLocalClientConfig,
  dynamoDbLocalJar,
  startDynamoDbLocal,
} from './dynamodb-local'
export { type Endpoint, endpointOf, urlThrough } from './endpoint'
export { PG_URL, REDIS_URL, uniqueName } from './env'
export { freePort } from './free-port'
export { type OwnedProcess, type OwnedProcessOptions, osUser, type ProcessExit, spawnOwnedProcess } from './owned-process'
export {
  type PgNode,
  type PgReplication,
  type PgReplicationOptions,
  type PgStopMode,
  startPgReplication,
} from './pg-replication'
export { type PgBouncer, type PgBouncerOptions, type PgBouncerPoolMode, startPgBouncer } from './pgbouncer'
export { type ClusterNodeInfo, type RedisCluster, type RedisClusterOptions, startRedisCluster } from './redis-cluster'
export { type RedisSentinel, type RedisSentinelOptions, startRedisSentinel } from './redis-sentinel'
export { type RedisProcess, redisCli } from './redis-server'
export { ensureServices } from './services'
export { type CancelRequestHold, type ProxyMode, startTcpProxy, type TcpProxy, type TcpProxyOptions } from './tcp-proxy'
export { startVerdaccio, VERDACCIO_VERSION, type Verdaccio, type VerdaccioOptions } from './verdaccio'
