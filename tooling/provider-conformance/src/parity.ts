import { tracingChannel } from 'node:diagnostics_channel'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import {
  CHANNELS,
  type ErrorContext,
  type Hooks,
  isTesseraError,
  manyFirst,
  maybeOne,
  type Notice,
  one,
  oneFirst,
  type Provider,
  type ProviderOptions,
  type QueryContext,
  type QueryResult,
  type RowSchema,
  type RowValidationError,
  SERVER_ERROR_FIELDS,
  sql,
} from '@tessera/core'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { PG_URL, uniqueName } from '../../test-services/env'
import type { ProviderFactory } from './context'
import { collect, deferred, waitFor } from './helpers'
import { PARITY_CORPUS, PARITY_LITERALS } from './parity-corpus'
import { recordTelemetry } from './parity-telemetry'
import { ROW_MODE_PARAMS, ROW_MODE_SQL } from './row-mode'

/** A hand-written Standard Schema: `n` must be 1. */
const positiveOne: RowSchema<{ n: number }> = {
  '~standard': {
    version: 1,
    vendor: 'parity',
    validate: (row) => ((row as { n: number }).n === 1 ? { value: { n: 1 } } : { issues: [{ message: 'not one', path: ['n'] }] }),
  },
}

/** The error fields compared between providers: everything but the driver's own cause and stack. */
const ERROR_FIELDS = ['code', 'sqlState', 'message', 'retryable', ...SERVER_ERROR_FIELDS, 'query'] as const

/** An operation's outcome as plain data: its value, or its error's class and fields. */
export type ParityOutcome = { ok: true; value: unknown } | { ok: false; error: Record<string, unknown> }

/** Describes an error by its class chain and {@link ERROR_FIELDS}, so two providers' errors compare with `toEqual`. */
export function describeError(error: unknown): Record<string, unknown> {
  if (!isTesseraError(error)) return { notTessera: String(error) }
  const described: Record<string, unknown> = { class: error.constructor.name, tessera: true }
  let proto: unknown = Object.getPrototypeOf(error)
  const chain: string[] = []
  while (proto !== null && proto !== Error.prototype) {
    chain.push((proto as { constructor: { name: string } }).constructor.name)
    proto = Object.getPrototypeOf(proto)
  }
  described.chain = chain
  const record = error as unknown as Record<string, unknown>
  for (const field of ERROR_FIELDS) if (record[field] !== undefined) described[field] = record[field]
  return described
}

export async function outcomeOf(run: () => Promise<unknown>): Promise<ParityOutcome> {
  try {
    return { ok: true, value: await run() }
  } catch (error) {
    return { ok: false, error: describeError(error) }
  }
}

/** An outcome whose error message names the driver's parameter limit, with the number masked. */
function withoutLimit(outcome: ParityOutcome): ParityOutcome {
  if (outcome.ok) return outcome
  const message = outcome.error.message
  return {
    ok: false,
    error: { ...outcome.error, message: typeof message === 'string' ? message.replace(/at most \d+/, 'at most <limit>') : message },
  }
}

/** A result without the table OIDs of its fields (two providers writing to two tables get two OIDs). */
function withoutTableIds(result: QueryResult): QueryResult {
  return { ...result, fields: result.fields.map(({ tableID: _tableID, ...field }) => field) }
}

/**
 * Declares the parity suite: every test runs the same operation through every provider and compares their outputs
 * with each other (`toEqual`): results, errors, hook contexts and diagnostics. `factories` maps a provider name to
 * its factory; the first one is the reference the others are compared with.
 *
 * @example describeParity({ pg: (o) => createPgProvider(o), 'postgres.js': (o) => createPostgresJsProvider(o) })
 */
