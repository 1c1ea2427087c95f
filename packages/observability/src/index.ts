export type {
  DependencyCheck,
  DependencyReport,
  HealthCheckedCache,
  HealthCheckedProvider,
  HealthHandler,
  HealthHandlerOptions,
  PrometheusHandler,
} from './health-handler'
export { createHealthHandler } from './health-handler'
export type { Instrumentation } from './instrument'
export { instrument } from './instrument'
export type { LiveSnapshot } from './live-stats'
export type {
  ExplainOptions,
  InstrumentLogger,
  InstrumentOptions,
  RepeatedStatementReport,
  SlowQueryReport,
  SqlCommenterOptions,
  WatchedPackage,
} from './options'
export { DURATION_BUCKETS_S } from './telemetry'
