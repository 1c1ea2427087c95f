import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb'
import { AbortError, CHANNELS, type DynamoCommandMessage, isTesseraError, type Logger, traced } from '@tessera/core'
import type { DynamoClientLike } from './dynamo-client-like'
import { DynamoRequestError, isTransientError } from './dynamo-errors'
import type { ExpressionCache } from './expression-cache'

/** The DynamoDB operations a model sends itself. */
export type ModelOperation = 'GetItem' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'Query' | 'Scan' | 'TransactWriteItems'

const COMMANDS = {
  GetItem: GetItemCommand,
  PutItem: PutItemCommand,
  UpdateItem: UpdateItemCommand,
  DeleteItem: DeleteItemCommand,
  Query: QueryCommand,
  Scan: ScanCommand,
  TransactWriteItems: TransactWriteItemsCommand,
} as const

const READS: ReadonlySet<ModelOperation> = new Set(['GetItem', 'Query', 'Scan'])

/** A request ready to send: the operation, its table and index, and the SDK input. */
export interface PreparedRequest {
  readonly operation: ModelOperation
  readonly table: string
  readonly index?: string | undefined
  readonly input: Record<string, unknown>
}

/** Capacity DynamoDB reported, summed over a request's `ConsumedCapacity`. */
export interface ConsumedCapacitySummary {
  capacityUnits: number
  readCapacityUnits?: number | undefined
  writeCapacityUnits?: number | undefined
  /** Per table or index name, when DynamoDB broke it down (`ReturnConsumedCapacity: 'INDEXES'`). */
  byTableOrIndex?: Record<string, number> | undefined
}

/** What an `onCommand` hook sees: the request about to be sent (its `input` may be changed). */
export interface DynamoCommandContext {
  readonly operation: ModelOperation
  readonly table: string
  readonly index: string | undefined
  input: Record<string, unknown>
}

/**
 * Around-hooks of `createDynamo`. `onCommand` runs around every command a model sends: call `next()` to send it
 * (and get DynamoDB's output), or return without calling it to short-circuit; throw to refuse.
 */
export interface DynamoHooks {
  onCommand?:
    | ((context: DynamoCommandContext, next: () => Promise<Record<string, unknown>>) => Promise<Record<string, unknown>>)
    | undefined
}

/** Counters of one `createDynamo` instance. */
export interface RunnerCounters {
  commands: number
  failures: number
  readCapacityUnits: number
  writeCapacityUnits: number
}

/** What every operation shares: the client, the caches, counters and settings of one `createDynamo`. */
export interface CommandRunner {
  readonly client: DynamoClientLike
  readonly cache: ExpressionCache
  readonly counters: RunnerCounters
  readonly tablePrefix: string
  readonly logger: Logger | undefined
  send(request: PreparedRequest, signal?: AbortSignal | undefined): Promise<Record<string, unknown>>
}

/** Builds the runner: sends commands, publishes `tessera:dynamo:command`, counts capacity, wraps errors. */
export function createCommandRunner(options: {
  client: DynamoClientLike
  cache: ExpressionCache
  tablePrefix: string
  logger: Logger | undefined
  hooks?: DynamoHooks | undefined
}): CommandRunner {
  const counters: RunnerCounters = { commands: 0, failures: 0, readCapacityUnits: 0, writeCapacityUnits: 0 }
  const runner: CommandRunner = {
    ...options,
    counters,
    async send(request, signal) {
      if (signal?.aborted) throw new AbortError(request.operation, { cause: signal.reason })
      const message: DynamoCommandMessage = { command: request.operation, table: request.table, index: request.index }
      counters.commands++
      return traced(CHANNELS.dynamoCommand, message, async () => {
        const Command = COMMANDS[request.operation] as new (input: unknown) => unknown
        const context: DynamoCommandContext = {
          operation: request.operation,
          table: request.table,
          index: request.index,
          input: request.input,
        }
        const sendNow = async () =>
          (await options.client.send(new Command(context.input), signal ? { abortSignal: signal } : undefined)) as Record<string, unknown>
        try {
          const onCommand = options.hooks?.onCommand
          const output = onCommand ? await onCommand(context, sendNow) : await sendNow()
          const consumed = summariseConsumedCapacity(output?.ConsumedCapacity)
          if (consumed) {
            message.consumedCapacity = consumed.capacityUnits
            if (READS.has(request.operation)) counters.readCapacityUnits += consumed.capacityUnits
            else counters.writeCapacityUnits += consumed.capacityUnits
          }
          return output ?? {}
        } catch (error) {
          counters.failures++
          options.logger?.debug({ command: request.operation, table: request.table, error }, 'dynamo command failed')
          if (isTesseraError(error)) throw error
          if (signal?.aborted) throw new AbortError(request.operation, { cause: error })
          // Conditional failures are turned into model errors by the caller, which knows the key.
          if ((error as { name?: unknown })?.name === 'ConditionalCheckFailedException') throw error
          throw new DynamoRequestError(request.operation, error, { retryable: isTransientError(error) })
        }
      })
    },
  }
  return runner
}

interface RawCapacity {
  TableName?: string
  CapacityUnits?: number
  ReadCapacityUnits?: number
  WriteCapacityUnits?: number
  Table?: { CapacityUnits?: number }
  GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number }>
  LocalSecondaryIndexes?: Record<string, { CapacityUnits?: number }>
}

/** Sums `ConsumedCapacity` (one object or a list). `undefined` when DynamoDB reported none. */
export function summariseConsumedCapacity(raw: unknown): ConsumedCapacitySummary | undefined {
  if (raw === undefined || raw === null) return undefined
  const list = (Array.isArray(raw) ? raw : [raw]) as RawCapacity[]
  const summary: ConsumedCapacitySummary = { capacityUnits: 0 }
  for (const entry of list) {
    summary.capacityUnits += entry.CapacityUnits ?? 0
    if (entry.ReadCapacityUnits !== undefined) summary.readCapacityUnits = (summary.readCapacityUnits ?? 0) + entry.ReadCapacityUnits
    if (entry.WriteCapacityUnits !== undefined) summary.writeCapacityUnits = (summary.writeCapacityUnits ?? 0) + entry.WriteCapacityUnits
    const parts: Record<string, number> = {}
    if (entry.Table?.CapacityUnits !== undefined && entry.TableName) parts[entry.TableName] = entry.Table.CapacityUnits
    for (const [name, value] of Object.entries({ ...entry.GlobalSecondaryIndexes, ...entry.LocalSecondaryIndexes })) {
      if (value.CapacityUnits !== undefined) parts[name] = value.CapacityUnits
    }
    if (Object.keys(parts).length > 0) summary.byTableOrIndex = { ...summary.byTableOrIndex, ...parts }
  }
  return summary
}

/**
 * Sends one request of an engine (batches, transactions) inside a `tessera:dynamo:command` trace, as the model
 * operations do: `command`, `table` (several tables joined by `,`), and `consumedCapacity` when DynamoDB reported it.
 * Free when nobody subscribes.
 */
export function publishedSend<T>(message: DynamoCommandMessage, send: () => Promise<T>): Promise<T> {
  return traced(CHANNELS.dynamoCommand, message, async () => {
    const output = await send()
    const consumed = summariseConsumedCapacity((output as { ConsumedCapacity?: unknown } | undefined)?.ConsumedCapacity)
    if (consumed) message.consumedCapacity = consumed.capacityUnits
    return output
  })
}

/** The table names of a request, for {@link publishedSend}: distinct, in order, joined by `,`. */
export function tableList(tables: Iterable<string>): string {
  return [...new Set(tables)].join(',')
}
