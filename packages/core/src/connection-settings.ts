import { existsSync, readFileSync } from 'node:fs'
import { userInfo } from 'node:os'
import { type ConnectionStringParts, parseConnectionString } from './connection-string'
import type { ConnectionOptions, TlsOptions } from './contracts'
import { describeValue } from './errors'

/** libpq's `sslmode` values, weakest first. */
export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const
export type SslMode = (typeof SSL_MODES)[number]

/** libpq's `target_session_attrs` values. */
export const TARGET_SESSION_ATTRS = ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby'] as const
export type TargetSessionAttrs = (typeof TARGET_SESSION_ATTRS)[number]

/** One server to try, as libpq resolves it. */
export interface ConnectionTarget {
  /** A host name or IP address, or a Unix socket directory (starts with `/`). */
  host: string
  port: number
  /** `<directory>/.s.PGSQL.<port>` when `host` is a socket directory; `undefined` for TCP. */
  socketPath: string | undefined
}

/** TLS settings for a TLS attempt: Node's `tls.connect` options the drivers pass through. */
export interface TlsSettings extends TlsOptions {
  /** `verify-ca`: the certificate chain is checked, the host name is not. */
  checkServerIdentity?: ((host: string, certificate: unknown) => Error | undefined) | undefined
}

/**
 * Where and how to connect, resolved from the separate options, the connection string, the `PG*` environment
 * variables and the defaults, in that order (libpq's order, the separate options standing for libpq's explicit
 * keywords). Both providers connect from this, so the same input reaches the same server the same way.
 */
export interface ConnectionSettings {
  /** Servers to try in order (libpq's host list); at least one. */
  targets: readonly ConnectionTarget[]
  database: string
  user: string
  password: string | (() => string | Promise<string>) | undefined
  sslMode: SslMode
  /** Options for a TLS attempt (`ca`, `cert`, `key`, `rejectUnauthorized`…). */
  tls: TlsSettings
  targetSessionAttrs: TargetSessionAttrs
  applicationName: string
  /** libpq's `options`: command-line options sent at startup (`-c search_path=app`). */
  options: string | undefined
  /** Connection-string parameters libpq does not know, sent as server settings at startup (`?search_path=app`). */
  serverSettings: Readonly<Record<string, string>>
  /** How long one connection attempt may take; `0`: no limit. */
  connectTimeoutMs: number
}

/** What {@link resolveConnectionSettings} reads besides the options; tests pass their own. */
export interface ConnectionEnvironment {
  /** The `PG*` variables. Default: `process.env`. */
  env?: Readonly<Record<string, string | undefined>> | undefined
  /** Whether a socket file exists, for the default host. Default: `fs.existsSync`. */
  socketExists?: ((path: string) => boolean) | undefined
  /** Reads a certificate or key file (`sslrootcert`, `sslcert`, `sslkey`). Default: `fs.readFileSync`. */
  readFile?: ((path: string) => string | Buffer) | undefined
  /** The user name when none is given. Default: the operating-system user. */
  osUser?: (() => string) | undefined
  /** Default: `process.platform`. */
  platform?: string | undefined
}

export const DEFAULT_PORT = 5432
export const DEFAULT_APPLICATION_NAME = 'tessera'
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000

/**
 * The socket directories libpq is compiled with: `/var/run/postgresql` by Debian, Ubuntu, Red Hat and Fedora packages,
 * `/tmp` by upstream builds (macOS Homebrew, source builds).
 */
export const DEFAULT_SOCKET_DIRECTORIES: readonly string[] = ['/var/run/postgresql', '/tmp']

/** Parameters Tessera applies (besides `host`, `port`, `dbname`, `user`, `password`). */
const APPLIED_PARAMS = new Set([
  'host',
  'port',
  'dbname',
  'user',
  'password',
  'sslmode',
  'ssl',
  'requiressl',
  'sslrootcert',
  'sslcert',
  'sslkey',
  'target_session_attrs',
  'application_name',
  'fallback_application_name',
  'options',
  'connect_timeout',
  'client_encoding',
  'load_balance_hosts',
  'channel_binding',
  'sslnegotiation',
])

