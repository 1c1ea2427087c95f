import type { QueryResult, SqlInput } from './contracts'
import type { TesseraError } from './errors'
import { ConfigError, describeValue, ValidationError, type ValidationIssue } from './errors'

/**
 * A Standard Schema (zod ≥ 3.24, valibot ≥ 1, ArkType, Effect Schema…) as the provider uses it to validate rows: the
 * `~standard` property with `validate`, and the output type. Declared here, structurally, so core needs no dependency:
 * any `StandardSchemaV1` from `@standard-schema/spec` fits.
 */
export interface RowSchema<Output = unknown> {
  readonly '~standard': {
    readonly version: 1
    readonly vendor: string
    readonly validate: (value: unknown) => RowSchemaResult<Output> | Promise<RowSchemaResult<Output>>
    readonly types?: { readonly input: unknown; readonly output: Output } | undefined
  }
}

/** What a Standard Schema's `validate` returns: the (possibly transformed) value, or issues. */
export type RowSchemaResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | {
      readonly issues: ReadonlyArray<{
        readonly message: string
        readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined
      }>
    }

/** The row type a schema produces (its output). */
export type InferRow<S> = S extends RowSchema<infer Output> ? Output : never

/** @internal Where `sql.type(schema)` keeps the schema on the query it builds. */
export const ROW_SCHEMA: unique symbol = Symbol.for('tessera.rowSchema')

/**
 * A rendered row failed its schema: `rowIndex` is its position in the result (or, for a stream, since the stream
 * began), `issues` every problem the schema reported for it, each with the column path (`['email']`,
 * `['address', 'city']`). A `ValidationError` (`VALIDATION_FAILED`).
 */
export class RowValidationError extends ValidationError {
  readonly rowIndex: number
  /** The statement whose row failed. */
  readonly query: string
  constructor(details: { rowIndex: number; issues: readonly ValidationIssue[]; query: string }) {
    const text = details.query.trim()
    const shown = text.length > 60 ? `${text.slice(0, 57)}…` : text
    super(details.issues, { subject: `row ${details.rowIndex} of "${shown}"` })
    this.rowIndex = details.rowIndex
    this.query = details.query
  }
}

/** @internal Throws a `ConfigError` unless `schema` is a Standard Schema. */
export function assertRowSchema(schema: unknown): asserts schema is RowSchema {
  const standard =
    (typeof schema === 'object' || typeof schema === 'function') && schema !== null
      ? (schema as Partial<RowSchema>)['~standard']
      : undefined
  if (typeof standard?.validate === 'function') return
  throw new ConfigError(
    `sql.type needs a Standard Schema (zod, valibot, …: an object with ~standard.validate), got ${describeValue(schema)}`,
    {
      subject: 'sql.type call',
    },
  )
}

/** @internal `query` with `schema` attached, for `sql.type(schema)`. */
export function withRowSchema<Q extends object>(query: Q, schema: RowSchema): Q {
  Object.defineProperty(query, ROW_SCHEMA, { value: schema })
  return query
}

/** The schema a call asked for: the `schema` option wins over one attached with `sql.type(schema)`. */
export function rowSchemaOf(sql: SqlInput, options: { schema?: RowSchema | undefined } | undefined): RowSchema | undefined {
  const given = options?.schema
  if (given !== undefined) return given
  if (typeof sql !== 'object' || sql === null) return undefined
  return (sql as { [ROW_SCHEMA]?: RowSchema | undefined })[ROW_SCHEMA]
}

/**
 * The result with every row replaced by the schema's output for it (a transform applies), or a rejection with
 * {@link RowValidationError} for the first row that fails. `firstIndex` numbers the rows (a stream's batches).
 * Synchronous schemas are validated without awaiting per row.
 */
export async function validateRows<R>(rows: readonly unknown[], schema: RowSchema, text: string, firstIndex = 0): Promise<R[]> {
  const validate = schema['~standard'].validate
  const validated = new Array<R>(rows.length)
  for (let i = 0; i < rows.length; i++) {
    let outcome = validate(rows[i])
    if (outcome instanceof Promise) outcome = await outcome
    if (outcome.issues !== undefined) {
      throw new RowValidationError({ rowIndex: firstIndex + i, issues: outcome.issues.map(toIssue), query: text })
    }
    validated[i] = outcome.value as R
  }
  return validated
}

/** `result` with its rows validated by `schema`; see {@link validateRows}. */
export async function validateResult<R>(result: QueryResult<unknown>, schema: RowSchema, text: string): Promise<QueryResult<R>> {
  return { ...result, rows: await validateRows<R>(result.rows, schema, text) }
}

function toIssue(issue: {
  readonly message: string
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined
}): ValidationIssue {
  const path: (string | number)[] = []
  for (const segment of issue.path ?? []) {
    const key = typeof segment === 'object' && segment !== null ? segment.key : segment
    path.push(typeof key === 'number' ? key : String(key))
  }
  return { path, message: issue.message }
}

/**
 * For provider authors: `run`'s result with its rows validated by `schema` (see {@link validateRows}); a failure goes
 * through `report` (the provider's `onError`) before it rejects.
 */
export function validatedQuery<R>(
  run: Promise<QueryResult<unknown>>,
  schema: RowSchema,
  sql: SqlInput,
  report: (error: TesseraError, text: string) => TesseraError,
): Promise<QueryResult<R>> {
  return run.then(async (result) => {
    const text = textOf(sql)
    try {
      return await validateResult<R>(result, schema, text)
    } catch (error) {
      throw error instanceof RowValidationError ? report(error, text) : error
    }
  })
}

/** The text of a statement, for messages. */
export function textOf(sql: SqlInput): string {
  if (typeof sql === 'string') return sql
  try {
    return (sql as { text: string }).text
  } catch {
    return '(a sql query)'
  }
}
