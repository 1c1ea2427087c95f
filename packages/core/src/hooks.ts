import type { QueryOptions, QueryResult, TransactionOptions } from './contracts'
import { ConfigError, describeValue, type TesseraError } from './errors'

/** Which provider method a query hook is running for. */
export type QueryOperation = 'query' | 'batch' | 'stream'

/** Which kind of operation failed, as reported to `onError`. */
export type HookOperation = QueryOperation | 'transaction' | 'connection' | 'connect' | 'acquire' | 'release' | 'listen' | 'notify' | 'copy'

/**
 * One statement on its way to the driver. Hooks may read it, change it and pass the changed copy on
 * with `next(changedCtx)`.
 */
export interface QueryContext {
  /** The final statement text, `$n` placeholders included (a `sql` tag query is already rendered). */
  sql: string
  /** The parameters bound to the placeholders, in order. */
  params: readonly unknown[]
  /** The per-call options the caller passed (`{}` when none). */
  options: QueryOptions
  /** The provider's driver name: `'pg'`, `'postgres.js'`, … */
  driver: string
  /** The provider method the statement came through. */
  operation: QueryOperation
  /** Whether the statement runs inside a transaction (or savepoint). */
  transaction: boolean
  /** 1 on the first try; a hook that retries passes `{ ...ctx, attempt: ctx.attempt + 1 }` to `next`. */
  attempt: number
  /** Free space for hooks to share data with each other (a span, a start time, a cache key). */
  meta: Record<string, unknown>
}

/** A transaction about to run. */
export interface TransactionContext {
  driver: string
  /** The options the caller passed (`{}` when none). */
  options: TransactionOptions
  /** 1 on the first try, incremented by the provider when it re-runs the transaction after a serialization failure. */
  attempt: number
  meta: Record<string, unknown>
}

/** A driver connection, as hooks see it. */
export interface ConnectionInfo {
  driver: string
  /** The server backend's PID, when the driver knows it. */
  processId?: number | undefined
  host?: string | undefined
  database?: string | undefined
  /** Free space for hooks; it lives as long as the connection. */
  meta: Record<string, unknown>
}

/** Where an error reported to `onError` happened. */
export interface ErrorContext {
  operation: HookOperation
  /** The statement, for query, batch and stream errors. */
  sql?: string | undefined
  params?: readonly unknown[] | undefined
  driver: string
}

/** Runs the rest of a query chain: the inner hooks, then the driver. Without an argument it reuses the current context. */
export type QueryNext = (ctx?: QueryContext) => Promise<QueryResult>

/** Runs the rest of a transaction chain: the inner hooks, then the transaction itself. */
export type TransactionNext = () => Promise<unknown>

/**
 * Extension points every provider calls. All are optional; register them with the provider's `hooks` option.
 *
 * Around-hooks (`onQuery`, `onTransaction`) run outermost first, in registration order, and can observe, change,
 * retry, short-circuit or reject the operation. A hook that throws or rejects makes the operation reject with
 * that error; the provider and the other hooks are unaffected.
 *
 * @example
 * const timing: Hooks = {
 *   async onQuery(ctx, next) {
 *     const started = performance.now()
 *     try { return await next() } finally { log.debug({ sql: ctx.sql, ms: performance.now() - started }) }
 *   },
 * }
 */
export interface Hooks {
  /**
   * Around every statement (`query`, each statement of a `batch`, the opening of a `stream`).
   * - observe: `return next()`;
   * - change: `return next({ ...ctx, sql: rewritten })`;
   * - retry: call `next` again after a rejection (it runs the inner hooks and the driver again);
   * - short-circuit: return a result without calling `next` (a cache hit);
   * - reject: throw.
   */
  onQuery?(ctx: QueryContext, next: QueryNext): Promise<QueryResult>
  /** Around every transaction. Return what `next()` resolved to: it is the transaction function's result. */
  onTransaction?(ctx: TransactionContext, next: TransactionNext): Promise<unknown>
  /** After a new connection is established, before its first use. Throwing makes the connect fail. */
  onConnect?(connection: ConnectionInfo): void | Promise<void>
  /** After a connection is taken from the pool, before the caller gets it. Throwing makes the acquire fail. */
  onAcquire?(connection: ConnectionInfo): void | Promise<void>
  /** Before a connection goes back to the pool. Every release hook runs even when one throws. */
  onRelease?(connection: ConnectionInfo): void | Promise<void>
  /**
   * Told about every error an operation rejects with. An observer only: it cannot change or suppress the error.
   * If it throws (or returns a promise that rejects), that is swallowed: the caller still gets the original error.
   */
  onError?(error: TesseraError, ctx: ErrorContext): void
}

/** The last step of a query chain: what the provider does to actually run the statement. */
export type QueryFinal = (ctx: QueryContext) => Promise<QueryResult>