/** libpq parameters for transport details the drivers manage themselves: accepted, without effect. */
const IGNORED_PARAMS = new Set([
  'keepalives',
  'keepalives_idle',
  'keepalives_interval',
  'keepalives_count',
  'tcp_user_timeout',
  'gssencmode',
  'gsslib',
  'gssdelegation',
  'krbsrvname',
  'sslcompression',
  'sslcrl',
  'sslcrldir',
  'sslsni',
  'sslpassword',
  'sslcertmode',
  'ssl_min_protocol_version',
  'ssl_max_protocol_version',
  'requirepeer',
  // node-postgres' switch to libpq's sslmode meanings: Tessera always uses them.
  'uselibpqcompat',
])

/** libpq parameters Tessera cannot honour: refused rather than silently ignored. */
const UNSUPPORTED_PARAMS: Readonly<Record<string, string>> = {
  hostaddr: 'give the address as host',
  service: 'pg_service.conf is not read; give the settings in the connection string',
  passfile: 'give the password as the password option (a function can read it from a file)',
  replication: 'replication connections are not supported',
  require_auth: 'it is not supported',
}

/**
 * Resolves where and how to connect, the way libpq does (see the README's "Connection options" section for the rules).
 * Pushes one message per problem and returns `undefined` when there is one.
 *
 * @example
 * const settings = resolveConnectionSettings({ connectionString: 'postgres:///app?host=/var/run/postgresql' }, problems)
 * settings?.targets // [{ host: '/var/run/postgresql', port: 5432, socketPath: '/var/run/postgresql/.s.PGSQL.5432' }]
 */
export function resolveConnectionSettings(
  given: ConnectionOptions,
  problems: string[],
  environment: ConnectionEnvironment = {},
): ConnectionSettings | undefined {
  // The caller reports options of the wrong type; here they count as not given, so every other problem is found too.
  const options = wellTyped(given)
  const env = environment.env ?? process.env
  const envValue = (name: string): string | undefined => (env[name] === '' ? undefined : env[name])
  const before = problems.length

  let parts: ConnectionStringParts | undefined
  if (typeof options.connectionString === 'string') {
    const parsed = parseConnectionString(options.connectionString)
    if (parsed.ok) parts = parsed.parts
    else problems.push(parsed.problem)
  }
  const params = parts?.params ?? new Map<string, string>()
  checkParams(params, problems)

  const user = options.user ?? params.get('user') ?? parts?.user ?? envValue('PGUSER') ?? (environment.osUser ?? osUserName)()
  const targets = resolveTargets(options, parts, envValue, environment, problems)
  const tlsChoice = resolveTls(options, params, envValue, environment.readFile ?? readFileSync, problems)
  const targetSessionAttrs = oneOf(
    params.get('target_session_attrs') ?? envValue('PGTARGETSESSIONATTRS') ?? 'any',
    TARGET_SESSION_ATTRS,
    'target_session_attrs',
    problems,
  )
  const connectTimeoutMs = resolveConnectTimeout(options, params, envValue, problems)
  checkClientEncoding(params.get('client_encoding') ?? envValue('PGCLIENTENCODING'), problems)
  if (problems.length > before || targets === undefined || tlsChoice === undefined || targetSessionAttrs === undefined) return undefined

  return {
    targets,
    database: options.database ?? params.get('dbname') ?? parts?.database ?? envValue('PGDATABASE') ?? user,
    user,
    password: options.password ?? params.get('password') ?? parts?.password ?? envValue('PGPASSWORD'),
    sslMode: tlsChoice.sslMode,
    tls: tlsChoice.tls,
    targetSessionAttrs,
    applicationName:
      options.applicationName ??
      params.get('application_name') ??
      envValue('PGAPPNAME') ??
      params.get('fallback_application_name') ??
      DEFAULT_APPLICATION_NAME,
    options: params.get('options') ?? envValue('PGOPTIONS'),
    serverSettings: Object.fromEntries([...params].filter(([name]) => isServerSetting(name))),
    connectTimeoutMs,
  }
}

