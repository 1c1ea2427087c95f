import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isReadStatement } from '../src/statement'
import { classifyStatement } from '../src/statement-classifier'

/** Statements that only read, with what the classifier must say about them. */
const READS: [sql: string, tables: string[], volatile: boolean][] = [
  ['SELECT 1', [], false],
  ['select * from users', ['users'], false],
  ['SELECT u.* FROM app.Users u JOIN "Orgs" o ON o.id = u.org_id, members m', ['app.users', '"Orgs"', 'members'], false],
  ['SELECT * FROM a LEFT JOIN b USING (id) CROSS JOIN c NATURAL JOIN d', ['a', 'b', 'c', 'd'], false],
  ['SELECT * FROM (a JOIN b ON true) JOIN (c JOIN d ON true) ON true', ['a', 'b', 'c', 'd'], false],
  ['SELECT count(*) FROM (SELECT 1 FROM a, b) x, c', ['a', 'b', 'c'], false],
  ['SELECT * FROM a WHERE id IN (SELECT a_id FROM b WHERE EXISTS (SELECT 1 FROM c))', ['a', 'b', 'c'], false],
  ['WITH x AS (SELECT * FROM a) SELECT * FROM x JOIN b ON true', ['a', 'b'], false],
  ['WITH x(n) AS MATERIALIZED (SELECT 1), y AS NOT MATERIALIZED (SELECT * FROM x) SELECT * FROM y', [], false],
  ['WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 5) SELECT * FROM t', [], false],
  // Inside its own (non-recursive) body, a CTE's name still means the table.
  ['WITH users AS (SELECT * FROM users WHERE active) SELECT * FROM users', ['users'], false],
  // A CTE defined in a subquery does not hide the table outside it.
  ['SELECT * FROM users, (WITH users AS (SELECT 1) SELECT * FROM users) x', ['users'], false],
  ['VALUES (1), (2)', [], false],
  ['TABLE app.users', ['app.users'], false],
  ['SELECT * FROM a UNION TABLE b', ['a', 'b'], false],
  ['(SELECT * FROM a) UNION ALL (SELECT * FROM b)', ['a', 'b'], false],
  ['SELECT * FROM generate_series(1, 3) AS g(n), unnest($1::int[]) u(x)', [], false],
  ['SELECT * FROM ONLY parent', ['parent'], false],
  ['SELECT * FROM "My Schema"."My Table"', ['"My Schema"."My Table"'], false],
  ['SELECT lower(name), coalesce(a, b), count(*) FILTER (WHERE x) OVER (PARTITION BY y) FROM t GROUP BY 1', ['t'], false],
  ["SELECT 'x'::numeric(10, 2), CAST(y AS varchar(3)) FROM t", ['t'], false],
  ['SELECT \'delete from x; drop table y\' AS "update" FROM t -- insert into z\n', ['t'], false],
  ['SELECT $$ DELETE FROM t $$, $body$ ; INSERT $body$ FROM t', ['t'], false],
  ["SELECT E'\\' ; DELETE FROM t; --' FROM t", ['t'], false],
  ['/* DELETE /* nested */ UPDATE */ SELECT 1 FROM t', ['t'], false],
  ['SELECT 1; SELECT 2 FROM t;', ['t'], false],
  ['SHOW search_path', [], true],
  ['EXPLAIN DELETE FROM t', ['t'], true],
  ['EXPLAIN (ANALYZE false, VERBOSE) UPDATE t SET a = 1', ['t'], true],
  ['EXPLAIN ANALYZE SELECT * FROM t', ['t'], true],
  ['SELECT now()', [], true],
  ['SELECT CURRENT_TIMESTAMP, current_date', [], true],
  ['SELECT current_user', [], true],
  ['SELECT random() FROM t', ['t'], true],
  ['SELECT gen_random_uuid()', [], true],
  ['SELECT uuid_generate_v4()', [], true],
  ['SELECT clock_timestamp(), statement_timestamp(), timeofday()', [], true],
  ['SELECT pg_backend_pid()', [], true],
  ['SELECT txid_current_if_assigned()', [], true],
  ['SELECT currval($1)', [], true],
  ["SELECT 'now'::timestamptz", [], true],
  ["SELECT * FROM t WHERE day = 'today'", ['t'], true],
  ['SELECT * FROM pg_stat_activity', ['pg_stat_activity'], true],
  ['SELECT * FROM information_schema.tables', ['information_schema.tables'], true],
  ['SELECT * FROM t TABLESAMPLE BERNOULLI (10)', ['t'], true],
  ["SELECT set_config('app.x', $1, true)", [], true],
]

