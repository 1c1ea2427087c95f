import { ConfigError } from '@tessera/core'
import { describe, expect, it } from 'vitest'
import type { PostgresJsQuery, PostgresJsSql } from '../src/postgres-js-client'
import { PostgresJsConnection } from '../src/postgres-js-connection'
import type { SocketTracker } from '../src/sockets'

/**
 * A session whose socket cannot be read (TLS: `arm` answers false, as `SocketTracker.arm` does for an encrypted
 * socket). The test server has no TLS, so this is the one place the refusal is exercised; nothing may be sent.
 */
function sessionWithUnreadableSocket(): { connection: PostgresJsConnection; sent: string[] } {
  const sent: string[] = []
  const sql = {
    unsafe(text: string) {
      sent.push(text)
      throw new Error('nothing should be sent')
    },
  } as unknown as PostgresJsSql
  const sockets = { arm: () => false } as unknown as SocketTracker
  const connection = new PostgresJsConnection(
    sql,
    sockets,
    { driver: 'postgres.js', host: 'h', database: 'd', meta: {}, processId: 1 },
    true,
    undefined,
  )
  return { connection, sent }
}

describe('queryMulti on postgres.js when the reply cannot be read through the scanner', () => {
  it('rejects with a ConfigError naming TLS instead of returning merged results, and sends nothing', async () => {
    const { connection, sent } = sessionWithUnreadableSocket()
    const failure = await connection.runMulti('INSERT INTO t VALUES (1); UPDATE t SET a = 2').catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(ConfigError)
    expect((failure as ConfigError).message).toMatch(/over TLS/)
    expect(sent).toEqual([])
  })

  it('rejects with a ConfigError while other statements are outstanding on the session', async () => {
    const { connection, sent } = sessionWithUnreadableSocket()
    connection.active.add(new Promise(() => {}) as unknown as PostgresJsQuery)
    await expect(connection.runMulti('SELECT 1; SELECT 2')).rejects.toThrow(/outstanding/)
    expect(sent).toEqual([])
  })
})
