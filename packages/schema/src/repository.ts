import {
  describeValue,
  isSqlQuery,
  NotFoundError,
  OptimisticLockError,
  type Provider,
  type Queryable,
  type QueryConfig,
  type Row,
  type SqlQuery,
  sql,
  type Transaction,
  UniqueViolationError,
  ValidationError,
  type ValidationIssue,
} from '@tessera/core'
import { aggregateStatement } from './aggregate'
import { isAtomicChange, now } from './atomic'
import { type CallOptions, checkCallOptions, hasCallOptions, withCallOptions } from './call-options'
import { decodeCursor, encodeCursor, orderByClause, type SortKey, seekCondition } from './cursor'
import { type CursorOptions, type CursorSeal, createCursorSeal } from './cursor-seal'
import type { AnyEntity, AnyPrimaryKey, InferEntity, InferInsert, PrimaryKeyOf } from './define-entity'
import type { AnyViewEntity } from './define-view'
import { type FieldValues, insertColumns, insertStatements, keyCondition, maxParametersOf, setClause, tableOf } from './dml'
import { type EntityMeta, entityMeta, type FieldMeta } from './entity-meta'
import { hasLifecycle, runLifecycle } from './lifecycle'
import { mapRow } from './mapping'
import type {
  AggregateOptions,
  AggregateRow,
  AggregateSpec,
  ConflictAction,
  DeleteOptions,
  LockOptions,
  Projected,
  ReturningOptions,
  SelectOptions,
  UpdatePatch,
} from './query-options'
import { type ReadOnlyRepository, readOnly } from './read-only-repository'
import { DuplicateKeyError } from './repository-errors'
import { generateForInsert, loadRow, type RowLoader, toParamValue, validateInput, validateInputSync } from './repository-model'
import { checkCount as checkCountOf, sortKeysOf } from './sort-keys'
import { compileWhere, isUnconditional, type Where, type WhereTarget } from './where'
import {
  attachRelations,
  type CompiledWith,
  compileWith,
  type EntityWhere,
  type Loaded,
  type RelationConditions,
  ROOT_ALIAS,
  type With,
  whereTargetOf,
} from './with-query'

/** A primary key value: the value itself for a one-field key, an object of the key fields for a composite key. */
export type PrimaryKey = AnyPrimaryKey

/** Sort direction of one field. */
export type SortDirection = 'asc' | 'desc'

/**
 * An ordering: `{ createdAt: 'desc', name: 'asc' }` (keys in order) or a list of one-key objects. The primary key is
 * always appended as the last tiebreaker, so pages are stable even when sort values repeat.
 */
export type OrderBy<T> = { [K in keyof T]?: SortDirection } | readonly { [K in keyof T]?: SortDirection }[]

/** Options of {@link Repository.findMany}. */
export interface FindManyOptions<T, X = {}> {
  /** Which rows. Default: all. */
  where?: Where<T, X> | undefined
  /** Default: the primary key, ascending. */
  orderBy?: OrderBy<T> | undefined
  /** Page size. Default: no limit (and then no `nextCursor`). */
  limit?: number | undefined
  /** Rows to skip. Prefer `after` for deep pages: an offset still reads the skipped rows. Default: 0. */
  offset?: number | undefined
  /** The `nextCursor` of the previous page: the page continues right after its last row (keyset pagination). */
  after?: string | undefined
}

/** Options of a read that can load relations. */
export interface ReadOptions<W> {
  /**
   * Relations to load with each row (declared with `defineRelations`): `{ tasks: true }`, or
   * `{ tasks: { where, orderBy, limit, with } }`. Loaded in the same statement as the rows (a correlated JSON
   * subquery per relation), never one query per row; `limit` is per parent row.
   */
  with?: W | undefined
  /** Include soft-deleted rows (entities with a `.deletedAt()` field). Default: `false`. */
  withDeleted?: boolean | undefined
}

/** Options of `count` and `exists`. */
export interface CountOptions {
  /** Include soft-deleted rows (entities with a `.deletedAt()` field). Default: `false`. */
  withDeleted?: boolean | undefined
}

/** One page of {@link Repository.findMany}. */
export interface Page<T> {
  rows: T[]
  /** Pass as `after` to get the next page; `undefined` when this page is the last one (or no `limit` was given). */
  nextCursor: string | undefined
}

/** Options of {@link Repository.update}. */
export interface UpdateOptions {
  /** The version the row must still have (entities with a `.version()` field). Default: `patch.version`. */
  expectedVersion?: number | bigint | undefined
}

/** Which conflict an upsert resolves: the primary key, a named constraint, or the fields of a unique constraint/index. */
export type ConflictTarget<Field extends string = string> = 'primaryKey' | { constraint: string } | { fields: readonly Field[] }

/** Options of {@link Repository.upsert}. */
export interface UpsertOptions<Field extends string = string> extends ConflictAction<Field> {
  /** Default: `'primaryKey'`. */
  conflict?: ConflictTarget<Field> | undefined
}

/** Options of {@link repository}. */
export interface RepositoryOptions {
  /**
   * Convert written values of another JavaScript type, for input from forms and query strings: `'42'` → 42 for an
   * integer, `'yes'` → true, epoch ms or ISO text → `Date`, `42` → `'42'` for text. Without it writes are strict: a
   * value must have the type a read returns, anything else is a `ValidationError`. Default: `false`.
   */
  coerce?: boolean | undefined
  /**
   * How `findMany`'s `nextCursor` is protected: always signed (a cursor altered or forged by a client is a
   * `ValidationError`), encrypted with `encrypt: true`. Give every process serving the same pages the same
   * `secret`; see {@link CursorOptions}. Default: signed with a random secret of this process.
   */
  cursor?: CursorOptions | undefined
}

/** Options of {@link Repository.updateMany} and {@link Repository.deleteMany}. */
export interface BulkWriteOptions {
  /**
   * Consent to a filter without any field condition (`{}`), which touches every row. Without it such a filter is a
   * `ValidationError`, so a filter built from missing input cannot empty a table. Default: `false`.
   */
  all?: boolean | undefined
  /** Include soft-deleted rows (entities with a `.deletedAt()` field). Default: `false`. */
  withDeleted?: boolean | undefined
}

/** Options of {@link Repository.insertMany}. */
export interface InsertManyOptions<Field extends string = string> {
  /** What a row that conflicts does (`ON CONFLICT`): `{ doNothing: true }`, or `{ update: [fields] }`, on the `conflict` target (default: the primary key). Default: a conflict is a `DuplicateKeyError`. */
  onConflict?: (ConflictAction<Field> & { conflict?: ConflictTarget<Field> | undefined }) | undefined
  /** Return the inserted rows (`RETURNING *`). `false` returns the number of rows inserted instead. Default: `true`. */
  returning?: boolean | undefined
  /**
   * Validate every row before writing. `false` skips validation (and its coercion) for trusted bulk loads; the
   * database's own constraints still apply. Default: `true`.
   */
  validate?: boolean | undefined
}

/**
 * Typed CRUD for one entity over a provider or a transaction; see {@link repository}. Every row handed back went
 * through the row mapper and the entity's `afterLoad` hook.
 */
