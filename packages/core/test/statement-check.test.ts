import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { checkStatement, DataError, SqlError } from '../src/index'
import { highestPlaceholder } from '../src/statement-check'
import { statementText } from './statement-texts'

const PG_LIMIT = 65_535

function caught(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected an error')
}

function expectSqlError(fn: () => unknown, message: string | RegExp): SqlError {
  const error = caught(fn)
  expect(error).toBeInstanceOf(SqlError)
  expect((error as SqlError).message).toMatch(message)
  return error as SqlError
}

describe('checkStatement: parameter count', () => {
  it('refuses more values than the driver can send, naming the count and the limit', () => {
    const error = expectSqlError(
      () => checkStatement('SELECT 1', new Array(65_536).fill(1), PG_LIMIT),
      /65536 parameter values.*at most 65535/,
    )
    expect(error.code).toBe('SQL_INVALID')
    expect(error.value).toBe(65_536)
    expectSqlError(() => checkStatement('SELECT $1, $2, $3, $4', [1, 2, 3, 4], 3), /has 4 parameter values; this driver sends at most 3/)
  })

  it('accepts exactly the limit', () => {
    const text = `SELECT ${Array.from({ length: 3 }, (_, i) => `$${i + 1}`).join(', ')}`
    expect(() => checkStatement(text, [1, 2, 3], 3)).not.toThrow()
  })
})

describe('checkStatement: NUL in the text', () => {
  it('refuses a NUL character anywhere in the text, even in a comment, saying where', () => {
    expectSqlError(() => checkStatement('SELECT 1 /*\0*/', [], PG_LIMIT), /NUL character at index 11/)
    expectSqlError(() => checkStatement("SELECT '\0'", [], PG_LIMIT), /NUL character at index 8/)
    expectSqlError(() => checkStatement('SELECT $1 -- \0', ['x'], PG_LIMIT), /NUL/)
  })
})

describe('checkStatement: placeholders and values', () => {
  it('accepts a statement whose highest $n is the number of values', () => {
    expect(() => checkStatement('SELECT $1::int, $2::text', [1, 'a'], PG_LIMIT)).not.toThrow()
    expect(() => checkStatement('SELECT $2::int, $1::int, $2::int', [1, 2], PG_LIMIT)).not.toThrow()
    expect(() => checkStatement(`SELECT ${'$10'}::int`, new Array(10).fill(0), PG_LIMIT)).not.toThrow()
  })

  it('accepts a text without placeholders and without values', () => {
    expect(() => checkStatement('SELECT 1', [], PG_LIMIT)).not.toThrow()
    expect(() => checkStatement('', [], PG_LIMIT)).not.toThrow()
  })

  it('leaves $n alone when no values are given: PREPARE and SQL-standard function bodies use them legitimately', () => {
    expect(() => checkStatement('PREPARE p (int) AS SELECT $1', [], PG_LIMIT)).not.toThrow()
    expect(() => checkStatement('CREATE FUNCTION f(int) RETURNS int LANGUAGE sql RETURN $1 + 1', [], PG_LIMIT)).not.toThrow()
  })

  it('refuses fewer values than placeholders, naming both', () => {
    expectSqlError(
      () => checkStatement('SELECT $1, $2, $3', [1, 2], PG_LIMIT),
      'the statement uses $1..$3 but 2 parameter values were given; PostgreSQL needs a value for every placeholder',
    )
    expectSqlError(() => checkStatement('SELECT $2', [1], PG_LIMIT), 'uses $1..$2 but 1 parameter value was given')
  })

  it('refuses more values than placeholders, naming both', () => {
    expectSqlError(
      () => checkStatement('SELECT $1', [1, 2], PG_LIMIT),
      'the statement uses $1 but 2 parameter values were given; every value needs a placeholder',
    )
    expectSqlError(() => checkStatement('SELECT 1', [1], PG_LIMIT), 'the statement uses no $n placeholders but 1 parameter value was given')
    expectSqlError(() => checkStatement("SELECT '$1'", ['x'], PG_LIMIT), 'uses no $n placeholders but 1 parameter value')
  })

  it('keeps the text, not the values, on the error', () => {
    const error = expectSqlError(() => checkStatement('SELECT $1', ['secret', 'password'], PG_LIMIT), /uses \$1/)
    expect(error.value).toBe('SELECT $1')
    expect(error.message).not.toContain('secret')
  })
})