/** Statements that are not read-only, with a word the reasons must mention. */
const NOT_READ_ONLY: [sql: string, reason: RegExp][] = [
  ['INSERT INTO t (a) VALUES (1)', /INSERT/],
  ['update t set a = 1', /UPDATE/],
  ['DELETE FROM t', /DELETE/],
  ['MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = s.a', /MERGE/],
  ['TRUNCATE t', /TRUNCATE/],
  ['COPY t FROM stdin', /COPY/],
  ['WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d', /DELETE/],
  ['WITH x AS (SELECT 1), y AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM y', /INSERT/],
  ['WITH u AS (UPDATE t SET a = 1 RETURNING *) SELECT * FROM u', /UPDATE/],
  ['SELECT * FROM t FOR UPDATE', /FOR UPDATE/],
  ['SELECT * FROM t FOR NO KEY UPDATE SKIP LOCKED', /FOR NO KEY UPDATE/],
  ['SELECT * FROM t FOR SHARE', /FOR SHARE/],
  ['SELECT * FROM t FOR KEY SHARE', /FOR KEY SHARE/],
  ['SELECT * FROM (SELECT * FROM t FOR UPDATE) x', /FOR UPDATE/],
  ['SELECT * INTO copy FROM t', /INTO/],
  ['EXPLAIN ANALYZE DELETE FROM t', /EXPLAIN ANALYZE/],
  ['EXPLAIN (ANALYZE, BUFFERS) INSERT INTO t VALUES (1)', /EXPLAIN ANALYZE/],
  ['EXPLAIN (ANALYZE true) UPDATE t SET a = 1', /EXPLAIN ANALYZE/],
  ['SELECT nextval($1)', /nextval/],
  ["SELECT setval('s', 1)", /setval/],
  ['SELECT pg_catalog.nextval($1)', /nextval/],
  ['SELECT "nextval"($1)', /nextval/],
  ['SELECT pg_advisory_lock(1)', /pg_advisory_lock/],
  ['SELECT pg_advisory_xact_lock_shared(1)', /pg_advisory_xact_lock_shared/],
  ['SELECT pg_try_advisory_lock(1)', /pg_try_advisory_lock/],
  ['SELECT pg_advisory_unlock_all()', /pg_advisory_unlock_all/],
  ['SELECT txid_current()', /txid_current/],
  ['SELECT pg_current_xact_id()', /pg_current_xact_id/],
  ["SELECT pg_notify('c', 'x')", /pg_notify/],
  ["SELECT set_config('a', 'b', false)", /set_config/],
  ["SELECT set_config('a', 'b', $1)", /set_config/],
  ['SELECT lo_create(0)', /lo_create/],
  ["SELECT * FROM dblink('db', 'DELETE FROM t') AS x(a int)", /dblink/],
  ['SELECT pg_terminate_backend(1)', /pg_terminate_backend/],
  ['SELECT pg_cancel_backend(1)', /pg_cancel_backend/],
  ["SELECT query_to_xml('DELETE FROM t RETURNING *', true, false, '')", /query_to_xml/],
  ['SELECT 1; DELETE FROM t', /DELETE/],
  ['SELECT 1; CREATE TABLE t (id int)', /CREATE/],
  ['CREATE TABLE t AS SELECT 1', /CREATE/],
  ['DO $$ BEGIN END $$', /DO/],
  ['CALL proc()', /CALL/],
  ['SET search_path = x', /SET/],
  ['LISTEN c', /LISTEN/],
  ['BEGIN', /BEGIN/],
  ['SELECT 1 /* never closed', /unterminated/],
  ["SELECT 'never closed", /unterminated/],
  ['', /no statement/],
  [' ; ; ', /no statement/],
  // With standard_conforming_strings off, the backslash ends nothing and DELETE runs: the cautious reading wins.
  ["SELECT '\\', ' ; DELETE FROM t; SELECT ''", /DELETE/],
]

