export type { Instrumentation } from './instrument'
export { instrument } from './instrument'
export type { LiveSnapshot } from './live-stats'
export type {
  ExplainOptions,
  InstrumentLogger,
  InstrumentOptions,
  RepeatedStatementReport,
  SlowQueryReport,
  WatchedPackage,
} from './options'
export { DURATION_BUCKETS_S } from './telemetry'
