import { maySeparateStatements } from '@tessera/core/driver'
import { describe, expect, it } from 'vitest'
import { ResponseScanner } from '../src/sockets'

/** One backend message: type byte, int32 length (itself included), body. */
function message(type: string, body: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(5)
  header.write(type, 0, 'latin1')
  header.writeUInt32BE(body.length + 4, 1)
  return Buffer.concat([header, body])
}
const cstring = (text: string) => Buffer.from(`${text}\0`)
const auth = message('R', Buffer.from([0, 0, 0, 0]))
const backendKey = (pid: number) => {
  const body = Buffer.alloc(8)
  body.writeUInt32BE(pid, 0)
  body.writeUInt32BE(1234, 4)
  return message('K', body)
}
const ready = message('Z', Buffer.from('I'))
const complete = (tag: string) => message('C', cstring(tag))
const noColumns = message('T', Buffer.from([0, 0]))
const oneColumn = message('T', Buffer.concat([Buffer.from([0, 1]), cstring('id'), Buffer.alloc(18)]))
const dataRow = message('D', Buffer.concat([Buffer.from([0, 1, 0, 0, 0, 1]), Buffer.from('7')]))

/** Feeds `stream` to a fresh scanner in pieces cut at `cuts`, and returns what postgres.js would read and the PIDs seen. */
function scanInPieces(stream: Buffer, cuts: readonly number[]): { output: Buffer; pids: number[] } {
  const pids: number[] = []
  const scanner = new ResponseScanner((pid) => pids.push(pid))
  const outputs: Buffer[] = []
  let from = 0
  for (const cut of [...cuts, stream.length]) {
    outputs.push(scanner.scan(stream.subarray(from, cut)))
    from = cut
  }
  return { output: Buffer.concat(outputs), pids }
}

describe('ResponseScanner', () => {
  const startup = Buffer.concat([auth, backendKey(4242), ready])
  // INSERT …; UPDATE …; SELECT …; DELETE …: two row-less statements in a row, then rows, then a row-less one.
  const response = Buffer.concat([
    complete('INSERT 0 2'),
    complete('UPDATE 1'),
    oneColumn,
    dataRow,
    complete('SELECT 1'),
    complete('DELETE 3'),
    ready,
  ])
  const expected = Buffer.concat([
    complete('INSERT 0 2'),
    noColumns,
    complete('UPDATE 1'),
    oneColumn,
    dataRow,
    complete('SELECT 1'),
    noColumns,
    complete('DELETE 3'),
    ready,
  ])

  it('gives each row-less statement of a multi-statement response a result of its own, however the stream is cut', () => {
    const stream = Buffer.concat([startup, response])
    for (let cut = 0; cut <= stream.length; cut++) {
      const { output, pids } = scanInPieces(stream, [cut])
      expect(output.equals(Buffer.concat([startup, expected])), `cut at ${cut}`).toBe(true)
      expect(pids, `cut at ${cut}`).toEqual([4242])
    }
    const { output } = scanInPieces(
      stream,
      Array.from({ length: stream.length - 1 }, (_, index) => index + 1),
    )
    expect(output.equals(Buffer.concat([startup, expected]))).toBe(true)
  })

  it('leaves single-statement responses and pipelined statements (one ReadyForQuery each) untouched', () => {
    const stream = Buffer.concat([
      startup,
      complete('INSERT 0 1'),
      ready,
      complete('UPDATE 2'),
      ready,
      oneColumn,
      dataRow,
      complete('SELECT 1'),
      ready,
    ])
    expect(scanInPieces(stream, [7, 30]).output.equals(stream)).toBe(true)
  })

  it("skips the server's 'N' answer to an SSLRequest and steps aside after an 'S' (TLS)", () => {
    const refused = Buffer.concat([Buffer.from('N'), startup, response])
    expect(scanInPieces(refused, [1]).output.equals(Buffer.concat([Buffer.from('N'), startup, expected]))).toBe(true)
    const encrypted = Buffer.concat([Buffer.from('S'), response])
    const { output, pids } = scanInPieces(encrypted, [1])
    expect(output.equals(encrypted)).toBe(true)
    expect(pids).toEqual([])
  })

  it('reports each ReadyForQuery with its status, and resumes at a message boundary after bytes it did not read', () => {
    const statuses: number[] = []
    const scanner = new ResponseScanner(
      () => {},
      (status) => statuses.push(status),
    )
    const stream = Buffer.concat([startup, response])
    const cut = startup.length - 3 // inside the startup's ReadyForQuery
    expect(scanner.scan(stream.subarray(0, cut)).equals(stream.subarray(0, startup.length - ready.length))).toBe(true)
    expect(scanner.atBoundary).toBe(false)
    scanner.scan(stream.subarray(cut, startup.length))
    expect(scanner.atBoundary).toBe(true)
    expect(statuses).toEqual([73])
    // Later replies were read past the scanner; it is armed again for one reply that starts at a message boundary.
    scanner.resume()
    expect(scanner.scan(response).equals(expected)).toBe(true)
    expect(statuses).toEqual([73, 73])
  })
})

describe('maySeparateStatements', () => {
  it('tells texts that may hold several statements from single ones', () => {
    for (const single of ['SELECT 1', 'SELECT 1;', 'SELECT 1 ;  \n', 'UPDATE t SET a = 1;;', ''])
      expect(maySeparateStatements(single), single).toBe(false)
    for (const several of ['SELECT 1; SELECT 2', 'INSERT INTO t VALUES (1);UPDATE t SET a = 2', "SELECT ';' AS semicolon"])
      expect(maySeparateStatements(several), several).toBe(true)
  })
})
