import type { ValidationIssue } from '@tessera/core'
import { generateId } from '@tessera/schema/portable'
import type { BatchWriteOptions } from './batch-write'
import { type PreparedRequest, summariseConsumedCapacity } from './command-runner'
import { type Condition, toCond } from './conditions'
import type { AnyModel, FieldMeta, FieldName, Insert, Item, Key } from './define-model'
import { ItemNotFoundError } from './errors'
import { type ExplainOptions, type Explanation, estimateItemSize, explainRequest, withActual } from './explain'
import { allOf, buildExpressions, type Cond, operationName } from './expressions'
import { marshalItem, unmarshalItem } from './item-codec'
import { itemSizeBytes, MAX_ITEM_BYTES } from './item-size'
import type { AttributeMap } from './key-identity'
import {
  type ModelBatchGetOptions,
  type ModelBatchGetResult,
  type ModelBatchWrite,
  type ModelBatchWriteResult,
  modelBatchGet,
  modelBatchWrite,
} from './model-batch'
import { conditionFailure, keyOf, type ModelContext, marshalKey, selectAttributes, throwIfIssues } from './model-context'
import { openItem, plaintextFields, refusePlaintext, sealItem } from './model-encryption'
import { createModelTransactions, type ModelTransactions } from './model-transaction'
import { createQueryBuilder, type QueryBuilder } from './query-builder'
import { createScanBuilder, type ScanBuilder } from './scan-builder'
import { type DecodedStreamRecord, decodeStreamImages, type StreamRecordLike } from './stream-record'
import { createUpdateBuilder, type UpdateBuilder } from './update-builder'

/** A key, plus the expected version for a model with a version field. */
export type KeyWithVersion<M extends AnyModel> = Key<M> & { version?: number | undefined }

/** Options of `create`. */
export interface CreateOptions {
  /** Fail with `ConditionFailedError` when an item with this key exists. Default: `true`. */
  ifNotExists?: boolean | undefined
  signal?: AbortSignal | undefined
}

/** Options of `put`. */
export interface PutOptions<M extends AnyModel> {
  /** Write only if this holds for the stored item. Default: none. */
  condition?: Condition<Item<M>> | undefined
  signal?: AbortSignal | undefined
}

/** Options of `get` and `getOrThrow`. */
export interface GetOptions<M extends AnyModel> {
  /** Strongly consistent read (twice the read units). Default: `false`. */
  consistent?: boolean | undefined
  /** Fields to return. Default: all. */
  select?: readonly FieldName<M>[] | undefined
  signal?: AbortSignal | undefined
}

/** Options of `delete`. */
export interface DeleteOptions<M extends AnyModel> {
  /** Delete only if this holds. Default: none. */
  condition?: Condition<Item<M>> | undefined
  signal?: AbortSignal | undefined
}

/**
 * The request inputs the operations would send, without sending them (for inspection and benchmarks). A put or
 * create whose item holds an encrypted field is a `DYNAMO_PLAINTEXT_REFUSED` error here (encrypting needs the
 * asynchronous key provider): use {@link ModelClient.sealedParams} for those.
 */
export interface ModelParams<M extends AnyModel> {
  get(key: Key<M>, options?: GetOptions<M>): PreparedRequest
  put(item: Insert<M>, options?: PutOptions<M>): PreparedRequest
  create(item: Insert<M>, options?: CreateOptions): PreparedRequest
  delete(key: KeyWithVersion<M>, options?: DeleteOptions<M>): PreparedRequest
}

/**
 * The requests the operations would send, with encrypted fields encrypted as they would be sent (each put asks the
 * key provider for a new data key). Safe to send yourself.
 */
export interface ModelSealedParams<M extends AnyModel> {
  get(key: Key<M>, options?: GetOptions<M>): Promise<PreparedRequest>
  put(item: Insert<M>, options?: PutOptions<M>): Promise<PreparedRequest>
  create(item: Insert<M>, options?: CreateOptions): Promise<PreparedRequest>
  delete(key: KeyWithVersion<M>, options?: DeleteOptions<M>): Promise<PreparedRequest>
}

