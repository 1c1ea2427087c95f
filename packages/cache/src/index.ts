export type { BatchFactory, BatchFactoryContext } from './batch-loader'
export type { BusState } from './bus'
export type { Cache, CacheEntryInput, CacheReadiness, Factory, FactoryContext, WarmSource } from './cache'
export type { CachedOptions } from './cached'
export { cached } from './cached'
export type { StandardSchemaLike, StandardSchemaResult } from './check-value'
export type { Codec, CodecType, TaggedJsonCodecOptions } from './codec'
export { createTaggedJsonCodec, taggedJsonCodec } from './codec'
export type { CompressionAlgorithm } from './compression'
export { createCache } from './create-cache'
export type { NamespaceCounters } from './namespace-stats'
export type {
  BusOptions,
  CacheErrorEvent,
  CacheOptions,
  GetOrSetOptions,
  L1Options,
  L2BreakerOptions,
  L2Options,
  LockOptions,
  SetOptions,
} from './options'
export type { QueryCacheOptions } from './query-cache'
export { queryCache } from './query-cache'
export type { RedisLike, RedisPipelineLike, RedisSubscriberLike } from './redis-like'
export type { StatementKind } from './sql-tables'
export { statementKind, statementTables } from './sql-tables'
export type { CacheStats } from './stats'
