import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isSqlQuery, isTesseraError, quoteIdentifier, SqlError, type SqlQuery, sql, toQueryConfig } from '../src/index'

/** Reads back a (possibly qualified) quoted identifier the way PostgreSQL's lexer does. */
function parseQuotedIdentifier(text: string): string[] {
  const names: string[] = []
  let i = 0
  for (;;) {
    if (text[i] !== '"') throw new Error(`expected " at ${i} in ${text}`)
    i++
    let name = ''
    for (;;) {
      const ch = text[i]
      if (ch === undefined) throw new Error(`unterminated identifier in ${text}`)
      if (ch === '"') {
        if (text[i + 1] === '"') {
          name += '"'
          i += 2
          continue
        }
        i++
        break
      }
      name += ch
      i++
    }
    names.push(name)
    if (i === text.length) return names
    if (text[i] !== '.') throw new Error(`expected . at ${i} in ${text}`)
    i++
  }
}

const validIdentifier = fc
  .oneof(
    fc.string({ unit: 'binary', minLength: 1, maxLength: 63 }),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
    fc.constantFrom('select', 'SELECT', 'user', '"', '""', 'a"b', ' ', 'a.b', '$1', "'; DROP TABLE x; --", '🦄', 'Ünïcødé'),
  )
  .filter((name) => !name.includes('\0') && Buffer.byteLength(name, 'utf8') <= 63)

function expectSqlError(fn: () => unknown, ...fragments: string[]): SqlError {
  let caught: unknown
  try {
    fn()
  } catch (error) {
    caught = error
  }
  expect(caught).toBeInstanceOf(SqlError)
  const error = caught as SqlError
  expect(isTesseraError(error)).toBe(true)
  expect(error.code).toBe('SQL_INVALID')
  for (const fragment of fragments) expect(error.message).toContain(fragment)
  return error
}

