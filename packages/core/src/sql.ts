import type { TypedSqlQuery } from './contracts'
import { describeValue, TesseraError } from './errors'
import { assertRowSchema, type InferRow, type RowSchema, withRowSchema } from './row-schema'
import { array, json, type SqlArrayType, set, unnest } from './sql-typed-values'

// The brand and the two data slots are registered symbols, so a query built by one copy of
// `@tessera/core` (ESM next to CJS, or two versions) is recognised and inlined by another.
const SQL_BRAND = Symbol.for('tessera.sql')
const STRINGS = Symbol.for('tessera.sql.strings')
const ARGS = Symbol.for('tessera.sql.args')

/** PostgreSQL's identifier limit (NAMEDATALEN - 1); longer names are silently truncated by the server. */
const MAX_IDENTIFIER_BYTES = 63
/** The protocol's limit: the parameter count of a Bind message is an unsigned 16-bit integer. */
const MAX_PARAMETERS = 65_535

/** A statement ready for a driver: text with `$1…$n` placeholders and the values they stand for. */
export interface QueryConfig {
  text: string
  /** The parameter values, in placeholder order. From a `SqlQuery` it is shared with the query: treat it as read-only. */
  values: unknown[]
}

/**
 * Bad SQL input caught before anything is sent: an invalid identifier or channel name, a bad argument to the `sql`
 * tag or its helpers, or a statement whose text and parameter values do not fit together (see `checkStatement`).
 * The message names the value and what is accepted.
 */
export class SqlError extends TesseraError {
  /** The offending value. */
  readonly value: unknown
  constructor(message: string, options: { value?: unknown; cause?: unknown } = {}) {
    super(message, { code: 'SQL_INVALID', cause: options.cause })
    this.value = options.value
  }
}

/**
 * An immutable SQL statement (or fragment) built with the {@link sql} tag. Its text and values are
 * computed on first use and memoised. Check with {@link isSqlQuery}, which survives duplicate copies
 * of the package; the class itself is not exported.
 */
export class SqlQuery {
  /** @internal Literal text around the arguments: always one more than the arguments. */
  readonly [STRINGS]: readonly string[]
  /** @internal Values and nested fragments, in order. */
  readonly [ARGS]: readonly unknown[]
  #compiled: QueryConfig | undefined

  /** @internal Use the {@link sql} tag. */
  constructor(strings: readonly string[], args: readonly unknown[]) {
    this[STRINGS] = strings
    this[ARGS] = args
  }

  /** The statement text with `$1…$n` placeholders, nested fragments inlined and renumbered. */
  get text(): string {
    return this.toQuery().text
  }

  /** The parameter values, in placeholder order (shared with the query: read-only). */
  get values(): readonly unknown[] {
    return this.toQuery().values
  }

