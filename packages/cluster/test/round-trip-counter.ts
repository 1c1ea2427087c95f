import { connect, createServer, type Server, type Socket } from 'node:net'

/**
 * A loopback TCP proxy in front of the test server that counts round trips: each time the client sends after the
 * server last spoke, the client must have waited for a reply, so one more round trip began. Pipelined messages
 * written in one go count once.
 */
export interface RoundTripCounter {
  readonly port: number
  /** Round trips since the proxy started, over every connection through it. */
  readonly roundTrips: number
  close(): Promise<void>
}

export async function startRoundTripCounter(target: { host: string; port: number }): Promise<RoundTripCounter> {
  let roundTrips = 0
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    let serverSpokeLast = true
    const upstream = connect(target.port, target.host)
    sockets.add(client)
    sockets.add(upstream)
    client.on('data', (chunk) => {
      if (serverSpokeLast) roundTrips++
      serverSpokeLast = false
      upstream.write(chunk)
    })
    upstream.on('data', (chunk) => {
      serverSpokeLast = true
      client.write(chunk)
    })
    const end = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('close', end).on('error', end)
    upstream.on('close', end).on('error', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('the proxy has no port')
  return {
    port: address.port,
    get roundTrips() {
      return roundTrips
    },
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
