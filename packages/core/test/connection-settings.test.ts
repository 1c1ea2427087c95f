import { describe, expect, it } from 'vitest'
import { type ConnectionEnvironment, type ConnectionOptions, type ConnectionSettings, resolveConnectionSettings } from '../src/index'

/** No PG* variables, no socket in the default directories, user `osuser`: unless a test says otherwise. */
function environment(overrides: ConnectionEnvironment = {}): ConnectionEnvironment {
  return { env: {}, socketExists: () => false, osUser: () => 'osuser', platform: 'linux', readFile: () => 'PEM', ...overrides }
}

function resolve(options: ConnectionOptions, overrides: ConnectionEnvironment = {}): ConnectionSettings {
  const problems: string[] = []
  const settings = resolveConnectionSettings(options, problems, environment(overrides))
  if (settings === undefined) throw new Error(`expected no problems, got: ${problems.join('; ')}`)
  return settings
}

function problems(options: ConnectionOptions, overrides: ConnectionEnvironment = {}): string[] {
  const found: string[] = []
  expect(resolveConnectionSettings(options, found, environment(overrides))).toBeUndefined()
  return found
}

const socket = (directory: string, port = 5432) => ({ host: directory, port, socketPath: `${directory}/.s.PGSQL.${port}` })
const tcp = (host: string, port = 5432) => ({ host, port, socketPath: undefined })

describe('resolveConnectionSettings: where to connect', () => {
  it('connects to the socket directory of a host= parameter, not to localhost', () => {
    expect(resolve({ connectionString: 'postgres:///db?host=/no/such/socket-dir' }).targets).toEqual([socket('/no/such/socket-dir')])
  })

  it('connects to a percent-encoded socket directory with its port', () => {
    expect(resolve({ connectionString: 'postgres://%2Fvar%2Frun%2Fpostgresql:5433/db' }).targets).toEqual([
      socket('/var/run/postgresql', 5433),
    ])
  })

  it('connects to the socket: form directory', () => {
    const settings = resolve({ connectionString: 'socket:/var/run/postgresql?db=test' })
    expect(settings.targets).toEqual([socket('/var/run/postgresql')])
    expect(settings.database).toBe('test')
  })

  it('keeps a multi-host list in order, pairing each host with its port', () => {
    expect(resolve({ connectionString: 'postgres://h1:5999,h2:5432,h3/db' }).targets).toEqual([tcp('h1', 5999), tcp('h2', 5432), tcp('h3')])
  })

  it('reads host and port lists from parameters, which replace the URI hosts', () => {
    expect(resolve({ connectionString: 'postgres://ignored:1/db?host=a,b&port=5433,5434' }).targets).toEqual([
      tcp('a', 5433),
      tcp('b', 5434),
    ])
    expect(resolve({ connectionString: 'postgres:///db?host=a,/sock&port=6000' }).targets).toEqual([tcp('a', 6000), socket('/sock', 6000)])
  })

  it('refuses as many ports as neither one nor one per host', () => {
    expect(problems({ connectionString: 'postgres:///db?host=a,b,c&port=1,2' })).toEqual([
      'could not match 2 port numbers to 3 hosts: give one port, or one per host',
    ])
  })

  it('lets the host and port options win over the connection string, one port for every host', () => {
    expect(resolve({ connectionString: 'postgres://h1:1,h2:2/db', host: 'x,y', port: 7000 }).targets).toEqual([
      tcp('x', 7000),
      tcp('y', 7000),
    ])
  })

  it('pairs the host option with the URI ports when it names as many hosts', () => {
    expect(resolve({ connectionString: 'postgres://h1:5998,h2:5999/db', host: 'x,y' }).targets).toEqual([tcp('x', 5998), tcp('y', 5999)])
  })

  it('falls back on PGHOST and PGPORT, lists included, only when nothing else names them', () => {
    const env = { PGHOST: 'envhost,/envsock', PGPORT: '6001' }
    expect(resolve({}, { env }).targets).toEqual([tcp('envhost', 6001), socket('/envsock', 6001)])
    // The URI names a host but no port: PGPORT still applies, as in libpq.
    expect(resolve({ connectionString: 'postgres://urihost/db' }, { env }).targets).toEqual([tcp('urihost', 6001)])
    expect(resolve({ connectionString: 'postgres://urihost:7/db' }, { env }).targets).toEqual([tcp('urihost', 7)])
    expect(resolve({ connectionString: 'postgres:///db' }, { env }).targets).toEqual([tcp('envhost', 6001), socket('/envsock', 6001)])
    expect(resolve({ host: 'opt' }, { env }).targets).toEqual([tcp('opt', 6001)])
  })

  it('defaults to the socket directory that holds the port socket, as libpq does, else to localhost', () => {
    const debian = (path: string) => path === '/var/run/postgresql/.s.PGSQL.5432'
    expect(resolve({}, { socketExists: debian }).targets).toEqual([socket('/var/run/postgresql')])
    const upstream = (path: string) => path === '/tmp/.s.PGSQL.5433'
    expect(resolve({ port: 5433 }, { socketExists: upstream }).targets).toEqual([socket('/tmp', 5433)])
    expect(resolve({}).targets).toEqual([tcp('localhost')])
    expect(resolve({}, { platform: 'win32', socketExists: () => true }).targets).toEqual([tcp('localhost')])
  })

  it('gives an empty entry of a host list the default host and an empty port the default port', () => {
    expect(resolve({ connectionString: 'postgres://h1:,:5433/db' }).targets).toEqual([tcp('h1'), tcp('localhost', 5433)])
  })

  it('refuses a port that is not a number from 1 to 65535', () => {
    expect(problems({ connectionString: 'postgres://h:0/db' })).toEqual(['port must be an integer from 1 to 65535, got "0"'])
    expect(problems({ connectionString: 'postgres:///db?port=x' })).toEqual(['port must be an integer from 1 to 65535, got "x"'])
  })
})