  /**
   * `{ text, values }` for a driver, computed once and memoised. The object and its `values` are shared
   * between calls: treat them as read-only (they are not frozen, because freezing would double the cost
   * of building a query). Copy the object to add driver options, or use {@link toQueryConfig}.
   * @throws SqlError when the statement needs more than 65535 parameters.
   */
  toQuery(): QueryConfig {
    if (this.#compiled === undefined) this.#compiled = compile(this)
    return this.#compiled
  }
}

Object.defineProperty(SqlQuery.prototype, SQL_BRAND, { value: true })

/** True for a query or fragment built with the `sql` tag, even by another copy of this package. */
export function isSqlQuery(value: unknown): value is SqlQuery {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[SQL_BRAND] === true
}

const templateTexts = new WeakMap<readonly string[], string>()

function compile(query: SqlQuery): QueryConfig {
  const strings = query[STRINGS]
  const args = query[ARGS]
  let nested = false
  for (let i = 0; i < args.length; i++) {
    if (isSqlQuery(args[i])) {
      nested = true
      break
    }
  }
  // The common case: only values, so the argument array already is the value array, and the text
  // depends on the template alone: a template literal's strings array is the same object on every
  // call from one call site, so its text is built once and reused.
  if (!nested) {
    checkParameterCount(args.length)
    const isTemplate = (strings as TemplateStringsArray).raw !== undefined
    let text = isTemplate ? templateTexts.get(strings) : undefined
    if (text === undefined) {
      text = strings[0]!
      for (let i = 1; i < strings.length; i++) text += '$' + i + strings[i]!
      if (isTemplate) templateTexts.set(strings, text)
    }
    return { text, values: args as unknown[] }
  }
  const values: unknown[] = []
  const text = flatten(strings, args, values)
  checkParameterCount(values.length)
  return { text, values }
}

/**
 * Walks the fragment tree depth first, numbering values in order of appearance. Iterative, with an
 * explicit stack, so a condition chain built in a loop (`acc = sql`${acc} AND …``) cannot overflow the call stack.
 */
function flatten(rootStrings: readonly string[], rootArgs: readonly unknown[], values: unknown[]): string {
  const stack: (readonly unknown[] | number)[] = []
  let strings = rootStrings
  let args = rootArgs
  let index = 0
  let text = strings[0]!
  for (;;) {
    if (index < args.length) {
      const arg = args[index++]
      if (isSqlQuery(arg)) {
        stack.push(strings, args, index)
        strings = arg[STRINGS]
        args = arg[ARGS]
        index = 0
        text += strings[0]!
      } else {
        values.push(arg)
        text += '$' + values.length + strings[index]!
      }
      continue
    }
    if (stack.length === 0) return text
    index = stack.pop() as number
    args = stack.pop() as readonly unknown[]
    strings = stack.pop() as readonly string[]
    text += strings[index]!
  }
}

function checkParameterCount(count: number): void {
  if (count > MAX_PARAMETERS) {
    throw new SqlError(
      `query has ${count} parameters; PostgreSQL accepts at most ${MAX_PARAMETERS} per statement (split a multi-row insert into batches)`,
      { value: count },
    )
  }
}

const EMPTY: readonly unknown[] = Object.freeze([])

function fragment(text: string): SqlQuery {
  return new SqlQuery([text], EMPTY)
}

/** The literal text of a fragment without parameters, or undefined when it has any. */
function staticText(query: SqlQuery): string | undefined {
  const strings = query[STRINGS]
  if (strings.length === 1) return strings[0]
  for (const arg of query[ARGS]) if (!isSqlQuery(arg) || arg.values.length > 0) return undefined
  return query.text
}

// ---------------------------------------------------------------------------------------------
// Identifiers

/**
 * Bytes `name` takes in UTF-8, or -1 when it holds something PostgreSQL cannot store in a name:
 * a NUL character or an unpaired UTF-16 surrogate (which has no UTF-8 encoding at all).
 */
function identifierBytes(name: string): number {
  let bytes = 0
  for (let i = 0; i < name.length; i++) {
    const unit = name.charCodeAt(i)
    if (unit === 0) return -1
    if (unit < 0x80) bytes += 1
    else if (unit < 0x800) bytes += 2
    else if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = name.charCodeAt(i + 1)
      if (!(next >= 0xdc00 && next <= 0xdfff)) return -1
      bytes += 4
      i++
    } else if (unit >= 0xdc00 && unit <= 0xdfff) return -1
    else bytes += 3
  }
  return bytes
}

const IDENTIFIER_RULE = 'a non-empty string of at most 63 bytes in UTF-8, without NUL characters'

/** Why `name` cannot be an identifier, as the end of a sentence about it, or undefined when it can. */
function identifierProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'is not a string'
  if (name.length === 0) return 'is empty'
  const bytes = identifierBytes(name)
  if (bytes < 0) return 'contains a NUL character or an unpaired surrogate'
  if (bytes > MAX_IDENTIFIER_BYTES) return `is ${bytes} bytes in UTF-8, which PostgreSQL would silently truncate to ${MAX_IDENTIFIER_BYTES}`
  return undefined
}

/**
 * Double-quotes an identifier (a table, column, schema, channel or cursor name) so PostgreSQL reads it exactly as
 * written, doubling any `"` inside. The one identifier quoter of Tessera: `sql.id` and `@tessera/naming`'s
 * `quoteIdent` use it. A name PostgreSQL would silently truncate (over 63 bytes in UTF-8, NAMEDATALEN - 1) is
 * refused rather than quoted, because the truncated name could collide with another or miss the object meant.
 *
 * @throws SqlError for a non-string, an empty name, a NUL character, an unpaired surrogate, or more than 63 UTF-8 bytes.
 * @example
 * quoteIdentifier('userId')   // '"userId"'
 * quoteIdentifier('say "hi"') // '"say ""hi"""'
 */
export function quoteIdentifier(name: string): string {
  const problem = identifierProblem(name)
  if (problem !== undefined)
    throw new SqlError(`identifier ${describeValue(name)} ${problem}; accepted: ${IDENTIFIER_RULE}`, { value: name })
  return name.includes('"') ? `"${name.replaceAll('"', '""')}"` : `"${name}"`
}

