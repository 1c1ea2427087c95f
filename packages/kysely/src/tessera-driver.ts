import type { DatabaseConnection, Driver, TransactionSettings } from 'kysely'
import type { QueryableCapabilities } from './queryable-shapes'
import { TesseraConnection } from './tessera-connection'
import { claimReservation } from './with-connection'

/**
 * Kysely's driver over a Tessera queryable. Acquiring a connection costs nothing (an object that holds nothing until
 * Kysely begins a transaction on it); the queryable's pool, retries and routing stay in charge.
 */
export class TesseraDriver implements Driver {
  constructor(private readonly queryable: QueryableCapabilities) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    const connection = new TesseraConnection(this.queryable)
    const reservation = claimReservation()
    if (reservation !== undefined) await connection.reserve(reservation.options)
    return connection
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    await (connection as TesseraConnection).begin(settings)
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as TesseraConnection).commit()
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as TesseraConnection).rollback()
  }

  async savepoint(connection: DatabaseConnection, savepointName: string): Promise<void> {
    await (connection as TesseraConnection).savepoint(savepointName)
  }

  async rollbackToSavepoint(connection: DatabaseConnection, savepointName: string): Promise<void> {
    await (connection as TesseraConnection).rollbackToSavepoint(savepointName)
  }

  async releaseSavepoint(connection: DatabaseConnection, savepointName: string): Promise<void> {
    await (connection as TesseraConnection).releaseSavepoint(savepointName)
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    await (connection as TesseraConnection).release()
  }

  /** `db.destroy()`: the queryable belongs to the caller and stays open; close the provider yourself. */
  async destroy(): Promise<void> {}
}
