import { describe, expect, it } from 'vitest'
import { attemptsFor, type ConnectAttempt, connectFirstTarget, type SessionState } from '../src/driver-index'
import {
  AbortError,
  AuthenticationError,
  ConnectionError,
  type ConnectionTarget,
  type SslMode,
  type TargetSessionAttrs,
} from '../src/index'

const tcp = (host: string, port = 5432): ConnectionTarget => ({ host, port, socketPath: undefined })
const socket = (directory: string): ConnectionTarget => ({ host: directory, port: 5432, socketPath: `${directory}/.s.PGSQL.5432` })

const refused = (target: ConnectionTarget) =>
  Object.assign(new Error(`connect ECONNREFUSED ${target.host}:${target.port}`), { code: 'ECONNREFUSED', syscall: 'connect', errno: -111 })
const noTls = () => new Error('The server does not support SSL connections')
const loginFailed = () => Object.assign(new Error('password authentication failed for user "u"'), { code: '28P01', severity: 'FATAL' })

interface FakeServer {
  /** What opening a session there does: connect with this state, or throw. */
  open(tls: boolean): SessionState | Error
}

/** A connector over fake servers by host, recording every attempt and every session it closed. */
function fakeConnector(servers: Record<string, FakeServer>) {
  const attempts: string[] = []
  const closed: string[] = []
  return {
    attempts,
    closed,
    connector: {
      async open(attempt: ConnectAttempt) {
        attempts.push(`${attempt.target.host}${attempt.tls ? '+tls' : ''}`)
        const outcome = servers[attempt.target.host]?.open(attempt.tls) ?? refused(attempt.target)
        if (outcome instanceof Error) throw outcome
        return { host: attempt.target.host, state: outcome }
      },
      async state(session: { host: string; state: SessionState }) {
        return session.state
      },
      async close(session: { host: string }) {
        closed.push(session.host)
      },
    },
  }
}

const primary: FakeServer = { open: () => ({ readOnly: false, inRecovery: false }) }
const standby: FakeServer = { open: () => ({ readOnly: true, inRecovery: true }) }
const plainOnly: FakeServer = { open: (tls) => (tls ? noTls() : { readOnly: false, inRecovery: false }) }

function settings(targets: ConnectionTarget[], sslMode: SslMode = 'disable', targetSessionAttrs: TargetSessionAttrs = 'any') {
  return { targets, sslMode, targetSessionAttrs }
}

describe('attemptsFor', () => {
  it('tries TLS then plain for prefer, plain then TLS for allow, one way otherwise', () => {
    const target = tcp('h')
    expect(attemptsFor(target, 'prefer').map((attempt) => attempt.tls)).toEqual([true, false])
    expect(attemptsFor(target, 'allow').map((attempt) => attempt.tls)).toEqual([false, true])
    expect(attemptsFor(target, 'disable').map((attempt) => attempt.tls)).toEqual([false])
    for (const mode of ['require', 'verify-ca', 'verify-full'] as const) {
      expect(attemptsFor(target, mode).map((attempt) => attempt.tls)).toEqual([true])
    }
  })

  it('never asks a Unix socket for TLS', () => {
    expect(attemptsFor(socket('/run'), 'verify-full')).toEqual([{ target: socket('/run'), tls: false }])
  })
})

