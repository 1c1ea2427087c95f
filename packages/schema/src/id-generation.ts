import { randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { ConfigError, describeValue } from '@tessera/core'

/** The strategies {@link generateId} knows (`identity` ids come from the database). */
export type GeneratedIdStrategy = 'uuidv4' | 'uuidv7' | 'ulid'

/** The strategies {@link generateId} knows, for messages and checks. */
export const GENERATED_ID_STRATEGIES: readonly GeneratedIdStrategy[] = ['uuidv4', 'uuidv7', 'ulid']

// One generator per process: ulid's monotonic factory keeps increasing the random part within a millisecond
// (and across a clock step backwards), so ids made in one millisecond still sort in creation order.
let nextUlid: (() => string) | undefined
let v7: (() => string) | undefined

/**
 * Loads `uuid` or `ulid` on the first id that needs it: importing `uuid` alone takes about 15 ms (many modules),
 * which importing this package (and `@tessera/dynamo`) should not pay for when no such id is made. Synchronous,
 * through `require` (both packages ship CommonJS).
 */
function requireLazily<T>(name: string): T {
  const location = typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url)
  return createRequire(location)(name) as T
}

/**
 * A new id:
 * - `uuidv4`: random (`crypto.randomUUID`);
 * - `uuidv7`: time-ordered; the `uuid` package keeps a sequence so ids made in the same millisecond still increase;
 * - `ulid`: 26 Crockford base-32 characters, time-ordered and monotonic within a millisecond.
 *
 * @throws ConfigError for an unknown strategy.
 * @example generateId('uuidv7') // '0190f2a4-…'
 */
export function generateId(strategy: GeneratedIdStrategy): string {
  switch (strategy) {
    case 'uuidv4':
      return randomUUID()
    case 'uuidv7':
      v7 ??= requireLazily<{ v7: () => string }>('uuid').v7
      return v7()
    case 'ulid':
      nextUlid ??= requireLazily<{ monotonicFactory: () => () => string }>('ulid').monotonicFactory()
      return nextUlid()
    default:
      throw new ConfigError(`generateId(${describeValue(strategy)}): unknown strategy; accepted: ${GENERATED_ID_STRATEGIES.join(', ')}`)
  }
}
