import type { TransactWriteItem } from '@aws-sdk/client-dynamodb'
import type { ValidationIssue } from '@tessera/core'
import type { PreparedRequest } from './command-runner'
import { type Condition, toCond } from './conditions'
import type { AnyModel, Insert, Item, Key } from './define-model'
import type { DynamoClientLike } from './dynamo-client-like'
import { DynamoInputError } from './dynamo-errors'
import { buildExpressions } from './expressions'
import { unmarshalItem } from './item-codec'
import type { AttributeMap } from './key-identity'
import { type ModelContext, marshalKey, throwIfIssues } from './model-context'
import { type TransactWriteOptions, transactWrite } from './transact'

/** One operation of `db.transact([...])`, made by a model's `tx` helpers. */
export interface TransactOperation {
  readonly model: AnyModel
  readonly type: 'put' | 'update' | 'delete' | 'conditionCheck'
  readonly table: string
  /** The raw operation sent. */
  readonly operation: TransactWriteItem
  /** The item a put writes (stored form, before encryption), to return it. */
  readonly item: AttributeMap | undefined
  /**
   * The operation with the model's encrypted fields sealed, made when `db.transact` sends it; absent for operations
   * without encrypted values. For those, `operation` holds the plaintext: send them only through `db.transact`.
   */
  readonly seal?: (() => Promise<TransactWriteItem>) | undefined
}

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
}

/** The update builder as a transaction sees it (no `go`, `explain` or `returning`). */
export interface TransactUpdateBuilder<M extends AnyModel> {
  set(values: Partial<Item<M>>): TransactUpdateBuilder<M>
  ifNotExists(values: Partial<Item<M>>): TransactUpdateBuilder<M>
  remove(...fields: (keyof Item<M> & string)[]): TransactUpdateBuilder<M>
  increment(fieldName: keyof Item<M> & string, by?: number): TransactUpdateBuilder<M>
  if(condition: Condition<Item<M>>): TransactUpdateBuilder<M>
}

/** A prepared request, and the same request with its encrypted fields sealed. */
export interface SealableRequest {
  request: PreparedRequest
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
    item?: AttributeMap,
    seal?: () => Promise<TransactWriteItem>,
  ): TransactOperation => ({ model, type, table: context.table, operation, item, ...(context.encryptor && seal ? { seal } : {}) })
  const put = (prepared: SealableRequest) => {
    const input = strip(prepared.request)
    return op('put', { Put: input as unknown as TransactWriteItem['Put'] }, input.Item as AttributeMap, async () => ({
      Put: strip(await prepared.seal()) as unknown as TransactWriteItem['Put'],
    }))
  }
  return {
    create: (item, options = {}) => put(requests.create(item, options)),
    put: (item, options = {}) => put(requests.put(item, options)),
    update(key, build) {
      const prepared = requests.update(key, build as (builder: never) => unknown)
      return op('update', { Update: strip(prepared.request) as unknown as TransactWriteItem['Update'] }, undefined, async () => ({
        Update: strip(await prepared.seal()) as unknown as TransactWriteItem['Update'],
      }))
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
  }
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
  const keyAttributes: Record<string, string[]> = {}
  for (const operation of operations) {
    const model = operation.model
    keyAttributes[operation.table] = [model.partitionKey.attribute, ...(model.sortKey ? [model.sortKey.attribute] : [])]
  }
  for (const [position, operation] of operations.entries()) {
    if (typeof operation?.operation !== 'object' || !operation.model) {
      throw new DynamoInputError(`transact: operation ${position} is not one made by db.model(M).tx.create/put/update/delete/check`)
    }
  }
  const sent = await Promise.all(operations.map((operation) => (operation.seal ? operation.seal() : operation.operation)))
  const result = await transactWrite(client, sent, { ...options, keyAttributes })
  return {
    items: operations.map((operation) => (operation.item ? unmarshalItem(operation.model, operation.item) : undefined)),
    clientRequestToken: result.clientRequestToken,
    attempts: result.attempts,
  }
}
