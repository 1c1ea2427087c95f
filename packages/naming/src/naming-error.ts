import { describeValue, TesseraError } from '@tessera/core'

/** What was wrong with a name, for {@link NamingError}. */
export interface NamingErrorDetails {
  /** The value that was rejected, exactly as it was passed. */
  input: unknown
  /** Why it was rejected, e.g. `contains no letters or digits`. */
  reason: string
  /** What would have been accepted, e.g. `a non-empty string with at least one letter or digit`. */
  accepted: string
}

/**
 * A name could not be converted, inflected or used as an identifier: not a string, empty, only
 * symbols, a NUL byte in a PostgreSQL identifier… Code `NAMING_INVALID`, never retryable (the same
 * input fails the same way).
 *
 * @example
 * try { toSnake('$$$') } catch (error) {
 *   if (error instanceof NamingError) console.log(error.message)
 *   // invalid name "$$$": contains no letters or digits; accepted: a string with at least one letter or digit
 * }
 */
export class NamingError extends TesseraError {
  /** The rejected value. */
  readonly input: unknown
  /** What would have been accepted. */
  readonly accepted: string

  constructor(details: NamingErrorDetails, options: { cause?: unknown } = {}) {
    super(`invalid name ${describeValue(details.input)}: ${details.reason}; accepted: ${details.accepted}`, {
      code: 'NAMING_INVALID',
      cause: options.cause,
    })
    this.input = details.input
    this.accepted = details.accepted
  }
}

/** Throws unless `input` is a non-empty string; shared by every entry point. */
export function assertName(input: unknown, accepted: string): asserts input is string {
  if (typeof input !== 'string') throw new NamingError({ input, reason: `expected a string, got ${typeOf(input)}`, accepted })
  if (input.length === 0) throw new NamingError({ input, reason: 'it is empty', accepted })
}

function typeOf(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value
}
