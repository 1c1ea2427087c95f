import { describeValue, type Logger } from '@tessera/core'
import type { CacheErrorEvent } from './options'

/** Tells the logger and `onError` about a failure the cache absorbed or passed on. */
export type ErrorReporter = (error: unknown, event: CacheErrorEvent) => void

export function createErrorReporter(
  logger: Logger | undefined,
  onError: ((error: unknown, event: CacheErrorEvent) => void) | undefined,
): ErrorReporter {
  return (error, event) => {
    if (logger !== undefined) {
      const detail = error instanceof Error ? error.message : describeValue(error)
      const what = event.key === undefined ? event.operation : `${event.operation} "${event.key}"`
      const text = `cache "${event.namespace}": ${what} failed: ${detail}${event.staleServed ? ' (served a stale value)' : ''}`
      // A factory error the caller receives is the caller's to log; everything the cache absorbed is ours.
      if (event.operation === 'factory' && !event.staleServed) logger.debug({ err: error, ...event }, text)
      else logger.warn({ err: error, ...event }, text)
    }
    if (onError !== undefined) {
      try {
        onError(error, event)
      } catch {
        // An observer must not break the cache operation it observes.
      }
    }
  }
}