export interface Repository<E extends AnyEntity> {
  // Every method takes `signal` and `timeoutMs` in its options (see CallOptions), passed to each statement it runs.
  readonly entity: E
  /** Validates, fills generated values, runs `beforeInsert`, inserts, runs `afterWrite`; returns the stored row. */
  insert(input: InferInsert<E>, options?: CallOptions): Promise<InferEntity<E>>
  /**
   * Inserts many rows with multi-row INSERTs, each under the queryable's `maxParameters` (65,535 for pg, 65,533 for
   * postgres.js; 65,535 when it declares none), all in one transaction. With `onConflict`, conflicting rows are
   * skipped (`doNothing`) or update the existing ones; skipped rows are neither returned nor counted.
   */
  insertMany(
    inputs: readonly InferInsert<E>[],
    options?: InsertManyOptions<FieldName<E>> & CallOptions & { returning?: true | undefined },
  ): Promise<InferEntity<E>[]>
  insertMany(
    inputs: readonly InferInsert<E>[],
    options: InsertManyOptions<FieldName<E>> & CallOptions & { returning: false },
  ): Promise<number>
  /** The row with this primary key, or `undefined`; `options.with` loads its relations in the same statement. */
  findById<const W extends With<E> = {}, const S extends FieldName<E> = never>(
    id: PrimaryKeyOf<E>,
    options?: ReadOptions<W> & SelectOptions<S> & LockOptions & CallOptions,
  ): Promise<Projected<Loaded<E, W>, S, keyof W> | undefined>
  /** The first row matching `where` (in primary key order), or `undefined`. `{}` is the first row of the table. */
  findOne<const W extends With<E> = {}, const S extends FieldName<E> = never>(
    where: EntityWhere<E>,
    options?: ReadOptions<W> & SelectOptions<S> & LockOptions & CallOptions,
  ): Promise<Projected<Loaded<E, W>, S, keyof W> | undefined>
  /** A page of rows; see {@link FindManyOptions}. `with` loads relations of every row in the same statement. */
  findMany<const W extends With<E> = {}, const S extends FieldName<E> = never>(
    options?: FindManyOptions<InferEntity<E>, RelationConditions<E>> & ReadOptions<W> & SelectOptions<S> & LockOptions & CallOptions,
  ): Promise<Page<Projected<Loaded<E, W>, S, keyof W>>>
  /** How many rows match. */
  count(where?: EntityWhere<E>, options?: CountOptions & CallOptions): Promise<number>
  /** Whether any row matches. */
  exists(where?: EntityWhere<E>, options?: CountOptions & CallOptions): Promise<boolean>
  /**
   * Aggregates over the matching rows, grouped by `groupBy`: `count`, `countDistinct`, `sum`, `avg`, `min`, `max`,
   * filtered by `having`; see {@link AggregateOptions}.
   * @example await tasks.aggregate({ groupBy: ['projectId'], aggregates: { n: { count: '*' }, total: { sum: 'estimate' } }, having: { n: { gt: 1 } } })
   */
  aggregate<const G extends FieldName<E> = never, const A extends Readonly<Record<string, AggregateSpec<InferEntity<E>>>> = {}>(
    options: AggregateOptions<InferEntity<E>, RelationConditions<E>, G, A> & CallOptions,
  ): Promise<AggregateRow<InferEntity<E>, G, A>[]>
  /**
   * Updates one row. With a version field the row must still have the expected version (`options.expectedVersion`,
   * else `patch.version`), else `OptimisticLockError`; the version is bumped and `updatedAt` set. `increment(n)`
   * and `now()` are computed by the database from the row's current value.
   * @throws NotFoundError when no row has this key. @throws ValidationError before anything is written.
   */
  update(id: PrimaryKeyOf<E>, patch: UpdatePatch<E>, options?: UpdateOptions & CallOptions): Promise<InferEntity<E>>
  /**
   * Updates every matching row (bumping versions, setting `updatedAt`); returns how many, or the rows with
   * `returning: true`. Runs no per-row hooks except `afterWrite`. A filter without a field condition needs `{ all: true }`.
   */
  updateMany(
    where: EntityWhere<E>,
    patch: UpdatePatch<E>,
    options: BulkWriteOptions & CallOptions & { returning: true },
  ): Promise<InferEntity<E>[]>
  updateMany(
    where: EntityWhere<E>,
    patch: UpdatePatch<E>,
    options?: BulkWriteOptions & CallOptions & { returning?: false | undefined },
  ): Promise<number>
  /**
   * INSERT … ON CONFLICT: inserts the row, or on conflict updates the existing one with the new values (`update`
   * chooses which fields), or leaves it (`doNothing: true`, which resolves to `undefined` on a conflict).
   */
  upsert(
    input: InferInsert<E>,
    options: UpsertOptions<FieldName<E>> & CallOptions & { doNothing: true },
  ): Promise<InferEntity<E> | undefined>
  upsert(
    input: InferInsert<E>,
    options?: UpsertOptions<FieldName<E>> & CallOptions & { doNothing?: false | undefined },
  ): Promise<InferEntity<E>>
  /**
   * Deletes one row after its `beforeDelete` hook; returns whether a row was deleted. With `expectedVersion` the row
   * must still have that version, else `OptimisticLockError`. On an entity with a `.deletedAt()` field this is a
   * soft delete: the field is set to `now()` (version bumped, `updatedAt` set) and reads leave the row out.
   */
  delete(id: PrimaryKeyOf<E>, options?: DeleteOptions & CallOptions): Promise<boolean>
  /** Deletes the row for good (`DELETE`), soft-deleted or not: {@link delete} for entities without `.deletedAt()`. */
  hardDelete(id: PrimaryKeyOf<E>, options?: DeleteOptions & CallOptions): Promise<boolean>
  /**
   * Undoes a soft delete: clears the `.deletedAt()` field; returns the restored row, or `undefined` when no
   * soft-deleted row has this key. A `ValidationError` on an entity without a `.deletedAt()` field.
   */
  restore(id: PrimaryKeyOf<E>, options?: CallOptions): Promise<InferEntity<E> | undefined>
  /**
   * Deletes every matching row (running `beforeDelete` for each when the entity has that hook); returns how many, or
   * the deleted rows with `returning: true`. A filter without a field condition needs `{ all: true }`:
   * `deleteMany({}, { all: true })` empties the table.
   */
  deleteMany(where: EntityWhere<E>, options: BulkWriteOptions & CallOptions & { returning: true }): Promise<InferEntity<E>[]>
  deleteMany(where: EntityWhere<E>, options?: BulkWriteOptions & CallOptions & { returning?: false | undefined }): Promise<number>
  /** `DELETE` of every matching row, soft-deleted ones included: {@link deleteMany} for entities without `.deletedAt()`. */
  hardDeleteMany(where: EntityWhere<E>, options: BulkWriteOptions & CallOptions & { returning: true }): Promise<InferEntity<E>[]>
  hardDeleteMany(where: EntityWhere<E>, options?: BulkWriteOptions & CallOptions & { returning?: false | undefined }): Promise<number>
  /** The same repository running on `tx` (a transaction from `provider.transaction`). */
  withTransaction(tx: Transaction): Repository<E>
}