describe('sql tag', () => {
  it('turns interpolated values into numbered parameters', () => {
    const id = 42
    const name = "O'Brien"
    const query = sql`SELECT * FROM users WHERE id = ${id} AND name = ${name}`
    expect(query.toQuery()).toEqual({ text: 'SELECT * FROM users WHERE id = $1 AND name = $2', values: [42, "O'Brien"] })
    expect(query.text).toBe('SELECT * FROM users WHERE id = $1 AND name = $2')
    expect(query.values).toEqual([42, "O'Brien"])
  })

  it('gives the same memoised result on every call', () => {
    const query = sql`SELECT ${1}`
    expect(query.toQuery()).toBe(query.toQuery())
  })

  it('builds the same text for every call of one template', () => {
    const build = (id: number) => sql`SELECT * FROM t WHERE id = ${id}`
    expect(build(1).toQuery()).toEqual({ text: 'SELECT * FROM t WHERE id = $1', values: [1] })
    expect(build(2).toQuery()).toEqual({ text: 'SELECT * FROM t WHERE id = $1', values: [2] })
  })

  it('accepts an empty template', () => {
    expect(sql``.toQuery()).toEqual({ text: '', values: [] })
    expect(sql`SELECT ${sql``}1`.toQuery()).toEqual({ text: 'SELECT 1', values: [] })
  })

  it('keeps null, undefined, arrays, objects and dates as single parameters', () => {
    const date = new Date(0)
    const query = sql`${null} ${undefined} ${[1, 2]} ${{ a: 1 }} ${date}`
    expect(query.text).toBe('$1 $2 $3 $4 $5')
    expect(query.values).toEqual([null, undefined, [1, 2], { a: 1 }, date])
    expect(query.values[4]).toBe(date)
  })

  it('inlines fragments and renumbers their parameters', () => {
    const filter = sql`age > ${18} AND city = ${'Paris'}`
    const query = sql`SELECT * FROM users WHERE id = ${7} AND ${filter} LIMIT ${10}`
    expect(query.toQuery()).toEqual({
      text: 'SELECT * FROM users WHERE id = $1 AND age > $2 AND city = $3 LIMIT $4',
      values: [7, 18, 'Paris', 10],
    })
    // The fragment on its own still numbers from $1.
    expect(filter.text).toBe('age > $1 AND city = $2')
  })

  it('reuses one fragment in several places with fresh numbers each time', () => {
    const cond = sql`x = ${1}`
    expect(sql`${cond} OR ${cond}`.toQuery()).toEqual({ text: 'x = $1 OR x = $2', values: [1, 1] })
  })

  it('renumbers fragments nested several levels deep', () => {
    const level3 = sql`c = ${3}`
    const level2 = sql`b = ${2} AND (${level3})`
    const level1 = sql`a = ${1} AND (${level2}) AND d = ${4}`
    const query = sql`SELECT ${0} WHERE ${level1} AND e = ${5}`
    expect(query.toQuery()).toEqual({
      text: 'SELECT $1 WHERE a = $2 AND (b = $3 AND (c = $4)) AND d = $5 AND e = $6',
      values: [0, 1, 2, 3, 4, 5],
    })
  })

  it('handles a condition chain thousands of levels deep without overflowing the stack', () => {
    let query = sql`TRUE`
    for (let i = 0; i < 20_000; i++) query = sql`${query} AND x <> ${i}`
    const { text, values } = query.toQuery()
    expect(values).toHaveLength(20_000)
    expect(values[19_999]).toBe(19_999)
    expect(text.startsWith('TRUE AND x <> $1 AND x <> $2 ')).toBe(true)
    expect(text.endsWith('AND x <> $20000')).toBe(true)
  })

  it('leaves dollar signs in the literal text alone', () => {
    const query = sql`SELECT $$it's $1$$, $tag$ ${'no'} $tag$, ${'yes'}`
    expect(query.toQuery()).toEqual({ text: "SELECT $$it's $1$$, $tag$ $1 $tag$, $2", values: ['no', 'yes'] })
  })

  it('refuses to be called as a plain function', () => {
    const call = sql as unknown as (text: string) => SqlQuery
    expectSqlError(() => call('SELECT 1'), 'tagged template', 'sql.raw')
  })

  it('refuses a statement with more than 65535 parameters', () => {
    const ids = Array.from({ length: 65_536 }, (_, i) => i)
    const query = sql`SELECT * FROM t WHERE id IN (${sql.join(ids)})`
    expectSqlError(() => query.toQuery(), '65536 parameters', '65535')
    expect(sql`SELECT ${sql.join(ids.slice(1))}`.values).toHaveLength(65_535)
  })

  it('matches a reference renderer for any tree of text, values and fragments', () => {
    type Node = { literals: string[]; args: ({ value: unknown } | { node: Node })[] }
    const tree = fc.letrec<{ node: Node; arg: { value: unknown } | { node: Node } }>((tie) => ({
      node: fc
        .array(tie('arg'), { maxLength: 4 })
        .chain((args) =>
          fc.array(fc.string(), { minLength: args.length + 1, maxLength: args.length + 1 }).map((literals) => ({ literals, args })),
        ),
      arg: fc.oneof({ depthSize: 'small', withCrossShrink: true }, fc.record({ value: fc.anything() }), fc.record({ node: tie('node') })),
    })).node

    const build = (node: Node): SqlQuery => {
      const strings = Object.assign([...node.literals], { raw: [...node.literals] })
      return sql(strings, ...node.args.map((arg) => ('node' in arg ? build(arg.node) : arg.value)))
    }
    const reference = (node: Node, values: unknown[]): string => {
      let text = node.literals[0]!
      node.args.forEach((arg, i) => {
        if ('node' in arg) text += reference(arg.node, values)
        else {
          values.push(arg.value)
          text += `$${values.length}`
        }
        text += node.literals[i + 1]!
      })
      return text
    }
    fc.assert(
      fc.property(tree, (node) => {
        const values: unknown[] = []
        const text = reference(node, values)
        const query = build(node).toQuery()
        expect(query.text).toBe(text)
        expect(query.values).toHaveLength(values.length)
        for (const [i, value] of query.values.entries()) expect(value).toBe(values[i])
      }),
    )
  })

  it('never lets a value change the statement text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.anything(), (text, other) => {
        const query = sql`SELECT * FROM t WHERE a = ${text} AND b = ${other}`
        expect(query.text).toBe('SELECT * FROM t WHERE a = $1 AND b = $2')
        expect(query.values[0]).toBe(text)
        expect(query.values[1]).toBe(other)
      }),
    )
  })
})

describe('quoteIdentifier', () => {
  it('is the quoter sql.id uses: same text for a valid name, same refusal for an invalid one', () => {
    expect(quoteIdentifier('say "hi"')).toBe('"say ""hi"""')
    expect(quoteIdentifier('a'.repeat(63))).toBe(sql.id('a'.repeat(63)).text)
    for (const bad of ['a'.repeat(64), 'é'.repeat(32), '', 'a\0b', 'a\uD83D']) {
      const direct = expectSqlError(() => quoteIdentifier(bad))
      const viaTag = expectSqlError(() => sql.id(bad))
      expect(direct.message).toBe(viaTag.message)
    }
  })

  it('refuses a name PostgreSQL would truncate, naming the value, its size and the limit', () => {
    const error = expectSqlError(
      () => quoteIdentifier('a'.repeat(64)),
      `identifier "${'a'.repeat(64)}" is 64 bytes in UTF-8, which PostgreSQL would silently truncate to 63`,
      'accepted: a non-empty string of at most 63 bytes in UTF-8, without NUL characters',
    )
    expect(error.value).toBe('a'.repeat(64))
  })
})