/**
 * Throws unless `channel` can name a LISTEN/NOTIFY channel: the identifier rules of {@link quoteIdentifier}. A
 * name over 63 bytes is the trap this catches: `LISTEN` truncates it without an error, while `pg_notify`
 * refuses it (22023), so nothing sent to it would ever arrive.
 *
 * @throws SqlError naming the channel and the limit.
 * @example
 * assertChannelName('orders') // passes
 * assertChannelName('x'.repeat(70)) // throws: channel "xxx…" is 70 bytes in UTF-8, which PostgreSQL would silently truncate to 63; …
 */
export function assertChannelName(channel: string): void {
  const problem = identifierProblem(channel)
  if (problem === undefined) return
  throw new SqlError(`channel ${describeValue(channel)} ${problem}; accepted: ${IDENTIFIER_RULE}`, { value: channel })
}

function id(name: string | readonly string[]): SqlQuery {
  if (!Array.isArray(name)) return fragment(quoteIdentifier(name as string))
  if (name.length === 0) {
    throw new SqlError(`sql.id: an empty array names nothing; accepted: a name, or an array of names such as ['schema', 'table']`, {
      value: name,
    })
  }
  // The quoter checks each element at run time (a hole or a non-string is refused), whatever the static type says.
  let text = quoteIdentifier(name[0] as string)
  for (let i = 1; i < name.length; i++) text += '.' + quoteIdentifier(name[i] as string)
  return fragment(text)
}

// ---------------------------------------------------------------------------------------------
// Composition helpers

const DEFAULT_SEPARATOR = fragment(', ')

function join(parts: readonly unknown[], separator: SqlQuery = DEFAULT_SEPARATOR): SqlQuery {
  if (!Array.isArray(parts)) {
    throw new SqlError(`sql.join: parts ${describeValue(parts)} is not an array; accepted: an array of values and sql fragments`, {
      value: parts,
    })
  }
  if (!isSqlQuery(separator)) {
    throw new SqlError(
      `sql.join: separator ${describeValue(separator)} is not a sql fragment; accepted: sql\`, \`, sql\` AND \`, or sql.raw(trustedText)`,
      { value: separator },
    )
  }
  if (parts.length === 0) return fragment('')
  const between = staticText(separator)
  const strings: string[] = ['']
  // A separator without parameters (the usual case) is folded into the literal text.
  if (between !== undefined) {
    for (let i = 1; i < parts.length; i++) strings.push(between)
    strings.push('')
    return new SqlQuery(strings, parts.slice())
  }
  const args: unknown[] = [parts[0]]
  for (let i = 1; i < parts.length; i++) {
    strings.push('', '')
    args.push(separator, parts[i])
  }
  strings.push('')
  return new SqlQuery(strings, args)
}

function values(rows: readonly unknown[], columns?: readonly string[]): SqlQuery {
  if (!Array.isArray(rows) || rows.length === 0) {
    throw new SqlError(`sql.values: rows ${describeValue(rows)} is not a non-empty array; accepted: at least one row`, { value: rows })
  }
  if (columns === undefined) return valuesFromArrays(rows)
  if (!Array.isArray(columns) || columns.length === 0 || !columns.every((c) => typeof c === 'string')) {
    throw new SqlError(`sql.values: columns ${describeValue(columns)} is not a non-empty array of property names`, { value: columns })
  }
  const arrays = rows.map((row, index) => {
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      throw new SqlError(`sql.values: row ${index} is ${describeValue(row)}; with a column list every row must be an object`, {
        value: row,
      })
    }
    return columns.map((column) => {
      if (!(column in row)) {
        throw new SqlError(
          `sql.values: row ${index} has no property "${column}"; every row needs every column (use null for NULL): ${describeValue(row)}`,
          { value: row },
        )
      }
      return (row as Record<string, unknown>)[column]
    })
  })
  return valuesFromArrays(arrays)
}

