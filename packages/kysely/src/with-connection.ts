import { AsyncLocalStorage } from 'node:async_hooks'
import type { Kysely } from 'kysely'
import { KyselyDialectError } from './kysely-dialect-error'
import type { ReserveOptions } from './queryable-shapes'

interface Reservation {
  claimed: boolean
  readonly options: ReserveOptions | undefined
}

const reservations = new AsyncLocalStorage<Reservation>()

/** True inside the function of {@link withConnection} (for the adapter's migration lock guard). */
export function isInsideWithConnection(): boolean {
  return reservations.getStore()?.claimed === true
}

/** For the driver: the `withConnection` call waiting for its connection, claimed by the first acquisition under it. */
export function claimReservation(): Reservation | undefined {
  const reservation = reservations.getStore()
  if (reservation === undefined || reservation.claimed) return undefined
  reservation.claimed = true
  return reservation
}

/**
 * `db.connection().execute(fn)` on one reserved Tessera connection (`provider.connection(fn)`): every statement
 * of `fn` runs on the same server session, so `SET`, temporary tables and session advisory locks last across them.
 * Kysely's own `db.connection()` cannot do this through a driver (it acquires a connection the same way for a single
 * statement), so through this dialect a second statement on it is a `KyselyDialectError`.
 *
 * Needs a queryable with `connection(fn)`; otherwise a `KyselyDialectError` (`KYSELY_CONNECTION_UNSUPPORTED`).
 * Options: `signal` and `timeoutMs` of the reservation (waiting for a free connection). Default: none.
 *
 * @example
 * await withConnection(db, async (conn) => {
 *   await sql`SET search_path TO tenant_7`.execute(conn)
 *   return conn.selectFrom('tasks').selectAll().execute()
 * })
 */
export async function withConnection<DB, T>(
  db: Kysely<DB>,
  fn: (connection: Kysely<DB>) => Promise<T>,
  options?: ReserveOptions,
): Promise<T> {
  const reservation: Reservation = { claimed: false, options }
  return reservations.run(reservation, () =>
    db.connection().execute((connection) => {
      if (!reservation.claimed) {
        throw new KyselyDialectError(
          'KYSELY_NOT_A_TESSERA_DIALECT',
          'withConnection needs a Kysely instance created with createTesseraDialect from this copy of @tessera/kysely; this one did not reserve a connection',
        )
      }
      return fn(connection)
    }),
  )
}
