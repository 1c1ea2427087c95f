import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { AbortError, DataError, isTesseraError, ProviderClosedError, SqlError, sql, UndefinedTableError } from '@tessera/core'
import { describe, expect } from 'vitest'
import type { ConformanceContext } from './context'
import { rejectionOf, waitFor } from './helpers'

/** Lines `"i\tname i\n"` for i in [from, to). */
function* lines(from: number, to: number): Generator<string> {
  for (let i = from; i < to; i++) yield `${i}\tname ${i}\n`
}

/** Everything a Readable gives, as one string. */
async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/** A sink that takes `delayMs` per chunk: a slow consumer. */
function slowSink(delayMs: number, received: Buffer[]): Writable {
  return new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _encoding, callback) {
      received.push(chunk)
      if (delayMs === 0) setImmediate(callback)
      else setTimeout(callback, delayMs)
    },
  })
}

/** `copyFrom` / `copyTo`: COPY as Node streams, with back-pressure, on a pooled session or a transaction's. */
export function describeCopy(ctx: ConformanceContext): void {
  describe('copy', () => {
    ctx.test('copyFrom loads rows from a Readable and reports the row count; the session goes back to the pool', async () => {
      const { provider } = await ctx.open()
      const table = await ctx.createTable('id int PRIMARY KEY, name text')
      const copy = provider.copyFrom(sql`COPY ${sql.raw(table)} (id, name) FROM STDIN`)
      await pipeline(Readable.from(lines(0, 5000)), copy)
      expect(copy.rowCount).toBe(5000)
      expect(await ctx.admin(`SELECT count(*)::int AS n, max(name) AS top FROM ${table}`)).toEqual([{ n: 5000, top: 'name 999' }])
      expect(provider.stats().inUse).toBe(0)
    })

    ctx.test('copyFrom takes CSV with quoted fields and binary-safe buffers', async () => {
      const { provider } = await ctx.open()
      const table = await ctx.createTable('id int, note text')
      const copy = provider.copyFrom(`COPY ${table} (id, note) FROM STDIN (FORMAT csv)`)
      await pipeline(Readable.from([Buffer.from('1,"a, ""quoted"""\n'), '2,"two\nlines"\n', '3,\n']), copy)
      expect(copy.rowCount).toBe(3)
      expect(await ctx.admin(`SELECT id, note FROM ${table} ORDER BY id`)).toEqual([
        { id: 1, note: 'a, "quoted"' },
        { id: 2, note: 'two\nlines' },
        { id: 3, note: null },
      ])
    })

    ctx.test('copyFrom applies back-pressure: write() returns false while the socket is full', async () => {
      const { provider } = await ctx.open()
      const table = await ctx.createTable('id int, pad text')
      const copy = provider.copyFrom(`COPY ${table} (id, pad) FROM STDIN`)
      const row = `1\t${'x'.repeat(1000)}\n`
      let refused = 0
      let written = 0
      await new Promise<void>((resolve, reject) => {
        copy.on('error', reject)
        const writeMore = () => {
          while (written < 20_000) {
            written++
            if (!copy.write(row)) {
              refused++
              copy.once('drain', writeMore)
              return
            }
          }
          copy.end(resolve)
        }
        writeMore()
      })
      expect(refused).toBeGreaterThan(0)
      expect(copy.rowCount).toBe(20_000)
    })

    ctx.test('a bad row fails the stream with the mapped DataError, commits nothing, and the session is reused', async () => {
      const { provider } = await ctx.open({ pool: { max: 1 } })
      const table = await ctx.createTable('id int, name text')
      const copy = provider.copyFrom(`COPY ${table} (id, name) FROM STDIN`)
      const error = await rejectionOf(pipeline(Readable.from(['1\ta\n', '2\tb\n', 'not-a-number\tc\n', '4\td\n']), copy))
      expect(error).toBeInstanceOf(DataError)
      expect((error as DataError).code).toBe('22P02')
      expect(await ctx.admin(`SELECT count(*)::int AS n FROM ${table}`)).toEqual([{ n: 0 }])
      await waitFor(() => provider.stats().inUse === 0, 'the session is back in the pool')
      expect((await provider.query('SELECT 1 AS v')).rows).toEqual([{ v: 1 }])
      expect(provider.stats().destroyed).toBe(0)
    })

    ctx.test('a bad row after many good ones fails the stream while the source is still writing', async () => {
      const { provider } = await ctx.open()
      const table = await ctx.createTable('id int')
      async function* source() {
        yield '1\n'
        yield 'oops\n'
        // Far more than fits in the socket: the stream must fail while this is still being written.
        for (let i = 0; i < 1_000_000; i++) yield `${i}\n`
      }
      const error = await rejectionOf(pipeline(source, provider.copyFrom(`COPY ${table} (id) FROM STDIN`)))
      expect(error).toBeInstanceOf(DataError)
      expect(await ctx.admin(`SELECT count(*)::int AS n FROM ${table}`)).toEqual([{ n: 0 }])
      await waitFor(() => provider.stats().inUse === 0, 'the session is back in the pool')
    })

    ctx.test('a failing source aborts the COPY (CopyFail): nothing is committed and the source error reaches the caller', async () => {
      const { provider } = await ctx.open({ pool: { max: 1 } })
      const table = await ctx.createTable('id int')
      async function* source() {
        for (let i = 0; i < 100_000; i++) yield `${i}\n`
        throw new Error('the upload broke')
      }
      const error = await rejectionOf(pipeline(source, provider.copyFrom(`COPY ${table} (id) FROM STDIN`)))
      expect((error as Error).message).toBe('the upload broke')
      expect(await ctx.admin(`SELECT count(*)::int AS n FROM ${table}`)).toEqual([{ n: 0 }])
      await waitFor(() => provider.stats().inUse === 0, 'the session is back in the pool')
      expect((await provider.query('SELECT 2 AS v')).rows).toEqual([{ v: 2 }])
    })

    ctx.test('a missing table rejects with UndefinedTableError before any data is sent', async () => {
      const { provider } = await ctx.open()
      const copy = provider.copyFrom(`COPY ${ctx.schema}.no_such_table (id) FROM STDIN`)
      const error = await rejectionOf(pipeline(Readable.from(['1\n']), copy))
      expect(error).toBeInstanceOf(UndefinedTableError)
      await waitFor(() => provider.stats().inUse === 0, 'the session is back in the pool')
    })

    ctx.test('copyFrom refuses parameters and statements that are not COPY FROM STDIN, without taking a session', async () => {
      const { provider } = await ctx.open()
      const withParameter = await rejectionOf(pipeline(Readable.from(['1\n']), provider.copyFrom(sql`COPY t (id) FROM STDIN -- ${1}`)))
      expect(withParameter).toBeInstanceOf(SqlError)
      expect((withParameter as Error).message).toMatch(/COPY takes no parameters/)
      const wrongWay = await rejectionOf(pipeline(Readable.from(['1\n']), provider.copyFrom('COPY t TO STDOUT')))
      expect(wrongWay).toBeInstanceOf(SqlError)
      expect(provider.stats().created).toBe(0)
    })

    ctx.test('aborting the signal rolls the COPY back with AbortError', async () => {
      const { provider } = await ctx.open()
      const table = await ctx.createTable('id int')
      const controller = new AbortController()
      const copy = provider.copyFrom(`COPY ${table} (id) FROM STDIN`, { signal: controller.signal })
      async function* source() {
        for (let i = 0; ; i++) {
          if (i === 50_000) controller.abort(new Error('user left'))
          yield `${i}\n`
        }
      }
      const error = await rejectionOf(pipeline(source, copy))
      expect(error).toBeInstanceOf(AbortError)
      expect(await ctx.admin(`SELECT count(*)::int AS n FROM ${table}`)).toEqual([{ n: 0 }])
      await waitFor(() => provider.stats().inUse === 0, 'the session is back in the pool')
    })

    ctx.test('a backend killed mid-COPY fails the stream with a connection error; the session is dropped, not reused', async () => {
      const { provider, applicationName } = await ctx.open()
      const table = await ctx.createTable('id int')
      let killed = false
      async function* source() {
        for (let i = 0; i < 5_000_000; i++) {
          if (i === 200_000 && !killed) {
            killed = true
            await ctx.admin('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [applicationName])
          }
          yield `${i}\n`
        }
      }
      const error = await rejectionOf(pipeline(source, provider.copyFrom(`COPY ${table} (id) FROM STDIN`)))
      expect(isTesseraError(error)).toBe(true)
      expect((error as { code: string }).code).toMatch(/^(08|57P)/)
      expect(await ctx.admin(`SELECT count(*)::int AS n FROM ${table}`)).toEqual([{ n: 0 }])
      await waitFor(() => provider.stats().inUse === 0 && provider.stats().size === 0, 'the dead session is dropped')
      expect((await provider.query('SELECT 3 AS v')).rows).toEqual([{ v: 3 }])
    })

    ctx.test('close() while a COPY runs waits for it up to its timeout, then ends it with ProviderClosedError', async () => {
      const { provider } = await ctx.open()
      const table = await ctx.createTable('id int')
      const copy = provider.copyFrom(`COPY ${table} (id) FROM STDIN`)
      const failed = new Promise<unknown>((resolve) => copy.on('error', resolve))
      copy.write('1\n')
      await waitFor(() => provider.stats().inUse === 1, 'the COPY holds a session')
      await provider.close({ timeoutMs: 200 })
      const error = await failed
      expect(error).toBeInstanceOf(ProviderClosedError)
      expect(await ctx.admin(`SELECT count(*)::int AS n FROM ${table}`)).toEqual([{ n: 0 }])
      expect(provider.stats().size).toBe(0)
    })

    ctx.test('a COPY that ends before close()’s timeout is committed', async () => {
      const { provider } = await ctx.open()
      const table = await ctx.createTable('id int, name text')
      const copy = provider.copyFrom(`COPY ${table} (id, name) FROM STDIN`)
      const done = pipeline(Readable.from(lines(0, 10)), copy)
      done.catch(() => {})
      await provider.close({ timeoutMs: 5_000 })
      await done
      expect(copy.rowCount).toBe(10)
      expect(await ctx.admin(`SELECT count(*)::int AS n FROM ${table}`)).toEqual([{ n: 10 }])
    })

    ctx.test('copyFrom inside a transaction commits with it, and rolls back with it', async () => {
      const { provider } = await ctx.open({ pool: { max: 1 } })
      const table = await ctx.createTable('id int, name text')
      await provider.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${table} VALUES (-1, 'before')`)
        const copy = tx.copyFrom(`COPY ${table} (id, name) FROM STDIN`)
        await pipeline(Readable.from(lines(0, 100)), copy)
        expect(copy.rowCount).toBe(100)
        expect((await tx.query(`SELECT count(*)::int AS n FROM ${table}`)).rows).toEqual([{ n: 101 }])
      })
      expect(await ctx.admin(`SELECT count(*)::int AS n FROM ${table}`)).toEqual([{ n: 101 }])
      const error = await rejectionOf(
        provider.transaction(async (tx) => {
          await pipeline(Readable.from(lines(1000, 1100)), tx.copyFrom(`COPY ${table} (id, name) FROM STDIN`))
          throw new Error('changed my mind')
        }),
      )
      expect((error as Error).message).toBe('changed my mind')
      expect(await ctx.admin(`SELECT count(*)::int AS n FROM ${table}`)).toEqual([{ n: 101 }])
      expect(provider.stats().inUse).toBe(0)
    })

    ctx.test('copyTo streams a table out and reports the row count', async () => {
      const { provider } = await ctx.open()
      const table = await ctx.createTable('id int, name text')
      await ctx.admin(`INSERT INTO ${table} SELECT i, 'name ' || i FROM generate_series(1, 3) i`)
      const out = provider.copyTo(sql`COPY (SELECT * FROM ${sql.raw(table)} ORDER BY id) TO STDOUT (FORMAT csv)`)
      expect(await readAll(out)).toBe('1,name 1\n2,name 2\n3,name 3\n')
      expect(out.rowCount).toBe(3)
      await waitFor(() => provider.stats().inUse === 0, 'the session is back in the pool')
    })

    ctx.test('copyTo keeps pace with a slow consumer (back-pressure) and delivers every byte', async () => {
      const { provider } = await ctx.open()
      const received: Buffer[] = []
      const out = provider.copyTo(`COPY (SELECT i, repeat('x', 200) FROM generate_series(1, 20000) i) TO STDOUT`)
      await pipeline(out, slowSink(0, received))
      const text = Buffer.concat(received).toString('utf8')
      expect(text.split('\n').length - 1).toBe(20_000)
      expect(out.rowCount).toBe(20_000)
    })

    ctx.test('destroying a copyTo stream early cancels the COPY and frees the session', async () => {
      const { provider } = await ctx.open()
      const out = provider.copyTo(`COPY (SELECT a FROM generate_series(1, 10000) a, generate_series(1, 10000) b) TO STDOUT`)
      let bytes = 0
      for await (const chunk of out) {
        bytes += (chunk as Buffer).length
        if (bytes > 100_000) break
      }
      await waitFor(() => provider.stats().inUse === 0, 'the session is given back')
      expect((await provider.query('SELECT 4 AS v')).rows).toEqual([{ v: 4 }])
    })

    ctx.test('copyTo of a failing query rejects with the mapped error', async () => {
      const { provider } = await ctx.open()
      const out = provider.copyTo(`COPY (SELECT 1 / (i - 5000) FROM generate_series(1, 10000) i) TO STDOUT`)
      const error = await rejectionOf(readAll(out))
      expect((error as { code: string }).code).toBe('22012')
      await waitFor(() => provider.stats().inUse === 0, 'the session is back in the pool')
      expect((await provider.query('SELECT 5 AS v')).rows).toEqual([{ v: 5 }])
    })

    ctx.test('copyTo inside a transaction sees its uncommitted rows', async () => {
      const { provider } = await ctx.open()
      const table = await ctx.createTable('id int')
      const text = await provider.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${table} VALUES (7), (8)`)
        return readAll(tx.copyTo(`COPY ${table} TO STDOUT`))
      })
      expect(text).toBe('7\n8\n')
    })

    ctx.test('aborting a copyTo signal ends the stream with AbortError', async () => {
      const { provider } = await ctx.open()
      const controller = new AbortController()
      const out = provider.copyTo(`COPY (SELECT a FROM generate_series(1, 10000) a, generate_series(1, 10000) b) TO STDOUT`, {
        signal: controller.signal,
      })
      let bytes = 0
      const error = await rejectionOf(
        (async () => {
          for await (const chunk of out) {
            bytes += (chunk as Buffer).length
            if (bytes > 50_000) controller.abort()
          }
        })(),
      )
      expect(error).toBeInstanceOf(AbortError)
      await waitFor(() => provider.stats().inUse === 0, 'the session is given back')
    })
  })
}