/** Every registered hook, merged into one object a provider calls. Built once by {@link composeHooks}. */
export interface ComposedHooks {
  readonly hasQueryHooks: boolean
  readonly hasTransactionHooks: boolean
  readonly hasConnectHooks: boolean
  readonly hasAcquireHooks: boolean
  readonly hasReleaseHooks: boolean
  readonly hasErrorHooks: boolean
  /** Runs the `onQuery` chain around `final`. Without query hooks this is exactly `final(ctx)`. */
  query(ctx: QueryContext, final: QueryFinal): Promise<QueryResult>
  /**
   * Runs the `onTransaction` chain around `final`. Without transaction hooks this is exactly `final()`.
   * The result is what the hooks return, which is `final`'s result unless a hook substitutes its own.
   */
  transaction<T>(ctx: TransactionContext, final: () => Promise<T>): Promise<T>
  /** Runs every `onConnect` in order, each awaited before the next; rejects with the first error. */
  connect(connection: ConnectionInfo): Promise<void>
  /** Runs every `onAcquire` in order, each awaited before the next; rejects with the first error. */
  acquire(connection: ConnectionInfo): Promise<void>
  /** Runs every `onRelease` in order, each awaited; all run even when one fails, then rejects with the first error. */
  release(connection: ConnectionInfo): Promise<void>
  /** Tells every `onError`, in order. Never throws: errors raised by `onError` hooks are swallowed. */
  error(error: TesseraError, ctx: ErrorContext): void
}

const HOOK_NAMES = ['onQuery', 'onTransaction', 'onConnect', 'onAcquire', 'onRelease', 'onError'] as const
type HookName = (typeof HOOK_NAMES)[number]
const KNOWN = new Set<string>(HOOK_NAMES)
const KNOWN_LOWERCASE = new Set<string>(HOOK_NAMES.map((name) => name.toLowerCase()))

// Shared so that a hook-less connect/acquire/release allocates nothing.
const RESOLVED: Promise<void> = Promise.resolve()

type QueryStep = (ctx: QueryContext, final: QueryFinal) => Promise<QueryResult>
type TransactionStep = (ctx: TransactionContext, final: () => Promise<unknown>) => Promise<unknown>
type ConnectionHook = (this: Hooks, connection: ConnectionInfo) => void | Promise<void>

/**
 * Merges hooks into one {@link ComposedHooks}. The first hook in `list` is the outermost: its `onQuery` runs
 * first and sees the result last. The chains are built here, once, so a call costs one small closure per
 * query hook (its `next`) and nothing at all without hooks. Later changes to the hook objects are not seen.
 *
 * @throws ConfigError when an entry is not an object, a hook is not a function, or a key looks like a
 *   misspelt hook name (`onQeury`); every problem is listed.
 */
export function composeHooks(list: readonly Hooks[] = []): ComposedHooks {
  validate(list)
  const queryHooks = pick(list, 'onQuery')
  const transactionHooks = pick(list, 'onTransaction')
  const connectHooks = pick(list, 'onConnect')
  const acquireHooks = pick(list, 'onAcquire')
  const releaseHooks = pick(list, 'onRelease')
  const errorHooks = pick(list, 'onError')

  const query: QueryStep = queryHooks.length === 0 ? callQueryFinal : buildQueryChain(queryHooks)
  const transaction = transactionHooks.length === 0 ? callTransactionFinal : buildTransactionChain(transactionHooks)

  return {
    hasQueryHooks: queryHooks.length > 0,
    hasTransactionHooks: transactionHooks.length > 0,
    hasConnectHooks: connectHooks.length > 0,
    hasAcquireHooks: acquireHooks.length > 0,
    hasReleaseHooks: releaseHooks.length > 0,
    hasErrorHooks: errorHooks.length > 0,
    query,
    // The chain only ever passes `final`'s own result through unless a hook substitutes one, so the cast holds
    // for hooks that follow the contract documented on `onTransaction`.
    transaction: transaction as <T>(ctx: TransactionContext, final: () => Promise<T>) => Promise<T>,
    connect: sequence(connectHooks, false),
    acquire: sequence(acquireHooks, false),
    release: sequence(releaseHooks, true),
    error: notifier(errorHooks),
  }
}

function callQueryFinal(ctx: QueryContext, final: QueryFinal): Promise<QueryResult> {
  return final(ctx)
}

function callTransactionFinal(_ctx: TransactionContext, final: () => Promise<unknown>): Promise<unknown> {
  return final()
}

/** Hook functions of one kind, each paired with the object it came from so `this` still works. */
interface Bound<F> {
  owner: Hooks
  fn: F
}

function pick<K extends HookName>(list: readonly Hooks[], name: K): Bound<NonNullable<Hooks[K]>>[] {
  const picked: Bound<NonNullable<Hooks[K]>>[] = []
  for (const owner of list) {
    const fn = owner[name]
    if (fn !== undefined) picked.push({ owner, fn: fn as NonNullable<Hooks[K]> })
  }
  return picked
}

