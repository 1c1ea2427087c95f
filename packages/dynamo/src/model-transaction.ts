import type { TransactGetItem, TransactWriteItem } from '@aws-sdk/client-dynamodb'
import { describeValue, type ValidationIssue } from '@tessera/core'
import type { PreparedRequest } from './command-runner'
import { type Condition, toCond } from './conditions'
import type { AnyModel, FieldName, Insert, Item, Key } from './define-model'
import type { DynamoClientLike } from './dynamo-client-like'
import { DynamoInputError } from './dynamo-errors'
import { buildExpressions } from './expressions'
import type { FieldEncryptor } from './field-encryption'
import { unmarshalItem } from './item-codec'
import type { AttributeMap } from './key-identity'
import { type ModelContext, marshalKey, selectAttributes, throwIfIssues } from './model-context'
import { openItem, refusePlaintext } from './model-encryption'
import { type TransactGetOptions, type TransactWriteOptions, transactGet, transactWrite } from './transact'
import { TransactionCanceledError } from './transaction-canceled-error'

/** One operation of `db.transact([...])`, made by a model's `tx` helpers. */
export interface TransactOperation {
  readonly model: AnyModel
  readonly type: 'put' | 'update' | 'delete' | 'conditionCheck'
  readonly table: string
  /**
   * The raw operation. On an operation that writes an encrypted field, reading it is a `DYNAMO_PLAINTEXT_REFUSED`
   * error (it would hold the plaintext): use `sealed()`.
   */
  readonly operation: TransactWriteItem
  /** The operation as `db.transact` sends it: encrypted fields encrypted (a put gets a new data key per call). */
  sealed(): Promise<TransactWriteItem>
}

/** One read of `db.transactGet([...])`, made by a model's `tx.get`. */
export interface TransactGetOperation<M extends AnyModel = AnyModel> {
  readonly model: M
  readonly type: 'get'
  readonly table: string
  /** The raw `Get` sent (keys and projection only: never an encrypted value). */
  readonly operation: TransactGetItem
}

/** What `db.transactGet` returns: per read, the model's item (encrypted fields decrypted) or `undefined`. */
export interface TransactGetResult<T extends readonly TransactGetOperation[]> {
  items: { -readonly [K in keyof T]: T[K] extends TransactGetOperation<infer M> ? Item<M> | undefined : never }
  attempts: number
}

/** What a transaction needs of an operation beyond what it shows: the put's item, and how to open stored items. */
interface OperationInternals {
  readonly model: AnyModel
  /** The item a put writes, stored form before encryption, to return it. */
  readonly item: AttributeMap | undefined
  readonly encryptor: FieldEncryptor | undefined
}

const internals = new WeakMap<object, OperationInternals>()

/** What `db.transact` returns: per operation, the item a put wrote (`undefined` for the others), and the token. */
export interface TransactResult {
  items: (Record<string, unknown> | undefined)[]
  clientRequestToken: string
  attempts: number
}

/** A model's transaction helpers: each returns an operation for `db.transact([...])`; nothing is sent. */
export interface ModelTransactions<M extends AnyModel> {
  /** A create (fails the transaction when the key exists, unless `ifNotExists: false`). */
  create(item: Insert<M>, options?: { ifNotExists?: boolean | undefined }): TransactOperation
  /** A put (with a version field: the item's version is checked and bumped, as in `put`). */
  put(item: Insert<M>, options?: { condition?: Condition<Item<M>> | undefined }): TransactOperation
  /** An update built with the update builder: `tx.update(key, (u) => u.set({ ... }))`. */
  update(key: Key<M> & { version?: number | undefined }, build: (builder: TransactUpdateBuilder<M>) => unknown): TransactOperation
  /** A delete (with a version field: the expected version is checked). */
  delete(key: Key<M> & { version?: number | undefined }, options?: { condition?: Condition<Item<M>> | undefined }): TransactOperation
  /** A condition that must hold for the item with `key`, or the transaction is cancelled. */
  check(key: Key<M>, condition: Condition<Item<M>>): TransactOperation
  /** A read for `db.transactGet([...])`. */
  get(key: Key<M>, options?: { select?: readonly FieldName<M>[] | undefined }): TransactGetOperation<M>
}