describe('resolveConnectionSettings: who and which database', () => {
  it('takes the option, then the parameter, then the URI, then the environment, then the defaults', () => {
    const env = { PGUSER: 'envuser', PGDATABASE: 'envdb', PGPASSWORD: 'envpw' }
    expect(resolve({ connectionString: 'postgres://uriuser:uripw@h/uridb', user: 'optuser', database: 'optdb' }, { env })).toMatchObject({
      user: 'optuser',
      database: 'optdb',
      password: 'uripw',
    })
    expect(resolve({ connectionString: 'postgres://uriuser@h/uridb?user=paramuser&dbname=paramdb' }, { env })).toMatchObject({
      user: 'paramuser',
      database: 'paramdb',
      password: 'envpw',
    })
    expect(resolve({ connectionString: 'postgres://h' }, { env })).toMatchObject({ user: 'envuser', database: 'envdb' })
    expect(resolve({})).toMatchObject({ user: 'osuser', database: 'osuser', password: undefined })
    expect(resolve({ user: 'alice' })).toMatchObject({ database: 'alice' })
  })

  it('keeps a password function as given', () => {
    const password = () => 'token'
    expect(resolve({ connectionString: 'postgres://u:pw@h/db', password }).password).toBe(password)
  })

  it('treats an empty PG variable as unset', () => {
    expect(resolve({}, { env: { PGUSER: '', PGHOST: '' } })).toMatchObject({ user: 'osuser', targets: [tcp('localhost')] })
  })
})

