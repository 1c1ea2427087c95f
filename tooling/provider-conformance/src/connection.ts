import {
  AbortError,
  ConfigError,
  ConnectionError,
  type ConnectionInfo,
  type Notification,
  type Provider,
  QueryCanceledError,
  TLS_REFUSED,
} from '@tessera/core'
import { afterEach, beforeAll, describe, expect } from 'vitest'
import { PG_URL, uniqueName } from '../../test-services/env'
import type { ConformanceContext } from './context'
import { rejectionOf, waitFor } from './helpers'

/** The server a session reached: its port (`null` over a Unix socket) and whether the session uses TLS. */
const WHERE_SQL = `SELECT inet_server_port() AS port, s.ssl, current_setting('application_name') AS app,
  current_setting('search_path') AS search_path FROM pg_stat_ssl s WHERE s.pid = pg_backend_pid()`

interface Where {
  port: number | null
  ssl: boolean
  app: string
  search_path: string
}

async function where(provider: Provider): Promise<Where> {
  const result = await provider.query<Where>(WHERE_SQL)
  return result.rows[0]!
}

/** A port nothing listens on (the test server is on 5432). */
const CLOSED_PORT = 5999

/**
 * Connection options: the same connection string and environment reach the same server the same way on every
 * provider, as libpq documents (multi-host lists, socket directories, `PG*` variables, sslmode, target_session_attrs),
 * and connection failures reject with a `ConnectionError` naming the server.
 */
