/** One `host[:port]` entry of a connection string's host list, percent-decoded. Empty parts are `undefined`. */
export interface ConnectionStringHost {
  /** A host name, an IP address (IPv6 without brackets) or a Unix socket directory (starts with `/`). */
  host: string | undefined
  /** The port as written (checked later, with the other sources of ports). */
  port: string | undefined
}

/** What a connection string says, before defaults and the environment are applied. */
export interface ConnectionStringParts {
  /** The URI's host list (`h1:5432,h2:5433`), in order; empty when the URI names no host. */
  hosts: ConnectionStringHost[]
  user: string | undefined
  password: string | undefined
  database: string | undefined
  /** Every query parameter, percent-decoded, in order (`host`, `port`, `sslmode`, `application_name`…). */
  params: Map<string, string>
}

/** What a {@link ConfigError} says a connection string may look like. */
export const CONNECTION_STRING_FORMS =
  'postgres://user:password@host:port/database?param=value, postgres://host1:port1,host2:port2/database, ' +
  'postgres:///database?host=/socket/dir, postgres://%2Fsocket%2Fdir/database, socket:/socket/dir?db=database'

/**
 * Parses a connection string the way libpq parses a connection URI (`postgres://` or `postgresql://`), plus the
 * `socket:` form node-postgres accepts (`socket:/var/run/postgresql?db=test`, `socket://user:pw@/dir?db=test`).
 *
 * libpq's URI rules: `postgresql://[user[:password]@][host][:port][,host[:port]…][/database][?param=value&…]`;
 * every part is percent-decoded; a host in brackets is an IPv6 address; a host that decodes to a path starting with
 * `/` is a Unix socket directory. Query parameters are returned as they are: applying them (a `host=` parameter
 * replaces the URI's hosts, as in libpq) is up to the caller. Returns the problems instead of throwing.
 *
 * @example parseConnectionString('postgres://a:5432,b/db?target_session_attrs=read-write')
 * // { ok: true, parts: { hosts: [{ host: 'a', port: '5432' }, { host: 'b', port: undefined }], database: 'db', … } }
 */
export function parseConnectionString(text: string): { ok: true; parts: ConnectionStringParts } | { ok: false; problem: string } {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1]?.toLowerCase()
  if (scheme === 'postgres' || scheme === 'postgresql') {
    if (!text.slice(scheme.length + 1).startsWith('//')) {
      return { ok: false, problem: `connectionString must start with ${scheme}://; accepted: ${CONNECTION_STRING_FORMS}` }
    }
    return parseUri(text.slice(scheme.length + 3))
  }
  if (scheme === 'socket') return parseSocketUrl(text.slice('socket:'.length))
  const shown = scheme === undefined ? 'no scheme' : JSON.stringify(`${scheme}:`)
  return {
    ok: false,
    problem: `connectionString must start with postgres://, postgresql:// or socket:, got ${shown}; accepted: ${CONNECTION_STRING_FORMS}`,
  }
}

/** `[user[:password]@][hostlist][/database][?query]`: what follows `postgres://`. */
function parseUri(rest: string): { ok: true; parts: ConnectionStringParts } | { ok: false; problem: string } {
  const queryStart = rest.indexOf('?')
  const beforeQuery = queryStart === -1 ? rest : rest.slice(0, queryStart)
  const params = parseQuery(queryStart === -1 ? '' : rest.slice(queryStart + 1))
  if (!params.ok) return params
  // The authority ends at the first '/' (a '/' in a password must be percent-encoded, as in libpq); inside it, the
  // last '@' ends the user info, so an unencoded '@' in a password still works, as with WHATWG URLs.
  const slash = beforeQuery.indexOf('/')
  const authority = slash === -1 ? beforeQuery : beforeQuery.slice(0, slash)
  const path = slash === -1 ? '' : beforeQuery.slice(slash + 1)
  const at = authority.lastIndexOf('@')

  const parts: ConnectionStringParts = { hosts: [], user: undefined, password: undefined, database: undefined, params: params.value }
  let hostList = authority
  if (at !== -1) {
    const failure = readUserInfo(authority.slice(0, at), parts)
    if (failure !== undefined) return failure
    hostList = authority.slice(at + 1)
  }
  if (path !== '') {
    const database = decode(path, 'database')
    if (!database.ok) return database
    parts.database = database.value
  }
  if (hostList !== '') {
    for (const entry of hostList.split(',')) {
      const host = parseHostEntry(entry)
      if (!host.ok) return host
      parts.hosts.push(host.value)
    }
  }
  return { ok: true, parts }
}

