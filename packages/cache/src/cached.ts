import { ConfigError, describeValue } from '@tessera/core'
import type { Cache } from './create-cache'
import type { GetOrSetOptions } from './options'

/** Options of {@link cached}. */
export interface CachedOptions<A extends unknown[]> extends Omit<GetOrSetOptions, 'tags'> {
  /** The cache key for a call's arguments, e.g. `(id) => \`user:${id}\``. Required. */
  key: (...args: A) => string
  /** Tags of the entry: fixed, or computed from the arguments. Default: none. */
  tags?: readonly string[] | ((...args: A) => readonly string[]) | undefined
}

/**
 * Memoises an async function through the cache: same arguments (same key) → one call, then cached values, with
 * single flight, grace and timeouts as configured.
 *
 * @example
 * const findUser = cached((id: string) => users.findById(id), cache, { key: (id) => `user:${id}`, ttlMs: 60_000, tags: ['users'] })
 */
export function cached<A extends unknown[], R>(
  fn: (...args: A) => Promise<R> | R,
  cache: Cache,
  options: CachedOptions<A>,
): (...args: A) => Promise<R> {
  const problems: string[] = []
  if (typeof fn !== 'function') problems.push(`fn must be a function, got ${describeValue(fn)}`)
  if (typeof cache !== 'object' || cache === null || typeof cache.getOrSet !== 'function')
    problems.push(`cache must come from createCache(), got ${describeValue(cache)}`)
  if (typeof options !== 'object' || options === null || typeof options.key !== 'function') {
    problems.push(`options.key must be a function of the arguments, got ${describeValue(options?.key)}`)
  }
  if (problems.length > 0) throw new ConfigError(problems, { subject: 'cached' })
  const { key, tags, ...rest } = options
  return (...args: A) => {
    const entryTags = typeof tags === 'function' ? tags(...args) : tags
    return cache.getOrSet<R>(key(...args), () => fn(...args), entryTags === undefined ? rest : { ...rest, tags: entryTags })
  }
}