function wellTyped(options: ConnectionOptions): ConnectionOptions {
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined)
  const port = options.port
  const timeout = options.connectTimeoutMs
  const password = options.password
  const ssl = options.ssl
  return {
    connectionString: text(options.connectionString),
    host: text(options.host),
    port: Number.isInteger(port) && port! >= 1 && port! <= 65_535 ? port : undefined,
    database: text(options.database),
    user: text(options.user),
    password: typeof password === 'string' || typeof password === 'function' ? password : undefined,
    ssl: typeof ssl === 'boolean' || (typeof ssl === 'object' && ssl !== null) ? ssl : undefined,
    applicationName: text(options.applicationName),
    connectTimeoutMs: typeof timeout === 'number' && Number.isFinite(timeout) && timeout >= 0 ? timeout : undefined,
  }
}

/** The host name and port of a target as a person reads it: `db1:5432` or `/var/run/postgresql/.s.PGSQL.5432`. */
export function describeTarget(target: ConnectionTarget): string {
  if (target.socketPath !== undefined) return target.socketPath
  return target.host.includes(':') ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`
}

function isServerSetting(name: string): boolean {
  return !APPLIED_PARAMS.has(name) && !IGNORED_PARAMS.has(name) && !Object.hasOwn(UNSUPPORTED_PARAMS, name)
}

function checkParams(params: ReadonlyMap<string, string>, problems: string[]): void {
  for (const name of params.keys()) {
    if (Object.hasOwn(UNSUPPORTED_PARAMS, name)) {
      problems.push(`connectionString parameter ${name} is not supported: ${UNSUPPORTED_PARAMS[name]}`)
    }
  }
  const loadBalance = params.get('load_balance_hosts')
  if (loadBalance !== undefined && loadBalance !== 'disable') {
    problems.push(`load_balance_hosts must be disable (hosts are tried in order), got ${JSON.stringify(loadBalance)}`)
  }
  // Silently ignoring a required channel binding would weaken what the user asked for.
  const channelBinding = params.get('channel_binding')
  if (channelBinding !== undefined && channelBinding !== 'disable' && channelBinding !== 'prefer') {
    problems.push(`channel_binding must be disable or prefer (channel binding is not supported), got ${JSON.stringify(channelBinding)}`)
  }
  const negotiation = params.get('sslnegotiation')
  if (negotiation !== undefined && negotiation !== 'postgres') {
    problems.push(`sslnegotiation must be postgres (direct TLS is not supported), got ${JSON.stringify(negotiation)}`)
  }
}

/**
 * libpq's host and port lists: `host` comes from the option, else the `host` parameter, else the URI's hosts, else
 * `PGHOST`; `port` likewise (option, `port` parameter, the URI's ports, `PGPORT`). One port applies to every host;
 * otherwise there must be one port per host. An empty entry takes the default.
 */
function resolveTargets(
  options: ConnectionOptions,
  parts: ConnectionStringParts | undefined,
  envValue: (name: string) => string | undefined,
  environment: ConnectionEnvironment,
  problems: string[],
): ConnectionTarget[] | undefined {
  const uriHosts = parts?.hosts ?? []
  const uriHostList = uriHosts.length === 0 ? undefined : uriHosts.map((entry) => entry.host ?? '')
  const uriPortList = uriHosts.some((entry) => entry.port !== undefined) ? uriHosts.map((entry) => entry.port ?? '') : undefined
  const hostText = options.host ?? parts?.params.get('host')
  const hosts = hostText !== undefined ? hostText.split(',') : (uriHostList ?? envValue('PGHOST')?.split(',') ?? [''])
  const portText = options.port !== undefined ? String(options.port) : parts?.params.get('port')
  const ports = portText !== undefined ? portText.split(',') : (uriPortList ?? envValue('PGPORT')?.split(',') ?? [''])
  if (ports.length !== 1 && ports.length !== hosts.length) {
    problems.push(`could not match ${ports.length} port numbers to ${hosts.length} hosts: give one port, or one per host`)
    return undefined
  }
  const targets: ConnectionTarget[] = []
  for (const [index, rawHost] of hosts.entries()) {
    const port = parsePort(ports.length === 1 ? ports[0]! : ports[index]!, problems)
    if (port === undefined) return undefined
    const host = rawHost.trim() === '' ? defaultHost(port, environment) : rawHost.trim()
    targets.push({ host, port, socketPath: host.startsWith('/') ? `${host}/.s.PGSQL.${port}` : undefined })
  }
  return targets
}

function parsePort(text: string, problems: string[]): number | undefined {
  const trimmed = text.trim()
  if (trimmed === '') return DEFAULT_PORT
  const port = /^\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN
  if (Number.isInteger(port) && port >= 1 && port <= 65_535) return port
  problems.push(`port must be an integer from 1 to 65535, got ${JSON.stringify(text)}`)
  return undefined
}

/**
 * libpq's default host is the socket directory it was compiled with (Windows: `localhost`). Which one varies by
 * build, so the first of {@link DEFAULT_SOCKET_DIRECTORIES} that holds this port's socket is taken; with none,
 * `localhost`, the default of pg and postgres.js, so a server reachable only over TCP is still found.
 */
function defaultHost(port: number, environment: ConnectionEnvironment): string {
  if ((environment.platform ?? process.platform) === 'win32') return 'localhost'
  const socketExists = environment.socketExists ?? existsSync
  for (const directory of DEFAULT_SOCKET_DIRECTORIES) {
    if (socketExists(`${directory}/.s.PGSQL.${port}`)) return directory
  }
  return 'localhost'
}

/**
 * The TLS mode and settings. The `ssl` option wins over everything else (`false`: disable, `true`: verify-full with
 * the system's CAs, an object: verify-full, or require when it sets `rejectUnauthorized: false`). Otherwise `sslmode`
 * (node-postgres' `no-verify` meaning require; or node-postgres' `ssl=true|false`, libpq's old `requiressl=1`), then
 * `PGSSLMODE`, then `disable`; certificates
 * from `sslrootcert`/`sslcert`/`sslkey` or `PGSSLROOTCERT`/`PGSSLCERT`/`PGSSLKEY`.
 */
function resolveTls(
  options: ConnectionOptions,
  params: ReadonlyMap<string, string>,
  envValue: (name: string) => string | undefined,
  readFile: (path: string) => string | Buffer,
  problems: string[],
): { sslMode: SslMode; tls: TlsSettings } | undefined {
  const ssl = options.ssl
  if (ssl === false) return { sslMode: 'disable', tls: {} }
  if (ssl === true) return { sslMode: 'verify-full', tls: {} }
  if (typeof ssl === 'object' && ssl !== null)
    return { sslMode: ssl.rejectUnauthorized === false ? 'require' : 'verify-full', tls: { ...ssl } }

  const given = params.get('sslmode') ?? sslFlag(params) ?? envValue('PGSSLMODE')
  // node-postgres' sslmode=no-verify: TLS without verification, libpq's require.
  const written = given === 'no-verify' ? 'require' : given
  let sslMode = oneOf(written ?? 'disable', SSL_MODES, 'sslmode', problems)
  if (sslMode === undefined) return undefined
  const tls: TlsSettings = {}
  const rootCert = params.get('sslrootcert') ?? envValue('PGSSLROOTCERT')
  if (rootCert === 'system') {
    // libpq 16: the system's CAs, and only with full verification.
    if (written !== undefined && sslMode !== 'verify-full') {
      problems.push(`sslmode ${sslMode} may not be used with sslrootcert=system; use verify-full`)
      return undefined
    }
    sslMode = 'verify-full'
  } else if (rootCert !== undefined) {
    const ca = readCertificate(rootCert, 'sslrootcert', readFile, problems)
    if (ca === undefined) return undefined
    tls.ca = ca
    // libpq: with a root certificate, require verifies the chain like verify-ca.
    if (sslMode === 'require') sslMode = 'verify-ca'
  }
  const cert = params.get('sslcert') ?? envValue('PGSSLCERT')
  const key = params.get('sslkey') ?? envValue('PGSSLKEY')
  if (cert !== undefined) tls.cert = readCertificate(cert, 'sslcert', readFile, problems)
  if (key !== undefined) tls.key = readCertificate(key, 'sslkey', readFile, problems)
  if (sslMode === 'require' || sslMode === 'prefer' || sslMode === 'allow') tls.rejectUnauthorized = false
  else if (sslMode === 'verify-ca') {
    tls.rejectUnauthorized = true
    tls.checkServerIdentity = () => undefined
  } else if (sslMode === 'verify-full') tls.rejectUnauthorized = true
  return { sslMode, tls }
}

/** node-postgres' `ssl=true|false` and libpq's deprecated `requiressl=1`, as an sslmode. */
function sslFlag(params: ReadonlyMap<string, string>): SslMode | undefined {
  const ssl = params.get('ssl')
  if (ssl === 'true' || ssl === '1') return 'verify-full'
  if (ssl === 'false' || ssl === '0') return 'disable'
  if (ssl === 'no-verify') return 'require'
  if (params.get('requiressl') === '1') return 'require'
  return undefined
}

function readCertificate(
  path: string,
  name: string,
  readFile: (path: string) => string | Buffer,
  problems: string[],
): string | Buffer | undefined {
  try {
    return readFile(path)
  } catch (error) {
    const reason = error instanceof Error ? error.message : describeValue(error)
    problems.push(`${name}: cannot read ${JSON.stringify(path)} (${reason})`)
    return undefined
  }
}

/**
 * The connect timeout: the option (ms), else `connect_timeout` or `PGCONNECT_TIMEOUT` (seconds, as in libpq: `0` means
 * no limit, 1 counts as 2), else 10 s.
 */
function resolveConnectTimeout(
  options: ConnectionOptions,
  params: ReadonlyMap<string, string>,
  envValue: (name: string) => string | undefined,
  problems: string[],
): number {
  if (options.connectTimeoutMs !== undefined) return options.connectTimeoutMs
  const text = params.get('connect_timeout') ?? envValue('PGCONNECT_TIMEOUT')
  if (text === undefined) return DEFAULT_CONNECT_TIMEOUT_MS
  if (!/^\d+$/.test(text.trim())) {
    problems.push(`connect_timeout must be a whole number of seconds, got ${JSON.stringify(text)}`)
    return DEFAULT_CONNECT_TIMEOUT_MS
  }
  const seconds = Number(text.trim())
  return seconds === 0 ? 0 : Math.max(seconds, 2) * 1000
}

/** The converter reads text as UTF-8 and both providers ask for it: another encoding would garble it. */
function checkClientEncoding(encoding: string | undefined, problems: string[]): void {
  if (encoding === undefined) return
  if (!/^(utf-?8|unicode)$/i.test(encoding)) {
    problems.push(`client_encoding must be UTF8 (Tessera reads text as UTF-8), got ${JSON.stringify(encoding)}`)
  }
}

function oneOf<T extends string>(value: string, accepted: readonly T[], name: string, problems: string[]): T | undefined {
  if ((accepted as readonly string[]).includes(value)) return value as T
  problems.push(`${name} must be one of ${accepted.join(', ')}, got ${JSON.stringify(value)}`)
  return undefined
}

function osUserName(): string {
  try {
    return userInfo().username
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? 'postgres'
  }
}