describe('classifyStatement', () => {
  it.each(READS)('says %j is read-only and names its tables', (sql, tables, volatile) => {
    const result = classifyStatement(sql)
    expect(result.readOnly, result.reasons.join('; ')).toBe(true)
    expect(result.tables).toEqual(tables)
    expect(result.tablesKnown).toBe(true)
    expect(result.volatile, result.reasons.join('; ')).toBe(volatile)
    expect(result.unknownFunctions).toEqual([])
    expect(isReadStatement(sql)).toBe(true)
  })

  it.each(NOT_READ_ONLY)('says %j is not read-only, and why', (sql, reason) => {
    const result = classifyStatement(sql)
    expect(result.readOnly).toBe(false)
    expect(result.reasons.join('; ')).toMatch(reason)
    expect(isReadStatement(sql)).toBe(false)
  })

  it('marks every statement calling a writing function as volatile too', () => {
    for (const sql of ['SELECT nextval($1)', 'SELECT pg_try_advisory_lock(1)', 'SELECT txid_current()']) {
      expect(classifyStatement(sql).volatile).toBe(true)
    }
  })

  it('names the tables a write changes, and says when it cannot', () => {
    expect(classifyStatement('INSERT INTO app.t (a, b) SELECT x FROM s').writtenTables).toEqual(['app.t'])
    expect(classifyStatement('INSERT INTO app.t (a, b) SELECT x FROM s').tables).toEqual(['s'])
    expect(classifyStatement('UPDATE ONLY t SET a = 1 FROM s WHERE s.id = t.id').writtenTables).toEqual(['t'])
    expect(classifyStatement('DELETE FROM t USING a, b').writtenTables).toEqual(['t'])
    expect(classifyStatement('TRUNCATE TABLE a, ONLY b').writtenTables).toEqual(['a', 'b'])
    expect(classifyStatement('MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE').writtenTables).toEqual(['t'])
    expect(classifyStatement('WITH d AS (DELETE FROM a RETURNING *) INSERT INTO b SELECT * FROM d').writtenTables).toEqual(['a', 'b'])
    expect(classifyStatement('INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET a = 2').writtenTables).toEqual(['t'])
    expect(classifyStatement('REFRESH MATERIALIZED VIEW CONCURRENTLY v').writtenTables).toEqual(['v'])
    for (const sql of [
      'DROP TABLE t',
      'ALTER TABLE t ADD c int',
      'CALL p()',
      'DO $$ $$',
      'EXECUTE p',
      'COMMIT PREPARED $1',
      'SELECT my_fn()',
    ]) {
      expect(classifyStatement(sql).writtenTablesKnown, sql).toBe(false)
    }
    for (const sql of ['SET x = 1', 'BEGIN', 'COMMIT', 'LISTEN c', 'PREPARE p AS SELECT 1', 'SELECT nextval($1)', 'SELECT 1']) {
      expect(classifyStatement(sql).writtenTablesKnown, sql).toBe(true)
    }
  })

  it('says tablesKnown: false when a function it does not know is called, and lists the function', () => {
    const result = classifyStatement('SELECT app.score(u.id) FROM users u JOIN my_rows($1) r ON true')
    expect(result.readOnly).toBe(true)
    expect(result.tablesKnown).toBe(false)
    expect(result.unknownFunctions).toEqual(['app.score', 'my_rows'])
    expect(result.tables).toEqual(['users'])
    expect(result.reasons.join('; ')).toMatch(/app\.score\(\)/)
  })

  it('is not fooled by case, whitespace or comments between the words', () => {
    expect(classifyStatement('sElEcT * fRoM T FoR\n/* x */ uPdAtE').readOnly).toBe(false)
    expect(classifyStatement('SELECT NEXTVAL($1)').readOnly).toBe(false)
    expect(classifyStatement('SELECT\tpg_catalog . now ( )').volatile).toBe(true)
    expect(classifyStatement('select * from APP . USERS').tables).toEqual(['app.users'])
  })
})

