import { createServer } from 'node:net'

/**
 * A TCP port on 127.0.0.1 that nothing listens on right now, for a server this process cannot start on port 0
 * itself (a child process). Another process may take it before the server binds, so callers retry on
 * "address in use".
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : undefined
      server.close(() => (port === undefined ? reject(new Error('listening socket has no port')) : resolve(port)))
    })
  })
}