/** The field names of entity `E`. */
export type FieldName<E> = keyof InferEntity<E> & string

function isProvider(queryable: Queryable): queryable is Provider {
  return typeof (queryable as Partial<Provider>).transaction === 'function'
}

function isTransaction(queryable: Queryable): queryable is Transaction {
  return typeof (queryable as Partial<Transaction>).savepoint === 'function'
}

const EMPTY_ISSUES: readonly ValidationIssue[] = []

/** Each repository method and the position of its options argument (where `signal` / `timeoutMs` are). */
const CALL_OPTION_INDEX: readonly (readonly [string, number])[] = [
  ['insert', 1],
  ['insertMany', 1],
  ['findById', 1],
  ['findOne', 1],
  ['findMany', 0],
  ['count', 1],
  ['exists', 1],
  ['aggregate', 0],
  ['update', 2],
  ['updateMany', 2],
  ['upsert', 1],
  ['delete', 1],
  ['hardDelete', 1],
  ['deleteMany', 1],
  ['hardDeleteMany', 1],
  ['restore', 1],
]

const INCREMENTABLE = new Set(['integer', 'bigint', 'numeric', 'smallint', 'real', 'doublePrecision'])
const TIMESTAMPS = new Set(['timestamptz', 'date', 'timestamp'])

type ReadShapeOptions = ReadOptions<unknown> & SelectOptions<string> & LockOptions

/** What a read selects; see `readShape` in {@link repository}. */
interface ReadShape {
  readonly loading: CompiledWith | undefined
  readonly selected: readonly FieldMeta[] | undefined
  /** ` FOR UPDATE …`, or empty. */
  readonly lock: SqlQuery
  /** How filters name the root table (its alias when relations are loaded), or undefined for the table itself. */
  readonly self: SqlQuery | undefined
}

const PLAIN_READ: ReadShape = { loading: undefined, selected: undefined, lock: sql``, self: undefined }

/**
 * A repository for `entity` over `queryable`.
 *
 * Writes that run more than one statement, or run hooks (`beforeInsert`, `beforeUpdate`, `beforeDelete`,
 * `afterWrite`), run in a transaction: on a `Provider` the repository opens one; on a `Transaction` (from
 * `withTransaction(tx)` or passed directly) it runs them in a savepoint of it. A hook that throws rolls the write
 * (and the hook's own writes) back, also when the caller catches the error and commits its transaction. A single statement
 * without hooks runs as it is (it is atomic on its own). A plain `Queryable` that is neither runs statements as they come.
 *
 * Filters (`where`) and orderings name fields, never columns: an unknown field is a `ValidationError`, never SQL.
 * A unique violation arrives as a {@link DuplicateKeyError} (a `UniqueViolationError`) naming the constraint and fields.
 * Writes are strict: a value of another JavaScript type than the field's (`42` for text) is a `ValidationError`
 * unless the repository was made with `{ coerce: true }`.
 *
 * @example
 * const users = repository(User, db)
 * const ada = await users.insert({ email: 'ada@example.com', name: 'Ada' })
 * const page = await users.findMany({ where: { name: { ilike: 'a%' } }, orderBy: { createdAt: 'desc' }, limit: 50 })
 * await users.update(ada.id, { name: 'Ada L.', version: ada.version })
 */
export function repository<E extends AnyViewEntity>(entity: E, queryable: Queryable, options?: RepositoryOptions): ReadOnlyRepository<E>
export function repository<E extends AnyEntity>(entity: E, queryable: Queryable, options?: RepositoryOptions): Repository<E>
export function repository<E extends AnyEntity>(
  entity: E,
  queryable: Queryable,
  options: RepositoryOptions = {},
): Repository<E> | ReadOnlyRepository<E> {
  const meta = entityMeta(entity)
  const context: RepositoryContext = { coerce: options.coerce === true, seal: createCursorSeal(options.cursor, meta.name) }
  const made = createRepository(entity, meta, queryable, compileTarget(meta), createLoader(entity, meta), context)
  // A view (defineView) gets reads only, in the types (the overload above) and at run time.
  return meta.view === undefined ? made : readOnly(made, meta.name)
}

/** What a repository keeps from its options, shared with the repositories `withTransaction` makes. */
interface RepositoryContext {
  readonly coerce: boolean
  readonly seal: CursorSeal
}

function compileTarget(meta: EntityMeta): WhereTarget {
  return whereTargetOf(meta)
}

function createLoader(entity: AnyEntity, meta: EntityMeta): RowLoader {
  return loadRow(entity, meta)
}

type Entityish = Record<string, unknown>

