import { ConfigError, describeValue, TesseraError, TimeoutError } from '@tessera/core'
import type { FactoryContext } from './cache'
import type { Flight } from './flight'
import { isDuration, isTtl } from './resolve-options'

/** What a factory decided about its own result through its context. */
export interface FactoryDecisions {
  /** `ctx.skip(value)` was used: return the value, store nothing. */
  isSkipped: boolean
  ttlMs: number | undefined
  graceMs: number | undefined
}

/** The reason a factory's signal is aborted with. */
export function hardTimeoutReason(key: string, timeoutMs: number): TimeoutError {
  return new TimeoutError({ operation: `cache getOrSet("${key}") factory`, timeoutMs })
}

function factorySignal(flight: Flight, key: string): AbortSignal {
  const controller = new AbortController()
  flight.abort = controller
  if (flight.isPastHardTimeout) controller.abort(hardTimeoutReason(key, 0))
  return controller.signal
}

/** The context one factory run receives, and the decisions it records. */
export function createFactoryContext(
  flight: Flight,
  key: string,
  namespace: string,
): { context: FactoryContext<unknown>; decisions: FactoryDecisions } {
  const decisions: FactoryDecisions = { isSkipped: false, ttlMs: undefined, graceMs: undefined }
  const context: FactoryContext<unknown> = {
    key,
    namespace,
    stale: flight.stale?.value,
    signal: factorySignal(flight, key),
    skip(value) {
      decisions.isSkipped = true
      return value
    },
    fail(reason) {
      if (reason instanceof Error) throw reason
      throw new TesseraError(`the factory for "${key}" failed: ${String(reason)}`, { code: 'CACHE_FACTORY_FAILED', retryable: true })
    },
    setOptions(options) {
      const problems: string[] = []
      if (typeof options !== 'object' || options === null) problems.push(`options must be an object, got ${describeValue(options)}`)
      else {
        for (const name of Object.keys(options)) {
          if (name !== 'ttlMs' && name !== 'graceMs')
            problems.push(`unknown option "${name}" (known: ttlMs, graceMs; tags cannot change once the factory runs)`)
        }
        if (options.ttlMs !== undefined && !isTtl(options.ttlMs))
          problems.push(`ttlMs must be a finite number > 0 or Infinity (forever), got ${describeValue(options.ttlMs)}`)
        if (options.graceMs !== undefined && !isDuration(options.graceMs))
          problems.push(`graceMs must be a finite number ≥ 0, got ${describeValue(options.graceMs)}`)
      }
      if (problems.length > 0) throw new ConfigError(problems, { subject: `setOptions in the factory of "${key}"` })
      if (options.ttlMs !== undefined) decisions.ttlMs = options.ttlMs
      if (options.graceMs !== undefined) decisions.graceMs = options.graceMs
    },
  }
  return { context, decisions }
}