function valuesFromArrays(rows: readonly unknown[]): SqlQuery {
  const first = rows[0]
  if (!Array.isArray(first)) {
    throw new SqlError(
      `sql.values: row 0 is ${describeValue(first)}; accepted: arrays of values, or objects together with a column list (sql.values(rows, ['a', 'b']))`,
      { value: first },
    )
  }
  const width = first.length
  if (width === 0) throw new SqlError('sql.values: row 0 is empty; every row needs at least one value', { value: first })
  const strings: string[] = ['(']
  const args: unknown[] = []
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]
    if (!Array.isArray(row) || row.length !== width) {
      const got = Array.isArray(row) ? `${row.length} values` : describeValue(row)
      throw new SqlError(`sql.values: row ${r} has ${got} but row 0 has ${width}; every row must have the same number of values`, {
        value: row,
      })
    }
    if (r > 0) strings[strings.length - 1] += '), ('
    for (let c = 0; c < width; c++) {
      args.push(row[c])
      strings.push(c === width - 1 ? '' : ', ')
    }
  }
  strings[strings.length - 1] += ')'
  return new SqlQuery(strings, args)
}

function raw(text: string): SqlQuery {
  if (typeof text !== 'string') {
    throw new SqlError(`sql.raw: ${describeValue(text)} is not a string; accepted: trusted SQL text`, { value: text })
  }
  return fragment(text)
}

// ---------------------------------------------------------------------------------------------
// The tag

/** The `sql` tag and its helpers. */
export interface SqlTag {
  /**
   * Builds a statement: every interpolated value becomes a `$n` parameter; an interpolated
   * `SqlQuery` (from `sql`, `sql.id`, `sql.join`, `sql.values`, `sql.raw`) is inlined with its
   * parameters renumbered. The literal text is never parsed, so `$` signs in it (dollar-quoted
   * strings, `$tag$…$tag$`) are left alone; do not write `$1` placeholders by hand in it.
   * An array value is one parameter (a PostgreSQL array: `= ANY(${ids})`); use `sql.join` for a list.
   *
   * @example sql`SELECT * FROM users WHERE id = ${id} AND ${sql`age > ${18}`}` // … id = $1 AND age > $2
   */
  (strings: TemplateStringsArray, ...values: unknown[]): SqlQuery
  /**
   * A double-quoted identifier, `"` doubled inside: `sql.id('user')` → `"user"`. An array builds a
   * qualified name: `sql.id(['app', 'users'])` → `"app"."users"`. A dot inside one string is part of
   * the name, not a separator. Quoted names are case-sensitive in PostgreSQL.
   * @throws SqlError for a non-string, an empty name, a NUL character, an unpaired surrogate, or more than 63 UTF-8 bytes.
   */
  id(name: string | readonly string[]): SqlQuery
  /**
   * Joins values (each becomes a parameter) and fragments with `separator`, a fragment; default `sql`, ``.
   * An empty array gives an empty fragment.
   * @example sql`SELECT * FROM t WHERE id IN (${sql.join(ids)})` // id IN ($1, $2, $3)
   * @example sql.join(conditions, sql` AND `)
   */
  join(parts: readonly unknown[], separator?: SqlQuery): SqlQuery
  /**
   * Rows for a multi-row insert, `($1, $2), ($3, $4)` (without the `VALUES` keyword). Rows are
   * arrays of equal length, or objects read in the order of `columns` (every object must have every column).
   * @example sql`INSERT INTO t (a, b) VALUES ${sql.values([[1, 'x'], [2, 'y']])}`
   * @example sql`INSERT INTO t (a, b) VALUES ${sql.values(users, ['a', 'b'])}`
   * @throws SqlError for no rows, an empty row, or rows of unequal length.
   */
  values(rows: readonly (readonly unknown[])[]): SqlQuery
  values<T extends object>(rows: readonly T[], columns: readonly (keyof T & string)[]): SqlQuery
  /**
   * Trusted SQL text, inlined verbatim. Never pass user input: it is not escaped.
   * @example sql`SELECT * FROM t ORDER BY created ${sql.raw(descending ? 'DESC' : 'ASC')}`
   */
  raw(text: string): SqlQuery
  /**
   * One `jsonb` parameter holding `value` as JSON: `$1::jsonb`. Refuses, with the path of the offending part
   * (`$.items[2].price`), what JSON cannot hold or would silently change: `undefined`, `NaN`, `±Infinity`, functions,
   * symbols, bigints, `Map`/`Set`, cycles. Objects with `toJSON` (a `Date`) are written as it returns.
   * @example sql`INSERT INTO events (payload) VALUES (${sql.json({ kind: 'signup', tags: ['a'] })})`
   * @throws SqlError naming the path and what JSON accepts.
   */
  json(value: unknown): SqlQuery
  /**
   * One typed array parameter, `$1::int4[]`, every element checked on the client (an int4 out of range, a float in an
   * int column, a non-UUID string…) so a bad element fails with its index before anything is sent. `null` elements are
   * NULL.
   * @example sql`SELECT * FROM users WHERE id = ANY(${sql.array(ids, 'int4')})`
   * @throws SqlError for an unknown type or a bad element (with its index).
   */
  array(values: readonly unknown[], type: SqlArrayType): SqlQuery
  /**
   * Rows as one array parameter per column, `unnest($1::int4[], $2::text[])`, for bulk inserts whose parameter count
   * does not grow with the rows (multi-row VALUES needs one per value, and stops at 65535).
   * @example sql`INSERT INTO items (id, name) SELECT * FROM ${sql.unnest([[1, 'a'], [2, 'b']], ['int4', 'text'])}`
   * @throws SqlError for no rows, a row of the wrong width, or a bad element (with its row and column).
   */
  unnest(rows: readonly (readonly unknown[])[], types: readonly SqlArrayType[]): SqlQuery
  /**
   * The assignments of an UPDATE from an object, `"name" = $1, "age" = $2` (without the `SET` keyword), each key
   * quoted by {@link quoteIdentifier}, in the object's property order. A value may be a fragment (`sql\`now()\``).
   * An `undefined` value is an error, never skipped: pass `null` for NULL, or leave the property out.
   * @example sql`UPDATE users SET ${sql.set({ name: 'Ada', updated_at: sql`now()` })} WHERE id = ${id}`
   * @throws SqlError for an empty object, an undefined value, or a key that is not a valid identifier.
   */
  set(values: Readonly<Record<string, unknown>>): SqlQuery
  /**
   * A tag whose queries validate every row with a Standard Schema (zod, valibot…) and are typed by its output
   * (`query`, `one`… infer the row type); see the README, "Validating rows".
   * @example const User = z.object({ id: z.number(), email: z.string() }); const user = await one(db, sql.type(User)`SELECT id, email FROM users WHERE id = ${id}`)
   */
  type<S extends RowSchema>(schema: S): (strings: TemplateStringsArray, ...values: unknown[]) => TypedSqlQuery<InferRow<S>>
}