function createRepository<E extends AnyEntity>(
  entity: E,
  meta: EntityMeta,
  queryable: Queryable,
  target: WhereTarget,
  load: RowLoader,
  context: RepositoryContext,
  isScoped = false,
): Repository<E> {
  const { coerce, seal } = context
  type T = InferEntity<E>
  const table = tableOf(meta)
  const hasAfterLoad = hasLifecycle(entity, 'afterLoad')
  const hasAfterWrite = hasLifecycle(entity, 'afterWrite')

  /**
   * Runs `fn` atomically when `needed`: in a transaction on a provider, in a savepoint inside the caller's
   * transaction (a hook that throws leaves no trace even when the caller catches the error and commits);
   * otherwise on the queryable itself.
   */
  function inTransaction<R>(needed: boolean, fn: (q: Queryable) => Promise<R>): Promise<R> {
    if (!needed) return fn(queryable)
    if (isProvider(queryable)) return queryable.transaction((tx) => fn(tx))
    if (isTransaction(queryable)) return queryable.savepoint((tx) => fn(tx))
    return fn(queryable)
  }

  async function run(q: Queryable, query: SqlQuery | QueryConfig): Promise<Row[]> {
    try {
      const result = isSqlQuery(query) ? await q.query(query) : await q.query(query.text, query.values)
      return result.rows
    } catch (error) {
      throw withFields(meta, error)
    }
  }

  async function runCount(q: Queryable, query: SqlQuery): Promise<number> {
    try {
      return (await q.query(query)).rowCount
    } catch (error) {
      throw withFields(meta, error)
    }
  }

  async function toEntities(rows: readonly Row[], q: Queryable): Promise<T[]> {
    const out = new Array<T>(rows.length)
    for (let i = 0; i < rows.length; i++) out[i] = load(rows[i] as Row) as T
    if (!hasAfterLoad) return out
    for (let i = 0; i < out.length; i++) {
      out[i] = (await runLifecycle(entity, 'afterLoad', out[i] as never, { operation: 'load', queryable: q })) as T
    }
    return out
  }

  async function afterWrite(rows: readonly T[], q: Queryable, operation: 'insert' | 'update' | 'upsert'): Promise<void> {
    if (!hasAfterWrite) return
    for (const row of rows) await runLifecycle(entity, 'afterWrite', row as never, { operation, queryable: q })
  }

  function where(filter: unknown, self?: SqlQuery): SqlQuery {
    return compileWhere(filter, self === undefined ? target : whereTargetOf(meta, self))
  }

  const deletedAt = meta.deletedAtField
  const isLive = deletedAt === undefined ? undefined : sql`${sql.id(deletedAt.columnName)} IS NULL`

  /** `condition`, and for an entity with soft delete, only rows not deleted (unless `withDeleted`). */
  function live(condition: SqlQuery, withDeleted?: boolean): SqlQuery {
    return isLive === undefined || withDeleted === true ? condition : sql`(${condition}) AND ${isLive}`
  }

  /** The filter of a bulk write: one without a field condition only with `all: true`. */
  function bulkWhere(filter: unknown, options: BulkWriteOptions | undefined, method: string): SqlQuery {
    const condition = where(filter)
    if (options?.all === true || !isUnconditional(filter)) return condition
    throw new ValidationError(
      [
        {
          path: ['where'],
          message: `${describeValue(filter)} has no field condition and would ${method === 'deleteMany' ? 'delete' : 'update'} every row; pass { all: true } as the options to mean that`,
          value: filter,
        },
      ],
      { subject: `${meta.name} ${method}` },
    )
  }

  function keyOf(id: PrimaryKey): FieldValues {
    const keys = meta.primaryKeys
    if (keys.length === 1) {
      const field = keys[0] as FieldMeta
      const value =
        typeof id === 'object' && id !== null && !(id instanceof Date) && !Buffer.isBuffer(id) ? (id as Entityish)[field.fieldName] : id
      if (value === undefined || value === null) throw badKey(id)
      return { [field.fieldName]: value }
    }
    if (typeof id !== 'object' || id === null) throw badKey(id)
    const key: Record<string, unknown> = {}
    for (const field of keys) {
      const value = (id as Entityish)[field.fieldName]
      if (value === undefined || value === null) throw badKey(id)
      key[field.fieldName] = value
    }
    return key
  }

  function badKey(id: unknown): ValidationError {
    const expected =
      meta.primaryKeys.length === 1
        ? `a ${meta.primaryKeys[0]?.fieldName} value`
        : `{ ${meta.primaryKeys.map((f) => f.fieldName).join(', ')} }`
    return new ValidationError(
      [{ path: ['id'], message: `${describeValue(id)} is not a primary key of ${meta.name}; expected ${expected}`, value: id }],
      {
        subject: `${meta.name} key`,
      },
    )
  }

  function sortKeys(orderBy: unknown): SortKey[] {
    return sortKeysOf(meta, orderBy)
  }

  function checkCount(value: unknown, name: string): number | undefined {
    return checkCountOf(meta, value, [name])
  }

  async function prepareInsert(
    input: unknown,
    q: Queryable | undefined,
    operation: 'insert' | 'upsert',
    index?: number,
    validate = true,
  ): Promise<{ row: FieldValues; issues: readonly ValidationIssue[] }> {
    let value = generateForInsert(entity, input)
    if (q !== undefined && hasLifecycle(entity, 'beforeInsert'))
      value = await runLifecycle(entity, 'beforeInsert', value as never, { operation, queryable: q })
    if (!validate) return { row: value, issues: EMPTY_ISSUES }
    const checked = await validateInput(entity, value, 'insert', coerce)
    if (!checked.ok)
      return { row: {}, issues: index === undefined ? checked.issues : checked.issues.map((i) => ({ ...i, path: [index, ...i.path] })) }
    return { row: checked.value, issues: EMPTY_ISSUES }
  }

  /** {@link prepareInsert} for entities without `beforeInsert` and with synchronous validators; `undefined` otherwise. */
  function prepareSync(
    input: unknown,
    index: number,
    validate: boolean,
  ): { row: FieldValues; issues: readonly ValidationIssue[] } | undefined {
    const value = generateForInsert(entity, input)
    if (!validate) return { row: value, issues: EMPTY_ISSUES }
    const checked = validateInputSync(entity, value, 'insert', coerce)
    if (checked === undefined) return undefined
    if (!checked.ok) return { row: {}, issues: checked.issues.map((i) => ({ ...i, path: [index, ...i.path] })) }
    return { row: checked.value, issues: EMPTY_ISSUES }
  }

  function validationError(issues: readonly ValidationIssue[], what: string): ValidationError {
    return new ValidationError(issues, { subject: `${meta.name} ${what}` })
  }

  /**
   * The `ON CONFLICT` clause of an insert (`suffix(row)`: the assignments depend on the fields the rows give), or
   * undefined without one.
   */
  function onConflictSuffix(
    action: (ConflictAction & { conflict?: ConflictTarget | undefined }) | undefined,
  ): ((row: FieldValues) => string) | undefined {
    if (action === undefined) return undefined
    const conflict = conflictClause(meta, action.conflict ?? 'primaryKey')
    if (action.doNothing === true) {
      if (action.update !== undefined)
        throw validationError([{ path: ['update'], message: 'doNothing and update exclude each other', value: action.update }], 'upsert')
      return () => ` ${conflict.text} DO NOTHING`
    }
    const only = action.update === undefined ? undefined : updateFields(action.update, conflict.fields)
    return (row) => ` ${conflict.text} DO UPDATE SET ${upsertAssignments(meta, row, conflict.fields, only)}`
  }

  function updateFields(update: unknown, conflictFields: readonly string[]): ReadonlySet<string> {
    if (!Array.isArray(update))
      throw validationError(
        [{ path: ['update'], message: `expected an array of field names, got ${describeValue(update)}`, value: update }],
        'upsert',
      )
    const issues: ValidationIssue[] = []
    update.forEach((name: unknown, i) => {
      const field = typeof name === 'string' ? meta.byField.get(name) : undefined
      if (field === undefined)
        issues.push({ path: ['update', i], message: `${meta.name} has no field ${describeValue(name)}`, value: name })
      else if (field.primaryKey || conflictFields.includes(field.fieldName))
        issues.push({
          path: ['update', i],
          message: `${field.fieldName} identifies the conflicting row; it cannot be updated`,
          value: name,
        })
    })
    if (issues.length > 0) throw validationError(issues, 'upsert')
    return new Set(update as string[])
  }

  async function insertAll(
    inputs: readonly unknown[],
    returning: boolean,
    validate: boolean,
    onConflict: ((row: FieldValues) => string) | undefined,
  ): Promise<T[] | number> {
    if (!Array.isArray(inputs))
      throw validationError([{ path: [], message: `insertMany expects an array, got ${describeValue(inputs)}` }], 'input')
    if (inputs.length === 0) return returning ? [] : 0
    const hasBefore = hasLifecycle(entity, 'beforeInsert')
    const prepareRows = async (q: Queryable | undefined): Promise<FieldValues[]> => {
      const rows: FieldValues[] = new Array(inputs.length)
      const issues: ValidationIssue[] = []
      for (let i = 0; i < inputs.length; i++) {
        // No promise per row when nothing is async: a bulk insert of 100k rows should not queue 100k microtasks.
        const prepared = hasBefore ? undefined : prepareSync(inputs[i], i, validate)
        const { row, issues: found } = prepared ?? (await prepareInsert(inputs[i], q, 'insert', i, validate))
        if (found.length > 0) issues.push(...found)
        rows[i] = row
      }
      if (issues.length > 0) throw validationError(issues, 'input')
      return rows
    }
    // Validate before opening a transaction when no hook can change the input: a bad batch costs no round trip.
    const early = hasBefore ? undefined : await prepareRows(undefined)
    const needsRows = returning || hasAfterWrite
    const maxParameters = maxParametersOf(queryable)
    const statementsOf = (rows: FieldValues[]) =>
      insertStatements(entity, meta, rows, {
        returning: needsRows,
        maxParameters,
        // The assignments name every column the rows give (EXCLUDED holds the DEFAULT of a row that gives none).
        suffix: onConflict?.(Object.fromEntries(insertColumns(meta, rows).map((f) => [f.fieldName, true]))),
      })
    const statements = early === undefined ? undefined : statementsOf(early)
    const needsTransaction = hasBefore || hasAfterWrite || (statements !== undefined && statements.length > 1)
    return inTransaction(needsTransaction, async (q) => {
      const list = statements ?? statementsOf(await prepareRows(q))
      if (!needsRows) {
        let count = 0
        for (const statement of list) {
          try {
            count += (await q.query(statement.text, statement.values)).rowCount
          } catch (error) {
            throw withFields(meta, error)
          }
        }
        return count
      }
      const rows: Row[] = []
      for (const statement of list) for (const row of await run(q, statement)) rows.push(row)
      const entities = await toEntities(rows, q)
      await afterWrite(entities, q, 'insert')
      return returning ? entities : entities.length
    })
  }

  async function loadOne(q: Queryable, query: SqlQuery, shape: ReadShape): Promise<T | undefined> {
    const rows = await run(q, query)
    if (rows.length === 0) return undefined
    return (await readRows(q, rows, shape))[0]
  }

  /** What a read selects: every field or a projection, the relations of `with`, and a row lock. */
  function readShape(options: ReadShapeOptions | undefined): ReadShape {
    if (options === undefined) return PLAIN_READ
    let loading: CompiledWith | undefined
    if (options.with !== undefined) {
      const compiled = compileWith(meta, options.with)
      loading = compiled.columns.length === 0 ? undefined : compiled
    }
    const selected = options.select === undefined ? undefined : projection(options.select)
    const lock = lockClause(options)
    if (loading === undefined && selected === undefined && lock === undefined) return PLAIN_READ
    return { loading, selected, lock: lock ?? sql``, self: loading === undefined ? undefined : sql.id(ROOT_ALIAS) }
  }

  function projection(select: unknown): FieldMeta[] {
    if (!Array.isArray(select) || select.length === 0)
      throw validationError(
        [{ path: ['select'], message: `expected a non-empty array of field names, got ${describeValue(select)}`, value: select }],
        'read',
      )
    const issues: ValidationIssue[] = []
    const fields: FieldMeta[] = []
    select.forEach((name: unknown, i) => {
      const field = typeof name === 'string' ? meta.byField.get(name) : undefined
      if (field === undefined)
        issues.push({ path: ['select', i], message: `${meta.name} has no field ${describeValue(name)}`, value: name })
      else if (!fields.includes(field)) fields.push(field)
    })
    if (issues.length > 0) throw validationError(issues, 'read')
    return fields
  }

  function lockClause(options: LockOptions): SqlQuery | undefined {
    const { lock, skipLocked, noWait } = options
    if (lock === undefined && skipLocked === undefined && noWait === undefined) return undefined
    const issues: ValidationIssue[] = []
    if (lock !== 'update' && lock !== 'share')
      issues.push({
        path: ['lock'],
        message: `${describeValue(lock)}; accepted: 'update', 'share' (skipLocked and noWait need a lock)`,
        value: lock,
      })
    if (skipLocked === true && noWait === true)
      issues.push({ path: ['noWait'], message: 'skipLocked and noWait exclude each other', value: noWait })
    if (issues.length > 0) throw validationError(issues, 'read')
    const wait = skipLocked === true ? ' SKIP LOCKED' : noWait === true ? ' NOWAIT' : ''
    return sql.raw(` FOR ${lock === 'update' ? 'UPDATE' : 'SHARE'}${wait}`)
  }

  /** The selected columns, the relation columns of `with`, and the table (aliased for their correlation). */
  function selectFrom(shape: ReadShape): SqlQuery {
    const columns = shape.selected === undefined ? sql`*` : sql.join(shape.selected.map((f) => sql.id(f.columnName)))
    if (shape.loading === undefined) return sql`${columns} FROM ${table}`
    return sql`${columns}, ${sql.join(shape.loading.columns)} FROM ${table} AS ${sql.id(ROOT_ALIAS)}`
  }

  /** Result rows → entities (or projections, without `afterLoad`), with their relations. */
  async function readRows(q: Queryable, rows: Row[], shape: ReadShape): Promise<T[]> {
    let entities: T[]
    if (shape.selected === undefined) entities = await toEntities(rows, q)
    else {
      const read = mapRow(entity, { fields: shape.selected.map((f) => f.fieldName) })
      entities = new Array(rows.length)
      for (let i = 0; i < rows.length; i++) entities[i] = read(rows[i] as Row) as T
    }
    if (shape.loading !== undefined) await attachRelations(shape.loading.plans, rows, entities, q)
    return entities
  }

  /** Validates a patch's plain values; `increment` / `now` changes are checked against their field's kind. */
  async function validateChanges(changes: Entityish): Promise<Entityish> {
    const plain: Entityish = {}
    const atomic: Entityish = {}
    const issues: ValidationIssue[] = []
    for (const [name, value] of Object.entries(changes)) {
      if (!isAtomicChange(value)) {
        plain[name] = value
        continue
      }
      const kind = meta.byField.get(name)?.kind as string | undefined
      if (value.kind === 'increment') {
        const amount = value.amount
        const isAmount = typeof amount === 'bigint' || (typeof amount === 'number' && Number.isFinite(amount))
        if (kind === undefined || !INCREMENTABLE.has(kind))
          issues.push({ path: [name], message: `increment() applies to integer, bigint and numeric fields, not ${kind}`, value: amount })
        else if (!isAmount)
          issues.push({
            path: [name],
            message: `increment() needs a finite number or a bigint, got ${describeValue(amount)}`,
            value: amount,
          })
      } else if (kind === undefined || !TIMESTAMPS.has(kind)) {
        issues.push({ path: [name], message: `now() applies to timestamptz and date fields, not ${kind}`, value: 'now()' })
      }
      atomic[name] = value
    }
    if (issues.length > 0) throw validationError(issues, 'update')
    const checked = await validateInput(entity, plain, 'update', coerce)
    if (!checked.ok) throw validationError(checked.issues, 'update')
    return { ...checked.value, ...atomic }
  }

  /**
   * `DELETE … WHERE condition`, or for a soft delete `UPDATE … SET deleted_at = now()` (version bumped, updatedAt
   * set) on the rows not deleted yet.
   */
  function removal(condition: SqlQuery, hard: boolean): SqlQuery {
    if (hard || deletedAt === undefined) return sql`DELETE FROM ${table} WHERE ${condition}`
    return sql`UPDATE ${table} SET ${setClause(entity, meta, { [deletedAt.fieldName]: now() }, new Date())} WHERE ${live(condition)}`
  }

  async function deleteOne(id: PrimaryKey, options: DeleteOptions = {}, hard: boolean): Promise<boolean> {
    const key = keyOf(id)
    const expected = options.expectedVersion
    const version = meta.versionField
    if (expected !== undefined) {
      if (version === undefined)
        throw validationError(
          [{ path: ['expectedVersion'], message: `${meta.name} has no version field to check`, value: expected }],
          'delete',
        )
      checkVersion(expected, ['expectedVersion'])
    }
    const hooked = hasLifecycle(entity, 'beforeDelete')
    return inTransaction(hooked, async (q) => {
      if (hooked) await runLifecycle(entity, 'beforeDelete', keyAsFields(key) as never, { operation: 'delete', queryable: q })
      let condition = keyCondition(entity, meta, key)
      if (version !== undefined && expected !== undefined)
        condition = sql`${condition} AND ${sql.id(version.columnName)} = ${toParamValue(entity, version, expected)}`
      const deleted = (await runCount(q, removal(condition, hard))) > 0
      if (deleted || expected === undefined) return deleted
      const found = await run(
        q,
        sql`SELECT 1 FROM ${table} WHERE ${hard ? keyCondition(entity, meta, key) : live(keyCondition(entity, meta, key))}`,
      )
      if (found.length === 0) return false
      throw new OptimisticLockError({ entity: meta.name, key: id, expectedVersion: expected })
    })
  }

  async function deleteWhere(
    filter: unknown,
    options: (BulkWriteOptions & ReturningOptions) | undefined,
    hard: boolean,
  ): Promise<number | T[]> {
    const condition = bulkWhere(filter, options, 'deleteMany')
    const returning = options?.returning === true
    if (!hasLifecycle(entity, 'beforeDelete')) {
      if (!returning) return runCount(queryable, removal(condition, hard))
      return toEntities(await run(queryable, sql`${removal(condition, hard)} RETURNING *`), queryable)
    }
    return inTransaction(true, async (q) => {
      // The hook runs per key: lock the matching rows, run it for each, then delete exactly those rows.
      const keyFields = meta.primaryKeys
      const keyText = sql.join(keyFields.map((f, i) => sql`${sql.id(f.columnName)}::text AS ${sql.id(`__tessera_k${i}`)}`))
      const pk = sql.join(keyFields.map((f) => sql.id(f.columnName)))
      const matching = hard ? condition : live(condition)
      const locked = await run(q, sql`SELECT ${pk}, ${keyText} FROM ${table} WHERE ${matching} FOR UPDATE`)
      if (locked.length === 0) return returning ? [] : 0
      for (const row of locked) {
        const key: Record<string, unknown> = {}
        for (const f of keyFields) key[f.fieldName] = row[f.columnName]
        await runLifecycle(entity, 'beforeDelete', key as never, { operation: 'delete', queryable: q })
      }
      // The keys go as one text array per key field (their exact text, cast back to the column type), so the
      // statement has as many parameters as the key has fields, whatever the number of rows.
      const lists = keyFields.map((_f, i) => locked.map((row) => row[`__tessera_k${i}`] as string))
      const unnested = sql.join(lists.map((list) => sql`${list}::text[]`))
      const casts = sql.join(keyFields.map((f, i) => sql`${sql.id('__tessera_keys')}.${sql.id(`k${i}`)}::${sql.raw(f.sqlType)}`))
      const names = sql.join(keyFields.map((_f, i) => sql.id(`k${i}`)))
      const statement = removal(sql`(${pk}) IN (SELECT ${casts} FROM unnest(${unnested}) AS ${sql.id('__tessera_keys')} (${names}))`, hard)
      if (!returning) return runCount(q, statement)
      return toEntities(await run(q, sql`${statement} RETURNING *`), q)
    })
  }

  const repo: Repository<E> = {
    entity,

    async insert(input) {
      const hooked = hasLifecycle(entity, 'beforeInsert') || hasAfterWrite
      return inTransaction(hooked, async (q) => {
        const prepared = await prepareInsert(input, hooked ? q : undefined, 'insert')
        if (prepared.issues.length > 0) throw validationError(prepared.issues, 'input')
        const [statement] = insertStatements(entity, meta, [prepared.row], { returning: true, maxParameters: maxParametersOf(q) })
        const rows = await run(q, statement as QueryConfig)
        const [row] = await toEntities(rows, q)
        await afterWrite([row as T], q, 'insert')
        return row as T
      })
    },

    insertMany: ((inputs: readonly unknown[], options: InsertManyOptions = {}) =>
      insertAll(
        inputs,
        options.returning !== false,
        options.validate !== false,
        onConflictSuffix(options.onConflict),
      )) as Repository<E>['insertMany'],

    async findById(id, options) {
      const shape = readShape(options)
      return loadOne(
        queryable,
        sql`SELECT ${selectFrom(shape)} WHERE ${live(keyCondition(entity, meta, keyOf(id)), options?.withDeleted)}${shape.lock}`,
        shape,
      ) as never
    },

    async findOne(filter, options) {
      if (filter === undefined) {
        // A filter built from a missing value must not turn into "the first row": that is how logins get bypassed.
        throw new ValidationError([{ path: ['where'], message: 'is undefined; pass {} for the first row in key order', value: filter }], {
          subject: `${meta.name} findOne`,
        })
      }
      const order = orderByClause(sortKeys(undefined))
      const shape = readShape(options)
      const condition = live(where(filter, shape.self), options?.withDeleted)
      return loadOne(queryable, sql`SELECT ${selectFrom(shape)} WHERE ${condition} ORDER BY ${order} LIMIT 1${shape.lock}`, shape) as never
    },

    async findMany(options = {}) {
      const keys = sortKeys(options.orderBy)
      const limit = checkCount(options.limit, 'limit')
      const offset = checkCount(options.offset, 'offset')
      const shape = readShape(options)
      const conditions = [live(where(options.where, shape.self), options.withDeleted)]
      if (options.after !== undefined) conditions.push(seekCondition(keys, decodeCursor(keys, options.after, meta.name, seal)))
      // With a limit, read one row more to learn whether another page exists, and the sort keys as text: a cursor
      // built from JavaScript values would lose precision (timestamps have microseconds, Dates milliseconds).
      const cursorColumns =
        limit === undefined ? sql`` : sql`${sql.join(keys.map((k, i) => sql`${sql.id(k.column)}::text AS ${sql.id(`__tessera_k${i}`)}`))}, `
      const limitClause = limit === undefined ? sql`` : sql` LIMIT ${limit + 1}`
      const offsetClause = offset === undefined || offset === 0 ? sql`` : sql` OFFSET ${offset}`
      const rows = await run(
        queryable,
        sql`SELECT ${cursorColumns}${selectFrom(shape)} WHERE ${sql.join(conditions, sql` AND `)} ORDER BY ${orderByClause(keys)}${limitClause}${offsetClause}${shape.lock}`,
      )
      let nextCursor: string | undefined
      if (limit !== undefined && rows.length > limit) {
        rows.length = limit
        const last = rows[limit - 1]
        nextCursor =
          last === undefined
            ? undefined
            : encodeCursor(
                keys,
                keys.map((_k, i) => last[`__tessera_k${i}`] ?? null),
                seal,
              )
      }
      return { rows: await readRows(queryable, rows, shape), nextCursor } as never
    },

    async count(filter, options) {
      const rows = await run(queryable, sql`SELECT count(*)::int8 AS n FROM ${table} WHERE ${live(where(filter), options?.withDeleted)}`)
      return Number(rows[0]?.n ?? 0)
    },

    async exists(filter, options) {
      const rows = await run(
        queryable,
        sql`SELECT EXISTS (SELECT 1 FROM ${table} WHERE ${live(where(filter), options?.withDeleted)}) AS found`,
      )
      return rows[0]?.found === true
    },

    async aggregate(options) {
      const withDeleted = (options as { withDeleted?: boolean | undefined }).withDeleted
      const statement = aggregateStatement(meta, table, options, (filter) => live(where(filter), withDeleted))
      const rows = await run(queryable, statement.query)
      for (const row of rows) for (const name of statement.counts) row[name] = Number(row[name])
      return rows as never
    },

    async update(id, patch, options = {}) {
      const key = keyOf(id)
      const initial = patchChanges(patch)
      checkSomethingToSet(initial, patch)
      const version = meta.versionField
      const fromPatch = version === undefined ? undefined : (patch as Entityish)[version.fieldName]
      const expected = options.expectedVersion ?? fromPatch
      if (version !== undefined && expected !== undefined) {
        checkVersion(expected, options.expectedVersion === undefined ? [version.fieldName] : ['expectedVersion'])
      }
      const hooked = hasLifecycle(entity, 'beforeUpdate') || hasAfterWrite
      return inTransaction(hooked, async (q) => {
        let changes = initial
        if (hasLifecycle(entity, 'beforeUpdate')) {
          const returned = await runLifecycle(entity, 'beforeUpdate', changes as never, { operation: 'update', queryable: q })
          changes = patchChanges(returned)
          checkSomethingToSet(changes, returned)
        }
        changes = await validateChanges(changes)
        let condition = live(keyCondition(entity, meta, key))
        if (version !== undefined && expected !== undefined)
          condition = sql`${condition} AND ${sql.id(version.columnName)} = ${toParamValue(entity, version, expected)}`
        const rows = await run(q, sql`UPDATE ${table} SET ${setClause(entity, meta, changes, new Date())} WHERE ${condition} RETURNING *`)
        if (rows.length === 0) {
          // Tell "gone" from "changed by someone else" with one more read, only on the failure path.
          const found = await run(q, sql`SELECT 1 FROM ${table} WHERE ${live(keyCondition(entity, meta, key))}`)
          if (found.length === 0) throw new NotFoundError({ entity: meta.name, key: id })
          throw new OptimisticLockError({ entity: meta.name, key: id, expectedVersion: expected })
        }
        const [row] = await toEntities(rows, q)
        await afterWrite([row as T], q, 'update')
        return row as T
      })
    },

    async updateMany(filter, patch, options) {
      const condition = live(bulkWhere(filter, options, 'updateMany'), options?.withDeleted)
      const initial = patchChanges(patch)
      checkSomethingToSet(initial, patch)
      return inTransaction(hasLifecycle(entity, 'beforeUpdate') || hasAfterWrite, async (q) => {
        let changes = initial
        if (hasLifecycle(entity, 'beforeUpdate')) {
          const returned = await runLifecycle(entity, 'beforeUpdate', changes as never, { operation: 'update', queryable: q })
          changes = patchChanges(returned)
          checkSomethingToSet(changes, returned)
        }
        changes = await validateChanges(changes)
        const statement = sql`UPDATE ${table} SET ${setClause(entity, meta, changes, new Date())} WHERE ${condition}`
        if (!hasAfterWrite && options?.returning !== true) return runCount(q, statement) as never
        const rows = await run(q, sql`${statement} RETURNING *`)
        const entities = await toEntities(rows, q)
        await afterWrite(entities, q, 'update')
        return (options?.returning === true ? entities : rows.length) as never
      })
    },

    async upsert(input, options = {}) {
      const action = onConflictSuffix({ ...options, conflict: options.conflict ?? 'primaryKey' }) as (row: FieldValues) => string
      const hooked = hasLifecycle(entity, 'beforeInsert') || hasAfterWrite
      return inTransaction(hooked, async (q) => {
        const prepared = await prepareInsert(input, hooked ? q : undefined, 'upsert')
        if (prepared.issues.length > 0) throw validationError(prepared.issues, 'input')
        const [statement] = insertStatements(entity, meta, [prepared.row], {
          returning: true,
          maxParameters: maxParametersOf(q),
          suffix: action(prepared.row),
        })
        const rows = await run(q, statement as QueryConfig)
        if (rows.length === 0) return undefined as never // DO NOTHING on a conflict
        const [row] = await toEntities(rows, q)
        await afterWrite([row as T], q, 'upsert')
        return row as T
      })
    },

    delete: (id, options) => deleteOne(id, options, isLive === undefined),
    hardDelete: (id, options) => deleteOne(id, options, true),
    deleteMany: ((filter: unknown, options?: BulkWriteOptions & ReturningOptions) =>
      deleteWhere(filter, options, isLive === undefined)) as Repository<E>['deleteMany'],
    hardDeleteMany: ((filter: unknown, options?: BulkWriteOptions & ReturningOptions) =>
      deleteWhere(filter, options, true)) as Repository<E>['hardDeleteMany'],

    async restore(id) {
      const key = keyOf(id)
      if (deletedAt === undefined)
        throw validationError([{ path: [], message: `${meta.name} has no .deletedAt() field: nothing to restore`, value: id }], 'restore')
      return inTransaction(hasAfterWrite, async (q) => {
        const set = setClause(entity, meta, { [deletedAt.fieldName]: null }, new Date())
        const condition = sql`${keyCondition(entity, meta, key)} AND ${sql.id(deletedAt.columnName)} IS NOT NULL`
        const rows = await run(q, sql`UPDATE ${table} SET ${set} WHERE ${condition} RETURNING *`)
        if (rows.length === 0) return undefined
        const [row] = await toEntities(rows, q)
        await afterWrite([row as T], q, 'update')
        return row
      })
    },

    withTransaction(tx) {
      return createRepository(entity, meta, tx, target, load, context)
    },
  }

  // A call with `signal` / `timeoutMs` runs on a repository over a scoped queryable that passes them to each
  // statement (and to the transactions it opens); a call without them costs nothing more.
  if (!isScoped)
    for (const [method, at] of CALL_OPTION_INDEX) {
      const plain = (repo as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[method] as (
        ...args: unknown[]
      ) => Promise<unknown>
      ;(repo as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
        const options = args[at]
        if (!hasCallOptions(options)) return plain(...args)
        try {
          checkCallOptions(options, `${meta.name} ${method}`)
        } catch (error) {
          return Promise.reject(error)
        }
        const scoped = createRepository(entity, meta, withCallOptions(queryable, options), target, load, context, true)
        return (scoped as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method]?.(...args)
      }
    }

  /**
   * The changes of a patch: its defined values without the version (the lock, not a change). A key, generated or
   * timestamp field is an issue: dropping it silently would report success for a change that was not made.
   */
  function patchChanges(patch: unknown, path: readonly (string | number)[] = []): Entityish {
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch))
      throw validationError(
        [{ path: [...path], message: `expected an object of changes, got ${describeValue(patch)}`, value: patch }],
        'update',
      )
    const changes: Entityish = {}
    const issues: ValidationIssue[] = []
    for (const [field, value] of Object.entries(patch)) {
      if (value === undefined) continue
      const fieldMeta = meta.byField.get(field)
      if (fieldMeta === meta.versionField) continue
      const fixed = fieldMeta === undefined ? undefined : fixedReason(fieldMeta)
      if (fixed !== undefined) issues.push({ path: [...path, field], message: `cannot be changed by an update: ${fixed}`, value })
      else changes[field] = value
    }
    if (issues.length > 0) throw validationError(issues, 'update')
    return changes
  }

  /** Refuses a patch that would send `UPDATE … SET` with nothing to set (no change, no version, no updatedAt). */
  function checkSomethingToSet(changes: Entityish, patch: unknown): void {
    if (Object.keys(changes).length > 0 || meta.versionField !== undefined || meta.updatedAtField !== undefined) return
    throw validationError([{ path: [], message: 'has no field to change', value: patch }], 'update')
  }

  /** An expected version must be one a row can have: `null` or text would otherwise read as "changed by someone else". */
  function checkVersion(expected: unknown, path: (string | number)[]): void {
    if (typeof expected === 'bigint' || (typeof expected === 'number' && Number.isSafeInteger(expected))) return
    throw validationError(
      [
        {
          path,
          message: `the expected version must be an integer (the version you read), got ${describeValue(expected)}`,
          value: expected,
        },
      ],
      'update',
    )
  }

  function fixedReason(field: FieldMeta): string | undefined {
    if (field.primaryKey) return 'it is part of the primary key, which identifies the row'
    if (field.generated !== undefined) return `it is generated (${field.generated})`
    if (field === meta.createdAtField) return 'it is the creation time'
    if (field === meta.updatedAtField) return 'the repository sets it on every update'
    if (field === meta.deletedAtField) return 'it marks a soft delete: use delete() and restore()'
    return undefined
  }

  function keyAsFields(key: FieldValues): Entityish {
    return { ...key }
  }

  return repo
}

