/**
 * The part of an AWS SDK v3 `DynamoDBClient` (or `DynamoDBStreamsClient`) the engines use: `send(command, {
 * abortSignal })`. A real client satisfies it; so does a wrapper that injects faults or records requests.
 */
export interface DynamoClientLike {
  // biome-ignore lint/suspicious/noExplicitAny: the SDK's Command generics differ per command; the engines narrow the output
  send(command: any, options?: DynamoSendOptions): Promise<any>
}

/**
 * The options the engines pass to `send`. A mapped type on purpose: its `abortSignal` does not admit an explicit
 * `undefined`, like the SDK's own `HttpHandlerOptions`, so a `DynamoDBClient` is a `DynamoClientLike` for users who
 * compile with `exactOptionalPropertyTypes`.
 */
export type DynamoSendOptions = Partial<Record<'abortSignal', AbortSignal>>

/** Options every engine request accepts. */
export interface RetryBudgetOptions {
  /** Attempts per request, counting the first. Default: 10. */
  maxAttempts?: number | undefined
  /** Ceiling of the first backoff wait (full jitter: a random wait in [0, ceiling)). Default: 50 ms. */
  baseDelayMs?: number | undefined
  /** The largest backoff ceiling. Default: 5000 ms. */
  maxDelayMs?: number | undefined
}

/** The resolved retry budget. */
export interface ResolvedRetryBudget {
  maxAttempts: number
  baseDelayMs: number
  maxDelayMs: number
}

/** `{ abortSignal }` when there is a signal, `{}` otherwise. */
export function sendOptions(signal: AbortSignal | undefined): DynamoSendOptions {
  return signal === undefined ? {} : { abortSignal: signal }
}