export function describeParity(factories: Readonly<Record<string, ProviderFactory>>): void {
  const names = Object.keys(factories)
  if (names.length < 2) throw new Error('describeParity needs at least two providers to compare')

  describe(`provider parity: ${names.join(' = ')}`, () => {
    const schema = uniqueName('parity')
    let admin: pg.Client | undefined
    const opened: Provider[] = []

    beforeAll(async () => {
      admin = new pg.Client({ connectionString: PG_URL, application_name: `${schema}_admin` })
      await admin.connect()
      await admin.query(`CREATE SCHEMA ${schema}`)
      await admin.query(`CREATE TABLE ${schema}.parent (id int PRIMARY KEY)`)
      await admin.query(`CREATE TABLE ${schema}.child (
        id int PRIMARY KEY,
        parent_id int REFERENCES ${schema}.parent (id),
        email varchar(20) UNIQUE,
        qty int NOT NULL CHECK (qty >= 0),
        during int4range,
        EXCLUDE USING gist (during WITH &&)
      )`)
      await admin.query(`INSERT INTO ${schema}.parent VALUES (1)`)
      await admin.query(`INSERT INTO ${schema}.child VALUES (1, 1, 'taken@example.com', 1, '[1,10)')`)
    })

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((provider) => provider.close({ timeoutMs: 5_000 }).catch(() => undefined)))
    })

    afterAll(async () => {
      if (admin === undefined) return
      try {
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
      } finally {
        await admin.end()
      }
    })

    async function open(options: Partial<ProviderOptions> = {}): Promise<Array<[string, Provider]>> {
      const providers: Array<[string, Provider]> = []
      for (const name of names) {
        const provider = await factories[name]!({ connectionString: PG_URL, applicationName: uniqueName('parity'), ...options })
        opened.push(provider)
        providers.push([name, provider])
      }
      return providers
    }

    /** Runs `run` on every provider, in turn, and expects every output to equal the first provider's. */
    async function expectSame<T>(run: (provider: Provider, name: string) => Promise<T>, options?: Partial<ProviderOptions>): Promise<T> {
      const providers = await open(options)
      const outputs: Array<[string, T]> = []
      for (const [name, provider] of providers) outputs.push([name, await run(provider, name)])
      const [reference, ...others] = outputs
      for (const [name, output] of others) expect({ provider: name, output }).toEqual({ provider: name, output: reference![1] })
      return reference![1]
    }

    describe('queryMulti', () => {
      it('every result of multi-statement texts, their errors and rollbacks, and onQuery contexts are equal', async () => {
        // The providers run in turn: each one's contexts are the ones pushed during its run.
        const contexts: unknown[] = []
        await expectSame(
          async (provider) => {
            const first = contexts.length
            const table = `${schema}.multi`
            const texts = [
              `CREATE TABLE ${table} (id int PRIMARY KEY, name text); INSERT INTO ${table} VALUES (1, 'a'), (2, 'b'); UPDATE ${table} SET name = 'c'; SELECT * FROM ${table} ORDER BY id; DELETE FROM ${table} WHERE id = 2; SHOW search_path; SELECT 1 WHERE false`,
              'SELECT 1 AS n;; ; SELECT 2 AS n, 3 AS m;',
              '',
              `INSERT INTO ${table} VALUES (3); SELECT 1 / 0; INSERT INTO ${table} VALUES (4)`,
              `SELECT count(*)::int AS n FROM ${table}; DROP TABLE ${table}`,
              'SELECT 1 AS a, 2 AS a; VALUES (1, 2)',
            ]
            const outcomes: ParityOutcome[] = []
            for (const text of texts) {
              outcomes.push(await outcomeOf(async () => (await provider.queryMulti(text)).map(withoutTableIds)))
            }
            outcomes.push(await outcomeOf(() => provider.queryMulti('SELECT 1 AS a, 2 AS a; VALUES (1, 2)', { rowMode: 'array' })))
            outcomes.push(await outcomeOf(() => provider.queryMulti(sql`SELECT ${1}::int; SELECT 2`)))
            outcomes.push(
              await outcomeOf(() => provider.transaction((tx) => tx.queryMulti("SET LOCAL application_name = 'x'; SHOW application_name"))),
            )
            outcomes.push(await outcomeOf(() => provider.connection((connection) => connection.queryMulti('SELECT 1 AS n; SELECT 2 AS n'))))
            return { outcomes, contexts: contexts.slice(first) }
          },
          {
            hooks: {
              onQuery: (ctx, next) => {
                contexts.push({ sql: ctx.sql, params: ctx.params, operation: ctx.operation, transaction: ctx.transaction })
                return next()
              },
            },
          },
        )
      })
    })

    describe('values', () => {
      it('read every corpus value back equal, sent as a parameter, prepared and unprepared', async () => {
        await expectSame(async (provider) => {
          const outcomes: Record<string, ParityOutcome> = {}
          for (const entry of PARITY_CORPUS) {
            outcomes[`${entry.name} (${entry.type})`] = await outcomeOf(() =>
              provider.query(`SELECT $1::${entry.type} AS v`, [entry.value]),
            )
            outcomes[`${entry.name} (${entry.type}) unprepared`] = await outcomeOf(() =>
              provider.query(`SELECT $1::${entry.type} AS v`, [entry.value], { prepare: false }),
            )
          }
          return outcomes
        })
      })

      it('every corpus value reads back as the corpus expects, on every provider', async () => {
        for (const [, provider] of await open()) {
          for (const entry of PARITY_CORPUS) {
            const result = await provider.query(`SELECT $1::${entry.type} AS v`, [entry.value])
            expect(result.rows[0]?.v, `${entry.name} (${entry.type})`).toEqual('expected' in entry ? entry.expected : entry.value)
          }
        }
      })

      it('read values the server writes itself (literals, no parameters) equal', async () => {
        await expectSame(async (provider) => {
          const outcomes: Record<string, ParityOutcome> = {}
          for (const literal of PARITY_LITERALS) outcomes[literal] = await outcomeOf(() => provider.query(`SELECT ${literal} AS v`))
          return outcomes
        })
      })

      it('store the corpus in a table and read it back equal through query, the sql tag and stream', async () => {
        await expectSame(async (provider) => {
          const table = `${schema}.corpus`
          const columns = PARITY_CORPUS.map((entry, index) => `c${index} ${entry.type}`).join(', ')
          await provider.query(`CREATE TABLE ${table} (${columns})`)
          const values = PARITY_CORPUS.map((entry) => entry.value)
          const inserted = await provider.query(sql`INSERT INTO ${sql.raw(table)} VALUES (${sql.join(values)})`)
          const queried = withoutTableIds(await provider.query(`SELECT * FROM ${table}`))
          const streamed = await collect(provider.stream(`SELECT * FROM ${table}`, [], { batchSize: 1 }))
          await provider.query(`DROP TABLE ${table}`)
          return { inserted, queried, streamed }
        })
      })

      it('return equal empty results, NULLs and field descriptions', async () => {
        await expectSame(async (provider) => [
          await provider.query('SELECT 1::int8 AS a, $1::text AS b WHERE false', ['x']),
          await provider.query('SELECT NULL AS untyped, NULL::int4 AS typed, $1::text AS param', [null]),
          await provider.query('SELECT 1 AS dup, 2 AS dup'),
          await provider.query('SELECT'),
          await provider.query(`SELECT $1::int4 AS "Mixed Case", $2::text AS "with space"`, [1, 'x']),
        ])
      })
    })

    describe('bulk paths', () => {
      it('COPY in and out, streams of … RETURNING and the sql helpers give equal rows, counts and errors', async () => {
        await expectSame(async (provider) => {
          const table = `${schema}.bulk`
          await provider.query(`CREATE TABLE ${table} (id int PRIMARY KEY, name text, doc jsonb)`)
          const copy = provider.copyFrom(`COPY ${table} (id, name, doc) FROM STDIN (FORMAT csv)`)
          await pipeline(Readable.from(['1,"a, b",{}\n', '2,,"{""k"": [1, null]}"\n', '3,c,null\n']), copy)
          const chunks: Buffer[] = []
          const out = provider.copyTo(`COPY (SELECT * FROM ${table} ORDER BY id) TO STDOUT (FORMAT csv, HEADER)`)
          for await (const chunk of out) chunks.push(chunk as Buffer)
          const badCopy = await outcomeOf(() =>
            pipeline(Readable.from(['4,d,{}\n', 'x,y,{}\n']), provider.copyFrom(`COPY ${table} (id, name, doc) FROM STDIN (FORMAT csv)`)),
          )
          const unnest = await provider.query(
            sql`INSERT INTO ${sql.raw(table)} (id, name, doc) SELECT * FROM ${sql.unnest(
              [
                [10, 'ten', { n: 10 }],
                [11, null, null],
              ],
              ['int4', 'text', 'jsonb'],
            )} RETURNING *`,
          )
          const set = await provider.query(
            sql`UPDATE ${sql.raw(table)} SET ${sql.set({ name: 'one', doc: sql.json({ a: [1, 'x'] }) })} WHERE id = ANY(${sql.array([1], 'int4')}) RETURNING *`,
          )
          const returned = await collect(
            provider.stream(`UPDATE ${table} SET name = coalesce(name, '-') || '!' RETURNING id, name, doc`, [], { batchSize: 2 }),
          )
          const failed = await outcomeOf(() => collect(provider.stream(`INSERT INTO ${table} (id) VALUES (1), (99) RETURNING id`)))
          const rows = await provider.query(`SELECT * FROM ${table} ORDER BY id`)
          await provider.query(`DROP TABLE ${table}`)
          return {
            rowCount: copy.rowCount,
            copiedOut: Buffer.concat(chunks).toString('utf8'),
            copiedOutCount: out.rowCount,
            badCopy,
            unnest: withoutTableIds(unnest),
            set: withoutTableIds(set),
            returned: returned.sort((a, b) => (a.id as number) - (b.id as number)),
            failed,
            rows: withoutTableIds(rows),
          }
        })
      })
    })

    describe('commands', () => {
      it('report equal rowCount, command and rows for DDL, DML, utility statements and multi-statement text', async () => {
        await expectSame(async (provider) => {
          const table = `${schema}.commands`
          const statements = [
            `CREATE TABLE ${table} (id int PRIMARY KEY, name text)`,
            `CREATE INDEX ON ${table} (name)`,
            `ALTER TABLE ${table} ADD COLUMN extra int`,
            `INSERT INTO ${table} (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c')`,
            `INSERT INTO ${table} (id, name) VALUES (4, 'd') RETURNING id`,
            `INSERT INTO ${table} (id, name) VALUES (1, 'z') ON CONFLICT DO NOTHING`,
            `UPDATE ${table} SET name = upper(name) WHERE id <= 2`,
            `UPDATE ${table} SET name = name WHERE false`,
            `SELECT id, name FROM ${table} ORDER BY id`,
            `DELETE FROM ${table} WHERE id = 3 RETURNING *`,
            `VALUES (1, 'x'), (2, 'y')`,
            `TABLE ${table}`,
            'SHOW DateStyle',
            'SHOW IntervalStyle',
            "SET application_name = 'parity'",
            `DO $$ BEGIN PERFORM 1; END $$`,
            `EXPLAIN (COSTS OFF) SELECT 1`,
            `SELECT 1 AS a; SELECT 2 AS b`,
            `INSERT INTO ${table} (id) VALUES (10); SELECT count(*) AS n FROM ${table}`,
            `TRUNCATE ${table}`,
            `DROP TABLE ${table}`,
          ]
          const results: QueryResult[] = []
          for (const text of statements) results.push(withoutTableIds(await provider.query(text)))
          return results
        })
      })

      // postgres.js starts a new result only at a RowDescription; the provider separates the results of row-less
      // statements itself (provider-postgresjs' ResponseScanner), so the last statement's result is what both return.
      it("multi-statement text returns the last statement's result: rows, rowCount, command and fields", async () => {
        await expectSame(async (provider) => {
          const table = `${schema}.multi`
          await provider.query(`CREATE TABLE ${table} (id int)`)
          const results = []
          for (const text of [
            `INSERT INTO ${table} VALUES (1), (2); UPDATE ${table} SET id = 5 WHERE id = 1`,
            `INSERT INTO ${table} VALUES (3), (4), (6); DELETE FROM ${table} WHERE id = 4; UPDATE ${table} SET id = id`,
            `SELECT id FROM ${table} ORDER BY id; INSERT INTO ${table} VALUES (7)`,
            `SELECT id FROM ${table} ORDER BY id; UPDATE ${table} SET id = id WHERE id > 5; SELECT count(*) AS n FROM ${table}`,
            `UPDATE ${table} SET id = id; SELECT 1 AS one WHERE false; DELETE FROM ${table} WHERE id = 7`,
            `CREATE TEMP TABLE multi_tmp (x int); INSERT INTO multi_tmp VALUES (1), (2); DROP TABLE multi_tmp`,
            `SET LOCAL work_mem = '4MB'; SHOW work_mem`,
          ]) {
            results.push(withoutTableIds(await provider.query(text)))
          }
          // A failing later statement rolls the whole text back, on both.
          const failed = await outcomeOf(() => provider.query(`INSERT INTO ${table} VALUES (100); UPDATE ${table} SET id = 1 / 0`))
          const after = await provider.query(`SELECT id FROM ${table} ORDER BY id`)
          await provider.query(`DROP TABLE ${table}`)
          return { results, failed, after: after.rows }
        })
      })

      it('a multi-statement text with many row-less statements and large results keeps every count apart', async () => {
        await expectSame(async (provider) => {
          const table = `${schema}.multi_large`
          await provider.query(`CREATE TABLE ${table} (id int, filler text)`)
          const statements = []
          for (let i = 0; i < 200; i++)
            statements.push(`INSERT INTO ${table} SELECT g, repeat('x', 300) FROM generate_series(1, ${i + 1}) g`)
          const inserted = await provider.query(statements.join('; '))
          const mixed = await provider.query(`SELECT * FROM ${table} ORDER BY id LIMIT 5000; DELETE FROM ${table} WHERE id > 150`)
          await provider.query(`DROP TABLE ${table}`)
          return { inserted: withoutTableIds(inserted), mixed: withoutTableIds(mixed) }
        })
      })

      it('run equal batches: mixed statements, a failure in the middle, atomic and not', async () => {
        await expectSame(async (provider) => {
          const table = `${schema}.batch`
          await provider.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`)
          const ok = await provider.batch([
            { sql: `INSERT INTO ${table} VALUES ($1), ($2)`, params: [1, 2] },
            { sql: `UPDATE ${table} SET id = id + 10 WHERE id = $1`, params: [2] },
            { sql: `SELECT id FROM ${table} ORDER BY id` },
            { sql: 'SELECT $1::int8 AS big, $2::jsonb AS doc', params: [5n, { a: [1] }] },
          ])
          const failing = [
            { sql: `INSERT INTO ${table} VALUES ($1)`, params: [20] },
            { sql: `INSERT INTO ${table} VALUES ($1)`, params: [1] },
            { sql: `INSERT INTO ${table} VALUES ($1)`, params: [21] },
          ]
          const plain = await outcomeOf(() => provider.batch(failing))
          const atomic = await outcomeOf(() =>
            provider.batch(failing.map((q) => ({ ...q, params: [Number(q.params[0]) + 100] })).concat(failing[1]!), { atomic: true }),
          )
          const after = await provider.query(`SELECT id FROM ${table} ORDER BY id`)
          await provider.query(`DROP TABLE ${table}`)
          return { ok: ok.map(withoutTableIds), plain, atomic, after: after.rows }
        })
      })
    })

    describe('issue 12 features', () => {
      it("rowMode 'array' gives equal rows and fields, prepared and unprepared, on a query, a transaction and a reserved connection", async () => {
        await expectSame(async (provider) => {
          const outputs: unknown[] = []
          for (const prepare of [true, false]) {
            outputs.push(withoutTableIds(await provider.query(ROW_MODE_SQL, ROW_MODE_PARAMS, { rowMode: 'array', prepare })))
          }
          outputs.push(await provider.transaction(async (tx) => (await tx.query(ROW_MODE_SQL, ROW_MODE_PARAMS, { rowMode: 'array' })).rows))
          outputs.push(await provider.connection(async (c) => (await c.query(ROW_MODE_SQL, ROW_MODE_PARAMS, { rowMode: 'array' })).rows))
          outputs.push(
            await collect(provider.stream('SELECT i, i AS i FROM generate_series(1, 5) AS i', [], { rowMode: 'array', batchSize: 2 })),
          )
          return outputs
        })
      })

      it('result helpers and row validation give equal values and errors', async () => {
        await expectSame(async (provider) => [
          await outcomeOf(() => one(provider, 'SELECT 1 AS a, 2 AS b')),
          await outcomeOf(() => one(provider, 'SELECT 1 WHERE false')),
          await outcomeOf(() => maybeOne(provider, 'SELECT i FROM generate_series(1, 2) AS i')),
          await outcomeOf(() => manyFirst(provider, 'SELECT i, i FROM generate_series(1, 2) AS i')),
          await outcomeOf(() => oneFirst(provider, 'SELECT count(*) FROM generate_series(1, 3)')),
          await outcomeOf(async () => {
            try {
              return await provider.query('SELECT 1 AS n UNION ALL SELECT 2', [], { schema: positiveOne })
            } catch (error) {
              return { rowIndex: (error as RowValidationError).rowIndex, issues: (error as RowValidationError).issues }
            }
          }),
        ])
      })

      it('connection(fn) leaves the next borrower a reset session on every driver', async () => {
        await expectSame(
          async (provider) => {
            await provider.connection(async (c) => {
              await c.query("SET DateStyle = 'German'")
              await c.query('CREATE TEMP TABLE parity_tmp (id int)')
            })
            return provider.connection(async (c) => [
              (await c.query('SHOW DateStyle')).rows,
              (await c.query("SELECT to_regclass('pg_temp.parity_tmp') AS t")).rows,
            ])
          },
          { pool: { max: 1 } },
        )
      })
    })

    describe('errors', () => {
      const cases: Record<string, string> = {
        '23505 unique': `INSERT INTO {s}.child (id, email, qty) VALUES (2, 'taken@example.com', 1)`,
        '23503 foreign key': `INSERT INTO {s}.child (id, parent_id, qty) VALUES (3, 999, 1)`,
        '23502 not null': `INSERT INTO {s}.child (id, qty) VALUES (4, NULL)`,
        '23514 check': `INSERT INTO {s}.child (id, qty) VALUES (5, -1)`,
        '23P01 exclusion': `INSERT INTO {s}.child (id, qty, during) VALUES (6, 1, '[5,6)')`,
        '22001 string too long': `INSERT INTO {s}.child (id, qty, email) VALUES (7, 1, repeat('x', 30))`,
        '22003 out of range': 'SELECT 2147483647::int4 + 1',
        '22012 division by zero': 'SELECT 1 / 0',
        '22P02 invalid text': "SELECT 'twelve'::int",
        '22007 invalid datetime': "SELECT '2024-13-45'::date",
        '2201B invalid regex': "SELECT 'a' ~ '('",
        '42601 syntax': 'SELECT id FROM WHERE id = 1',
        '42P01 undefined table': 'SELECT * FROM {s}.no_such_table',
        '42703 undefined column': 'SELECT no_such_column FROM {s}.parent',
        '42883 undefined function': 'SELECT no_such_function(1)',
        '42804 datatype mismatch': "SELECT CASE WHEN true THEN 1 ELSE 'a'::bool END",
        '42P07 duplicate table': 'CREATE TABLE {s}.parent (id int)',
        '0A000 not supported': "DO $$ BEGIN RAISE EXCEPTION 'nope' USING ERRCODE = '0A000'; END $$",
        'P0001 raise with every field': `DO $$ BEGIN RAISE EXCEPTION 'custom %', 42 USING DETAIL = 'the detail', HINT = 'the hint', COLUMN = 'col', CONSTRAINT = 'con', DATATYPE = 'typ', TABLE = 'tab', SCHEMA = 'sch'; END $$`,
        '40001 serialization (raised)': "DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$",
        '40P01 deadlock (raised)': "DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$",
        '55P03 lock not available (raised)': "DO $$ BEGIN RAISE EXCEPTION 'locked' USING ERRCODE = '55P03'; END $$",
        '53300 too many connections (raised)': "DO $$ BEGIN RAISE EXCEPTION 'full' USING ERRCODE = '53300'; END $$",
        '42501 insufficient privilege (raised)': "DO $$ BEGIN RAISE EXCEPTION 'denied' USING ERRCODE = '42501'; END $$",
        '57014 canceled (raised)': "DO $$ BEGIN RAISE EXCEPTION 'canceled' USING ERRCODE = '57014'; END $$",
        'an error inside a function (where, internal query)': `DO $$ BEGIN EXECUTE 'SELECT 1/0'; END $$`,
      }
      for (const [label, text] of Object.entries(cases)) {
        it(`reject equally: ${label}`, async () => {
          const outcome = await expectSame(async (provider) => {
            const statement = text.replaceAll('{s}', schema)
            return [
              await outcomeOf(() => provider.query(statement)),
              await outcomeOf(() => provider.query(statement, [], { prepare: false })),
            ]
          })
          expect(outcome[0]?.ok).toBe(false)
        })
      }

      it('cut a statement equally at the close deadline, and tell onLost equally when the LISTEN session is terminated', async () => {
        await expectSame(async (provider) => {
          const running = outcomeOf(() => provider.query('SELECT pg_sleep(5)'))
          await new Promise((resolve) => setTimeout(resolve, 100))
          await provider.close({ timeoutMs: 200 })
          return [await running]
        })
        await expectSame(async (provider) => {
          const application = uniqueName('parity_lost')
          const listener = await factories[names[0]!]!({ connectionString: PG_URL, applicationName: application })
          await listener.close()
          const lost: unknown[] = []
          const subscription = await provider.listen(uniqueName('parity_lost'), () => {}, {
            onLost: (error) => void lost.push(describeError(error)),
          })
          await admin!.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND query LIKE '%parity_lost%'",
          )
          await waitFor(() => lost.length === 1, 'onLost is called')
          await subscription.unlisten()
          return lost
        })
      })

      it('read arrays of a user enum equally (as text when the enum is not named in enums)', async () => {
        await admin!.query(`CREATE TYPE ${schema}.mood AS ENUM ('sad', 'ok')`)
        await expectSame(async (provider) => [
          await outcomeOf(async () => (await provider.query(`SELECT ARRAY['sad', 'ok']::${schema}.mood[] AS moods`)).rows),
          await outcomeOf(async () => (await provider.query(`SELECT 'ok'::${schema}.mood AS mood`)).rows),
        ])
      })

      it('reject bad input equally, before sending: wrong parameter count, NUL in text or in a value, too many parameters', async () => {
        const many = Array.from({ length: 70_000 }, (_, i) => i)
        const outcomes = await expectSame(async (provider) => [
          await outcomeOf(() => provider.query('SELECT $1::int AS a, $2::int AS b', [1])),
          await outcomeOf(() => provider.query('SELECT $1::int AS a', [1, 2])),
          await outcomeOf(() => provider.query('SELECT 1\u0000')),
          await outcomeOf(() => provider.query('SELECT $1::text AS t', ['a\u0000b'])),
          // The limit itself is a property each driver declares (pg 65535, postgres.js 65533): only it may differ.
          withoutLimit(await outcomeOf(() => provider.query(`SELECT ${many.map((i) => `$${i + 1}`).join(',')}`, many))),
          await outcomeOf(() => provider.query('BEGIN')),
        ])
        for (const outcome of outcomes.slice(0, 5)) expect(outcome.ok).toBe(false)
        expect(outcomes[5]!.ok).toBe(true)
      })

      it('reject equally with parameters, inside a transaction, a savepoint, a batch and a stream', async () => {
        await expectSame(async (provider) => [
          await outcomeOf(() =>
            provider.query(`INSERT INTO ${schema}.child (id, email, qty) VALUES ($1, $2, $3)`, [9, 'taken@example.com', 1]),
          ),
          await outcomeOf(() => provider.transaction((tx) => tx.query('SELECT 1 / $1::int', [0]))),
          await outcomeOf(() =>
            provider.transaction((tx) => tx.savepoint((inner) => inner.query(`INSERT INTO ${schema}.parent VALUES (1)`))),
          ),
          await outcomeOf(() => provider.transaction((tx) => tx.query(`INSERT INTO ${schema}.parent VALUES (50)`), { readOnly: true })),
          await outcomeOf(() => provider.batch([{ sql: 'SELECT 1' }, { sql: 'SELECT 1/0' }])),
          await outcomeOf(() => collect(provider.stream('SELECT 1/0'))),
          await outcomeOf(() =>
            provider.transaction(async (tx) => {
              await tx.query('SELECT 1/0').catch(() => undefined)
              return 'went on'
            }),
          ),
        ])
      })

      it('reject equally on statement_timeout and on a query cancelled by timeoutMs', async () => {
        await expectSame(
          async (provider) => [
            await outcomeOf(() => provider.query('SELECT pg_sleep(5)')),
            await outcomeOf(() => provider.query('SELECT pg_sleep(5)', [], { timeoutMs: 1_000 })),
          ],
          { statementTimeoutMs: 50 },
        )
      })

      it('fail to connect equally: refused, unknown database', async () => {
        const describeConnect = async (options: Partial<ProviderOptions>) => {
          const outcomes: Array<Record<string, unknown>> = []
          for (const name of names) {
            const provider = await factories[name]!({ connectionString: PG_URL, retry: false, ...options })
            opened.push(provider)
            const outcome = await outcomeOf(() => provider.query('SELECT 1'))
            const error = outcome.ok ? {} : outcome.error
            // The message carries the driver's wording for a network error; class, code and flags must agree.
            outcomes.push({
              class: error.class,
              chain: error.chain,
              code: error.code,
              retryable: error.retryable,
              severity: error.severity,
            })
          }
          for (const outcome of outcomes.slice(1)) expect(outcome).toEqual(outcomes[0])
          return outcomes[0]
        }
        expect((await describeConnect({ host: '127.0.0.1', port: 1, connectTimeoutMs: 2_000 }))?.class).toBe('ConnectionError')
        expect((await describeConnect({ database: uniqueName('no_such_db') }))?.code).toBe('3D000')
      })
    })

    describe('hooks and diagnostics', () => {
      it('give onQuery, onTransaction and onError equal contexts, and publish equal tessera:query messages', async () => {
        await expectSame(async (provider) => {
          // Each provider runs alone here, so the channel only carries its own messages.
          const messages: unknown[] = []
          const channel = tracingChannel<unknown, Record<string, unknown>>(CHANNELS.query)
          const handlers = {
            start: (message: Record<string, unknown>) => void messages.push({ ...message, driver: undefined, result: undefined }),
            end() {},
            asyncStart() {},
            asyncEnd: (message: Record<string, unknown>) =>
              void messages.push({
                done: message.sql,
                result: message.result === undefined ? undefined : 'set',
                error: describeError(message.error),
              }),
            error() {},
          }
          channel.subscribe(handlers)
          try {
            await provider.query('SELECT $1::int4 AS v', [1])
            await provider.query('SELECT * FROM no_such_table_parity').catch(() => undefined)
            await provider.transaction((tx) => tx.query('SELECT 2 AS w'), { isolation: 'repeatable read' })
            await provider.batch([{ sql: 'SELECT 3' }, { sql: 'SELECT $1::text', params: ['x'] }])
            await collect(provider.stream('SELECT 4 AS s'))
          } finally {
            channel.unsubscribe(handlers)
          }
          return messages
        })
      })

      it('give hooks equal contexts for the same operations', async () => {
        const contexts = new Map<string, unknown[]>()
        const hooksFor = (name: string): Hooks => {
          const list: unknown[] = []
          contexts.set(name, list)
          const strip = (ctx: QueryContext) => ({ ...ctx, driver: typeof ctx.driver, meta: ctx.meta })
          return {
            onQuery: (ctx, next) => {
              list.push(['query', strip(ctx)])
              return next()
            },
            onTransaction: (ctx, next) => {
              list.push(['transaction', { ...ctx, driver: typeof ctx.driver }])
              return next()
            },
            onError: (error, ctx: ErrorContext) => void list.push(['error', describeError(error), { ...ctx, driver: typeof ctx.driver }]),
          }
        }
        const providers: Array<[string, Provider]> = []
        for (const name of names) {
          const provider = await factories[name]!({ connectionString: PG_URL, hooks: hooksFor(name) })
          opened.push(provider)
          providers.push([name, provider])
        }
        for (const [, provider] of providers) {
          await provider.query(sql`SELECT ${1}::int4 AS tagged`)
          await provider.query('SELECT * FROM no_such_table_parity').catch(() => undefined)
          await provider.transaction((tx) => tx.savepoint((inner) => inner.query('SELECT $1::text AS t', ['in sp'])), { readOnly: true })
          await provider.batch([{ sql: 'SELECT 1' }, { sql: 'SELECT $1::int8', params: [2n] }], { atomic: true })
          await collect(provider.stream('SELECT 5 AS s', [], { batchSize: 2 }))
        }
        const [reference, ...others] = names.map((name) => contexts.get(name))
        for (const other of others) expect(other).toEqual(reference)
      })

      it('publish equal messages on every provider channel and give every hook equal contexts, field by field, for query, transaction, batch, stream, listen, notify, health and close', async () => {
        const recorded: Array<[string, Awaited<ReturnType<typeof recordTelemetry>>]> = []
        for (const name of names) {
          // One provider at a time: the channels carry only its messages. One connection, so the order is fixed.
          recorded.push([
            name,
            await recordTelemetry((hooks) =>
              // `name` (the pool's name in messages) is an option of every Tessera provider, outside the shared type.
              Promise.resolve(factories[name]!({ connectionString: PG_URL, hooks, name: 'parity', pool: { max: 1 } } as ProviderOptions)),
            ),
          ])
        }
        const reference = recorded[0]![1]
        for (const [name, output] of recorded.slice(1)) {
          expect({ provider: name, statsKeys: output.statsKeys }).toEqual({ provider: name, statsKeys: reference.statsKeys })
          expect({ provider: name, events: output.events }).toEqual({ provider: name, events: reference.events })
        }
      })

      it('publish the server address, port, database and pool name on query, transaction and connect messages', async () => {
        const seen: Array<[string, Record<string, unknown>]> = []
        const channels = [CHANNELS.query, CHANNELS.transaction, CHANNELS.connect] as const
        const subscriptions = channels.map((name) => {
          const handlers = {
            start: (message: Record<string, unknown>) =>
              void seen.push([name, { host: message.host, port: message.port, database: message.database, pool: message.pool }]),
            end() {},
            asyncStart() {},
            asyncEnd() {},
            error() {},
          }
          tracingChannel<unknown, Record<string, unknown>>(name).subscribe(handlers)
          return () => tracingChannel<unknown, Record<string, unknown>>(name).unsubscribe(handlers)
        })
        const url = new URL(PG_URL)
        const expected = { host: url.hostname, port: Number(url.port || 5432), database: url.pathname.slice(1) }
        const perProvider: unknown[] = []
        try {
          for (const name of names) {
            seen.length = 0
            const provider = await factories[name]!({ connectionString: PG_URL, pool: { max: 1 } })
            const named = await factories[name]!({ connectionString: PG_URL, pool: { max: 1 }, name: 'orders-db' } as ProviderOptions)
            opened.push(provider, named)
            await provider.query('SELECT 1')
            await provider.transaction((tx) => tx.query('SELECT 2'))
            await named.query('SELECT 3')
            perProvider.push([...seen])
            // Each channel was heard, the first pool's messages before the named one's (query on named comes last).
            expect(new Set(seen.map(([channel]) => channel))).toEqual(new Set(channels))
            const namedFrom = seen.findIndex(([, fields]) => fields.pool === 'orders-db')
            expect(namedFrom).toBeGreaterThan(0)
            // Without a name the pool is called after the server and database, so two pools of one process differ.
            const defaultPool = `${expected.host}:${expected.port}/${expected.database}`
            for (const [, fields] of seen.slice(0, namedFrom)) expect(fields).toEqual({ ...expected, pool: defaultPool })
            for (const [, fields] of seen.slice(namedFrom)) expect(fields).toEqual({ ...expected, pool: 'orders-db' })
          }
        } finally {
          for (const stop of subscriptions) stop()
        }
        for (const other of perProvider.slice(1)) expect(other).toEqual(perProvider[0])
      })

      it('report equal notices, field by field, for the same statements', async () => {
        let received: Notice[] = []
        const statements = [
          `DO $$ BEGIN RAISE NOTICE 'hello %', 42; END $$`,
          `DO $$ BEGIN RAISE WARNING 'careful' USING DETAIL = 'the detail', HINT = 'the hint', ERRCODE = '01P42', TABLE = 't'; END $$`,
          `DROP TABLE IF EXISTS ${schema}.no_such_table_parity`,
          `SELECT 1 AS "${'x'.repeat(70)}"`,
          `DO $$ BEGIN RAISE INFO 'first'; END $$; DO $$ BEGIN RAISE LOG 'not sent'; RAISE NOTICE 'second'; END $$`,
        ]
        const notices = await expectSame(
          async (provider) => {
            received = []
            const perStatement: Notice[][] = []
            for (const text of statements) {
              const start = received.length
              await provider.query(text)
              perStatement.push(received.slice(start))
            }
            await provider.transaction((tx) => tx.query(`DO $$ BEGIN RAISE NOTICE 'in a transaction'; END $$`))
            perStatement.push(received.slice(perStatement.flat().length))
            return perStatement
          },
          { onNotice: (notice) => void received.push(notice) },
        )
        // The comparison saw real notices: each statement's, in order (RAISE LOG goes to the server log only).
        expect(notices.map((list) => list.map((notice) => notice.message))).toEqual([
          ['hello 42'],
          ['careful'],
          [`table "no_such_table_parity" does not exist, skipping`],
          [`identifier "${'x'.repeat(70)}" will be truncated to "${'x'.repeat(63)}"`],
          ['first', 'second'],
          ['in a transaction'],
        ])
      })
    })

    describe('two drivers in one application', () => {
      it('interleaved writes and reads from both providers see each other at once', async () => {
        const providers = (await open()).map(([, provider]) => provider)
        const table = `${schema}.shared_rw`
        await providers[0]!.query(`CREATE TABLE ${table} (id int PRIMARY KEY, by text, at timestamptz DEFAULT now())`)
        for (let i = 0; i < 20; i++) {
          const writer = providers[i % providers.length]!
          const reader = providers[(i + 1) % providers.length]!
          await writer.query(`INSERT INTO ${table} (id, by) VALUES ($1, $2)`, [i, writer.driver])
          const { rows } = await reader.query<{ n: bigint }>(`SELECT count(*) AS n FROM ${table}`)
          expect(rows[0]?.n).toBe(BigInt(i + 1))
        }
        const concurrent = await Promise.all(
          providers.flatMap((provider, p) =>
            [100, 200, 300].map((base) =>
              provider.query(`INSERT INTO ${table} (id, by) VALUES ($1, $2) RETURNING id`, [base + p, provider.driver]),
            ),
          ),
        )
        expect(concurrent.map((result) => result.rowCount)).toEqual(concurrent.map(() => 1))
        const views = await Promise.all(providers.map((provider) => provider.query(`SELECT id, by FROM ${table} ORDER BY id`)))
        for (const view of views.slice(1)) expect(view.rows).toEqual(views[0]!.rows)
      })

      it('a transaction on one provider is invisible to the other until it commits', async () => {
        const providers = (await open()).map(([, provider]) => provider)
        const table = `${schema}.shared_tx`
        await providers[0]!.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`)
        for (const [writer, reader] of [providers, [...providers].reverse()] as Provider[][]) {
          await writer!.query(`DELETE FROM ${table}`)
          const inserted = deferred()
          const release = deferred()
          const transaction = writer!.transaction(async (tx) => {
            await tx.query(`INSERT INTO ${table} VALUES (1)`)
            inserted.resolve()
            await release.promise
          })
          await inserted.promise
          expect((await reader!.query(`SELECT id FROM ${table}`)).rows).toEqual([])
          release.resolve()
          await transaction
          expect((await reader!.query(`SELECT id FROM ${table}`)).rows).toEqual([{ id: 1 }])
        }
      })

      it('listen on one provider receives notify from the other, both ways', async () => {
        const providers = (await open()).map(([, provider]) => provider)
        for (const [listener, notifier] of [providers, [...providers].reverse()] as Provider[][]) {
          const channel = uniqueName('parity ch')
          const received: Array<[string, string]> = []
          const subscription = await listener!.listen(channel, (notification) =>
            received.push([notification.channel, notification.payload]),
          )
          await notifier!.notify(channel, `from ${notifier!.driver} ✓`)
          await notifier!.transaction((tx) => tx.query('SELECT pg_notify($1, $2)', [channel, 'in a transaction']))
          await waitFor(() => received.length === 2, 'both notifications arrive')
          expect(received).toEqual([
            [channel, `from ${notifier!.driver} ✓`],
            [channel, 'in a transaction'],
          ])
          await subscription.unlisten()
        }
      })
    })
  })
}
