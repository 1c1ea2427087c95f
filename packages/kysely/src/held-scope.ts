import { KyselyDialectError } from './kysely-dialect-error'

/**
 * A Tessera scope (transaction, savepoint, reserved connection) opened with a callback and held open until Kysely
 * says how it ends: Kysely drives a transaction by calls (`beginTransaction`, `commitTransaction`…), Tessera by a
 * function whose return commits. The function here waits on `finish`; resolving it commits (or releases), rejecting
 * it with {@link KYSELY_ROLLBACK} rolls back.
 */
export interface HeldScope<S> {
  /** The Kysely savepoint name, for savepoint scopes. */
  readonly name: string | undefined
  /** The scope's queryable (the `tx` of `transaction(fn)`). */
  readonly scope: S
  /** Ends the scope: `true` commits or releases, `false` rolls back. Resolves once the database has done it. */
  end(commit: boolean): Promise<void>
}

/** The reason a held scope's function rejects with when Kysely rolls back. Never a `TesseraError`, so it is not reported as one. */
class KyselyRollback extends Error {
  constructor() {
    super('rolled back by Kysely (rollbackTransaction or rollbackToSavepoint)')
    this.name = 'KyselyRollback'
  }
}

const KYSELY_ROLLBACK = new KyselyRollback()

/**
 * Opens a scope with `open(fn)` and resolves once `fn` runs with the scope, or rejects with what `open` rejected with
 * before that (BEGIN failed, the provider is closed, the pool timed out).
 */
export function holdScope<S>(open: (fn: (scope: S) => Promise<void>) => Promise<unknown>, name?: string): Promise<HeldScope<S>> {
  return new Promise<HeldScope<S>>((resolveOpened, rejectOpened) => {
    let entered = false
    let finish: { resolve(): void; reject(reason: unknown): void } | undefined
    const finished = new Promise<void>((resolve, reject) => {
      finish = { resolve, reject }
    })
    const body = async (scope: S): Promise<void> => {
      // An onTransaction hook that calls next() again, or a retry policy, would commit an empty transaction: refuse.
      if (entered) {
        throw new KyselyDialectError(
          'KYSELY_TRANSACTION_RERUN',
          'a Kysely transaction cannot be run again by Tessera (a retry option or an onTransaction hook called next() twice): Kysely already ran its statements once; retry around db.transaction() instead',
        )
      }
      entered = true
      resolveOpened({ name, scope, end: (commit) => settle(commit) })
      await finished
    }
    let outcome: Promise<unknown>
    try {
      outcome = open(body)
    } catch (error) {
      rejectOpened(error)
      return
    }
    // Before `body` ran, a rejection means the scope never opened; after, the promise above is settled and this is a no-op.
    outcome.catch(rejectOpened)
    async function settle(commit: boolean): Promise<void> {
      if (commit) finish?.resolve()
      else finish?.reject(KYSELY_ROLLBACK)
      try {
        await outcome
      } catch (error) {
        if (error !== KYSELY_ROLLBACK) throw error
      }
    }
  })
}
