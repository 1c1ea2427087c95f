import type { ConnectionSettings, ConnectionTarget, SslMode, TargetSessionAttrs } from './connection-settings'
import { describeTarget } from './connection-settings'
import { AbortError, isTesseraError, type TesseraError } from './errors'
import { ConnectionError, DatabaseError, mapPgError, TLS_REFUSED } from './pg-errors'

/** One connection attempt: a server and whether to ask it for TLS. */
export interface ConnectAttempt {
  target: ConnectionTarget
  /** Ask for TLS (the driver then fails when the server refuses it), or connect in plain text. */
  tls: boolean
}

/** What a session reports about its server, for `target_session_attrs`. */
export interface SessionState {
  /** `transaction_read_only` is on (a hot standby, or `default_transaction_read_only`). */
  readOnly: boolean
  /** `pg_is_in_recovery()`: the server is a standby. */
  inRecovery: boolean
}

/**
 * What libpq asks a session for `target_session_attrs`, as text so that any type parsers read it alike: give the
 * first row to {@link sessionStateOf}.
 */
export const SESSION_STATE_SQL =
  "SELECT pg_catalog.current_setting('transaction_read_only') AS read_only, pg_catalog.pg_is_in_recovery()::text AS in_recovery"

/** The {@link SessionState} in the row {@link SESSION_STATE_SQL} returned. */
export function sessionStateOf(row: Readonly<Record<string, unknown>> | undefined): SessionState {
  return { readOnly: String(row?.read_only) === 'on', inRecovery: String(row?.in_recovery) === 'true' }
}

/** The driver's part of {@link connectFirstTarget}. */
export interface TargetConnector<Session> {
  /** Opens and authenticates one session as the attempt says. Rejects with the driver's error. */
  open(attempt: ConnectAttempt): Promise<Session>
  /** Reads the session's state; called only when `target_session_attrs` is not `any`. */
  state(session: Session): Promise<SessionState>
  /** Closes a session that does not suit `target_session_attrs`. Must not throw. */
  close(session: Session): Promise<void>
}

/** The session that suited, with where it went. */
export interface ConnectedTarget<Session> {
  session: Session
  attempt: ConnectAttempt
}

/**
 * The attempts libpq makes on one server for an sslmode: `prefer` asks for TLS, then tries plain text if that failed;
 * `allow` the reverse; `disable` plain only; `require` and `verify-*` TLS only. A Unix socket never uses TLS (libpq
 * ignores sslmode there).
 */
export function attemptsFor(target: ConnectionTarget, sslMode: SslMode): ConnectAttempt[] {
  if (target.socketPath !== undefined || sslMode === 'disable') return [{ target, tls: false }]
  if (sslMode === 'allow')
    return [
      { target, tls: false },
      { target, tls: true },
    ]
  if (sslMode === 'prefer')
    return [
      { target, tls: true },
      { target, tls: false },
    ]
  return [{ target, tls: true }]
}

/**
 * Connects as libpq does with a host list: the servers are tried in order, and the first whose session suits
 * `target_session_attrs` is kept (`prefer-standby`: a standby if any, else the first server that answers). On one
 * server, the sslmode's fallback (see {@link attemptsFor}) is tried only when the server answered: a server that
 * cannot be reached is skipped at once. As in libpq, an error the server sends (a failed login, an unknown database)
 * ends the search: the other servers are not tried. The driver's part is injected, so the rules are the same for
 * every driver.
 *
 * @throws the mapped server error that ended the search, or a {@link ConnectionError} naming every server tried and
 * why each was passed over.
 * @example
 * const { session } = await connectFirstTarget(settings, {
 *   open: async ({ target, tls }) => { const client = new pg.Client({ host: target.host, port: target.port, ssl: tls && settings.tls }); await client.connect(); return client },
 *   state: async (client) => { … },
 *   close: (client) => client.end().catch(() => {}),
 * })
 */