interface CompiledConflict {
  text: string
  /** Fields that identify the conflict (not updated); empty for a named constraint. */
  fields: readonly string[]
}

function conflictClause(meta: EntityMeta, conflict: ConflictTarget): CompiledConflict {
  if (conflict === 'primaryKey') {
    return {
      text: `ON CONFLICT (${meta.primaryKeys.map((f) => f.quotedColumn).join(', ')})`,
      fields: meta.primaryKeys.map((f) => f.fieldName),
    }
  }
  if (typeof conflict === 'object' && conflict !== null && 'constraint' in conflict && typeof conflict.constraint === 'string') {
    const known =
      meta.uniques.find((u) => u.name === conflict.constraint) ?? meta.indexes.find((i) => i.unique && i.name === conflict.constraint)
    return { text: `ON CONFLICT ON CONSTRAINT ${sql.id(conflict.constraint).text}`, fields: known?.fields ?? [] }
  }
  if (
    typeof conflict === 'object' &&
    conflict !== null &&
    'fields' in conflict &&
    Array.isArray(conflict.fields) &&
    conflict.fields.length > 0
  ) {
    const issues: ValidationIssue[] = []
    const columns: string[] = []
    for (const field of conflict.fields) {
      const fieldMeta = meta.byField.get(field)
      if (fieldMeta === undefined)
        issues.push({ path: ['conflict', 'fields', field], message: `${meta.name} has no field ${describeValue(field)}`, value: field })
      else columns.push(fieldMeta.quotedColumn)
    }
    if (issues.length > 0) throw new ValidationError(issues, { subject: `${meta.name} upsert` })
    return { text: `ON CONFLICT (${columns.join(', ')})`, fields: conflict.fields }
  }
  throw new ValidationError(
    [
      {
        path: ['conflict'],
        message: `${describeValue(conflict)}; accepted: 'primaryKey', { constraint: name }, { fields: [...] }`,
        value: conflict,
      },
    ],
    { subject: `${meta.name} upsert` },
  )
}

