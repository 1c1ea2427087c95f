import { createTypeNameResolver, pgTypesFor, serializeParams } from '@tessera/converter'
import { type ConnectionInfo, mapPgError } from '@tessera/core'
import type { Driver, DriverContext, DriverProperties, ListenerConnection, ListenerEvents, SerializedParams } from '@tessera/core/driver'
import { createDriverPool } from '@tessera/pool'
import { type ConnectedPgClient, connectPgClient } from './connect-pg-client'
import type { ResolvedPgOptions } from './options'
import type { PgClientConfig, PgNotificationMessage } from './pg-client'
import { PgConnection } from './pg-connection'

const NO_PARAMS: SerializedParams = Object.freeze([])

/** node-postgres, as core's provider sees it: every difference from other drivers is one of these. */
export const PG_PROPERTIES: DriverProperties = Object.freeze({
  // The protocol's Bind message counts parameters in an Int16.
  maxParameters: 65_535,
  // pg's pipeline mode sends each statement with its own Sync: statements queued behind a failed BEGIN still run.
  confirmsBeginInBatch: true,
  knowsTransactionStatus: true,
})

/**
 * The `pg` driver: `pg.Client` sessions pooled by `@tessera/pool`, statements with server-side cancel requests,
 * named prepared statements per session, and a dedicated client for LISTEN.
 */
export function createPgDriver(options: ResolvedPgOptions, context: DriverContext): Driver<PgConnection> {
  const clientConfig: PgClientConfig = { ...options.clientConfig, types: pgTypesFor(options.registry) }
  const cacheSize = options.prepare ? options.preparedStatementCacheSize : 0
  const resolveTypeNames = createTypeNameResolver(options.registry)

  /**
   * Opens one session, set up and announced (`tessera:connect`, `onConnect`): a client on the server libpq's rules
   * choose (the host list in order, the sslmode's TLS fallback, `target_session_attrs`).
   */
  const open = async (signal: AbortSignal | undefined): Promise<PgConnection> => {
    let connected: ConnectedPgClient
    try {
      connected = await connectPgClient(options.Client, clientConfig, options.connection, signal)
    } catch (error) {
      throw mapPgError(error)
    }
    const { client, attempt } = connected
    const info: ConnectionInfo = { driver: 'pg', host: attempt.target.host, database: options.database, meta: {} }
    const connection = new PgConnection(client, info, cacheSize, options.logger)
    const onAbort = () => connection.destroySocket(new Error('connect aborted: the pool is closing'))
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      info.processId = client.processID ?? undefined
      const resolved = await resolveTypeNames((text, params) => connection.run(text, params, { prepare: false }))
      if (resolved.length > 0) options.logger?.debug({ types: resolved }, 'pg provider resolved type names')
      await context.connected(info, client.port)
      return connection
    } catch (error) {
      await connection.close()
      throw mapPgError(error)
    } finally {
      signal?.removeEventListener('abort', onAbort)
    }
  }

  const openListener = async (events: ListenerEvents): Promise<ListenerConnection> => {
    const connection = await open(undefined)
    const { client } = connection
    let lost = false
    const onLost = (cause: unknown) => {
      if (lost) return
      lost = true
      events.onLost(cause)
    }
    client.on('notification', (message: PgNotificationMessage) => {
      events.onNotification({ channel: message.channel, payload: message.payload ?? '', processId: message.processId })
    })
    client.on('error', onLost)
    client.on('end', () => onLost(new Error('Connection terminated unexpectedly')))
    return {
      run: (statement) => connection.run(statement, NO_PARAMS),
      close: () => {
        lost = true
        return connection.close()
      },
    }
  }

  return {
    name: 'pg',
    properties: PG_PROPERTIES,
    pool: createDriverPool({ name: options.name, driver: 'pg', pool: options.pool, logger: options.logger, open }),
    serialize: (values) => (values.length === 0 ? NO_PARAMS : serializeParams(values)),
    openListener,
  }
}