describe('sql.id', () => {
  it('quotes a name and doubles embedded quotes', () => {
    expect(sql.id('users').text).toBe('"users"')
    expect(sql.id('say "hi"').text).toBe('"say ""hi"""')
    expect(sql.id('Mixed Case').text).toBe('"Mixed Case"')
    expect(sql.id('users').values).toEqual([])
  })

  it('treats a dot as part of one name and an array as a qualified name', () => {
    expect(sql.id('a.b').text).toBe('"a.b"')
    expect(sql.id(['app', 'users']).text).toBe('"app"."users"')
    expect(sql.id(['db', 'app', 'users', 'id']).text).toBe('"db"."app"."users"."id"')
    expect(sql.id(['only']).text).toBe('"only"')
  })

  it('composes into statements without adding parameters', () => {
    const query = sql`SELECT ${sql.id('name')} FROM ${sql.id(['app', 'users'])} WHERE ${sql.id('id')} = ${5}`
    expect(query.toQuery()).toEqual({ text: 'SELECT "name" FROM "app"."users" WHERE "id" = $1', values: [5] })
  })

  it('accepts a name of exactly 63 bytes and refuses 64', () => {
    expect(sql.id('a'.repeat(63)).text).toBe(`"${'a'.repeat(63)}"`)
    expect(sql.id('é'.repeat(31) + 'a').text).toHaveLength(34)
    expectSqlError(() => sql.id('a'.repeat(64)), '64 bytes', '63 bytes')
    // 32 two-byte characters: short in JavaScript, too long for PostgreSQL.
    expectSqlError(() => sql.id('é'.repeat(32)), '64 bytes')
    // 16 emoji are 64 bytes in UTF-8.
    expectSqlError(() => sql.id('🦄'.repeat(16)), '64 bytes')
    expect(sql.id('🦄'.repeat(15)).text).toBe(`"${'🦄'.repeat(15)}"`)
  })

  it('refuses empty names, NUL characters and unpaired surrogates', () => {
    expectSqlError(() => sql.id(''), 'identifier "" is empty')
    expectSqlError(() => sql.id('a\0b'), 'NUL')
    expectSqlError(() => sql.id('a\uD83D'), 'unpaired surrogate')
    expectSqlError(() => sql.id('\uDE00a'), 'unpaired surrogate')
    expectSqlError(() => sql.id([]), 'empty array')
    expectSqlError(() => sql.id(['app', '']), 'empty')
  })

  it('refuses input that is not a string, naming it', () => {
    const id = sql.id as (name: unknown) => SqlQuery
    const error = expectSqlError(() => id(42), 'identifier 42 is not a string')
    expect(error.value).toBe(42)
    expectSqlError(() => id(null), 'identifier null is not a string')
    expectSqlError(() => id(['app', 7]), 'identifier 7 is not a string')
    expectSqlError(() => id(sql`x`), 'is not a string')
  })

  it('produces a quoted name that reads back as the original, for any valid name', () => {
    fc.assert(
      fc.property(validIdentifier, (name) => {
        const query = sql.id(name).toQuery()
        expect(query.text).toBe(`"${name.replaceAll('"', '""')}"`)
        expect(query.values).toEqual([])
        expect(parseQuotedIdentifier(query.text)).toEqual([name])
      }),
    )
  })

  it('produces qualified names that read back part by part, for any valid names', () => {
    fc.assert(
      fc.property(fc.array(validIdentifier, { minLength: 1, maxLength: 4 }), (names) => {
        expect(parseQuotedIdentifier(sql.id(names).text)).toEqual(names)
      }),
    )
  })

  it('keeps the statement structure whatever the identifier', () => {
    fc.assert(
      fc.property(validIdentifier, fc.string(), (name, value) => {
        const query = sql`SELECT ${sql.id(name)} FROM t WHERE x = ${value}`
        const quoted = `"${name.replaceAll('"', '""')}"`
        expect(query.text).toBe(`SELECT ${quoted} FROM t WHERE x = $1`)
        expect(query.values).toEqual([value])
      }),
    )
  })

  it('refuses every name longer than 63 bytes or containing NUL', () => {
    const invalid = fc.oneof(
      // Built long rather than filtered, so fast-check does not spin looking for rare long strings.
      fc.string({ unit: 'binary', minLength: 64, maxLength: 100 }),
      fc.string({ unit: fc.constantFrom('é', '€', '🦄'), minLength: 32, maxLength: 40 }),
      fc.tuple(fc.string(), fc.string()).map(([a, b]) => `${a}\0${b}`),
    )
    fc.assert(
      fc.property(invalid, (name) => {
        expect(() => sql.id(name)).toThrow(SqlError)
      }),
    )
  })
})

