import { describe, expect, it } from 'vitest'
import { type ListenConnection, ListenSupervisor } from '../src/driver-index'
import { assertChannelName, SqlError } from '../src/index'

/** Records what the supervisor would send; no server is involved in these checks. */
function fakeConnection(): ListenConnection & { statements: string[]; ends: number } {
  const connection = {
    statements: [] as string[],
    ends: 0,
    async run(statement: string) {
      connection.statements.push(statement)
    },
    async end() {
      connection.ends++
    },
  }
  return connection
}

function supervisor(connection: ListenConnection): ListenSupervisor {
  return new ListenSupervisor({ connection, closedError: (operation) => new Error(`closed: ${operation}`) })
}

const ignore = () => {}

describe('ListenSupervisor channel names', () => {
  it('refuses a channel name PostgreSQL would truncate, naming it and the limit, before sending anything', async () => {
    const connection = fakeConnection()
    const channel = 'c'.repeat(70)
    const attempt = supervisor(connection).listen(channel, ignore)
    await expect(attempt).rejects.toThrow(SqlError)
    await expect(attempt).rejects.toThrow(`channel "${channel}" is 70 bytes in UTF-8, which PostgreSQL would silently truncate to 63`)
    expect(connection.statements).toEqual([])
  })

  it('counts bytes, not characters: 32 two-byte characters are refused, 31 and an ASCII one accepted', async () => {
    const connection = fakeConnection()
    const listener = supervisor(connection)
    await expect(listener.listen('é'.repeat(32), ignore)).rejects.toThrow(/is 64 bytes in UTF-8/)
    await listener.listen(`${'é'.repeat(31)}a`, ignore)
    expect(connection.statements).toEqual([`LISTEN "${'é'.repeat(31)}a"`])
    await listener.close()
  })

  it('refuses an empty name, a NUL character and a non-string without sending anything', async () => {
    const connection = fakeConnection()
    const listener = supervisor(connection)
    await expect(listener.listen('', ignore)).rejects.toThrow('channel "" is empty')
    await expect(listener.listen('a\0b', ignore)).rejects.toThrow(/channel "a\\u0000b" contains a NUL character/)
    await expect(listener.listen(42 as unknown as string, ignore)).rejects.toThrow('channel 42 is not a string')
    expect(connection.statements).toEqual([])
    expect(connection.ends).toBe(0)
    expect(listener.isIdle).toBe(true)
  })

  it('quotes an accepted name of exactly 63 bytes, with quotes inside, for LISTEN and UNLISTEN', async () => {
    const connection = fakeConnection()
    const listener = supervisor(connection)
    // A second channel keeps the connection open, so the UNLISTEN is sent rather than the connection ended.
    await listener.listen('other', ignore)
    const channel = `a"${'b'.repeat(61)}`
    const subscription = await listener.listen(channel, ignore)
    await subscription.unlisten()
    const quoted = `"a""${'b'.repeat(61)}"`
    expect(connection.statements).toEqual(['LISTEN "other"', `LISTEN ${quoted}`, `UNLISTEN ${quoted}`])
    await listener.close()
  })
})

describe('assertChannelName', () => {
  it('accepts what LISTEN and pg_notify both keep whole, and refuses the rest with SqlError', () => {
    expect(() => assertChannelName('orders')).not.toThrow()
    expect(() => assertChannelName('x'.repeat(63))).not.toThrow()
    const error = (() => {
      try {
        assertChannelName('x'.repeat(64))
      } catch (caught) {
        return caught as SqlError
      }
      throw new Error('expected a SqlError')
    })()
    expect(error).toBeInstanceOf(SqlError)
    expect(error.code).toBe('SQL_INVALID')
    expect(error.value).toBe('x'.repeat(64))
    expect(error.message).toContain('accepted: a non-empty string of at most 63 bytes in UTF-8, without NUL characters')
  })
})