/** `db.model(M)`: every operation on one model. */
export interface ModelClient<M extends AnyModel> {
  readonly model: M
  /** Writes a new item (version 0, timestamps set). An existing key is a `ConditionFailedError` unless `ifNotExists: false`. */
  create(item: Insert<M>, options?: CreateOptions): Promise<Item<M>>
  /**
   * Writes the whole item. With a version field: the item's `version` is the expected stored version (a stale one is
   * `OptimisticLockError`) and is bumped; without one, `put` is a create.
   */
  put(item: Insert<M>, options?: PutOptions<M>): Promise<Item<M>>
  /** Reads one item; `undefined` when there is none. */
  get(key: Key<M>, options?: GetOptions<M>): Promise<Item<M> | undefined>
  /** Reads one item; `ItemNotFoundError` when there is none. */
  getOrThrow(key: Key<M>, options?: GetOptions<M>): Promise<Item<M>>
  /** Starts an update of the item with `key` (and, for a versioned model, its expected `version`). */
  update(key: KeyWithVersion<M>): UpdateBuilder<M>
  /**
   * Deletes the item and returns it as it was (`undefined` when there was none). With a version field the expected
   * `version` is required: a stale one is `OptimisticLockError`, a missing item `ItemNotFoundError`.
   */
  delete(key: KeyWithVersion<M>, options?: DeleteOptions<M>): Promise<Item<M> | undefined>
  /** Starts a query. */
  query(): QueryBuilder<M>
  /** Starts a scan. */
  scan(): ScanBuilder<M>
  /** Explains a `get` without sending it (or runs it, with `analyze`). */
  explainGet(key: Key<M>, options?: GetOptions<M> & ExplainOptions): Promise<Explanation>
  /** Explains a `put` without sending it (or runs it, with `analyze`). */
  explainPut(item: Insert<M>, options?: PutOptions<M> & ExplainOptions): Promise<Explanation>
  /** Explains a `delete` without sending it (or runs it, with `analyze`). */
  explainDelete(key: KeyWithVersion<M>, options?: DeleteOptions<M> & ExplainOptions): Promise<Explanation>
  /** The requests operations would send (a put or create carrying an encrypted field: use `sealedParams`). */
  readonly params: ModelParams<M>
  /** The requests operations would send, encrypted fields encrypted. */
  readonly sealedParams: ModelSealedParams<M>
  /**
   * Decodes a stream record of this model's table into items of the model, encrypted fields decrypted (a wrong key
   * is `DYNAMO_DECRYPT_FAILED`). Attributes that are not fields (keys, marker) are dropped from `old` and `new`.
   */
  decodeStreamRecord(record: StreamRecordLike): Promise<DecodedStreamRecord<Item<M>>>
  /** Reads many items (100 keys a request, concurrent, unprocessed keys retried); results in the order of `keys`. */
  batchGet(keys: readonly Key<M>[], options?: ModelBatchGetOptions): Promise<ModelBatchGetResult<M>>
  /** Puts and deletes many items (25 a request, concurrent, unprocessed items retried). Refused for versioned models. */
  batchWrite(writes: ModelBatchWrite<M>, options?: Omit<BatchWriteOptions, 'keyAttributes'>): Promise<ModelBatchWriteResult<M>>
  /** Operations for `db.transact([...])`. */
  readonly tx: ModelTransactions<M>
}

const VERSION_ONLY: ReadonlySet<string> = new Set(['version'])

