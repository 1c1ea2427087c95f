import fc from 'fast-check'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PG_URL, uniqueName } from '../../../tooling/test-services/env'
import { identifierByteLength, needsQuoting, POSTGRES_RESERVED_WORDS, quoteIdent, safeIdentifier } from '../src/index'

const schema = uniqueName('naming')
const client = new pg.Client({ connectionString: PG_URL })

async function storedColumns(table: string): Promise<string[]> {
  const result = await client.query<{ column_name: string }>(
    'SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position',
    [schema, table],
  )
  return result.rows.map((row) => row.column_name)
}

async function sqlState(text: string): Promise<string | undefined> {
  try {
    await client.query(text)
    return undefined
  } catch (error) {
    return (error as { code?: string }).code
  }
}

beforeAll(async () => {
  await client.connect()
  await client.query(`CREATE SCHEMA ${quoteIdent(schema)}`)
})

afterAll(async () => {
  await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`)
  await client.end()
})

describe('identifiers against PostgreSQL 15', () => {
  it('stores columns named by safeIdentifier and quoteIdent exactly as produced', async () => {
    const sharedPrefix = 'customer_shipping_address_line_with_a_very_long_descriptive_name'
    const names = [
      safeIdentifier(`${sharedPrefix}_first`),
      safeIdentifier(`${sharedPrefix}_second`),
      safeIdentifier('é'.repeat(40)),
      safeIdentifier(`${'€'.repeat(25)}_total`),
      'user',
      'order',
      'select',
      'userId',
      'HTTPServer',
      'say "hi"',
      'café',
      'x'.repeat(63),
    ]
    expect(names[0]).not.toBe(names[1])
    for (const name of names) expect(identifierByteLength(name)).toBeLessThanOrEqual(63)

    await client.query(`CREATE TABLE ${quoteIdent(schema)}.stored (${names.map((name) => `${quoteIdent(name)} int`).join(', ')})`)
    expect(await storedColumns('stored')).toEqual(names)
  })

  it('shows why safeIdentifier exists: the server silently keeps only 63 bytes of a longer name', async () => {
    const long = `${'a'.repeat(60)}_created_at`
    const multiByte = 'é'.repeat(40)
    // Quoted by hand on purpose: quoteIdent refuses names the server would truncate.
    await client.query(`CREATE TABLE ${quoteIdent(schema)}.truncated ("${long}" int, "${multiByte}" int)`)
    expect(await storedColumns('truncated')).toEqual([long.slice(0, 63), 'é'.repeat(31)])

    const collision = await sqlState(
      `CREATE TABLE ${quoteIdent(schema)}.collide ("${'a'.repeat(63)}_first" int, "${'a'.repeat(63)}_second" int)`,
    )
    expect(collision).toBe('42701')
    await client.query(
      `CREATE TABLE ${quoteIdent(schema)}.no_collide (${quoteIdent(safeIdentifier(`${'a'.repeat(63)}_first`))} int, ${quoteIdent(
        safeIdentifier(`${'a'.repeat(63)}_second`),
      )} int)`,
    )
    expect(new Set(await storedColumns('no_collide')).size).toBe(2)
  })

  it('knows exactly the reserved key words the server reports', async () => {
    const version = await client.query<{ server_version_num: string }>('SHOW server_version_num')
    expect(version.rows[0]?.server_version_num.slice(0, 2)).toBe('15')
    const keywords = await client.query<{ word: string }>("SELECT word FROM pg_get_keywords() WHERE catcode IN ('R', 'T') ORDER BY word")
    expect([...POSTGRES_RESERVED_WORDS].sort()).toEqual(keywords.rows.map((row) => row.word))
  })

  it('is right that reserved words fail bare and work quoted', async () => {
    for (const word of ['user', 'order', 'select', 'left', 'verbose']) {
      expect([word, await sqlState(`CREATE TABLE ${quoteIdent(schema)}.bare_${word} (${word} int)`)]).toEqual([word, '42601'])
    }
    await client.query(
      `CREATE TABLE ${quoteIdent(schema)}.quoted (${[...POSTGRES_RESERVED_WORDS].map((word) => `${quoteIdent(word)} int`).join(', ')})`,
    )
    expect(await storedColumns('quoted')).toEqual([...POSTGRES_RESERVED_WORDS])
  })

  it('reads back every name that needsQuoting calls safe to write bare', async () => {
    const bare = fc
      .sample(fc.stringMatching(/^[a-z_][a-z0-9_$]{0,20}$/), { numRuns: 300, seed: 42 })
      .concat(['time', 'values', 'position', 'between', 'name', 'type'])
      .filter((name) => !needsQuoting(name))
    const names = [...new Set(bare)]
    await client.query(`CREATE TABLE ${quoteIdent(schema)}.bare (${names.map((name) => `${name} int`).join(', ')})`)
    expect(await storedColumns('bare')).toEqual(names)
  })

  it('is right that upper-case names are folded when written bare', async () => {
    await client.query(`CREATE TABLE ${quoteIdent(schema)}.folded (userId int, ${quoteIdent('createdAt')} int)`)
    expect(needsQuoting('userId')).toBe(true)
    expect(await storedColumns('folded')).toEqual(['userid', 'createdAt'])
  })
})
