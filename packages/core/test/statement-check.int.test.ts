import fc from 'fast-check'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PG_URL, uniqueName } from '../../../tooling/test-services/env.ts'
import { checkStatement, DataError } from '../src/index'
import { highestPlaceholder } from '../src/statement-check'
import { statementText } from './statement-texts'

const client = new pg.Client({ connectionString: PG_URL })

beforeAll(async () => {
  await client.connect()
})

afterAll(async () => {
  await client.end()
})

/** How many parameters PostgreSQL's own parser finds in `text`: PREPARE it and read the statement's parameter types. */
async function serverParameterCount(text: string): Promise<number> {
  const name = uniqueName('scan')
  await client.query(`PREPARE ${name} AS ${text}`)
  try {
    const { rows } = await client.query<{ count: number }>(
      'SELECT coalesce(cardinality(parameter_types), 0)::int AS count FROM pg_prepared_statements WHERE name = $1',
      [name],
    )
    return rows[0]!.count
  } finally {
    await client.query(`DEALLOCATE ${name}`)
  }
}

describe('highestPlaceholder against the server', () => {
  it('finds exactly the parameters PostgreSQL finds, with $n hidden in literals, identifiers and comments', async () => {
    await fc.assert(
      fc.asyncProperty(statementText, async ({ text, parameters }) => {
        expect([text, await serverParameterCount(text)]).toEqual([text, parameters])
        expect([text, highestPlaceholder(text)]).toEqual([text, parameters])
      }),
      { numRuns: 150 },
    )
  })
})

describe('checkStatement against the server', () => {
  it('refuses, before sending, the mismatches the server reports as a protocol violation', async () => {
    for (const [text, values] of [
      ['SELECT $1::int, $2::int', [1]],
      ["SELECT $1::int, '$2'", [1, 2]],
    ] as const) {
      const sent = await client.query(text, [...values]).then(
        () => 'accepted',
        (error: { code?: string }) => error.code,
      )
      expect([text, sent]).toEqual([text, '08P01'])
      expect(() => checkStatement(text, values, 65_535)).toThrow(/the statement uses/)
    }
  })

  it('gives a string value with NUL the code the server gives it, 22021', async () => {
    const sent = await client.query('SELECT $1::text', ['a\0b']).then(
      () => 'accepted',
      (error: { code?: string }) => error.code,
    )
    expect(sent).toBe('22021')
    expect(() => checkStatement('SELECT $1::text', ['a\0b'], 65_535)).toThrow(DataError)
    expect(() => checkStatement('SELECT $1::text', ['a\0b'], 65_535)).toThrow(expect.objectContaining({ code: sent }))
  })
})