/** Creates the client of one model. */
export function createModelClient<M extends AnyModel>(context: ModelContext): ModelClient<M> {
  const model = context.model as M
  const cache = context.runner.cache
  const versionField = model.versionField as FieldMeta | undefined
  const subject = (operation: string) => `${model.name}.${operation}`

  const prepareWrite = (
    item: Record<string, unknown>,
    mode: 'create' | 'put',
    condition: unknown,
    ifNotExists: boolean,
  ): { request: PreparedRequest; stored: AttributeMap; written: Record<string, unknown>; expectedVersion: number | undefined } => {
    const issues: ValidationIssue[] = []
    const written: Record<string, unknown> = { ...item }
    const now = new Date().toISOString()
    let expectedVersion: number | undefined
    if (versionField) {
      const given = item[versionField.name]
      if (mode === 'put' && given !== undefined) {
        if (typeof given !== 'number' || !Number.isInteger(given) || given < 0) {
          issues.push({ path: [versionField.name], message: `expected the stored version (an integer >= 0), got ${String(given)}` })
        } else expectedVersion = given
      } else if (mode === 'create' && given !== undefined) {
        issues.push({ path: [versionField.name], message: 'is set by create (0); leave it out' })
      }
      written[versionField.name] = expectedVersion === undefined ? 0 : expectedVersion + 1
    }
    for (const meta of model.generatedIdFields) if (written[meta.name] === undefined) written[meta.name] = generateId(meta.idStrategy!)
    const createdAt = model.createdAtField as FieldMeta | undefined
    const updatedAt = model.updatedAtField as FieldMeta | undefined
    if (createdAt && written[createdAt.name] === undefined) written[createdAt.name] = now
    if (updatedAt) written[updatedAt.name] = now
    const stored = marshalItem(model, written, issues)
    let cond: Cond | undefined
    if (condition !== undefined) cond = toCond(model, condition, issues, ['condition'])
    throwIfIssues(issues, subject(mode))
    const size = itemSizeBytes(stored)
    if (size > MAX_ITEM_BYTES) {
      throwIfIssues([{ path: [], message: `is ${size} bytes; DynamoDB's item limit is ${MAX_ITEM_BYTES} bytes (400 KB)` }], subject(mode))
    }
    const partitionAttribute = model.partitionKey.attribute
    if ((mode === 'create' && ifNotExists) || (mode === 'put' && versionField && expectedVersion === undefined)) {
      cond = allOf({ type: 'notExists', attr: partitionAttribute }, cond)
    } else if (versionField && expectedVersion !== undefined) {
      cond = allOf({ type: 'cmp', attr: versionField.attribute, op: '=', values: [{ N: String(expectedVersion) }] }, cond)
    }
    const input: Record<string, unknown> = { TableName: context.table, Item: stored }
    if (cond) {
      buildExpressions(cache, operationName(model, 'put'), { condition: cond }, input)
      input.ReturnValuesOnConditionCheckFailure = 'ALL_OLD'
    }
    return { request: { operation: 'PutItem', table: context.table, input }, stored, written, expectedVersion }
  }

  /** The request of a prepared write with its encrypted fields sealed (the request itself for a model without them). */
  const sealWrite = async (prepared: ReturnType<typeof prepareWrite>, mode: 'create' | 'put'): Promise<PreparedRequest> => {
    if (!context.encryptor) return prepared.request
    const sealed = await sealItem(context.encryptor, prepared.stored)
    const size = itemSizeBytes(sealed)
    if (size > MAX_ITEM_BYTES) {
      throwIfIssues(
        [{ path: [], message: `is ${size} bytes once encrypted; DynamoDB's item limit is ${MAX_ITEM_BYTES} bytes (400 KB)` }],
        subject(mode),
      )
    }
    return { ...prepared.request, input: { ...prepared.request.input, Item: sealed } }
  }

  /** The request of a prepared write, refused when it holds an encrypted field's plaintext. */
  const unsealed = (prepared: ReturnType<typeof prepareWrite>, mode: 'create' | 'put'): PreparedRequest => {
    if (context.encryptor) {
      refusePlaintext(`${subject(mode)}: params.${mode}()`, plaintextFields(model, prepared.stored), `await sealedParams.${mode}()`)
    }
    return prepared.request
  }

  const runWrite = async (
    prepared: ReturnType<typeof prepareWrite>,
    mode: 'create' | 'put',
    signal: AbortSignal | undefined,
  ): Promise<Item<M>> => {
    const request = await sealWrite(prepared, mode)
    try {
      await context.runner.send(request, signal)
    } catch (error) {
      throw await conditionFailure(context, error, {
        key: keyOf(model, prepared.written),
        expectedVersion: prepared.expectedVersion,
        mustExist: false,
        reason: mode === 'create' ? 'an item with this key already exists' : 'the put condition did not hold',
      })
    }
    return unmarshalItem(model, prepared.stored) as Item<M>
  }

  const prepareGet = (key: unknown, options: GetOptions<M> = {}): PreparedRequest => {
    const issues: ValidationIssue[] = []
    const stored = marshalKey(model, key, issues)
    const projection = selectAttributes(model, options.select, issues)
    throwIfIssues(issues, subject('get'))
    const input: Record<string, unknown> = { TableName: context.table, Key: stored }
    if (options.consistent) input.ConsistentRead = true
    if (projection) Object.assign(input, buildExpressions(cache, 'get', { projection }))
    return { operation: 'GetItem', table: context.table, input }
  }

  const prepareDelete = (
    key: unknown,
    options: DeleteOptions<M> = {},
  ): { request: PreparedRequest; expectedVersion: number | undefined } => {
    const issues: ValidationIssue[] = []
    const stored = marshalKey(model, key, issues, versionField ? VERSION_ONLY : undefined)
    let cond: Cond | undefined
    let expectedVersion: number | undefined
    if (versionField) {
      const given = (key as Record<string, unknown> | null)?.version
      if (typeof given !== 'number' || !Number.isInteger(given) || given < 0) {
        issues.push({
          path: ['version'],
          message: `${model.name} has a version field: pass the expected version (an integer >= 0), got ${String(given)}`,
        })
      } else {
        expectedVersion = given
        cond = { type: 'cmp', attr: versionField.attribute, op: '=', values: [{ N: String(given) }] }
      }
    }
    if (options.condition !== undefined) cond = allOf(cond, toCond(model, options.condition, issues, ['condition']))
    throwIfIssues(issues, subject('delete'))
    const input: Record<string, unknown> = { TableName: context.table, Key: stored, ReturnValues: 'ALL_OLD' }
    if (cond) {
      buildExpressions(cache, operationName(model, 'delete'), { condition: cond }, input)
      input.ReturnValuesOnConditionCheckFailure = 'ALL_OLD'
    }
    return { request: { operation: 'DeleteItem', table: context.table, input }, expectedVersion }
  }

  const get = async (key: Key<M>, options: GetOptions<M> = {}): Promise<Item<M> | undefined> => {
    const output = await context.runner.send(prepareGet(key, options), options.signal)
    const stored = output.Item as AttributeMap | undefined
    return stored ? (unmarshalItem(model, await openItem(context.encryptor, stored)) as Item<M>) : undefined
  }

  const writeSize = (stored: AttributeMap) => itemSizeBytes(stored)
  const explainContext = (request: PreparedRequest, overrides: Partial<Parameters<typeof explainRequest>[0]> = {}) =>
    explainRequest({
      request,
      itemSizeBytes: estimateItemSize(model),
      projectedItemSizeBytes: estimateItemSize(model),
      sizeBasis: 'model',
      itemsAssumed: 1,
      appliedAfterRead: [],
      warnings: [],
      pricing: context.pricing,
      ...overrides,
    })

  const analyze = async (explanation: Explanation, request: PreparedRequest, signal: AbortSignal | undefined): Promise<Explanation> => {
    const output = await context.runner.send({ ...request, input: { ...request.input, ReturnConsumedCapacity: 'INDEXES' } }, signal)
    return withActual(explanation, summariseConsumedCapacity(output.ConsumedCapacity))
  }

  const client: ModelClient<M> = {
    model,
    create: async (item, options = {}) =>
      runWrite(prepareWrite(item as Record<string, unknown>, 'create', undefined, options.ifNotExists ?? true), 'create', options.signal),
    put: async (item, options = {}) =>
      runWrite(prepareWrite(item as Record<string, unknown>, 'put', options.condition, false), 'put', options.signal),
    get,
    async getOrThrow(key, options) {
      const found = await get(key, options)
      if (found === undefined) throw new ItemNotFoundError({ model: model.name, key })
      return found
    },
    update: (key) => createUpdateBuilder<M>(context, key as Record<string, unknown>),
    async delete(key, options = {}) {
      const { request, expectedVersion } = prepareDelete(key, options)
      let old: AttributeMap | undefined
      try {
        const output = await context.runner.send(request, options.signal)
        old = output.Attributes as AttributeMap | undefined
      } catch (error) {
        throw await conditionFailure(context, error, {
          key: keyOf(model, key as Record<string, unknown>),
          expectedVersion,
          mustExist: versionField !== undefined,
          reason: 'the delete condition did not hold',
        })
      }
      return old ? (unmarshalItem(model, await openItem(context.encryptor, old)) as Item<M>) : undefined
    },
    query: () => createQueryBuilder<M>(context),
    scan: () => createScanBuilder<M>(context),
    async explainGet(key, options = {}) {
      const request = prepareGet(key, options)
      const projected = options.select ? estimateItemSize(model, options.select) : estimateItemSize(model)
      const explanation = explainContext(request, { projectedItemSizeBytes: projected })
      return options.analyze ? analyze(explanation, request, options.signal) : explanation
    },
    async explainPut(item, options = {}) {
      const prepared = prepareWrite(item as Record<string, unknown>, 'put', options.condition, false)
      const size = writeSize(prepared.stored)
      const indexWrites = model.indexes.filter((index) => index.type === 'gsi' && prepared.stored[index.partition.attribute]).length
      const explanation = explainContext(prepared.request, {
        itemSizeBytes: size,
        projectedItemSizeBytes: size,
        sizeBasis: 'item',
        indexWrites,
      })
      return options.analyze ? analyze(explanation, await sealWrite(prepared, 'put'), options.signal) : explanation
    },
    async explainDelete(key, options = {}) {
      const { request } = prepareDelete(key, options)
      const explanation = explainContext(request, { indexWrites: model.indexes.filter((index) => index.type === 'gsi').length })
      return options.analyze ? analyze(explanation, request, options.signal) : explanation
    },
    batchGet: (keys, options) => modelBatchGet<M>(context, keys, options),
    batchWrite: (writes, options) => modelBatchWrite<M>(context, writes, options),
    tx: createModelTransactions<M>(context, {
      put: (item, options) => {
        const prepared = prepareWrite(item as Record<string, unknown>, 'put', options.condition, false)
        return { request: prepared.request, plaintext: plaintextFields(model, prepared.stored), seal: () => sealWrite(prepared, 'put') }
      },
      create: (item, options) => {
        const prepared = prepareWrite(item as Record<string, unknown>, 'create', undefined, options.ifNotExists ?? true)
        return { request: prepared.request, plaintext: plaintextFields(model, prepared.stored), seal: () => sealWrite(prepared, 'create') }
      },
      delete: (key, options) => prepareDelete(key, options as DeleteOptions<M>).request,
      update: (key, build) => {
        const builder = createUpdateBuilder<M>(context, key as Record<string, unknown>)
        build(builder as never)
        return { request: builder.unsealedParams(), plaintext: builder.plaintextFields(), seal: () => builder.sealedParams() }
      },
    }),
    params: {
      get: (key, options) => prepareGet(key, options),
      put: (item, options = {}) => unsealed(prepareWrite(item as Record<string, unknown>, 'put', options.condition, false), 'put'),
      create: (item, options = {}) =>
        unsealed(prepareWrite(item as Record<string, unknown>, 'create', undefined, options.ifNotExists ?? true), 'create'),
      delete: (key, options) => prepareDelete(key, options).request,
    },
    sealedParams: {
      get: async (key, options) => prepareGet(key, options),
      put: async (item, options = {}) => sealWrite(prepareWrite(item as Record<string, unknown>, 'put', options.condition, false), 'put'),
      create: async (item, options = {}) =>
        sealWrite(prepareWrite(item as Record<string, unknown>, 'create', undefined, options.ifNotExists ?? true), 'create'),
      delete: async (key, options) => prepareDelete(key, options).request,
    },
    async decodeStreamRecord(record) {
      const images = decodeStreamImages(record)
      const toItem = async (image: AttributeMap | undefined) =>
        image === undefined ? undefined : (unmarshalItem(model, await openItem(context.encryptor, image)) as Item<M>)
      const [old, current] = await Promise.all([toItem(images.old), toItem(images.new)])
      return { ...images.meta, old, new: current }
    },
  }
  return client
}
