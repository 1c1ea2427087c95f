import { describeValue } from './errors'
import { quoteIdentifier, SqlError, SqlQuery } from './sql'

/** The element types `sql.array` and `sql.unnest` accept, each checked on the client before anything is sent. */
export type SqlArrayType =
  | 'int2'
  | 'int4'
  | 'int8'
  | 'float4'
  | 'float8'
  | 'numeric'
  | 'text'
  | 'varchar'
  | 'bool'
  | 'uuid'
  | 'date'
  | 'timestamp'
  | 'timestamptz'
  | 'json'
  | 'jsonb'

const INT_RANGES: Readonly<Record<string, readonly [number, number]>> = {
  int2: [-32_768, 32_767],
  int4: [-2_147_483_648, 2_147_483_647],
}
const INT8_MIN = -(2n ** 63n)
const INT8_MAX = 2n ** 63n - 1n
const NUMERIC_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/
const UUID_TEXT = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i

/** What each element type accepts, for messages. */
const ACCEPTED: Readonly<Record<SqlArrayType, string>> = {
  int2: 'an integer from -32768 to 32767, or null',
  int4: 'an integer from -2147483648 to 2147483647, or null',
  int8: 'a bigint or a safe integer within int8, or null',
  float4: 'a number, or null',
  float8: 'a number, or null',
  numeric: 'a finite number, a bigint, a decimal string, or null',
  text: 'a string, or null',
  varchar: 'a string, or null',
  bool: 'a boolean, or null',
  uuid: 'a UUID string, or null',
  date: 'a valid Date or a date string, or null',
  timestamp: 'a valid Date or a timestamp string, or null',
  timestamptz: 'a valid Date or a timestamp string, or null',
  json: 'a value JSON can hold, or null',
  jsonb: 'a value JSON can hold, or null',
}

/** Whether `type` is one {@link SqlArrayType}. */
function isArrayType(type: unknown): type is SqlArrayType {
  return typeof type === 'string' && Object.hasOwn(ACCEPTED, type)
}

function assertArrayType(helper: string, type: unknown): asserts type is SqlArrayType {
  if (!isArrayType(type)) {
    throw new SqlError(`${helper}: element type ${describeValue(type)} is not supported; accepted: ${Object.keys(ACCEPTED).join(', ')}`, {
      value: type,
    })
  }
}

/** Whether `value` can be an element of a `type` array (null always can). */
function fitsType(value: unknown, type: SqlArrayType): boolean {
  if (value === null) return true
  switch (type) {
    case 'int2':
    case 'int4': {
      const [min, max] = INT_RANGES[type]!
      return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max
    }
    case 'int8':
      if (typeof value === 'bigint') return value >= INT8_MIN && value <= INT8_MAX
      return typeof value === 'number' && Number.isSafeInteger(value)
    case 'float4':
    case 'float8':
      return typeof value === 'number'
    case 'numeric':
      if (typeof value === 'number') return Number.isFinite(value)
      return typeof value === 'bigint' || (typeof value === 'string' && NUMERIC_TEXT.test(value))
    case 'text':
    case 'varchar':
      return typeof value === 'string' && !value.includes('\0')
    case 'bool':
      return typeof value === 'boolean'
    case 'uuid':
      return typeof value === 'string' && UUID_TEXT.test(value)
    case 'date':
    case 'timestamp':
    case 'timestamptz':
      if (value instanceof Date) return !Number.isNaN(value.getTime())
      return typeof value === 'string' && value.length > 0
    case 'json':
    case 'jsonb':
      return jsonProblem(value, '$') === undefined
  }
}

/** A `type[]` parameter's elements as sent: JSON elements as their text, everything else as it is. */
function checkedElements(helper: string, values: readonly unknown[], type: SqlArrayType, where: (index: number) => string): unknown[] {
  const out = new Array<unknown>(values.length)
  for (let i = 0; i < values.length; i++) {
    const value = values[i]
    if (!fitsType(value, type)) {
      const problem = type === 'json' || type === 'jsonb' ? `: ${jsonProblem(value, '$')}` : ''
      throw new SqlError(`${helper}: ${where(i)} is ${describeValue(value)}${problem}; a ${type} element must be ${ACCEPTED[type]}`, {
        value,
      })
    }
    out[i] = (type === 'json' || type === 'jsonb') && value !== null ? JSON.stringify(value) : value
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// JSON

/** Why `value` cannot be JSON (naming the path, `$.items[2].price`), or undefined when it can. */
function jsonProblem(value: unknown, path: string, ancestors: object[] = []): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined
    case 'number':
      return Number.isFinite(value) ? undefined : `${path} is ${value}, which JSON cannot hold`
    case 'undefined':
      return `${path} is undefined, which JSON cannot hold (use null)`
    case 'bigint':
      return `${path} is a bigint (${value}n), which JSON cannot hold (convert it to a string or a number)`
    case 'function':
      return `${path} is a function, which JSON cannot hold`
    case 'symbol':
      return `${path} is a symbol, which JSON cannot hold`
  }
  if (value === null) return undefined
  const object = value as object
  if (ancestors.includes(object)) return `${path} refers back to an enclosing value (a cycle), which JSON cannot hold`
  if (object instanceof Map || object instanceof Set || object instanceof WeakMap || object instanceof WeakSet) {
    return `${path} is a ${object.constructor.name}, which JSON would turn into {} (convert it to an object or an array)`
  }
  // Date and others with toJSON: what JSON.stringify writes is what toJSON returns.
  if (typeof (object as { toJSON?: unknown }).toJSON === 'function') {
    return jsonProblem((object as { toJSON(): unknown }).toJSON(), path, ancestors)
  }
  ancestors.push(object)
  try {
    if (Array.isArray(object)) {
      for (let i = 0; i < object.length; i++) {
        const problem = jsonProblem(object[i], `${path}[${i}]`, ancestors)
        if (problem !== undefined) return problem
      }
      return undefined
    }
    for (const key of Object.keys(object)) {
      const problem = jsonProblem((object as Record<string, unknown>)[key], `${path}${propertyPath(key)}`, ancestors)
      if (problem !== undefined) return problem
    }
    return undefined
  } finally {
    ancestors.pop()
  }
}

