import { createConnection, createServer, type Server, type Socket } from 'node:net'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { endpointOf } from '../endpoint'
import { PG_URL, uniqueName } from '../env'
import { startTcpProxy, type TcpProxy } from '../tcp-proxy'

const admin = new pg.Client(PG_URL)
const proxies: TcpProxy[] = []
const clients: pg.Client[] = []

beforeAll(() => admin.connect())
afterAll(() => admin.end())
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()))
  await Promise.all(clients.splice(0).map((client) => client.end().catch(() => {})))
})

async function proxyToPostgres(): Promise<TcpProxy> {
  const proxy = await startTcpProxy({ target: endpointOf(PG_URL) })
  proxies.push(proxy)
  return proxy
}

/** A raw pg client through the proxy, tagged with its own application_name so the admin can find its backend. */
async function clientThrough(proxy: TcpProxy, applicationName = uniqueName('proxy')): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: proxy.url(PG_URL), application_name: applicationName })
  // A broken connection is what these tests provoke; the failing query reports it.
  client.on('error', () => {})
  clients.push(client)
  await client.connect()
  return client
}

async function backendOf(applicationName: string): Promise<{ state: string; query: string } | undefined> {
  const { rows } = await admin.query('SELECT state, query FROM pg_stat_activity WHERE application_name = $1', [applicationName])
  return rows[0]
}

async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Whether `promise` is still unsettled after `ms`: the only way to observe that a fault holds something back. */
async function stillPendingAfter(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false
  promise.then(
    () => (settled = true),
    () => (settled = true),
  )
  await new Promise((resolve) => setTimeout(resolve, ms))
  return !settled
}

/** Sends the protocol CancelRequest for `client`'s backend through the proxy; resolves when the server closed the socket. */
function sendCancelRequestThrough(proxy: TcpProxy, client: pg.Client): Promise<void> {
  const { processID, secretKey } = client as unknown as { processID: number; secretKey: number }
  const packet = Buffer.alloc(16)
  packet.writeInt32BE(16, 0)
  packet.writeInt32BE(80_877_102, 4)
  packet.writeInt32BE(processID | 0, 8)
  packet.writeInt32BE(secretKey | 0, 12)
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: proxy.host, port: proxy.port }, () => socket.end(packet))
    socket.on('error', reject)
    socket.on('close', () => resolve())
    socket.resume()
  })
}

