import postgres4 from 'postgres4'
import { afterAll, describe, expect, it } from 'vitest'
import { PG_URL } from '../../../tooling/test-services/env'
import { createPostgresJsProvider, type PostgresJsFactory, type PostgresJsProvider } from '../src/index'

const providers: PostgresJsProvider[] = []
const open = (sql?: PostgresJsFactory) => {
  const provider = createPostgresJsProvider({ connectionString: PG_URL, pool: { max: 1 }, ...(sql === undefined ? {} : { sql }) })
  providers.push(provider)
  return provider
}

afterAll(() => Promise.all(providers.map((provider) => provider.close())))

/** postgres.js answers with an Array subclass carrying `count`, `command`, `columns`…: users get the rows alone. */
function expectPlainRows(rows: unknown[], expected: unknown[]): void {
  expect(Object.getPrototypeOf(rows)).toBe(Array.prototype)
  expect(Object.getOwnPropertyNames(rows)).toEqual([...expected.keys()].map(String).concat('length'))
  expect(rows).toStrictEqual(expected)
}

describe.each([
  ['postgres.js 3', undefined],
  ['postgres.js 4', postgres4 as unknown as PostgresJsFactory],
])('query results on %s', (_name, sql) => {
  it('holds the rows in a plain array, with nothing of the driver’s result object on it', async () => {
    const db = open(sql)
    const { rows } = await db.query('SELECT g AS n FROM generate_series(1, 3) g')
    expectPlainRows(rows, [{ n: 1 }, { n: 2 }, { n: 3 }])
    expectPlainRows((await db.query('SELECT 1 AS n WHERE false')).rows, [])
    expectPlainRows((await db.query('SELECT $1::int AS n', [7])).rows, [{ n: 7 }])
    expectPlainRows((await db.query('SELECT 1 AS a; SELECT 2 AS b')).rows, [{ b: 2 }])
  })
})
