import { ConfigError } from '@tessera/core'
import type { AnyEntity } from './define-entity'
import type { Repository } from './repository'

/** The methods of a repository that write. A view's repository has none of them. */
export const WRITE_METHODS = [
  'insert',
  'insertMany',
  'update',
  'updateMany',
  'upsert',
  'delete',
  'deleteMany',
  'restore',
  'hardDelete',
  'hardDeleteMany',
] as const

/** A repository over a view (`defineView`): every read, no write. */
export type ReadOnlyRepository<E extends AnyEntity> = Omit<Repository<E>, (typeof WRITE_METHODS)[number] | 'withTransaction'> & {
  /** The same repository running on `tx`. */
  withTransaction(tx: Parameters<Repository<E>['withTransaction']>[0]): ReadOnlyRepository<E>
}

/**
 * `repository` as a view's: the write methods throw a `ConfigError` naming the view (for callers that reach them
 * past the types), `withTransaction` stays read-only.
 */
export function readOnly<E extends AnyEntity>(repository: Repository<E>, viewName: string): ReadOnlyRepository<E> {
  const refuse = (method: string) => () =>
    Promise.reject(
      new ConfigError(`${viewName} is a view: ${method}() cannot write to it; views are read-only`, { subject: 'view repository' }),
    )
  const out: Record<string, unknown> = { ...repository }
  for (const method of WRITE_METHODS) if (method in out) out[method] = refuse(method)
  out.withTransaction = (tx: Parameters<Repository<E>['withTransaction']>[0]) => readOnly(repository.withTransaction(tx), viewName)
  return out as unknown as ReadOnlyRepository<E>
}