function tag(strings: TemplateStringsArray, ...args: unknown[]): SqlQuery {
  // Called as a plain function, `sql('SELECT …')`, the text would be treated as characters to interpolate.
  if (!Array.isArray(strings)) {
    throw new SqlError(
      `sql must be used as a tagged template, sql\`…\`; got sql(${describeValue(strings)}). For trusted text use sql.raw(text)`,
      {
        value: strings,
      },
    )
  }
  return new SqlQuery(strings, args)
}

function type<S extends RowSchema>(schema: S): (strings: TemplateStringsArray, ...values: unknown[]) => TypedSqlQuery<InferRow<S>> {
  assertRowSchema(schema)
  return (strings, ...args) => withRowSchema(tag(strings, ...args), schema) as TypedSqlQuery<InferRow<S>>
}

/** Builds parameterised SQL safely; see {@link SqlTag}. */
export const sql: SqlTag = Object.assign(tag, { id, join, values: values as SqlTag['values'], raw, type, json, array, unnest, set })

/**
 * What a provider hands its driver: SQL text with `params` passes through (params default to `[]`);
 * a `SqlQuery` brings its own values. A fresh object each call, so a provider may add driver options.
 * @throws SqlError when `input` is neither, when `params` is not an array, or when a `SqlQuery` comes with non-empty `params`.
 */
export function toQueryConfig(input: string | SqlQuery, params?: readonly unknown[]): QueryConfig {
  if (params !== undefined && !Array.isArray(params)) {
    throw new SqlError(`query parameters ${describeValue(params)} are not an array; accepted: an array such as [id, name]`, {
      value: params,
    })
  }
  if (typeof input === 'string') return { text: input, values: params === undefined ? [] : (params as unknown[]) }
  if (isSqlQuery(input)) {
    if (params !== undefined && params.length > 0) {
      throw new SqlError(
        `a query built with sql\`\` carries its own values and cannot take a params array too (got ${describeValue(params)}); interpolate the values into the template instead`,
        { value: params },
      )
    }
    const compiled = input.toQuery()
    return { text: compiled.text, values: compiled.values }
  }
  throw new SqlError(`query ${describeValue(input)} is neither SQL text nor a query built with sql\`\`; accepted: a string or sql\`…\``, {
    value: input,
  })
}
