import { describe, expect, it } from 'vitest'
import { type ConnectionStringParts, parseConnectionString } from '../src/index'

function parts(text: string): ConnectionStringParts {
  const parsed = parseConnectionString(text)
  if (!parsed.ok) throw new Error(`expected ${text} to parse: ${parsed.problem}`)
  return parsed.parts
}

function problem(text: string): string {
  const parsed = parseConnectionString(text)
  if (parsed.ok) throw new Error(`expected ${text} to be refused`)
  return parsed.problem
}

describe('parseConnectionString', () => {
  it('reads user, password, host, port and database', () => {
    expect(parts('postgres://alice:s3cret@db.example:6432/app')).toEqual({
      hosts: [{ host: 'db.example', port: '6432' }],
      user: 'alice',
      password: 's3cret',
      database: 'app',
      params: new Map(),
    })
  })

  it('accepts postgresql:// as well as postgres://, in any case', () => {
    expect(parts('postgresql://h/db').hosts).toEqual([{ host: 'h', port: undefined }])
    expect(parts('POSTGRES://h/db').database).toBe('db')
  })

  it('reads a multi-host list in order, each with its own port or none', () => {
    expect(parts('postgres://h1:5999,h2:5432,h3/db?target_session_attrs=read-write')).toMatchObject({
      hosts: [
        { host: 'h1', port: '5999' },
        { host: 'h2', port: '5432' },
        { host: 'h3', port: undefined },
      ],
      database: 'db',
      params: new Map([['target_session_attrs', 'read-write']]),
    })
  })

  it('reads bracketed IPv6 hosts, with and without ports', () => {
    expect(parts('postgres://[::1]:5433,[fe80::1]/db').hosts).toEqual([
      { host: '::1', port: '5433' },
      { host: 'fe80::1', port: undefined },
    ])
  })

  it('decodes a percent-encoded host into a Unix socket directory', () => {
    expect(parts('postgres://user@%2Fvar%2Frun%2Fpostgresql:5433/test').hosts).toEqual([{ host: '/var/run/postgresql', port: '5433' }])
  })

  it('leaves the host list empty when the URI names no host', () => {
    const parsed = parts('postgres:///db?host=/no/such/socket-dir')
    expect(parsed.hosts).toEqual([])
    expect(parsed.database).toBe('db')
    expect(parsed.params.get('host')).toBe('/no/such/socket-dir')
  })

  it('percent-decodes user, password, database and parameters, and keeps + as itself', () => {
    const parsed = parts('postgres://us%40er:p%2Fw%3A@h/my%20db?options=-c%20search_path%3Dapp&application_name=a+b')
    expect(parsed).toMatchObject({ user: 'us@er', password: 'p/w:', database: 'my db' })
    expect(parsed.params.get('options')).toBe('-c search_path=app')
    expect(parsed.params.get('application_name')).toBe('a+b')
  })

  it('takes the last @ of the authority as the end of the user info', () => {
    expect(parts('postgres://user:p@ss@h/db')).toMatchObject({ user: 'user', password: 'p@ss', hosts: [{ host: 'h' }] })
  })

  it('reads a URI without database, without host or without anything', () => {
    expect(parts('postgres://h')).toMatchObject({ hosts: [{ host: 'h' }], database: undefined })
    expect(parts('postgres:///db')).toMatchObject({ hosts: [], database: 'db' })
    expect(parts('postgres://')).toMatchObject({ hosts: [], user: undefined, database: undefined })
    expect(parts('postgres://user@/db')).toMatchObject({ hosts: [], user: 'user', database: 'db' })
  })

  it('reads the socket: form with its db parameter', () => {
    expect(parts('socket:/var/run/postgresql?db=test')).toEqual({
      hosts: [{ host: '/var/run/postgresql', port: undefined }],
      user: undefined,
      password: undefined,
      database: 'test',
      params: new Map(),
    })
    expect(parts('socket://alice:pw@/tmp/pg?db=app&application_name=x')).toMatchObject({
      hosts: [{ host: '/tmp/pg' }],
      user: 'alice',
      password: 'pw',
      database: 'app',
      params: new Map([['application_name', 'x']]),
    })
  })

  it('refuses other schemes, naming the accepted forms', () => {
    expect(problem('mysql://h/db')).toMatch(
      /must start with postgres:\/\/, postgresql:\/\/ or socket:, got "mysql:"; accepted: postgres:\/\//,
    )
    expect(problem('h/db')).toMatch(/got no scheme/)
    expect(problem('postgres:h/db')).toMatch(/must start with postgres:\/\//)
  })

  it('refuses a socket: form without an absolute directory', () => {
    expect(problem('socket:relative/dir?db=x')).toMatch(/absolute socket directory, got "relative\/dir"/)
  })

  it('refuses bad percent-encoding without quoting a password', () => {
    expect(problem('postgres://h/%zz')).toMatch(/invalid percent-encoding in its database: "%zz"/)
    const message = problem('postgres://u:sec%zzret@h/db')
    expect(message).toBe('connectionString has an invalid percent-encoding in its password')
    expect(problem('postgres://h/db?password=sec%zzret')).not.toContain('sec')
  })

  it('refuses a parameter without a value and an unclosed IPv6 host', () => {
    expect(problem('postgres://h/db?sslmode')).toMatch(/parameter "sslmode" has no value/)
    expect(problem('postgres://[::1/db')).toMatch(/IPv6 host without its closing/)
  })
})