/** The update builder as a transaction sees it (no `go`, `explain` or `returning`). */
export interface TransactUpdateBuilder<M extends AnyModel> {
  set(values: Partial<Item<M>>): TransactUpdateBuilder<M>
  ifNotExists(values: Partial<Item<M>>): TransactUpdateBuilder<M>
  remove(...fields: (keyof Item<M> & string)[]): TransactUpdateBuilder<M>
  increment(fieldName: keyof Item<M> & string, by?: number): TransactUpdateBuilder<M>
  if(condition: Condition<Item<M>>): TransactUpdateBuilder<M>
}

/** A prepared request, the encrypted fields it holds as plaintext, and the same request with them sealed. */
export interface SealableRequest {
  request: PreparedRequest
  plaintext: readonly string[]
  seal(): Promise<PreparedRequest>
}

const DROPPED = new Set(['ReturnValues', 'ReturnConsumedCapacity', 'ReturnItemCollectionMetrics', 'Limit'])

function strip(request: PreparedRequest): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(request.input)) if (!DROPPED.has(name)) out[name] = value
  return out
}

/** Builds a model's transaction helpers over its request builders. */
export function createModelTransactions<M extends AnyModel>(
  context: ModelContext,
  requests: {
    put(item: unknown, options: { condition?: unknown }): SealableRequest
    create(item: unknown, options: { ifNotExists?: boolean | undefined }): SealableRequest
    delete(key: unknown, options: { condition?: unknown }): PreparedRequest
    update(key: unknown, build: (builder: never) => unknown): SealableRequest
  },
): ModelTransactions<M> {
  const model = context.model
  const op = (
    type: TransactOperation['type'],
    operation: TransactWriteItem,
    sealable?: { plaintext: readonly string[]; seal: () => Promise<TransactWriteItem> },
    item?: AttributeMap,
  ): TransactOperation => {
    const sealed = context.encryptor && sealable ? sealable.seal : async () => operation
    const made = { model, type, table: context.table, sealed } as { -readonly [K in keyof TransactOperation]: TransactOperation[K] }
    if (context.encryptor && sealable && sealable.plaintext.length > 0) {
      // Not enumerable, so printing or serialising the operation does not throw (and shows no plaintext).
      Object.defineProperty(made, 'operation', {
        enumerable: false,
        get(): TransactWriteItem {
          refusePlaintext(`${model.name}.tx.${type}(): operation`, sealable.plaintext, 'await operation.sealed()')
          return operation
        },
      })
    } else made.operation = operation
    internals.set(made, { model, item, encryptor: context.encryptor })
    return made
  }
  const put = (prepared: SealableRequest) => {
    const input = strip(prepared.request)
    return op(
      'put',
      { Put: input as unknown as TransactWriteItem['Put'] },
      { plaintext: prepared.plaintext, seal: async () => ({ Put: strip(await prepared.seal()) as unknown as TransactWriteItem['Put'] }) },
      input.Item as AttributeMap,
    )
  }
  return {
    create: (item, options = {}) => put(requests.create(item, options)),
    put: (item, options = {}) => put(requests.put(item, options)),
    update(key, build) {
      const prepared = requests.update(key, build as (builder: never) => unknown)
      return op(
        'update',
        { Update: strip(prepared.request) as unknown as TransactWriteItem['Update'] },
        {
          plaintext: prepared.plaintext,
          seal: async () => ({ Update: strip(await prepared.seal()) as unknown as TransactWriteItem['Update'] }),
        },
      )
    },
    delete(key, options = {}) {
      return op('delete', { Delete: strip(requests.delete(key, options)) as unknown as TransactWriteItem['Delete'] })
    },
    check(key, condition) {
      const issues: ValidationIssue[] = []
      const stored = marshalKey(model, key, issues)
      const cond = toCond(model, condition, issues, ['condition'])
      throwIfIssues(issues, `${model.name}.tx.check`)
      const expressions = buildExpressions(context.runner.cache, `check:${model.name}`, { condition: cond })
      return op('conditionCheck', {
        ConditionCheck: { TableName: context.table, Key: stored, ...expressions } as TransactWriteItem['ConditionCheck'],
      })
    },
    get(key, options = {}) {
      const issues: ValidationIssue[] = []
      const stored = marshalKey(model, key, issues)
      const projection = selectAttributes(model, options.select, issues)
      throwIfIssues(issues, `${model.name}.tx.get`)
      const input: Record<string, unknown> = { TableName: context.table, Key: stored }
      if (projection) Object.assign(input, buildExpressions(context.runner.cache, 'get', { projection }))
      const made: TransactGetOperation<M> = {
        model: model as M,
        type: 'get',
        table: context.table,
        operation: { Get: input as unknown as TransactGetItem['Get'] },
      }
      internals.set(made, { model, item: undefined, encryptor: context.encryptor })
      return made
    },
  }
}

