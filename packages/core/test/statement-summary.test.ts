import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { sanitizeStatement, summarizeStatement } from '../src/index'

describe('summarizeStatement', () => {
  it('names the operation and the first table written, else read', () => {
    expect(summarizeStatement('SELECT * FROM orders WHERE id = $1')).toEqual({
      operation: 'SELECT',
      collection: 'orders',
      summary: 'SELECT orders',
    })
    expect(summarizeStatement('insert into app.users (name) values ($1)').summary).toBe('INSERT app.users')
    expect(summarizeStatement('WITH x AS (SELECT 1) UPDATE t SET a = 1 FROM x').summary).toBe('WITH t')
    expect(summarizeStatement('BEGIN').summary).toBe('BEGIN')
    expect(summarizeStatement('  ').summary).toBe('')
  })

  it('never takes a word inside a literal or a comment for the operation', () => {
    expect(summarizeStatement("/* DELETE */ SELECT 'DROP' FROM t").summary).toBe('SELECT t')
  })
})

describe('sanitizeStatement', () => {
  it('replaces every kind of literal by ?, keeping parameters, identifiers and comments', () => {
    expect(sanitizeStatement("SELECT * FROM users WHERE email = 'a@b.c' AND age > 30 AND id = $1")).toBe(
      'SELECT * FROM users WHERE email = ? AND age > ? AND id = $1',
    )
    expect(sanitizeStatement("SELECT E'it\\'s', $$x'y$$, $tag$ a $tag$, U&'d\\0061t', X'1F', 1.5e-3, 'it''s' /* c */ FROM \"T\"")).toBe(
      'SELECT ?, ?, ?, ?, ?, ?, ? /* c */ FROM "T"',
    )
    expect(sanitizeStatement('SELECT 1')).toBe('SELECT ?')
    expect(sanitizeStatement('SELECT a FROM t')).toBe('SELECT a FROM t')
  })

  it('leaves no character of a string literal in the text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme-ascii' }), (value) => {
        const literal = `'${value.replaceAll("'", "''")}'`
        expect(sanitizeStatement(`SELECT ${literal} AS v FROM t WHERE x = ${literal}`)).toBe('SELECT ? AS v FROM t WHERE x = ?')
      }),
    )
  })
})