/** One `host[:port]`, `[v6]:port` or `%2Fsocket%2Fdir:port`. */
function parseHostEntry(entry: string): { ok: true; value: ConnectionStringHost } | { ok: false; problem: string } {
  let hostText = entry
  let portText: string | undefined
  if (entry.startsWith('[')) {
    const close = entry.indexOf(']')
    if (close === -1) return { ok: false, problem: `connectionString has an IPv6 host without its closing "]": ${JSON.stringify(entry)}` }
    hostText = entry.slice(1, close)
    const after = entry.slice(close + 1)
    if (after !== '' && !after.startsWith(':')) {
      return { ok: false, problem: `connectionString has text after the IPv6 host ${JSON.stringify(entry)}; expected :port` }
    }
    portText = after === '' ? undefined : after.slice(1)
  } else {
    const colon = entry.lastIndexOf(':')
    if (colon !== -1) {
      hostText = entry.slice(0, colon)
      portText = entry.slice(colon + 1)
    }
  }
  const host = decode(hostText, 'host')
  if (!host.ok) return host
  const port = portText === undefined ? undefined : decode(portText, 'port')
  if (port !== undefined && !port.ok) return port
  return { ok: true, value: { host: host.value === '' ? undefined : host.value, port: port?.value === '' ? undefined : port?.value } }
}

/**
 * node-postgres' `socket:` form: the path is the socket directory, the database is the `db` parameter, user and
 * password may precede the path (`socket://user:password@/dir`).
 */
function parseSocketUrl(rest: string): { ok: true; parts: ConnectionStringParts } | { ok: false; problem: string } {
  const queryStart = rest.indexOf('?')
  let location = queryStart === -1 ? rest : rest.slice(0, queryStart)
  const params = parseQuery(queryStart === -1 ? '' : rest.slice(queryStart + 1))
  if (!params.ok) return params
  const parts: ConnectionStringParts = { hosts: [], user: undefined, password: undefined, database: undefined, params: params.value }
  if (location.startsWith('//')) {
    location = location.slice(2)
    const at = location.lastIndexOf('@')
    if (at !== -1) {
      const failure = readUserInfo(location.slice(0, at), parts)
      if (failure !== undefined) return failure
      location = location.slice(at + 1)
    }
  }
  const directory = decode(location, 'socket directory')
  if (!directory.ok) return directory
  if (!directory.value.startsWith('/')) {
    return {
      ok: false,
      problem: `connectionString socket: needs an absolute socket directory, got ${JSON.stringify(directory.value)}; accepted: socket:/var/run/postgresql?db=name`,
    }
  }
  parts.hosts.push({ host: directory.value, port: undefined })
  const database = params.value.get('db')
  if (database !== undefined) {
    params.value.delete('db')
    parts.database = database
  }
  return { ok: true, parts }
}

function parseQuery(query: string): { ok: true; value: Map<string, string> } | { ok: false; problem: string } {
  const params = new Map<string, string>()
  if (query === '') return { ok: true, value: params }
  for (const pair of query.split('&')) {
    if (pair === '') continue
    const equals = pair.indexOf('=')
    if (equals === -1) {
      return { ok: false, problem: `connectionString parameter ${JSON.stringify(pair)} has no value; expected name=value` }
    }
    // libpq decodes '+' as itself, not as a space (URIs are not HTML forms).
    const name = decode(pair.slice(0, equals), 'parameter name')
    if (!name.ok) return name
    const value = decode(pair.slice(equals + 1), `parameter ${name.value}`, name.value === 'password')
    if (!value.ok) return value
    params.set(name.value, value.value)
  }
  return { ok: true, value: params }
}

/** Percent-decodes one part; a secret (a password) is never quoted in the problem. */
function decode(text: string, what: string, isSecret = false): { ok: true; value: string } | { ok: false; problem: string } {
  try {
    return { ok: true, value: decodeURIComponent(text) }
  } catch {
    const shown = isSecret ? '' : `: ${JSON.stringify(text)}`
    return { ok: false, problem: `connectionString has an invalid percent-encoding in its ${what}${shown}` }
  }
}

/** Reads `user[:password]` (percent-encoded) into `parts`; returns the decoding failure, if any. */
function readUserInfo(userInfo: string, parts: ConnectionStringParts) {
  const colon = userInfo.indexOf(':')
  const user = decode(colon === -1 ? userInfo : userInfo.slice(0, colon), 'user')
  if (!user.ok) return user
  parts.user = user.value === '' ? undefined : user.value
  if (colon === -1) return undefined
  const password = decode(userInfo.slice(colon + 1), 'password', true)
  if (!password.ok) return password
  parts.password = password.value
  return undefined
}