export function describeConnection(ctx: ConformanceContext): void {
  describe('connection options', () => {
    const url = new URL(PG_URL)
    const user = decodeURIComponent(url.username) || 'postgres'
    const database = decodeURIComponent(url.pathname.slice(1)) || 'postgres'
    const tcpHost = url.hostname || '127.0.0.1'
    const tcpPort = Number(url.port || 5432)
    let socketDirectory = ''
    let serverHasTls = false
    const savedEnv = new Map<string, string | undefined>()

    /** Sets a PG* variable for this test only (restored after it). */
    function setEnv(name: string, value: string): void {
      if (!savedEnv.has(name)) savedEnv.set(name, process.env[name])
      process.env[name] = value
    }

    beforeAll(async () => {
      const [directories] = await ctx.admin<{ unix_socket_directories: string }>('SHOW unix_socket_directories')
      socketDirectory = directories!.unix_socket_directories.split(',')[0]!.trim()
      const [ssl] = await ctx.admin<{ ssl: string }>('SHOW ssl')
      serverHasTls = ssl!.ssl === 'on'
    })

    afterEach(() => {
      for (const [name, value] of savedEnv) {
        if (value === undefined) delete process.env[name]
        else process.env[name] = value
      }
      savedEnv.clear()
    })

    ctx.test('connects to the socket directory of a host= parameter', async () => {
      const { provider } = await ctx.open({
        connectionString: `postgres:///${database}?host=${encodeURIComponent(socketDirectory)}&user=${user}`,
      })
      expect((await where(provider)).port).toBeNull()
    })

    ctx.test('fails on a missing socket directory instead of connecting elsewhere, naming the socket', async () => {
      const { provider } = await ctx.open({
        connectionString: `postgres:///${database}?host=/no/such/socket-dir&user=${user}`,
        retry: false,
      })
      const error = await rejectionOf(provider.query('SELECT 1'))
      expect(error).toBeInstanceOf(ConnectionError)
      expect(error).toMatchObject({ code: '08006', driverCode: 'ENOENT' })
      expect((error as Error).message).toContain('/no/such/socket-dir/.s.PGSQL.5432')
    })

    ctx.test('connects to a percent-encoded socket directory in the host part', async () => {
      const { provider } = await ctx.open({ connectionString: `postgres://${user}@${encodeURIComponent(socketDirectory)}/${database}` })
      expect((await where(provider)).port).toBeNull()
    })

    ctx.test('connects with a socket: connection string', async () => {
      const { provider } = await ctx.open({ connectionString: `socket:${socketDirectory}?db=${database}&user=${user}` })
      expect((await where(provider)).port).toBeNull()
    })

    ctx.test('connects to PGHOST and PGPORT when the connection string names no server', async () => {
      setEnv('PGHOST', tcpHost)
      setEnv('PGPORT', String(tcpPort))
      const { provider } = await ctx.open({ connectionString: `postgres://${user}@/${database}` })
      expect((await where(provider)).port).toBe(tcpPort)
    })

    ctx.test('tries the next server of a host list when the first cannot be reached', async () => {
      const { provider } = await ctx.open({
        connectionString: `postgres://${user}@${tcpHost}:${CLOSED_PORT},${tcpHost}:${tcpPort}/${database}?target_session_attrs=read-write`,
      })
      expect((await where(provider)).port).toBe(tcpPort)
    })

    /**
     * Aborts a statement once it runs on the server, so the cancel cannot land before it starts: the caller gets an
     * `AbortError` whose cause is the server's `QueryCanceledError` only when the CancelRequest reached the server the
     * session is on (otherwise the provider drops the session and the cause is a connection error).
     */
    async function cancelRunningSleep(provider: Provider, applicationName: string): Promise<unknown> {
      const controller = new AbortController()
      const sleeping = provider.query('SELECT pg_sleep(10) AS slept', [], { signal: controller.signal })
      const outcome = rejectionOf(sleeping)
      await waitFor(async () => {
        const backends = await ctx.backends(applicationName)
        return backends.some((backend) => backend.state === 'active' && backend.query.includes('pg_sleep(10)'))
      }, 'the statement runs')
      controller.abort()
      return outcome
    }

    ctx.test('cancels a statement on the server of a host list the session reached, not on the first server', async () => {
      const { provider, applicationName } = await ctx.open({
        connectionString: `postgres://${user}@${tcpHost}:${CLOSED_PORT},${tcpHost}:${tcpPort}/${database}`,
        retry: false,
      })
      const error = await cancelRunningSleep(provider, applicationName)
      expect(error).toBeInstanceOf(AbortError)
      expect((error as AbortError).cause).toBeInstanceOf(QueryCanceledError)
    })

    ctx.test('cancels a statement on a Unix socket session', async () => {
      const { provider, applicationName } = await ctx.open({
        connectionString: `socket:${socketDirectory}?db=${database}&user=${user}`,
        retry: false,
      })
      const error = await cancelRunningSleep(provider, applicationName)
      expect(error).toBeInstanceOf(AbortError)
      expect((error as AbortError).cause).toBeInstanceOf(QueryCanceledError)
    })

    ctx.test('listens on the server of a host list when the first cannot be reached', async () => {
      const { provider } = await ctx.open({
        connectionString: `postgres://${user}@${tcpHost}:${CLOSED_PORT},${tcpHost}:${tcpPort}/${database}`,
      })
      const channel = uniqueName('hosts')
      const received: Notification[] = []
      await provider.listen(channel, (notification) => received.push(notification))
      await ctx.admin('SELECT pg_notify($1, $2)', [channel, 'through the list'])
      await waitFor(() => received.length === 1, 'the notification arrives')
      expect(received[0]).toMatchObject({ channel, payload: 'through the list' })
    })

    ctx.test('listens over a Unix socket with sslmode=require, as libpq ignores sslmode there', async () => {
      const { provider } = await ctx.open({ connectionString: `socket:${socketDirectory}?db=${database}&user=${user}&sslmode=require` })
      const channel = uniqueName('socket')
      const received: Notification[] = []
      await provider.listen(channel, (notification) => received.push(notification))
      await ctx.admin('SELECT pg_notify($1, $2)', [channel, 'over the socket'])
      await waitFor(() => received.length === 1, 'the notification arrives')
      expect(received[0]).toMatchObject({ channel, payload: 'over the socket' })
    })

    ctx.test('connects to the Unix socket of a host list that also names a TCP server, in plain text under sslmode=require', async () => {
      if (serverHasTls) return
      const { provider } = await ctx.open({
        connectionString: `postgres:///${database}?user=${user}&host=${encodeURIComponent(socketDirectory)},${tcpHost}&sslmode=require`,
      })
      expect(await where(provider)).toMatchObject({ port: null, ssl: false })
    })

    ctx.test("names the server of a host list the session reached in onConnect's connection info", async () => {
      const connected: ConnectionInfo[] = []
      const { provider } = await ctx.open({
        connectionString: `postgres:///${database}?user=${user}&host=/no/such/socket-dir,${tcpHost}&port=${tcpPort}`,
        hooks: { onConnect: (connection) => void connected.push(connection) },
      })
      await provider.query('SELECT 1')
      expect(connected).toMatchObject([{ host: tcpHost, database }])
    })

    ctx.test('reads a host list from host= and port= parameters', async () => {
      const { provider } = await ctx.open({
        connectionString: `postgres:///${database}?user=${user}&host=${tcpHost},${tcpHost}&port=${CLOSED_PORT},${tcpPort}`,
      })
      expect((await where(provider)).port).toBe(tcpPort)
    })

    ctx.test('refuses a primary for target_session_attrs=standby', async () => {
      const { provider } = await ctx.open({
        connectionString: `postgres://${user}@${tcpHost}:${tcpPort}/${database}?target_session_attrs=standby`,
        retry: false,
        connectTimeoutMs: 3_000,
      })
      expect(await rejectionOf(provider.query('SELECT 1'))).toBeInstanceOf(ConnectionError)
    })

    ctx.test('rejects with a ConnectionError naming the server when nothing listens', async () => {
      const { provider } = await ctx.open({ connectionString: `postgres://${user}@${tcpHost}:${CLOSED_PORT}/${database}`, retry: false })
      const error = await rejectionOf(provider.query('SELECT 1'))
      expect(error).toBeInstanceOf(ConnectionError)
      expect((error as Error).message).toContain(`${tcpHost}:${CLOSED_PORT}`)
    })

    ctx.test('sends PGOPTIONS at startup', async () => {
      setEnv('PGOPTIONS', '-c search_path=from_pgoptions')
      const { provider } = await ctx.open()
      expect((await where(provider)).search_path).toBe('from_pgoptions')
    })

    ctx.test('takes the application name from PGAPPNAME when neither the option nor the URL gives one', async () => {
      setEnv('PGAPPNAME', 'from_pgappname')
      const { provider } = await ctx.open({ applicationName: undefined })
      expect((await where(provider)).app).toBe('from_pgappname')
      const withUrl = await ctx.open({ applicationName: undefined, connectionString: `${PG_URL}?application_name=from_url` })
      expect((await where(withUrl.provider)).app).toBe('from_url')
      const withOption = await ctx.open({ applicationName: 'from_option', connectionString: `${PG_URL}?application_name=from_url` })
      expect((await where(withOption.provider)).app).toBe('from_option')
    })

    ctx.test('sends connection-string parameters libpq does not know as server settings', async () => {
      const { provider } = await ctx.open({ connectionString: `${PG_URL}?search_path=from_url` })
      expect((await where(provider)).search_path).toBe('from_url')
    })

    ctx.test('refuses libpq parameters it cannot honour when the provider is created', async () => {
      const error = await rejectionOf(ctx.open({ connectionString: `${PG_URL}?hostaddr=127.0.0.1` }))
      expect(error).toBeInstanceOf(ConfigError)
      expect((error as Error).message).toContain('hostaddr is not supported')
    })

    ctx.test('sslmode=disable connects without TLS', async () => {
      const { provider } = await ctx.open({ connectionString: `${PG_URL}?sslmode=disable` })
      expect((await where(provider)).ssl).toBe(false)
    })

    ctx.test('sslmode=prefer connects, in plain text when the server has no TLS', async () => {
      const { provider } = await ctx.open({ connectionString: `${PG_URL}?sslmode=prefer` })
      expect((await where(provider)).ssl).toBe(serverHasTls)
    })

    ctx.test('sslmode=require fails with a ConnectionError saying the server does not support SSL', async () => {
      if (serverHasTls) return
      const { provider } = await ctx.open({ connectionString: `${PG_URL}?sslmode=require`, retry: false })
      const error = await rejectionOf(provider.query('SELECT 1'))
      expect(error).toBeInstanceOf(ConnectionError)
      expect(error).toMatchObject({ driverCode: TLS_REFUSED, retryable: false })
      expect((error as Error).message).toContain('does not support SSL')
    })

    ctx.test('sslmode=require over a Unix socket connects in plain text, as libpq ignores sslmode there', async () => {
      const { provider } = await ctx.open({ connectionString: `socket:${socketDirectory}?db=${database}&user=${user}&sslmode=require` })
      expect(await where(provider)).toMatchObject({ port: null, ssl: false })
    })
  })
}