function internalsOf(operation: unknown, position: number, made: string): OperationInternals {
  const found = typeof operation === 'object' && operation !== null ? internals.get(operation) : undefined
  if (!found) throw new DynamoInputError(`operation ${position} is not one made by ${made}, got ${describeValue(operation)}`)
  return found
}

/**
 * Runs operations of one or more models as one DynamoDB transaction with the transaction engine (idempotency
 * token, retries of conflicts, per-operation cancellation reasons in a `TransactionCanceledError`). Returns the
 * items the puts wrote.
 */
export async function runTransaction(
  client: DynamoClientLike,
  operations: readonly TransactOperation[],
  options: Omit<TransactWriteOptions, 'keyAttributes'> = {},
): Promise<TransactResult> {
  if (!Array.isArray(operations)) throw new DynamoInputError(`transact takes an array of operations, got ${describeValue(operations)}`)
  const found = operations.map((operation, position) => internalsOf(operation, position, 'db.model(M).tx.create/put/update/delete/check'))
  const keyAttributes: Record<string, string[]> = {}
  for (const [position, operation] of operations.entries()) keyAttributes[operation.table] = keyAttributesOf(found[position]!.model)
  const sent = await Promise.all(operations.map((operation) => operation.sealed()))
  let result: Awaited<ReturnType<typeof transactWrite>>
  try {
    result = await transactWrite(client, sent, { ...options, keyAttributes })
  } catch (error) {
    throw await openCancellation(error, found)
  }
  return {
    items: found.map(({ model, item }) => (item ? unmarshalItem(model, item) : undefined)),
    clientRequestToken: result.clientRequestToken,
    attempts: result.attempts,
  }
}

/**
 * Reads items of one or more models in one serializable snapshot (the transactGet engine), each item decrypted and
 * unmarshalled by its model.
 */
export async function runTransactGet<const T extends readonly TransactGetOperation[]>(
  client: DynamoClientLike,
  operations: T,
  options: TransactGetOptions = {},
): Promise<TransactGetResult<T>> {
  if (!Array.isArray(operations)) throw new DynamoInputError(`transactGet takes an array of operations, got ${describeValue(operations)}`)
  const found = operations.map((operation, position) => internalsOf(operation, position, 'db.model(M).tx.get'))
  let result: Awaited<ReturnType<typeof transactGet>>
  try {
    result = await transactGet(
      client,
      operations.map((operation) => operation.operation),
      options,
    )
  } catch (error) {
    throw await openCancellation(error, found)
  }
  const items = await Promise.all(
    result.items.map(async (stored, position) => {
      if (stored === undefined) return undefined
      const { model, encryptor } = found[position]!
      return unmarshalItem(model, await openItem(encryptor, stored))
    }),
  )
  return { items: items as TransactGetResult<T>['items'], attempts: result.attempts }
}

function keyAttributesOf(model: AnyModel): string[] {
  return [model.partitionKey.attribute, ...(model.sortKey ? [model.sortKey.attribute] : [])]
}

/** A cancellation whose returned items (failed conditions) are decrypted; any other error as it is. */
async function openCancellation(error: unknown, found: readonly OperationInternals[]): Promise<unknown> {
  if (!(error instanceof TransactionCanceledError) || !error.reasons.some((reason) => reason.item && found[reason.index]?.encryptor))
    return error
  const reasons = await Promise.all(
    error.reasons.map(async (reason) =>
      reason.item ? { ...reason, item: await openItem(found[reason.index]?.encryptor, reason.item) } : reason,
    ),
  )
  return new TransactionCanceledError(error.operation, reasons, { cause: error.cause, clientRequestToken: error.clientRequestToken })
}
