import { AbortError, type ConnectionSettings } from '@tessera/core'
import { type ConnectAttempt, connectFirstTarget, SESSION_STATE_SQL, type SessionState, sessionStateOf } from '@tessera/core/driver'
import { pgClientConfigFor } from './options'
import type { PgClientConfig, PgClientConstructor, PgClientLike } from './pg-client'

/** A connected client and the attempt that made it. */
export interface ConnectedPgClient {
  client: PgClientLike
  attempt: ConnectAttempt
}

/**
 * Opens a pg client the way libpq connects: pg takes one host and one TLS setting per client, so each attempt of
 * core's `connectFirstTarget` (the servers in order, the sslmode's TLS fallback, `target_session_attrs`) is a client
 * of its own; the first that suits is returned connected, the others are closed. An abort closes the attempt under
 * way and ends the search.
 *
 * @throws whatever `connectFirstTarget` throws (a mapped server error, or a `ConnectionError` naming each server).
 */
export async function connectPgClient(
  Client: PgClientConstructor,
  config: PgClientConfig,
  connection: ConnectionSettings,
  signal?: AbortSignal,
): Promise<ConnectedPgClient> {
  let current: PgClientLike | undefined
  const onAbort = () => current?.connection?.stream?.destroy(new Error('connect aborted'))
  signal?.addEventListener('abort', onAbort)
  try {
    const { session, attempt } = await connectFirstTarget<PgClientLike>(connection, {
      async open(attempt) {
        if (signal?.aborted) throw new AbortError('connect', { cause: signal.reason })
        const client = new Client(pgClientConfigFor(config, connection, attempt))
        // From its first moment: a backend that dies while the new session is idle (after connect, between the
        // session-state read and the connection object that listens for it) makes pg emit 'error', which without a
        // listener would crash the process. The session's next statement fails and tells the caller.
        client.on('error', ignoreUntilOwned)
        current = client
        try {
          await client.connect()
        } catch (error) {
          await closeQuietly(client)
          throw error
        }
        return client
      },
      state: readSessionState,
      close: closeQuietly,
    })
    return { client: session, attempt }
  } finally {
    current = undefined
    signal?.removeEventListener('abort', onAbort)
  }
}

/** The early 'error' listener: the failure surfaces through the session's next statement. */
function ignoreUntilOwned(): void {}

function readSessionState(client: PgClientLike): Promise<SessionState> {
  return new Promise((resolve, reject) => {
    client.query({ text: SESSION_STATE_SQL }, undefined, (error, result) => {
      if (error !== null) reject(error)
      else resolve(sessionStateOf((Array.isArray(result) ? result[0] : result)?.rows[0]))
    })
  })
}

async function closeQuietly(client: PgClientLike): Promise<void> {
  try {
    await client.end()
  } catch {
    // The attempt failed or did not suit; its close has nothing to report.
  }
}