/** `"a" = EXCLUDED."a", …` for the given columns (not the conflict ones, not createdAt), version bumped, updatedAt set. */
function upsertAssignments(meta: EntityMeta, row: FieldValues, conflictFields: readonly string[], only?: ReadonlySet<string>): string {
  const parts: string[] = []
  for (const field of meta.fields) {
    if (row[field.fieldName] === undefined || conflictFields.includes(field.fieldName)) continue
    if (only !== undefined && !only.has(field.fieldName)) continue
    if (field === meta.createdAtField || field === meta.versionField || field.primaryKey || field.definition.computed) continue
    parts.push(`${field.quotedColumn} = EXCLUDED.${field.quotedColumn}`)
  }
  if (meta.versionField !== undefined) {
    const column = meta.versionField.quotedColumn
    parts.push(`${column} = ${meta.qualifiedTable}.${column} + 1`)
  }
  if (
    meta.updatedAtField !== undefined &&
    only !== undefined &&
    !only.has(meta.updatedAtField.fieldName) &&
    row[meta.updatedAtField.fieldName] !== undefined
  ) {
    const column = meta.updatedAtField.quotedColumn
    parts.push(`${column} = EXCLUDED.${column}`)
  }
  if (parts.length === 0) {
    // Nothing to change: a no-op assignment still makes RETURNING hand back the existing row.
    const column = (meta.primaryKeys[0] as FieldMeta).quotedColumn
    parts.push(`${column} = EXCLUDED.${column}`)
  }
  return parts.join(', ')
}

/**
 * A unique violation with the entity fields of its constraint: PostgreSQL's `Key (email)=(…) already exists` detail
 * names the columns, mapped back to fields through the entity's metadata. Still a `UniqueViolationError`.
 */
function withFields(meta: EntityMeta, error: unknown): unknown {
  if (!(error instanceof UniqueViolationError) || error instanceof DuplicateKeyError) return error
  const columns = /Key \((.+?)\)=\(/.exec(error.detail ?? '')?.[1]
  let fields: string[] = []
  if (columns !== undefined) {
    fields = columns.split(', ').map((column) => {
      const name = column.startsWith('"') ? column.slice(1, -1).replaceAll('""', '"') : column
      return meta.byColumn.get(name)?.fieldName ?? name
    })
  } else if (error.constraint !== undefined) {
    fields = [
      ...(meta.uniques.find((u) => u.name === error.constraint)?.fields ??
        meta.indexes.find((i) => i.name === error.constraint)?.fields ??
        []),
    ]
  }
  if (fields.length === 0) return error
  return new DuplicateKeyError(error, meta.name, fields)
}
