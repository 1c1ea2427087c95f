import { ListenSupervisor } from '@tessera/core'
import type { PgNotificationMessage } from './pg-client'
import type { PgConnection } from './pg-connection'
import type { PgEngine } from './pg-engine'

/**
 * All LISTENs of one provider, supervised by core's `ListenSupervisor` (re-LISTEN after a reconnect with backoff,
 * `onLost`/`onRestored`), on one dedicated connection outside the pool (a pooled connection would be lent to
 * queries). The connection opens on the first LISTEN; when it fails or ends it is closed and forgotten, and the
 * supervisor's next LISTEN opens a new one.
 */
export function createPgListener(engine: PgEngine): ListenSupervisor {
  let current: PgConnection | undefined

  const open = async (): Promise<PgConnection> => {
    const connection = await engine.connect()
    const { client } = connection
    client.on('notification', (message: PgNotificationMessage) => {
      if (connection !== current) return
      supervisor.dispatch({ channel: message.channel, payload: message.payload ?? '', processId: message.processId })
    })
    client.on('error', (error: Error) => lost(connection, error))
    client.on('end', () => lost(connection, new Error('Connection terminated unexpectedly')))
    return connection
  }

  const lost = (connection: PgConnection, cause: Error): void => {
    if (connection !== current) return
    current = undefined
    void connection.close()
    supervisor.connectionLost(() => engine.normalize(cause))
  }

  const supervisor = new ListenSupervisor({
    connection: {
      async run(statement) {
        current ??= await open()
        await engine.runOn(current, statement, [], undefined)
      },
      async end() {
        const connection = current
        current = undefined
        if (connection !== undefined) await connection.close()
      },
    },
    closedError: (operation) => engine.closedError(operation),
    logger: engine.o.logger,
  })
  return supervisor
}