describe('connectFirstTarget', () => {
  it('skips a server that cannot be reached and connects to the next', async () => {
    const fake = fakeConnector({ up: primary })
    const connected = await connectFirstTarget(settings([tcp('down', 5999), tcp('up')]), fake.connector)
    expect(connected.attempt.target).toEqual(tcp('up'))
    expect(fake.attempts).toEqual(['down', 'up'])
  })

  it('keeps the first server that answers, in order', async () => {
    const fake = fakeConnector({ a: standby, b: primary })
    expect((await connectFirstTarget(settings([tcp('a'), tcp('b')]), fake.connector)).attempt.target.host).toBe('a')
    expect(fake.attempts).toEqual(['a'])
  })

  it('passes over a read-only server for read-write, closing its session', async () => {
    const fake = fakeConnector({ replica: standby, main: primary })
    const connected = await connectFirstTarget(settings([tcp('replica'), tcp('main')], 'disable', 'read-write'), fake.connector)
    expect(connected.attempt.target.host).toBe('main')
    expect(fake.closed).toEqual(['replica'])
  })

  it.each([
    ['read-only', 'replica'],
    ['primary', 'main'],
    ['standby', 'replica'],
  ] as const)('finds the server that suits %s', async (wanted, expected) => {
    const fake = fakeConnector({ replica: standby, main: primary })
    const order = expected === 'main' ? [tcp('replica'), tcp('main')] : [tcp('main'), tcp('replica')]
    expect((await connectFirstTarget(settings(order, 'disable', wanted), fake.connector)).attempt.target.host).toBe(expected)
  })

  it('takes a standby for prefer-standby, else the first server that answers', async () => {
    const withStandby = fakeConnector({ main: primary, replica: standby })
    const both = await connectFirstTarget(settings([tcp('main'), tcp('replica')], 'disable', 'prefer-standby'), withStandby.connector)
    expect(both.attempt.target.host).toBe('replica')
    const onlyPrimary = fakeConnector({ main: primary })
    const alone = await connectFirstTarget(settings([tcp('down'), tcp('main')], 'disable', 'prefer-standby'), onlyPrimary.connector)
    expect(alone.attempt.target.host).toBe('main')
    expect(onlyPrimary.attempts).toEqual(['down', 'main', 'down', 'main'])
  })

  it('falls back to plain text under prefer when the server refuses TLS', async () => {
    const fake = fakeConnector({ h: plainOnly })
    const connected = await connectFirstTarget(settings([tcp('h')], 'prefer'), fake.connector)
    expect(connected.attempt.tls).toBe(false)
    expect(fake.attempts).toEqual(['h+tls', 'h'])
  })

  it('does not retry an unreachable server in plain text under prefer', async () => {
    const fake = fakeConnector({ up: plainOnly })
    await connectFirstTarget(settings([tcp('down'), tcp('up')], 'prefer'), fake.connector)
    expect(fake.attempts).toEqual(['down+tls', 'up+tls', 'up'])
  })

  it('tries TLS after a refused plain login under allow', async () => {
    const tlsOnly: FakeServer = { open: (tls) => (tls ? { readOnly: false, inRecovery: false } : loginFailed()) }
    const fake = fakeConnector({ h: tlsOnly })
    expect((await connectFirstTarget(settings([tcp('h')], 'allow'), fake.connector)).attempt.tls).toBe(true)
    expect(fake.attempts).toEqual(['h', 'h+tls'])
  })

  it('fails under require with a ConnectionError saying the server does not support SSL', async () => {
    const fake = fakeConnector({ h: plainOnly })
    const error = await connectFirstTarget(settings([tcp('h')], 'require'), fake.connector).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(ConnectionError)
    expect(error).toMatchObject({ code: '08001', retryable: false, message: 'The server does not support SSL connections (server h:5432)' })
  })

  it('stops at a refused login, as libpq does: the next servers are not tried', async () => {
    const fake = fakeConnector({ a: { open: loginFailed }, b: primary })
    const error = await connectFirstTarget(settings([tcp('a'), tcp('b')]), fake.connector).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(AuthenticationError)
    expect(fake.attempts).toEqual(['a'])
  })

  it('names every server and why it was passed over when none suits', async () => {
    const fake = fakeConnector({ replica: standby })
    const error = await connectFirstTarget(settings([tcp('down', 5999), tcp('replica')], 'disable', 'read-write'), fake.connector).catch(
      (caught: unknown) => caught,
    )
    expect(error).toBeInstanceOf(ConnectionError)
    expect((error as ConnectionError).message).toBe(
      'could not connect to any of 2 servers (down:5999: connect ECONNREFUSED down:5999; ' +
        'replica:5432: the server only accepts read-only transactions (target_session_attrs=read-write))',
    )
    expect(error).toMatchObject({ code: '08001', retryable: true })
  })

  it('throws the one failure itself when there was one server', async () => {
    const fake = fakeConnector({})
    const error = await connectFirstTarget(settings([socket('/no/such/dir')]), {
      ...fake.connector,
      open: async () => {
        throw Object.assign(new Error('connect ENOENT /no/such/dir/.s.PGSQL.5432'), { code: 'ENOENT', syscall: 'connect', errno: -2 })
      },
    }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(ConnectionError)
    expect(error).toMatchObject({ driverCode: 'ENOENT', message: 'connect ENOENT /no/such/dir/.s.PGSQL.5432' })
  })

  it('ends the search when the caller aborts, without trying the next servers', async () => {
    const fake = fakeConnector({ b: primary })
    const error = await connectFirstTarget(settings([tcp('a'), tcp('b')]), {
      ...fake.connector,
      open: async () => {
        throw new AbortError('connect')
      },
    }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(AbortError)
  })
})