describe('sql.join', () => {
  it('joins values as parameters with a comma by default', () => {
    expect(sql`id IN (${sql.join([1, 2, 3])})`.toQuery()).toEqual({ text: 'id IN ($1, $2, $3)', values: [1, 2, 3] })
  })

  it('joins fragments with a custom separator', () => {
    const conditions = [sql`a = ${1}`, sql`b = ${2}`, sql`c IS NULL`]
    const query = sql`SELECT * FROM t WHERE ${sql.join(conditions, sql` AND `)}`
    expect(query.toQuery()).toEqual({ text: 'SELECT * FROM t WHERE a = $1 AND b = $2 AND c IS NULL', values: [1, 2] })
  })

  it('joins identifiers for a column list', () => {
    const columns = sql.join(['id', 'full name'].map((c) => sql.id(c)))
    expect(sql`SELECT ${columns} FROM t`.text).toBe('SELECT "id", "full name" FROM t')
  })

  it('numbers parameters inside a separator at each place it appears', () => {
    const query = sql.join(['a', 'b', 'c'], sql` || ${'-'} || `)
    expect(query.toQuery()).toEqual({ text: '$1 || $2 || $3 || $4 || $5', values: ['a', '-', 'b', '-', 'c'] })
  })

  it('gives an empty fragment for no parts and the part alone for one', () => {
    expect(sql.join([]).toQuery()).toEqual({ text: '', values: [] })
    expect(sql`SELECT 1${sql.join([])}`.text).toBe('SELECT 1')
    expect(sql.join([sql`x = ${1}`], sql` AND `).toQuery()).toEqual({ text: 'x = $1', values: [1] })
  })

  it('is not affected by later changes to the parts array', () => {
    const parts = [1, 2]
    const joined = sql.join(parts)
    parts.push(3)
    expect(joined.toQuery()).toEqual({ text: '$1, $2', values: [1, 2] })
  })

  it('refuses a string separator and parts that are not an array', () => {
    const join = sql.join as (parts: unknown, separator?: unknown) => SqlQuery
    expectSqlError(() => join([1, 2], ' AND '), 'separator " AND " is not a sql fragment', 'sql.raw')
    expectSqlError(() => join('abc'), 'parts "abc" is not an array')
  })
})

describe('sql.values', () => {
  it('builds parenthesised rows from arrays', () => {
    const rows = [
      [1, 'a'],
      [2, 'b'],
    ]
    expect(sql`INSERT INTO t (id, name) VALUES ${sql.values(rows)}`.toQuery()).toEqual({
      text: 'INSERT INTO t (id, name) VALUES ($1, $2), ($3, $4)',
      values: [1, 'a', 2, 'b'],
    })
  })

  it('builds one row and one column', () => {
    expect(sql.values([[1]]).toQuery()).toEqual({ text: '($1)', values: [1] })
    expect(sql.values([[1], [2], [3]]).text).toBe('($1), ($2), ($3)')
  })

  it('reads objects in the order of the column list', () => {
    const users = [
      { name: 'ann', id: 1, extra: true },
      { id: 2, name: 'bob', extra: false },
    ]
    expect(sql.values(users, ['id', 'name']).toQuery()).toEqual({ text: '($1, $2), ($3, $4)', values: [1, 'ann', 2, 'bob'] })
  })

  it('accepts fragments as cells and renumbers around them', () => {
    const query = sql`INSERT INTO t VALUES ${sql.values([
      [1, sql`DEFAULT`, sql`now() - ${'1 day'}::interval`],
      [2, 'x', sql`now()`],
    ])} RETURNING ${sql.id('id')}`
    expect(query.toQuery()).toEqual({
      text: 'INSERT INTO t VALUES ($1, DEFAULT, now() - $2::interval), ($3, $4, now()) RETURNING "id"',
      values: [1, '1 day', 2, 'x'],
    })
  })

  it('refuses no rows, empty rows and rows of unequal length', () => {
    expectSqlError(() => sql.values([]), 'not a non-empty array')
    expectSqlError(() => sql.values([[]]), 'row 0 is empty')
    expectSqlError(
      () =>
        sql.values([
          [1, 2],
          [3, 4],
          [5, 6, 7],
        ]),
      'row 2 has 3 values but row 0 has 2',
    )
    expectSqlError(() => sql.values([[1, 2], [3]]), 'row 1 has 1 values but row 0 has 2')
  })

  it('refuses objects without a column list and objects missing a column', () => {
    const values = sql.values as (rows: unknown, columns?: unknown) => SqlQuery
    expectSqlError(() => values([{ id: 1 }]), 'row 0 is {"id":1}', 'column list')
    expectSqlError(() => values([[1], { id: 1 }]), 'row 1 has {"id":1}')
    expectSqlError(
      () => sql.values([{ id: 1, name: 'a' }, { id: 2 }] as { id: number; name?: string }[], ['id', 'name']),
      'row 1 has no property "name"',
    )
    expectSqlError(() => values([[1, 2]], ['a']), 'row 0 is [1,2]', 'must be an object')
    expectSqlError(() => values([{ a: 1 }], []), 'columns [] is not a non-empty array')
  })
})