// Built from the inside out: step i's `next` calls step i + 1, and the innermost `next` calls `final`.
function buildQueryChain(hooks: readonly Bound<NonNullable<Hooks['onQuery']>>[]): QueryStep {
  let inner: QueryStep | undefined
  for (let i = hooks.length - 1; i >= 0; i--) {
    const { owner, fn } = hooks[i]!
    const rest = inner
    inner =
      rest === undefined
        ? (ctx, final) => {
            const next: QueryNext = (nextCtx) => final(nextCtx ?? ctx)
            return invokeQuery(owner, fn, ctx, next)
          }
        : (ctx, final) => {
            const next: QueryNext = (nextCtx) => rest(nextCtx ?? ctx, final)
            return invokeQuery(owner, fn, ctx, next)
          }
  }
  return inner!
}

// A hook written without `async` may throw synchronously; turn that into a rejection so every caller
// (the provider, the outer hooks) sees one failure mode.
function invokeQuery(owner: Hooks, fn: NonNullable<Hooks['onQuery']>, ctx: QueryContext, next: QueryNext): Promise<QueryResult> {
  try {
    return fn.call(owner, ctx, next)
  } catch (error) {
    return Promise.reject(error)
  }
}

function buildTransactionChain(hooks: readonly Bound<NonNullable<Hooks['onTransaction']>>[]): TransactionStep {
  let inner: TransactionStep | undefined
  for (let i = hooks.length - 1; i >= 0; i--) {
    const { owner, fn } = hooks[i]!
    const rest = inner
    inner =
      rest === undefined
        ? (ctx, final) => invokeTransaction(owner, fn, ctx, final)
        : (ctx, final) => invokeTransaction(owner, fn, ctx, () => rest(ctx, final))
  }
  return inner!
}

function invokeTransaction(
  owner: Hooks,
  fn: NonNullable<Hooks['onTransaction']>,
  ctx: TransactionContext,
  next: TransactionNext,
): Promise<unknown> {
  try {
    return fn.call(owner, ctx, next)
  } catch (error) {
    return Promise.reject(error)
  }
}

function sequence(hooks: readonly Bound<ConnectionHook>[], runAll: boolean): (connection: ConnectionInfo) => Promise<void> {
  if (hooks.length === 0) return () => RESOLVED
  if (runAll) return (connection) => runEvery(hooks, connection)
  return (connection) => runUntilFailure(hooks, connection)
}

async function runUntilFailure(hooks: readonly Bound<ConnectionHook>[], connection: ConnectionInfo): Promise<void> {
  for (const { owner, fn } of hooks) await fn.call(owner, connection)
}

async function runEvery(hooks: readonly Bound<ConnectionHook>[], connection: ConnectionInfo): Promise<void> {
  let failed = false
  let firstError: unknown
  for (const { owner, fn } of hooks) {
    try {
      await fn.call(owner, connection)
    } catch (error) {
      if (!failed) {
        failed = true
        firstError = error
      }
    }
  }
  if (failed) throw firstError
}

function notifier(hooks: readonly Bound<NonNullable<Hooks['onError']>>[]): (error: TesseraError, ctx: ErrorContext) => void {
  if (hooks.length === 0) return () => {}
  return (error, ctx) => {
    for (const { owner, fn } of hooks) {
      try {
        // Typed as returning void, but an `async` function is assignable to that: swallow its rejection too,
        // or it would surface as an unhandled rejection and may crash the process.
        const returned: unknown = fn.call(owner, error, ctx)
        if (isThenable(returned)) returned.then(undefined, ignore)
      } catch {
        // An observer must never replace the error the caller is about to receive.
      }
    }
  }
}

function ignore(): void {}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
}

function validate(list: readonly Hooks[]): void {
  if (!Array.isArray(list)) {
    throw new ConfigError(`expected an array of hook objects, got ${describeValue(list)}`, { subject: 'hooks' })
  }
  const problems: string[] = []
  list.forEach((entry: unknown, index) => {
    if (typeof entry !== 'object' || entry === null) {
      problems.push(`hooks[${index}] is ${describeValue(entry)}; expected an object with any of ${HOOK_NAMES.join(', ')}`)
      return
    }
    const record = entry as Record<string, unknown>
    for (const name of HOOK_NAMES) {
      const value = record[name]
      if (value !== undefined && typeof value !== 'function') {
        problems.push(`hooks[${index}].${name} is ${describeValue(value)}; expected a function or undefined`)
      }
    }
    // Only keys that look like hooks: other own properties (helpers, state) are the hook author's business.
    for (const key of Object.keys(record)) {
      if (KNOWN.has(key)) continue
      if (/^on[A-Z]/.test(key) || KNOWN_LOWERCASE.has(key.toLowerCase())) {
        problems.push(`hooks[${index}] has unknown hook "${key}"; known hooks: ${HOOK_NAMES.join(', ')}`)
      }
    }
  })
  if (problems.length > 0) throw new ConfigError(problems, { subject: 'hooks' })
}
