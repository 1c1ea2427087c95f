import { ConfigError } from '@tessera/core'
import { Kysely, PostgresQueryCompiler } from 'kysely'
import { describe, expect, it } from 'vitest'
import { createTesseraDialect, TesseraAdapter, TesseraDialect, type TesseraDialectOptions } from '../src/index'

describe('createTesseraDialect', () => {
  it('refuses options without a queryable, naming what it got and what it accepts', () => {
    expect(() => createTesseraDialect(undefined as unknown as TesseraDialectOptions)).toThrow(ConfigError)
    expect(() => createTesseraDialect({ queryable: { run: () => 1 } } as unknown as TesseraDialectOptions)).toThrow(
      /queryable is .*; accepted: a Tessera provider, transaction or any object with query\(sql, params\)/,
    )
  })

  it("is Kysely's PostgreSQL dialect: its compiler, and its adapter with the migration guard", () => {
    const dialect = createTesseraDialect({ queryable: { query: () => Promise.reject(new Error('not run')) } })
    expect(dialect).toBeInstanceOf(TesseraDialect)
    expect(dialect.createQueryCompiler()).toBeInstanceOf(PostgresQueryCompiler)
    expect(dialect.createAdapter()).toBeInstanceOf(TesseraAdapter)
    const db = new Kysely<{ person: { id: number } }>({ dialect })
    expect(db.selectFrom('person').select('id').where('id', '=', 1).compile().sql).toBe('select "id" from "person" where "id" = $1')
  })

  it('refuses a stream chunk size that is not a positive integer', async () => {
    const db = new Kysely<{ person: { id: number } }>({
      dialect: createTesseraDialect({ queryable: { query: () => Promise.reject(new Error('not run')) } }),
    })
    const stream = db.selectFrom('person').selectAll().stream(0)
    await expect(stream.next()).rejects.toThrow('chunkSize is 0; accepted: a positive integer')
  })
})