describe('startTcpProxy against PostgreSQL', () => {
  it('forwards queries both ways in pass mode and counts its connections', async () => {
    const proxy = await proxyToPostgres()
    expect(proxy.url(PG_URL)).toBe(PG_URL.replace(/:\d+\//, `:${proxy.port}/`))
    const client = await clientThrough(proxy)
    const { rows } = await client.query('SELECT 1 + 1 AS two')
    expect(rows).toEqual([{ two: 2 }])
    expect(proxy.connections).toBe(1)
    expect(proxy.acceptedConnections).toBe(1)
  })

  it('stall holds a query on its way out until pass sends it on', async () => {
    const proxy = await proxyToPostgres()
    const name = uniqueName('stall_out')
    const client = await clientThrough(proxy, name)
    proxy.setMode('stall')
    const query = client.query("SELECT 'held out' AS said")
    expect(await stillPendingAfter(query, 300)).toBe(true)
    expect((await backendOf(name))?.query).not.toContain('held out')
    proxy.setMode('pass')
    expect((await query).rows).toEqual([{ said: 'held out' }])
  })

  it('stall holds a reply on its way back until pass delivers it', async () => {
    const proxy = await proxyToPostgres()
    const name = uniqueName('stall_back')
    const client = await clientThrough(proxy, name)
    const query = client.query("SELECT pg_sleep(0.3), 'held back' AS said")
    await eventually(async () => (await backendOf(name))?.state === 'active')
    proxy.setMode('stall')
    // The server has finished and replied; the reply waits in the proxy.
    await eventually(async () => (await backendOf(name))?.state === 'idle')
    expect(await stillPendingAfter(query, 100)).toBe(true)
    proxy.setMode('pass')
    expect((await query).rows[0].said).toBe('held back')
  })

  it('blackhole swallows a query: the server never sees it, even once the mode is back to pass', async () => {
    const proxy = await proxyToPostgres()
    const name = uniqueName('blackhole')
    const client = await clientThrough(proxy, name)
    proxy.setMode('blackhole')
    const query = client.query("SELECT 'swallowed' AS said")
    expect(await stillPendingAfter(query, 300)).toBe(true)
    proxy.setMode('pass')
    expect(await stillPendingAfter(query, 300)).toBe(true)
    expect((await backendOf(name))?.query).not.toContain('swallowed')
    await proxy.close()
    await expect(query).rejects.toThrow()
  })

  it('reset breaks open connections and refuses new ones until the mode changes', async () => {
    const proxy = await proxyToPostgres()
    const client = await clientThrough(proxy)
    const running = client.query('SELECT pg_sleep(5)')
    proxy.setMode('reset')
    await expect(running).rejects.toThrow()
    await expect(clientThrough(proxy)).rejects.toThrow()
    proxy.setMode('pass')
    const fresh = await clientThrough(proxy)
    expect((await fresh.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
  })

  it('dropReplyTo(COMMIT) commits on the server while the client sees a broken connection', async () => {
    const table = uniqueName('lost_commit')
    await admin.query(`CREATE TABLE ${table} (id int)`)
    try {
      const proxy = await proxyToPostgres()
      const client = await clientThrough(proxy)
      await client.query('BEGIN')
      await client.query(`INSERT INTO ${table} VALUES (1)`)
      const dropped = proxy.dropReplyTo((bytes) => bytes.includes('COMMIT'))
      await expect(client.query('COMMIT')).rejects.toThrow(/terminated|ECONNRESET|closed/i)
      await dropped
      const { rows } = await admin.query(`SELECT id FROM ${table}`)
      expect(rows).toEqual([{ id: 1 }])
    } finally {
      await admin.query(`DROP TABLE ${table}`)
    }
  })

  it('holdCancelRequests keeps a cancel request from the server until release(), while queries pass', async () => {
    const proxy = await proxyToPostgres()
    const name = uniqueName('held_cancel')
    const client = await clientThrough(proxy, name)
    const running = client.query('SELECT pg_sleep(5)')
    running.catch(() => {}) // asserted below; never an unhandled rejection meanwhile
    await eventually(async () => (await backendOf(name))?.state === 'active')
    const hold = proxy.holdCancelRequests()
    const cancelSent = sendCancelRequestThrough(proxy, client)
    await hold.arrived
    expect(hold.held).toBe(1)
    expect(await stillPendingAfter(running, 300)).toBe(true)
    // The sender learns the request was handled only when the server closes the socket.
    expect(await stillPendingAfter(cancelSent, 0)).toBe(true)
    expect((await backendOf(name))?.state).toBe('active')
    hold.release()
    await cancelSent
    await expect(running).rejects.toMatchObject({ code: '57014' })
    // The hold is over: the next cancel request goes straight through.
    const next = client.query('SELECT pg_sleep(5)')
    // Watched from the start: it fails while the cancel request below is still being awaited.
    const nextFails = expect(next).rejects.toMatchObject({ code: '57014' })
    await eventually(async () => (await backendOf(name))?.state === 'active')
    await sendCancelRequestThrough(proxy, client)
    await nextFails
  })

  it('close() ends every connection and leaves no TCP handle behind', async () => {
    const tcpHandles = () => process.getActiveResourcesInfo().filter((name) => name.startsWith('TCP')).length
    // Handles closed by the previous test are released on a later turn of the event loop.
    await new Promise((resolve) => setTimeout(resolve, 0))
    const before = tcpHandles()
    const proxy = await startTcpProxy({ target: endpointOf(PG_URL) })
    const client = await clientThrough(proxy)
    const running = client.query('SELECT pg_sleep(5)')
    await proxy.close()
    await expect(running).rejects.toThrow()
    await client.end().catch(() => {})
    await eventually(() => tcpHandles() === before)
    expect(proxy.connections).toBe(0)
    await expect(clientThrough(proxy)).rejects.toThrow(/ECONNREFUSED/)
  })
})

describe('startTcpProxy dropReplyTo across TCP chunks', () => {
  let echo: Server
  const received: Buffer[] = []

  beforeAll(async () => {
    echo = createServer((socket) =>
      socket.on('data', (chunk) => {
        received.push(chunk)
        socket.write(chunk)
      }),
    )
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve))
  })
  afterAll(() => new Promise<void>((resolve) => echo.close(() => resolve())))

  function connectTo(proxy: TcpProxy): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host: proxy.host, port: proxy.port }, () => resolve(socket))
      socket.once('error', reject)
    })
  }

  function nextChunk(socket: Socket): Promise<string> {
    return new Promise((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString())))
  }

  it('matches a request split over two writes, forwards it, drops the reply and closes the client', async () => {
    const address = echo.address()
    if (typeof address !== 'object' || address === null) throw new Error('echo server has no port')
    const proxy = await startTcpProxy({ target: { host: '127.0.0.1', port: address.port } })
    proxies.push(proxy)
    const socket = await connectTo(proxy)
    const seen: string[] = []
    socket.on('data', (chunk: Buffer) => seen.push(chunk.toString()))
    const closed = new Promise((resolve) => socket.once('close', resolve))

    const dropped = proxy.dropReplyTo((bytes) => bytes.includes('COMMIT'))
    const firstEcho = nextChunk(socket)
    socket.write('COM')
    expect(await firstEcho).toBe('COM')
    socket.write('MIT')
    await dropped
    await closed

    expect(seen).toEqual(['COM'])
    expect(Buffer.concat(received).toString()).toBe('COMMIT')
  })
})