function propertyPath(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`
}

/** `sql.json(value)`: one `jsonb` parameter holding `value` as JSON text. */
export function json(value: unknown): SqlQuery {
  const problem = jsonProblem(value, '$')
  if (problem !== undefined) throw new SqlError(`sql.json: ${problem}`, { value })
  return new SqlQuery(['', '::jsonb'], [JSON.stringify(value)])
}

// ---------------------------------------------------------------------------------------------
// Arrays

/** `sql.array(values, type)`: one `type[]` parameter, every element checked. */
export function array(values: readonly unknown[], type: SqlArrayType): SqlQuery {
  assertArrayType('sql.array', type)
  if (!Array.isArray(values)) {
    throw new SqlError(`sql.array: ${describeValue(values)} is not an array; accepted: an array of ${type} elements`, { value: values })
  }
  const elements = checkedElements('sql.array', values, type, (i) => `element ${i}`)
  return new SqlQuery(['', `::${type}[]`], [elements])
}

/** `sql.unnest(rows, types)`: `unnest($1::int4[], $2::text[])`, one array parameter per column. */
export function unnest(rows: readonly (readonly unknown[])[], types: readonly SqlArrayType[]): SqlQuery {
  if (!Array.isArray(types) || types.length === 0) {
    throw new SqlError(`sql.unnest: column types ${describeValue(types)} is not a non-empty array such as ['int4', 'text']`, {
      value: types,
    })
  }
  for (const type of types) assertArrayType('sql.unnest', type)
  if (!Array.isArray(rows) || rows.length === 0) {
    throw new SqlError(`sql.unnest: rows ${describeValue(rows)} is not a non-empty array of rows`, { value: rows })
  }
  const width = types.length
  const columns: unknown[][] = types.map(() => new Array<unknown>(rows.length))
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]
    if (!Array.isArray(row) || row.length !== width) {
      const got = Array.isArray(row) ? `${row.length} values` : describeValue(row)
      throw new SqlError(`sql.unnest: row ${r} has ${got}, but there are ${width} column types; every row needs one value per column`, {
        value: row,
      })
    }
    for (let c = 0; c < width; c++) columns[c]![r] = row[c]
  }
  const strings: string[] = ['unnest(']
  const args: unknown[] = []
  for (let c = 0; c < width; c++) {
    const type = types[c]!
    args.push(checkedElements('sql.unnest', columns[c]!, type, (r) => `row ${r}, column ${c} (${type})`))
    strings.push(c === width - 1 ? `::${type}[])` : `::${type}[], `)
  }
  return new SqlQuery(strings, args)
}

// ---------------------------------------------------------------------------------------------
// SET lists

/** `sql.set(object)`: `"a" = $1, "b" = $2` from an object's own enumerable properties, in their order. */
export function set(values: Readonly<Record<string, unknown>>): SqlQuery {
  if (typeof values !== 'object' || values === null || Array.isArray(values)) {
    throw new SqlError(`sql.set: ${describeValue(values)} is not an object of column → value`, { value: values })
  }
  const keys = Object.keys(values)
  if (keys.length === 0)
    throw new SqlError('sql.set: the object has no properties; an UPDATE needs at least one column to set', { value: values })
  const strings: string[] = []
  const args: unknown[] = []
  let text = ''
  for (const key of keys) {
    const value = values[key]
    if (value === undefined) {
      throw new SqlError(
        `sql.set: column ${JSON.stringify(key)} is undefined; pass null to set NULL, or leave the property out to keep the column as it is`,
        { value: values },
      )
    }
    strings.push(`${text}${quoteIdentifier(key)} = `)
    args.push(value)
    text = ', '
  }
  strings.push('')
  return new SqlQuery(strings, args)
}