describe('resolveConnectionSettings: application name and options', () => {
  it('takes applicationName, then application_name, then PGAPPNAME, then fallback_application_name, then tessera', () => {
    const env = { PGAPPNAME: 'from-env' }
    const url = 'postgres://h/db?application_name=from-url&fallback_application_name=fallback'
    expect(resolve({ connectionString: url, applicationName: 'from-option' }, { env }).applicationName).toBe('from-option')
    expect(resolve({ connectionString: url }, { env }).applicationName).toBe('from-url')
    expect(resolve({ connectionString: 'postgres://h/db?fallback_application_name=fallback' }, { env }).applicationName).toBe('from-env')
    expect(resolve({ connectionString: 'postgres://h/db?fallback_application_name=fallback' }).applicationName).toBe('fallback')
    expect(resolve({}).applicationName).toBe('tessera')
  })

  it('takes options from the parameter, else PGOPTIONS', () => {
    const env = { PGOPTIONS: '-c search_path=env' }
    expect(resolve({ connectionString: 'postgres://h/db?options=-c%20search_path%3Durl' }, { env }).options).toBe('-c search_path=url')
    expect(resolve({}, { env }).options).toBe('-c search_path=env')
    expect(resolve({}).options).toBeUndefined()
  })

  it('sends parameters libpq does not know as server settings, and applies or ignores those it knows', () => {
    const settings = resolve({ connectionString: 'postgres://h/db?search_path=app&keepalives=1&sslmode=disable&statement_timeout=5s' })
    expect(settings.serverSettings).toEqual({ search_path: 'app', statement_timeout: '5s' })
  })

  it('refuses the libpq parameters it cannot honour, saying what to do instead', () => {
    expect(problems({ connectionString: 'postgres://h/db?hostaddr=10.0.0.1&service=x' })).toEqual([
      'connectionString parameter hostaddr is not supported: give the address as host',
      'connectionString parameter service is not supported: pg_service.conf is not read; give the settings in the connection string',
    ])
    expect(problems({ connectionString: 'postgres://h/db?load_balance_hosts=random' })[0]).toMatch(/load_balance_hosts must be disable/)
    expect(problems({ connectionString: 'postgres://h/db?channel_binding=require' })[0]).toMatch(
      /channel_binding must be disable or prefer/,
    )
    expect(problems({ connectionString: 'postgres://h/db?client_encoding=LATIN1' })[0]).toMatch(/client_encoding must be UTF8/)
  })

  it('reads connect_timeout in seconds as libpq does, the option in ms winning', () => {
    expect(resolve({ connectionString: 'postgres://h/db?connect_timeout=5' }).connectTimeoutMs).toBe(5_000)
    expect(resolve({ connectionString: 'postgres://h/db?connect_timeout=1' }).connectTimeoutMs).toBe(2_000)
    expect(resolve({ connectionString: 'postgres://h/db?connect_timeout=0' }).connectTimeoutMs).toBe(0)
    expect(resolve({}, { env: { PGCONNECT_TIMEOUT: '3' } }).connectTimeoutMs).toBe(3_000)
    expect(resolve({ connectionString: 'postgres://h/db?connect_timeout=5', connectTimeoutMs: 250 }).connectTimeoutMs).toBe(250)
    expect(resolve({}).connectTimeoutMs).toBe(10_000)
    expect(problems({ connectionString: 'postgres://h/db?connect_timeout=soon' })).toEqual([
      'connect_timeout must be a whole number of seconds, got "soon"',
    ])
  })
})

