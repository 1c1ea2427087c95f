import { createTypeNameResolver, serializeParams } from '@tessera/converter'
import { type ConnectionInfo, describeTarget, mapPgError } from '@tessera/core'
import type { Driver, DriverContext, DriverProperties, SerializedParams } from '@tessera/core/driver'
import { createDriverPool } from '@tessera/pool'
import type { ResolvedPostgresJsOptions } from './options'
import type { PostgresJsSql } from './postgres-js-client'
import { PostgresJsConnection } from './postgres-js-connection'
import { openPostgresJsListener } from './postgres-js-listener'
import { SocketTracker } from './sockets'
import { createSessionProbe, createTargetSocketOpener, type TargetSocket, targetOptions } from './target-sockets'
import { installTypes } from './types-option'

const NO_PARAMS: SerializedParams = Object.freeze([])

/** postgres.js, as core's provider sees it: every difference from other drivers is one of these. */
export const POSTGRES_JS_PROPERTIES: DriverProperties = Object.freeze({
  // postgres.js refuses more than 65,533 parameters (MAX_PARAMETERS_EXCEEDED), two fewer than the protocol allows.
  maxParameters: 65_533,
  // postgres.js pipelines a transaction's statements behind one Sync each too, but a failed BEGIN errors the ones queued
  // behind it only when it reaches them: confirm it as pg does.
  confirmsBeginInBatch: true,
  // Read from the socket's replies for statements that change it, on unencrypted sessions.
  knowsTransactionStatus: true,
})

/**
 * The postgres.js driver: each session is a postgres.js instance of its own (`max: 1`), pooled by `@tessera/pool` like
 * pg's clients. A session's statements are pipelined by postgres.js and prepared automatically; a cancel can only reach
 * the statement of the session's holder; a dead session is dropped and replaced, never silently reopened.
 */
export function createPostgresJsDriver(options: ResolvedPostgresJsOptions, context: DriverContext): Driver<PostgresJsConnection> {
  const resolveTypeNames = createTypeNameResolver(options.registry)
  const { connection: settings, driverOptions } = options
  // A probe session per candidate server only when target_session_attrs asks for something.
  const probe = settings.targetSessionAttrs === 'any' ? undefined : createSessionProbe(options.factory, driverOptions)
  const openTarget = createTargetSocketOpener(settings, probe)

  /** A postgres.js instance for one session on the server of `opened`, its sockets watched by `sockets`. */
  const instance = (opened: TargetSocket, sockets: SocketTracker, onClose: () => void): PostgresJsSql => {
    const sql = options.factory(undefined, {
      ...driverOptions,
      ...targetOptions(opened.target, driverOptions.ssl),
      max: 1,
      // The pool evicts idle and old sessions; postgres.js' own timers would close them behind its back.
      idle_timeout: null,
      max_lifetime: null,
      socket: sockets.create,
      onnotice: options.handleNotice,
      onclose: onClose,
    })
    installTypes(options.registry, sql.options)
    return sql
  }

  /**
   * Opens one session, set up and announced (`tessera:connect`, `onConnect`): a socket on the server libpq's rules
   * choose (the host list in order, `target_session_attrs`), then a postgres.js instance on it.
   */
  const open = async (signal: AbortSignal | undefined): Promise<PostgresJsConnection> => {
    let opened: TargetSocket
    try {
      opened = await openTarget(signal)
    } catch (error) {
      throw mapPgError(error)
    }
    let connection: PostgresJsConnection | undefined
    const sockets = new SocketTracker(opened, settings)
    const sql = instance(opened, sockets, () => {
      if (connection !== undefined) connection.broken = true
    })
    const info: ConnectionInfo = { driver: 'postgres.js', host: opened.target.host, database: options.database, meta: {} }
    connection = new PostgresJsConnection(sql, sockets, info, options.prepare, options.logger)
    const onAbort = () => sockets.destroyAll()
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      await connection.run('', NO_PARAMS)
      const resolved = await resolveTypeNames((text, params) => connection.run(text, params, { prepare: false }))
      if (resolved.length > 0) {
        installTypes(options.registry, sql.options)
        options.logger?.debug({ types: resolved }, 'postgres.js provider resolved type names')
      }
      await context.connected(info, opened.target.port)
      return connection
    } catch (error) {
      await connection.close()
      throw mapPgError(error, { target: describeTarget(opened.target) })
    } finally {
      signal?.removeEventListener('abort', onAbort)
    }
  }

  return {
    name: 'postgres.js',
    properties: POSTGRES_JS_PROPERTIES,
    pool: createDriverPool({ name: options.name, driver: 'postgres.js', pool: options.pool, logger: options.logger, open }),
    serialize: (values) => (values.length === 0 ? NO_PARAMS : serializeParams(values)),
    openListener: (events) => openPostgresJsListener(options, openTarget, events, (info, port) => context.connected(info, port)),
  }
}