// ---- properties ------------------------------------------------------------------------------------------

/** Read statements (with distinct classifications) that properties decorate. */
const BASES = [
  'SELECT * FROM users WHERE id = $1',
  'SELECT a.x, b.y FROM app.a JOIN b ON a.id = b.id',
  'WITH x AS (SELECT * FROM t) SELECT * FROM x',
  'SELECT now() FROM t',
  'SELECT count(*) FROM t, u',
  'SELECT nextval($1)',
  'SELECT * FROM t FOR UPDATE',
  'INSERT INTO t SELECT * FROM s',
  'SELECT my_fn(1) FROM t',
]

const WRITE_WORDS = ['DELETE FROM t', 'INSERT INTO t', 'UPDATE t SET', 'FOR UPDATE', '; DROP TABLE t', 'nextval(1)', 'INTO x', 'now()']

/** Text that hides a write word where PostgreSQL does not read it as SQL. */
const hidingPlace = fc.tuple(fc.constantFrom(...WRITE_WORDS), fc.string({ maxLength: 6 })).chain(([word, noise]) => {
  const clean = noise.replace(/[*/'"$\\\n\r]/g, ' ')
  return fc.constantFrom(`/* ${clean} ${word} */`, `/* ${word} /* ${clean} */ ${word} */`, `-- ${clean} ${word}\n`)
})

/** A select-list item that hides a write word inside a literal or an identifier. */
const hidingItem = fc
  .tuple(fc.constantFrom(...WRITE_WORDS), fc.string({ maxLength: 6 }))
  .chain(([word, noise]) =>
    fc.constantFrom(
      `'${`${noise} ${word}`.replaceAll("'", "''")}'`,
      `E'${`${noise}\\' ${word}`.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`,
      `$$${`${noise} ${word}`.replaceAll('$', ' ')}$$`,
      `$q$ ${word} $$ ; $q$`,
      `1 AS "${`${noise} ${word}`.replaceAll('"', '""')}"`,
    ),
  )

function comparable(sql: string) {
  const { readOnly, volatile, tables, tablesKnown, writtenTables, writtenTablesKnown, unknownFunctions } = classifyStatement(sql)
  return { readOnly, volatile, tables, tablesKnown, writtenTables, writtenTablesKnown, unknownFunctions }
}

describe('classifyStatement properties', () => {
  it('keeps its classification when a write word is hidden in a comment at any word boundary', () => {
    fc.assert(
      fc.property(fc.constantFrom(...BASES), fc.nat(), hidingPlace, (base, at, hidden) => {
        const words = base.split(' ')
        const position = at % (words.length + 1)
        const decorated = [...words.slice(0, position), hidden, ...words.slice(position)].join(' ')
        expect(comparable(decorated)).toEqual(comparable(base))
      }),
    )
  })

  it('keeps its classification when a write word is hidden in a literal or a quoted identifier', () => {
    fc.assert(
      fc.property(fc.constantFrom(...BASES.filter((base) => base.startsWith('SELECT'))), hidingItem, (base, item) => {
        const decorated = `SELECT ${item}, ${base.slice('SELECT '.length)}`
        expect(comparable(decorated)).toEqual(comparable(base))
      }),
    )
  })

  it('does not depend on the case of keywords and unquoted names', () => {
    fc.assert(
      fc.property(fc.constantFrom(...BASES), fc.array(fc.boolean(), { minLength: 80, maxLength: 80 }), (base, upper) => {
        const mixed = [...base].map((char, i) => (upper[i] ? char.toUpperCase() : char.toLowerCase())).join('')
        expect(comparable(mixed)).toEqual(comparable(base))
      }),
    )
  })

  it('is never read-only once a statement that is not read-only follows', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...BASES),
        fc.constantFrom('DELETE FROM t', 'CREATE TABLE z (a int)', 'SELECT nextval(1)', 'SET a = 1'),
        (base, write) => {
          expect(classifyStatement(`${base}; ${write}`).readOnly).toBe(false)
          expect(classifyStatement(`${base};\n/* c */ ${write};`).readOnly).toBe(false)
        },
      ),
    )
  })

  it('names every table of generated SELECTs (joins, comma lists, subqueries, CTEs), and no CTE', () => {
    type Query = { sql: string; tables: string[] }
    const table = fc.constantFrom('a', 'b', 'app.c', '"D e"', 'public."F"')
    // `t z(c1)` without AS reads like a call of z(): the classifier then says tablesKnown: false (cautious).
    const alias = fc.constantFrom('', ' x', ' AS y', ' AS z(c1, c2)')
    const select: fc.Memo<Query> = fc.memo((depth) => {
      const item: fc.Arbitrary<Query> =
        depth <= 1
          ? fc.tuple(table, alias).map(([name, as]) => ({ sql: `${name}${as}`, tables: [name] }))
          : fc.oneof(
              fc.tuple(table, alias).map(([name, as]) => ({ sql: `${name}${as}`, tables: [name] })),
              fc.tuple(select(depth - 1), alias).map(([inner, as]) => ({ sql: `(${inner.sql})${as || ' s'}`, tables: inner.tables })),
              fc.tuple(table, table, fc.constantFrom('JOIN', 'LEFT JOIN', 'CROSS JOIN', 'NATURAL JOIN')).map(([left, right, join]) => ({
                sql: `(${left} ${join} ${right}${join.includes('CROSS') || join.includes('NATURAL') ? '' : ' ON true'})`,
                tables: [left, right],
              })),
            )
      return fc
        .tuple(
          fc.array(item, { minLength: 1, maxLength: 3 }),
          fc.option(depth <= 1 ? fc.constant(undefined) : select(depth - 1), { nil: undefined }),
        )
        .map(([items, sub]) => ({
          sql: `SELECT * FROM ${items.map((i) => i.sql).join(', ')}${sub?.sql === undefined ? '' : ` WHERE k IN (${sub.sql})`}`,
          tables: [...items.flatMap((i) => i.tables), ...(sub?.tables ?? [])],
        }))
    })
    const withCtes = fc
      .tuple(select(3), fc.boolean())
      .map(([query, cte]) => (cte ? { sql: `WITH cte1 AS (${query.sql}) SELECT * FROM cte1, cte1 AS again`, tables: query.tables } : query))
    fc.assert(
      fc.property(withCtes, (query) => {
        const result = classifyStatement(query.sql)
        expect(result.readOnly).toBe(true)
        expect(result.tablesKnown).toBe(true)
        for (const name of query.tables) expect(result.tables, query.sql).toContain(name)
        expect(result.tables).not.toContain('cte1')
      }),
    )
  })

  it('never throws, whatever the text', () => {
    const unit = fc.constantFrom(
      'SELECT',
      'FROM',
      'WITH',
      'AS',
      '(',
      ')',
      ',',
      ';',
      "'",
      '"',
      '$$',
      '$a$',
      '--',
      '/*',
      '*/',
      '\\',
      'E',
      't',
      ' ',
      '\n',
      'FOR',
      'UPDATE',
      'f(',
      '.',
    )
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 30 }), (parts) => {
        const result = classifyStatement(parts.join(''))
        expect(typeof result.readOnly).toBe('boolean')
      }),
    )
  })
})