describe('resolveConnectionSettings: TLS and target_session_attrs', () => {
  it('reads every sslmode, from the parameter, else PGSSLMODE, else disable', () => {
    for (const mode of ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const) {
      expect(resolve({ connectionString: `postgres://h/db?sslmode=${mode}` }).sslMode).toBe(mode)
    }
    expect(resolve({}, { env: { PGSSLMODE: 'prefer' } }).sslMode).toBe('prefer')
    expect(resolve({ connectionString: 'postgres://h/db?sslmode=disable' }, { env: { PGSSLMODE: 'require' } }).sslMode).toBe('disable')
    expect(resolve({}).sslMode).toBe('disable')
    expect(problems({ connectionString: 'postgres://h/db?sslmode=on' })).toEqual([
      'sslmode must be one of disable, allow, prefer, require, verify-ca, verify-full, got "on"',
    ])
  })

  it('sets the TLS options each sslmode verifies with', () => {
    expect(resolve({ connectionString: 'postgres://h/db?sslmode=require' }).tls).toEqual({ rejectUnauthorized: false })
    expect(resolve({ connectionString: 'postgres://h/db?sslmode=prefer' }).tls).toEqual({ rejectUnauthorized: false })
    expect(resolve({ connectionString: 'postgres://h/db?sslmode=verify-full' }).tls).toEqual({ rejectUnauthorized: true })
    const verifyCa = resolve({ connectionString: 'postgres://h/db?sslmode=verify-ca&sslrootcert=/ca.pem' }).tls
    expect(verifyCa).toMatchObject({ rejectUnauthorized: true, ca: 'PEM' })
    expect(verifyCa.checkServerIdentity?.('h', {})).toBeUndefined()
  })

  it('verifies the chain under require when a root certificate is given, as libpq does', () => {
    const settings = resolve({ connectionString: 'postgres://h/db?sslmode=require&sslrootcert=/ca.pem&sslcert=/c.pem&sslkey=/k.pem' })
    expect(settings.sslMode).toBe('verify-ca')
    expect(settings.tls).toMatchObject({ ca: 'PEM', cert: 'PEM', key: 'PEM', rejectUnauthorized: true })
  })

  it('takes sslrootcert=system as verify-full with the system CAs, and refuses it with a weaker mode', () => {
    expect(resolve({ connectionString: 'postgres://h/db?sslrootcert=system' }).sslMode).toBe('verify-full')
    expect(problems({ connectionString: 'postgres://h/db?sslrootcert=system&sslmode=require' })).toEqual([
      'sslmode require may not be used with sslrootcert=system; use verify-full',
    ])
  })

  it('names a certificate file it cannot read', () => {
    const readFile = () => {
      throw new Error('ENOENT: no such file or directory')
    }
    expect(problems({ connectionString: 'postgres://h/db?sslmode=verify-ca&sslrootcert=/missing.pem' }, { readFile })).toEqual([
      'sslrootcert: cannot read "/missing.pem" (ENOENT: no such file or directory)',
    ])
  })

  it("reads node-postgres' ssl=true|false|no-verify, sslmode=no-verify and libpq's requiressl=1", () => {
    expect(resolve({ connectionString: 'postgres://h/db?ssl=true' }).sslMode).toBe('verify-full')
    expect(resolve({ connectionString: 'postgres://h/db?ssl=false' }).sslMode).toBe('disable')
    expect(resolve({ connectionString: 'postgres://h/db?ssl=no-verify' }).sslMode).toBe('require')
    expect(resolve({ connectionString: 'postgres://h/db?requiressl=1' }).sslMode).toBe('require')
    expect(resolve({ connectionString: 'postgres://h/db?sslmode=no-verify' })).toMatchObject({
      sslMode: 'require',
      tls: { rejectUnauthorized: false },
    })
  })

  it('lets the ssl option win over sslmode and PGSSLMODE', () => {
    const url = 'postgres://h/db?sslmode=require'
    expect(resolve({ connectionString: url, ssl: false }).sslMode).toBe('disable')
    expect(resolve({ connectionString: url, ssl: true })).toMatchObject({ sslMode: 'verify-full', tls: {} })
    expect(resolve({ ssl: { rejectUnauthorized: false, ca: 'X' } }, { env: { PGSSLMODE: 'disable' } })).toMatchObject({
      sslMode: 'require',
      tls: { rejectUnauthorized: false, ca: 'X' },
    })
  })

  it('reads target_session_attrs from the parameter, else PGTARGETSESSIONATTRS, else any', () => {
    for (const value of ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby'] as const) {
      expect(resolve({ connectionString: `postgres://a,b/db?target_session_attrs=${value}` }).targetSessionAttrs).toBe(value)
    }
    expect(resolve({}, { env: { PGTARGETSESSIONATTRS: 'primary' } }).targetSessionAttrs).toBe('primary')
    expect(resolve({}).targetSessionAttrs).toBe('any')
    expect(problems({ connectionString: 'postgres://h/db?target_session_attrs=master' })).toEqual([
      'target_session_attrs must be one of any, read-write, read-only, primary, standby, prefer-standby, got "master"',
    ])
  })
})

describe('resolveConnectionSettings: problems', () => {
  it('lists every problem at once', () => {
    expect(problems({ connectionString: 'postgres://h:1,h2:2,h3:3/db?port=1,2&sslmode=x&target_session_attrs=y' })).toHaveLength(3)
  })

  it('reports an unparsable connection string', () => {
    expect(problems({ connectionString: 'mysql://h/db' })[0]).toMatch(/must start with postgres:\/\//)
  })

  it('ignores options of the wrong type, which the caller reports', () => {
    expect(resolve({ host: 42 as unknown as string, port: 'x' as unknown as number }).targets).toEqual([tcp('localhost')])
  })
})