describe('sql.raw', () => {
  it('inlines trusted text verbatim', () => {
    const direction = sql.raw('DESC')
    expect(sql`SELECT * FROM t WHERE a = ${1} ORDER BY b ${direction}`.toQuery()).toEqual({
      text: 'SELECT * FROM t WHERE a = $1 ORDER BY b DESC',
      values: [1],
    })
    expect(sql.raw('$1 "x"').toQuery()).toEqual({ text: '$1 "x"', values: [] })
  })

  it('refuses anything but a string', () => {
    const raw = sql.raw as (text: unknown) => SqlQuery
    expectSqlError(() => raw(5), 'sql.raw: 5 is not a string')
  })
})

describe('isSqlQuery', () => {
  it('recognises queries and fragments and nothing else', () => {
    expect(isSqlQuery(sql`SELECT 1`)).toBe(true)
    expect(isSqlQuery(sql.id('x'))).toBe(true)
    expect(isSqlQuery({ text: 'SELECT 1', values: [] })).toBe(false)
    expect(isSqlQuery('SELECT 1')).toBe(false)
    expect(isSqlQuery(null)).toBe(false)
  })

  it('recognises and inlines fragments from another copy of the package', async () => {
    const path = '../src/sql.ts?second-copy'
    const copy = (await import(/* @vite-ignore */ path)) as typeof import('../src/sql')
    expect(copy.sql).not.toBe(sql)
    const foreign = copy.sql`b = ${2}`
    expect(isSqlQuery(foreign)).toBe(true)
    expect(sql`a = ${1} AND ${foreign}`.toQuery()).toEqual({ text: 'a = $1 AND b = $2', values: [1, 2] })
    expect(copy.isSqlQuery(sql`x`)).toBe(true)
    expect(toQueryConfig(foreign)).toEqual({ text: 'b = $1', values: [2] })
  })
})

describe('toQueryConfig', () => {
  it('passes text and params through', () => {
    const params = [1, 'a']
    const config = toQueryConfig('SELECT $1, $2', params)
    expect(config).toEqual({ text: 'SELECT $1, $2', values: [1, 'a'] })
    expect(toQueryConfig('SELECT 1')).toEqual({ text: 'SELECT 1', values: [] })
  })

  it('takes text and values from a sql query, in a fresh object each call', () => {
    const query = sql`SELECT ${1}`
    const config = toQueryConfig(query)
    expect(config).toEqual({ text: 'SELECT $1', values: [1] })
    expect(toQueryConfig(query)).not.toBe(config)
    expect(toQueryConfig(query, [])).toEqual({ text: 'SELECT $1', values: [1] })
  })

  it('refuses a sql query together with params', () => {
    expectSqlError(() => toQueryConfig(sql`SELECT ${1}`, [2]), 'cannot take a params array too', '[2]')
  })

  it('refuses anything but text or a sql query, and params that are not an array', () => {
    const call = toQueryConfig as (input: unknown, params?: unknown) => unknown
    expectSqlError(() => call({ text: 'SELECT 1' }), '{"text":"SELECT 1"} is neither SQL text nor a query built with sql')
    expectSqlError(() => call(undefined), 'query undefined')
    expectSqlError(() => call('SELECT $1', 5), 'parameters 5 are not an array')
  })
})