describe('highestPlaceholder', () => {
  const cases: [string, number][] = [
    ['SELECT 1', 0],
    ['SELECT $1', 1],
    ['SELECT $1::int', 1],
    ['SELECT ($12)', 12],
    ['SELECT $1,$2', 2],
    ['SELECT $3, $1', 3],
    // Literals: '' is a quote, a backslash is an ordinary character.
    ["SELECT '$5'", 0],
    ["SELECT 'it''s $5', $1", 1],
    ["SELECT 'a\\', $1", 1],
    // E'…': \' and '' are quotes, \\ a backslash.
    ["SELECT E'\\' $5', $1", 1],
    ["SELECT e'\\\\', $1", 1],
    ["SELECT E'it''s $5', $1", 1],
    // A word ending in E before a quote is an identifier, then a plain literal.
    ["SELECT xE'\\', $1, '$5'", 1],
    ["SELECT U&'$5', $1", 1],
    ["SELECT B'101', X'1F', N'$5', $1", 1],
    // Quoted identifiers.
    ['SELECT 1 AS "$5", $1', 1],
    ['SELECT 1 AS "a""$5", $1', 1],
    // Dollar-quoted strings.
    ['SELECT $$ $5 $$, $1', 1],
    ['SELECT $tag$ $5 $$ $5 $t$ $tag$, $1', 1],
    ['SELECT $_1$ $5 $_1$, $1', 1],
    ['SELECT $é$ $5 $é$, $1', 1],
    // $ inside a word belongs to the identifier.
    ['SELECT price$5, $1', 1],
    ['SELECT a$$b$$5, $1', 1],
    // A $ that starts neither a parameter nor a dollar quote.
    ['SELECT $ 1, $1', 1],
    ['SELECT $abc, $1', 1],
    // Comments.
    ['SELECT 1 -- $5\n, $1', 1],
    ['SELECT 1 -- $5\r, $1', 1],
    ['SELECT 1 /* $5 */, $1', 1],
    ['SELECT 1 /* /* $5 */ $6 */, $1', 1],
    ['SELECT 1 /* -- $5 */, $1', 1],
    ["SELECT 1 -- ' $5\n, $1", 1],
    // Operators that look like comment starts but are not.
    ['SELECT $2 - $1 / $1', 2],
    ['SELECT $1-$2', 2],
    // Unterminated: the rest of the text belongs to the literal or comment.
    ["SELECT $1, '$5", 1],
    ['SELECT $1, "$5', 1],
    ['SELECT $1, $$ $5', 1],
    ['SELECT $1, /* $5', 1],
    ['SELECT $1, -- $5', 1],
    ["SELECT $1, E'\\", 1],
    ['SELECT $', 0],
    ['$1', 1],
    // A parameter right after a literal, a quoted identifier or a dollar-quoted string.
    ["SELECT ''$1", 1],
    ['SELECT ""$1', 1],
    ['SELECT $$x$$$1', 1],
  ]
  for (const [text, expected] of cases) {
    it(`finds $${expected} in ${JSON.stringify(text)}`, () => {
      expect(highestPlaceholder(text)).toBe(expected)
    })
  }

  it('keeps an absurd parameter number exact instead of overflowing', () => {
    expect(highestPlaceholder(`SELECT $${'9'.repeat(40)}`)).toBeGreaterThan(PG_LIMIT)
    expect(Number.isSafeInteger(highestPlaceholder(`SELECT $${'9'.repeat(40)}`))).toBe(true)
  })

  it('never throws and always returns a non-negative integer, whatever the text', () => {
    const unit = fc.constantFrom('$', '1', '0', "'", '"', '\\', '-', '/', '*', '\n', '\r', ' ', 'E', 'e', 'a', '_', 'é', '\uD83D')
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit, maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 60 })), (text) => {
        const highest = highestPlaceholder(text)
        expect(Number.isSafeInteger(highest) && highest >= 0).toBe(true)
      }),
      { numRuns: 2_000 },
    )
  })

  it('ignores $n inside literals, quoted identifiers, dollar quotes and comments, and counts every real one', () => {
    fc.assert(
      fc.property(statementText, ({ text, parameters }) => {
        expect(highestPlaceholder(text)).toBe(parameters)
        expect(() => checkStatement(text, new Array(parameters).fill(1), PG_LIMIT)).not.toThrow()
      }),
      { numRuns: 500 },
    )
  })
})

describe('checkStatement: NUL in a string value', () => {
  it('refuses a string with NUL as PostgreSQL would (22021), naming the parameter and not the value', () => {
    const error = caught(() => checkStatement('SELECT $1::text, $2::text', ['fine', 'top\0secret'], PG_LIMIT))
    expect(error).toBeInstanceOf(DataError)
    const dataError = error as DataError
    expect(dataError.code).toBe('22021')
    expect(dataError.sqlState).toBe('22021')
    expect(dataError.retryable).toBe(false)
    expect(dataError.message).toMatch(/^parameter \$2 is a string containing a NUL character/)
    expect(dataError.message).not.toContain('secret')
    expect(dataError.query).toBe('SELECT $1::text, $2::text')
  })

  it('refuses a string with NUL inside an array value, naming the element', () => {
    const error = caught(() => checkStatement('SELECT $1::text[]', [['a', null, 'b\0']], PG_LIMIT)) as DataError
    expect(error).toBeInstanceOf(DataError)
    expect(error.message).toMatch(/^the array in parameter \$1 holds, at index 2, a string containing a NUL character/)
  })

  it('accepts NUL bytes in binary data and values that are not strings', () => {
    expect(() => checkStatement('SELECT $1::bytea, $2, $3, $4', [Buffer.from([0, 1, 0]), null, 0, { a: 'x' }], PG_LIMIT)).not.toThrow()
  })
})