export async function connectFirstTarget<Session>(
  settings: Pick<ConnectionSettings, 'targets' | 'sslMode' | 'targetSessionAttrs'>,
  connector: TargetConnector<Session>,
): Promise<ConnectedTarget<Session>> {
  const failures: string[] = []
  const causes: unknown[] = []
  // prefer-standby: a first pass for a standby, a second for any server (libpq does the same).
  const passes: TargetSessionAttrs[] = settings.targetSessionAttrs === 'prefer-standby' ? ['standby', 'any'] : [settings.targetSessionAttrs]
  for (const wanted of passes) {
    for (const target of settings.targets) {
      const outcome = await tryTarget(target, settings.sslMode, wanted, connector)
      if (outcome.kind === 'connected') return outcome.connected
      if (outcome.kind === 'refused') throw outcome.error
      failures.push(`${describeTarget(target)}: ${outcome.reason}`)
      causes.push(outcome.cause)
    }
  }
  if (causes.length === 1 && isTesseraError(causes[0])) throw causes[0]
  throw new ConnectionError(
    {
      message: `could not connect to any of ${settings.targets.length} servers (${failures.join('; ')})`,
      code: '08001',
      retryable: true,
    },
    { cause: new AggregateError(causes, 'every connection attempt failed') },
  )
}

type TargetOutcome<Session> =
  | { kind: 'connected'; connected: ConnectedTarget<Session> }
  /** The server refused the session (a login failure…), or the caller aborted: the search ends with this error. */
  | { kind: 'refused'; error: TesseraError }
  /** Unreachable, or not what target_session_attrs asks for: the next server is tried. */
  | { kind: 'skipped'; reason: string; cause: unknown }

async function tryTarget<Session>(
  target: ConnectionTarget,
  sslMode: SslMode,
  wanted: TargetSessionAttrs,
  connector: TargetConnector<Session>,
): Promise<TargetOutcome<Session>> {
  const attempts = attemptsFor(target, sslMode)
  let lastError: TesseraError | undefined
  for (const [index, attempt] of attempts.entries()) {
    let session: Session
    try {
      session = await connector.open(attempt)
    } catch (error) {
      lastError = mapPgError(error, { target: describeTarget(target) })
      if (lastError instanceof AbortError) return { kind: 'refused', error: lastError }
      const isLast = index === attempts.length - 1
      // An unreachable server is skipped at once; a refusal may be lifted by the sslmode's other attempt.
      if (!isServerAnswer(lastError) && !isTlsRefusal(lastError)) break
      if (isLast && isServerAnswer(lastError)) return { kind: 'refused', error: lastError }
      continue
    }
    if (wanted === 'any') return { kind: 'connected', connected: { session, attempt } }
    let state: SessionState
    try {
      state = await connector.state(session)
    } catch (error) {
      await connector.close(session)
      lastError = mapPgError(error, { target: describeTarget(target) })
      break
    }
    const mismatch = sessionMismatch(wanted, state)
    if (mismatch === undefined) return { kind: 'connected', connected: { session, attempt } }
    await connector.close(session)
    return { kind: 'skipped', reason: `${mismatch} (target_session_attrs=${wanted})`, cause: undefined }
  }
  return { kind: 'skipped', reason: lastError?.message ?? 'connection failed', cause: lastError }
}

/** Why a session does not suit `wanted`, or `undefined` when it does. */
export function sessionMismatch(wanted: TargetSessionAttrs, state: SessionState): string | undefined {
  switch (wanted) {
    case 'read-write':
      return state.readOnly ? 'the server only accepts read-only transactions' : undefined
    case 'read-only':
      return state.readOnly ? undefined : 'the server accepts writes'
    case 'primary':
      return state.inRecovery ? 'the server is a standby' : undefined
    case 'standby':
    case 'prefer-standby':
      return state.inRecovery ? undefined : 'the server is not a standby'
    case 'any':
      return undefined
  }
}

/** The server itself sent the error (it carries a severity): it was reached and said no. */
function isServerAnswer(error: TesseraError): boolean {
  return error instanceof DatabaseError && error.severity !== undefined
}

function isTlsRefusal(error: TesseraError): boolean {
  return error instanceof ConnectionError && error.driverCode === TLS_REFUSED
}
